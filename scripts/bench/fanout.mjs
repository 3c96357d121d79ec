// Fan-out: one notifications/resources/updated to N subscribed SSE streams, this server (legacy Streamable HTTP:
// N sessions, each subscribed to reference://counter with its GET stream open; the trigger is the tool
// `increment`) against a raw node:http floor (N SSE responses; the trigger writes one serialized frame to each).
// Measures, over `triggers` sequential broadcasts: the time from sending the trigger to its answer ("issue"), to the
// last stream's arrival ("last arrival"), and the server's CPU time per broadcast (from /proc, trigger included).
// Prints one JSON line. Usage: node scripts/bench/fanout.mjs [streams=1000] [triggers=20]
import { spawn } from "node:child_process"
import http from "node:http"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { hasTaskset, procCpuMicros } from "./lib.mjs"

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, "..", "..")
const streams = Number(process.argv[2] ?? 1000)
const triggers = Number(process.argv[3] ?? 20)

const start = (script, args) =>
  new Promise((resolve, reject) => {
    const node = [
      process.execPath,
      ...(process.env.FANOUT_NODE_ARGS?.split(" ").filter(Boolean) ?? []),
      script,
      ...args
    ]
    const [cmd, argv] = hasTaskset ? ["taskset", ["-c", "1", ...node]] : [node[0], node.slice(1)]
    const child = spawn(cmd, argv, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, PORT: "0" } })
    let out = ""
    const onData = (chunk) => {
      out += chunk
      const match = /READY (\S+)/.exec(out) ?? /"url":"(http:\/\/[^"]+)"/.exec(out)
      if (match !== null) resolve({ child, url: match[1] })
    }
    child.stdout.on("data", onData)
    child.stderr.on("data", onData)
    child.once("exit", (code) => reject(new Error(`exited ${code}: ${out}`)))
  })

const stop = (child) =>
  new Promise((resolve) => {
    child.removeAllListeners("exit")
    child.once("exit", () => resolve())
    child.kill("SIGTERM")
    setTimeout(() => child.kill("SIGKILL"), 10_000).unref()
  })

const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity })

const post = (url, body, headers = {}) =>
  new Promise((resolve, reject) => {
    const req = http.request(url, {
      method: "POST",
      agent,
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers }
    }, (res) => {
      let text = ""
      res.on("data", (c) => (text += c))
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, text }))
    })
    req.on("error", reject)
    req.end(JSON.stringify(body))
  })

/** Opens an SSE stream; `onUpdated` runs for every notifications/resources/updated it carries. */
const openStream = (url, headers, onUpdated) =>
  new Promise((resolve, reject) => {
    const req = http.request(url, { agent, headers: { accept: "text/event-stream", ...headers } }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`GET ${res.statusCode}`))
      let buffer = ""
      res.setEncoding("utf8")
      res.on("data", (chunk) => {
        buffer += chunk
        let end
        while ((end = buffer.indexOf("\n\n")) !== -1) {
          if (buffer.slice(0, end).includes("notifications/resources/updated")) onUpdated()
          buffer = buffer.slice(end + 2)
        }
      })
      resolve()
    })
    req.on("error", reject)
    req.end()
  })

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/** Runs `triggers` broadcasts; `fire` sends one trigger and resolves when it is answered. */
const measure = async (pid, fire) => {
  let arrived = 0
  let waiting
  const onUpdated = () => {
    arrived++
    if (waiting !== undefined && arrived >= waiting.target) {
      const w = waiting
      waiting = undefined
      w.resolve()
    }
  }
  const issue = []
  const last = []
  return {
    onUpdated,
    run: async () => {
      await new Promise((r) => setTimeout(r, 300))
      const cpu0 = procCpuMicros(pid)
      for (let i = 1; i <= triggers; i++) {
        const all = new Promise((resolve) => (waiting = { target: i * streams, resolve }))
        const t0 = performance.now()
        await fire()
        issue.push(performance.now() - t0)
        await all
        last.push(performance.now() - t0)
      }
      const cpu = procCpuMicros(pid) - cpu0
      return { issueMs: median(issue), lastArrivalMs: median(last), serverCpuMsPerBroadcast: cpu / triggers / 1000 }
    }
  }
}

const floor = async () => {
  const { child, url } = await start(join(here, "servers", "raw-fanout.mjs"), [])
  try {
    const m = await measure(child.pid, () => post(url, {}))
    for (let i = 0; i < streams; i += 200) {
      await Promise.all(Array.from({ length: Math.min(200, streams - i) }, () => openStream(url, {}, m.onUpdated)))
    }
    return await m.run()
  } finally {
    await stop(child)
  }
}

const ours = async () => {
  const limit = String(streams + 10)
  const { child, url } = await start(join(root, "dist", "main.js"), [
    "--port",
    "0",
    "--log-format",
    "json",
    "--max-sessions",
    limit,
    "--max-streams",
    limit
  ])
  try {
    const init = {
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "fanout", version: "1" } }
    }
    const sessions = []
    for (let i = 0; i < streams; i += 100) {
      sessions.push(
        ...await Promise.all(Array.from({ length: Math.min(100, streams - i) }, async () => {
          const id = (await post(url, init)).headers["mcp-session-id"]
          const headers = { "mcp-session-id": id, "mcp-protocol-version": "2025-06-18" }
          await post(url, { jsonrpc: "2.0", method: "notifications/initialized" }, headers)
          await post(url, {
            jsonrpc: "2.0",
            id: 2,
            method: "resources/subscribe",
            params: { uri: "reference://counter" }
          }, headers)
          return headers
        }))
      )
    }
    let id = 10
    const m = await measure(
      child.pid,
      () =>
        post(
          url,
          { jsonrpc: "2.0", id: ++id, method: "tools/call", params: { name: "increment", arguments: {} } },
          sessions[0]
        )
    )
    for (let i = 0; i < streams; i += 200) {
      await Promise.all(sessions.slice(i, i + 200).map((headers) => openStream(url, headers, m.onUpdated)))
    }
    return await m.run()
  } finally {
    await stop(child)
  }
}

const f = await floor()
const o = await ours()
agent.destroy()
console.log(JSON.stringify({ streams, triggers, floor: f, ours: o }))
