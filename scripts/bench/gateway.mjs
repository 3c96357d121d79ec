// node scripts/bench/gateway.mjs [--quick] [--duration S] [--warmup S] [--rounds N] [--connections 10,1]
//                                [--gateways mcp-proxy,supergateway,ours] [--skip gateways,overhead,memory]
//                                [--overhead-connections 50] [--overhead-rate R[,R...]] [--sessions N] [--no-pin]
// (gateways: also mcp-proxy-stateless and supergateway-info; GATEWAY_BENCH_MAIN=path measures another build's
// main.js as "ours")
//
// The gateway bench (issue 13), also a section of `npm run bench` (run.mjs imports runGatewayBench).
// 1. Same upstream for every gateway: @modelcontextprotocol/server-everything over stdio, its `echo` tool. Each
//    gateway (mcp-proxy 6.7.19, supergateway 4.0.0, this server's `-- COMMAND` mode) serves it on Streamable HTTP at
//    127.0.0.1; one legacy session (initialize + notifications/initialized, 2025-11-25), then `tools/call echo` with
//    the session id from autocannon at c=10 and c=1 for a fixed time after a warm-up. Per gateway: req/s, p50/p99,
//    the gateway process's own CPU per call (utime+stime of its pid from /proc, children excluded: every gateway is
//    started as `node <its JS>`, no npx or shell in between), the upstream's CPU per call (the gateway's descendants),
//    bad responses (non-200, wrong id, JSON-RPC error: printed), and ours / best peer CPU per call.
// 2. Overhead: a remote Streamable HTTP upstream whose tool sleeps 10 ms (servers/slow-upstream.mjs) called direct
//    and through this gateway (`--gateway FILE`, one `url` upstream) at c=50: p95 direct vs through, closed loop and,
//    with --overhead-rate, at a fixed offered rate paced evenly by this script.
// 3. Memory per front session with `"isolation": "per-session"` on an HTTP upstream (ours only): heap after full GC
//    (read over the inspector protocol) and RSS, before and after N sessions, and after they are DELETEd.
// Ours is measured only when `node dist/main.js --help` mentions --gateway. Everything binds 127.0.0.1; every child is
// started in its own process group and stopped with its descendants (stopTree) in a finally, and killed the same way
// on SIGINT/SIGTERM or exit.
import { execFileSync, spawn } from "node:child_process"
import { mkdtempSync, readlinkSync, realpathSync, rmSync, writeFileSync } from "node:fs"
import http from "node:http"
import os from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import WebSocket from "ws"
import {
  descendants,
  freePort,
  hasTaskset,
  load,
  median,
  procCpuMicros,
  procPeakRssMiB,
  procRssMiB,
  stopTree,
  waitForPort
} from "./lib.mjs"

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, "..", "..")
const modules = join(root, "node_modules")
// GATEWAY_BENCH_MAIN: measure another build's main.js (e.g. another worktree's) as "ours".
const DIST_MAIN = process.env.GATEWAY_BENCH_MAIN ?? join(root, "dist", "main.js")
const EVERYTHING = join(modules, "@modelcontextprotocol", "server-everything", "dist", "index.js")
const MCP_PROXY = join(modules, "mcp-proxy", "dist", "bin", "mcp-proxy.mjs")
const SUPERGATEWAY = join(modules, "supergateway", "dist", "index.js")
const LOOPBACK = pathToFileURL(join(here, "servers", "gw-loopback.mjs")).href
const SLOW = join(here, "servers", "slow-upstream.mjs")
const PROTOCOL = "2025-11-25"
const TEXT = "hello from the gateway bench"

/** Whether this build has gateway mode: `node dist/main.js --help` mentions --gateway. */
export const oursAvailable = () => {
  try {
    return execFileSync(process.execPath, [DIST_MAIN, "--help"], { encoding: "utf8", timeout: 20_000 }).includes(
      "--gateway"
    )
  } catch {
    return false
  }
}

// Whether to pin (taskset present, and not turned off with the `pin: false` option / --no-pin).
let pin = hasTaskset

const shellQuote = (s) => /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`

// The stdio upstream every gateway spawns. With taskset: the gateway alone on CPU 1; the upstream (and the load,
// this process) on CPU 0. taskset execs, so the upstream's pid is node's.
const upstreamCommand = () => [
  ...(pin ? ["taskset", "-c", "0"] : []),
  process.execPath,
  EVERYTHING,
  "stdio"
]

/** supergateway 4.0.0 (stateful Streamable HTTP) over `upstream`, at a log level. */
const supergatewayArgs = (port, upstream, logLevel) => [
  "--import",
  LOOPBACK,
  SUPERGATEWAY,
  "--stdio",
  upstream.map(shellQuote).join(" "),
  "--outputTransport",
  "streamableHttp",
  "--stateful",
  "--port",
  String(port),
  "--logLevel",
  logLevel
]

/**
 * The gateways: node arguments (the gateway's own JS, run by this node directly), given a port and the upstream
 * command. `stateful`: the front hands out a session id. supergateway's stateless mode spawns one upstream process
 * per POST, so only its stateful mode is a like-for-like comparison.
 */
const GATEWAYS = {
  "mcp-proxy": {
    peer: true,
    args: (port, upstream) => [
      MCP_PROXY,
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
      "--server",
      "stream",
      "--",
      ...upstream
    ]
  },
  // Not in the default set: one McpServer per POST, one shared upstream.
  "mcp-proxy-stateless": {
    peer: true,
    stateless: true,
    args: (port, upstream) => [
      MCP_PROXY,
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
      "--server",
      "stream",
      "--stateless",
      "--",
      ...upstream
    ]
  },
  // --logLevel none: at its default (info) it writes three log lines per call to stdout (supergateway-info).
  supergateway: { peer: true, args: (port, upstream) => supergatewayArgs(port, upstream, "none") },
  "supergateway-info": { peer: true, args: (port, upstream) => supergatewayArgs(port, upstream, "info") },
  ours: {
    peer: false,
    args: (port, upstream) => [
      DIST_MAIN,
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
      "--log-level",
      "info",
      "--log-format",
      "json",
      "--",
      ...upstream
    ]
  }
}

/**
 * Starts `node ...args` in its own process group (pinned to `cpu` when taskset exists; taskset execs, so the pid
 * is node's), draining its output; resolves once its port accepts connections. The caller stops it with stopTree.
 */
// Every child started and not yet stopped: killed (group and descendants) if this process is interrupted or exits.
const live = new Set()
const killLive = () => {
  for (const child of live) {
    const tree = descendants(child.pid)
    for (const target of [-child.pid, child.pid, ...tree.map((p) => p.pid)]) {
      try {
        process.kill(target, "SIGKILL")
      } catch {
        // gone
      }
    }
  }
  live.clear()
}
const onSignal = (signal) => {
  killLive()
  process.exit(signal === "SIGINT" ? 130 : 143)
}

const stop = async (child) => {
  try {
    await stopTree(child)
  } finally {
    live.delete(child)
  }
}

const startNode = async (name, args, port, { cpu = 1, env = {}, readyLine } = {}) => {
  const node = [process.execPath, ...args]
  const [cmd, argv] = pin ? ["taskset", ["-c", String(cpu), ...node]] : [node[0], node.slice(1)]
  const child = spawn(cmd, argv, { stdio: ["ignore", "pipe", "pipe"], detached: true, env: { ...process.env, ...env } })
  live.add(child)
  let out = ""
  const keep = (chunk) => {
    if (out.length < 64_000) out += chunk
  }
  child.stdout.on("data", keep)
  child.stderr.on("data", keep)
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve(`${code ?? signal}`)))
  const started = {
    child,
    pid: child.pid,
    output: () => out,
    url: port === undefined ? undefined : `http://127.0.0.1:${port}/mcp`
  }
  try {
    if (readyLine !== undefined) {
      await Promise.race([
        new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`${name} printed no ready line in 20 s`)), 20_000)
          const check = () => {
            const match = readyLine.exec(out)
            if (match !== null) {
              clearTimeout(timer)
              started.url = match[1]
              resolve()
            }
          }
          child.stdout.on("data", check)
          child.stderr.on("data", check)
        }),
        exited.then((code) => Promise.reject(new Error(`${name} exited (${code}): ${out.slice(-2000)}`)))
      ])
    } else {
      await Promise.race([
        waitForPort(port),
        exited.then((code) => Promise.reject(new Error(`${name} exited (${code}): ${out.slice(-2000)}`)))
      ])
    }
    // The pid measured must be node itself (taskset execs; no shell or npx in between).
    const exe = readlinkSync(`/proc/${child.pid}/exe`)
    if (exe !== realpathSync(process.execPath)) throw new Error(`${name}: pid ${child.pid} runs ${exe}, not node`)
  } catch (error) {
    await stop(child)
    throw error
  }
  return started
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 })

/** One POST; the body of a JSON or SSE answer parsed into its JSON-RPC messages. */
const post = (url, body, headers = {}) =>
  new Promise((resolve, reject) => {
    const req = http.request(url, {
      method: "POST",
      agent,
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers }
    }, (res) => {
      let text = ""
      res.on("data", (c) => (text += c))
      res.on("end", () => {
        const messages = []
        const sse = (res.headers["content-type"] ?? "").includes("text/event-stream")
        const chunks = sse
          ? text.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5))
          : (text.trim() === "" ? [] : [text])
        for (const chunk of chunks) {
          try {
            messages.push(JSON.parse(chunk))
          } catch {
            // not JSON: left to the caller through `text`
          }
        }
        resolve({ status: res.statusCode, headers: res.headers, text, messages })
      })
    })
    req.setTimeout(30_000, () => req.destroy(new Error(`no answer from ${url} in 30 s`)))
    req.on("error", reject)
    req.end(JSON.stringify(body))
  })

const request = (url, method, headers = {}) =>
  new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent, headers }, (res) => {
      res.resume()
      res.on("end", () => resolve(res.statusCode))
    })
    req.setTimeout(30_000, () => req.destroy(new Error(`no answer from ${url} in 30 s`)))
    req.on("error", reject)
    req.end()
  })

/**
 * A legacy session: initialize + notifications/initialized (the id and the negotiated version as headers), then
 * tools/list to find `tool` (by its name, or as `NAME__tool` should the gateway prefix it), then one `tools/call`
 * checked for `expect`. Resolves with the headers for the load and the tool's name; throws with the answer.
 */
const openSession = async (url, tool, args, expect) => {
  const init = await post(url, {
    jsonrpc: "2.0",
    id: 0,
    method: "initialize",
    params: { protocolVersion: PROTOCOL, capabilities: {}, clientInfo: { name: "gateway-bench", version: "1" } }
  })
  const result = init.messages.find((m) => m.id === 0)?.result
  if (init.status !== 200 || result === undefined) {
    throw new Error(`initialize at ${url}: ${init.status} ${init.text.slice(0, 500)}`)
  }
  const session = init.headers["mcp-session-id"]
  const headers = {
    "mcp-protocol-version": result.protocolVersion,
    ...(session === undefined ? {} : { "mcp-session-id": session })
  }
  const initialized = await post(url, { jsonrpc: "2.0", method: "notifications/initialized" }, headers)
  if (initialized.status !== 202 && initialized.status !== 200) {
    throw new Error(`notifications/initialized at ${url}: ${initialized.status} ${initialized.text.slice(0, 500)}`)
  }
  const list = await post(url, { jsonrpc: "2.0", id: 2, method: "tools/list", params: {} }, headers)
  const names = (list.messages.find((m) => m.id === 2)?.result?.tools ?? []).map((t) => t.name)
  const name = names.includes(tool) ? tool : names.find((n) => n.endsWith(`__${tool}`))
  if (name === undefined) {
    throw new Error(`tools/list at ${url} has no ${tool}: ${list.status} ${list.text.slice(0, 500)}`)
  }
  const call = await post(url, {
    jsonrpc: "2.0",
    id: 1,
    method: "tools/call",
    params: { name, arguments: args }
  }, headers)
  const text = call.messages.find((m) => m.id === 1)?.result?.content?.[0]?.text
  if (call.status !== 200 || text !== expect) {
    throw new Error(`tools/call ${name} at ${url}: ${call.status} ${call.text.slice(0, 500)}`)
  }
  return { headers, session, version: result.protocolVersion, tool: name }
}

/** openSession, tried again every 250 ms for up to `timeoutMs` (a gateway may listen before its upstream is up). */
const openSessionPatiently = async (url, tool, args, expect, timeoutMs = 20_000) => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      return await openSession(url, tool, args, expect)
    } catch (error) {
      if (Date.now() > deadline) throw error
      await new Promise((r) => setTimeout(r, 250))
    }
  }
}

const prepared = (headers, tool, args) => ({
  headers,
  body: (id) => JSON.stringify({ jsonrpc: "2.0", id, method: "tools/call", params: { name: tool, arguments: args } })
})

const pct = (latencies, p) =>
  latencies.length === 0
    ? NaN
    : latencies[Math.min(latencies.length - 1, Math.max(0, Math.ceil((p / 100) * latencies.length) - 1))]

/**
 * An open loop: `rate` requests per second, spread evenly (autocannon's overallRate sends each second's share in a
 * burst, which measures its own queue), over at most `connections` keep-alive sockets; latency from the moment a
 * request was due. Resolves with the shape `load` resolves with.
 */
const paced = (url, prep, connections, seconds, expect, { onBad, rate }) =>
  new Promise((resolve) => {
    const pacedAgent = new http.Agent({ keepAlive: true, maxSockets: connections })
    const needle = JSON.stringify(expect)
    const latencies = []
    const total = Math.round(rate * seconds)
    const counts = { done: 0, mismatches: 0, errors: 0, timeouts: 0 }
    let seq = 1_000_000
    let sent = 0
    let finished = false
    const t0 = performance.now()
    const finish = () => {
      if (finished) return
      finished = true
      clearInterval(ticker)
      pacedAgent.destroy()
      resolve({
        result: { requests: { total: counts.done }, errors: counts.errors, timeouts: counts.timeouts, non2xx: 0 },
        mismatches: counts.mismatches,
        latencies: Float64Array.from(latencies).sort()
      })
    }
    const fire = (due) => {
      const id = ++seq
      let settled = false
      const settle = (kind) => {
        if (settled) return
        settled = true
        counts[kind]++
        if (counts.done + counts.errors + counts.timeouts === total) finish()
      }
      const req = http.request(url, {
        method: "POST",
        agent: pacedAgent,
        headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...prep.headers }
      }, (res) => {
        let text = ""
        res.on("data", (c) => (text += c))
        res.on("end", () => {
          latencies.push(performance.now() - due)
          if (res.statusCode !== 200 || !text.includes(`"id":${id}`) || !text.includes(needle)) {
            counts.mismatches++
            onBad?.(res.statusCode, text)
          }
          settle("done")
        })
      })
      req.setTimeout(10_000, () => {
        settle("timeouts")
        req.destroy()
      })
      req.on("error", () => settle("errors"))
      req.end(prep.body(id))
    }
    const ticker = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rate))
      while (sent < due) fire(t0 + (++sent / rate) * 1000)
    }, 1)
    // Bounded: whatever is still out 15 s after the last request was due is left out.
    setTimeout(finish, (seconds + 15) * 1000).unref()
  })

/** Closed loop (autocannon), or paced when `options.rate` is set. */
const drive = (url, prep, connections, seconds, expect, options = {}) =>
  options.rate > 0
    ? paced(url, prep, connections, seconds, expect, options)
    : load(url, prep, connections, seconds, expect, options)

/** Runs `drive` and collects the figures; `pids` maps a label to the pids whose CPU is measured over the window. */
const measure = async (url, prep, connections, seconds, expect, pids, options = {}) => {
  const badSamples = []
  const onBad = (status, body) => {
    if (badSamples.length < 3) badSamples.push(`${status} ${body.slice(0, 300)}`)
  }
  const cpu = (list) =>
    list.reduce((sum, pid) => {
      try {
        return sum + procCpuMicros(pid)
      } catch {
        return sum
      }
    }, 0)
  const before = Object.fromEntries(Object.entries(pids).map(([k, list]) => [k, cpu(list)]))
  const { latencies, mismatches, result } = await drive(url, prep, connections, seconds, expect, { ...options, onBad })
  const after = Object.fromEntries(Object.entries(pids).map(([k, list]) => [k, cpu(list)]))
  const ok = result.requests.total
  const cpuMs = Object.fromEntries(
    Object.keys(pids).map((k) => [k, (after[k] - before[k]) / 1000 / Math.max(1, ok)])
  )
  return {
    rps: ok / seconds,
    p50: pct(latencies, 50),
    p95: pct(latencies, 95),
    p99: pct(latencies, 99),
    cpuMs,
    bad: mismatches + result.errors + result.timeouts,
    badSamples,
    total: ok
  }
}

/** Pins this process (all its threads) to CPU 0 while `f` runs, when taskset exists; restores the mask after. */
const withLoadPinned = async (f) => {
  if (!pin) return f()
  const mask = /:\s*([0-9a-f]+)\s*$/i.exec(execFileSync("taskset", ["-p", String(process.pid)], { encoding: "utf8" }))
  execFileSync("taskset", ["-a", "-p", "-c", "0", String(process.pid)], { stdio: "ignore" })
  try {
    return await f()
  } finally {
    if (mask !== null) execFileSync("taskset", ["-a", "-p", mask[1], String(process.pid)], { stdio: "ignore" })
  }
}

// ---------------------------------------------------------------------------------------------------------------
// 1. Gateways in front of server-everything (stdio), echo.

const benchGateways = async ({ names, connectionsList, rounds, duration, warmup, log }) => {
  const samples = [] // { round, gateway, connections, rps, p50, p99, cpuMs: { gateway, upstream }, bad }
  const failures = []
  for (let round = 1; round <= rounds; round++) {
    for (const connections of connectionsList) {
      // Rotate the order every round, so no gateway always runs first or last.
      const order = names.map((_, i) => names[(i + round - 1) % names.length])
      for (const name of order) {
        const port = await freePort()
        let gw
        let session
        try {
          gw = await startNode(name, GATEWAYS[name].args(port, upstreamCommand()), port)
          session = await openSessionPatiently(gw.url, "echo", { message: TEXT }, `Echo: ${TEXT}`)
          const prep = prepared(session.headers, session.tool, { message: TEXT })
          // The upstream: every descendant of the gateway (a shell, taskset's node), found after the first call.
          const upstreamPids = descendants(gw.pid).map((p) => p.pid)
          await load(gw.url, prep, connections, warmup, `Echo: ${TEXT}`)
          const m = await measure(gw.url, prep, connections, duration, `Echo: ${TEXT}`, {
            gateway: [gw.pid],
            upstream: upstreamPids
          })
          const rss = procPeakRssMiB(gw.pid)
          samples.push({ round, gateway: name, connections, ...m, rss, version: session.version })
          log(
            `gateway round ${round} c=${connections} ${name}: ${Math.round(m.rps)} req/s, p50 ${
              m.p50.toFixed(2)
            } ms, p99 ${m.p99.toFixed(2)} ms, gateway CPU ${m.cpuMs.gateway.toFixed(3)} ms/call, upstream CPU ${
              m.cpuMs.upstream.toFixed(3)
            } ms/call, bad=${m.bad}`
          )
          for (const b of m.badSamples) log(`  bad response from ${name}: ${b}`)
        } catch (error) {
          failures.push(`${name} c=${connections} round ${round}: ${oneLine(error.message, 400)}`)
          log(`gateway round ${round} c=${connections} ${name}: FAILED ${error.message}`)
        } finally {
          if (gw !== undefined) {
            if (session?.session !== undefined) await request(gw.url, "DELETE", session.headers).catch(() => {})
            await stop(gw.child)
          }
        }
      }
    }
  }
  return { samples, failures }
}

// ---------------------------------------------------------------------------------------------------------------
// 2. Overhead: a 10 ms tool on a remote upstream, direct vs through this gateway.

const writeConfig = (dir, name, config) => {
  const file = join(dir, name)
  writeFileSync(file, JSON.stringify(config, null, 2))
  return file
}

const benchOverhead = async ({ ours, connections, duration, warmup, rounds, rates, log, dir }) => {
  const port = await freePort()
  // The upstream shares CPU 0 with the load; the gateway has CPU 1.
  const upstream = await startNode("slow-upstream", [SLOW], undefined, {
    cpu: 0,
    env: { PORT: String(port) },
    readyLine: /READY (\S+)/
  })
  const rows = [] // { round, mode, rate, p50, p95, p99, rps, bad, gatewayCpuMs }
  try {
    const args = { text: TEXT }
    const modes = [undefined, ...rates]
    for (let round = 1; round <= rounds; round++) {
      for (const overallRate of modes) {
        const options = overallRate === undefined ? {} : { rate: overallRate }
        const tag = overallRate === undefined ? "closed loop" : `${overallRate} req/s offered`
        {
          const session = await openSession(upstream.url, "sleep10", args, TEXT)
          const prep = prepared(session.headers, "sleep10", args)
          await drive(upstream.url, prep, connections, warmup, TEXT, options)
          const m = await measure(
            upstream.url,
            prep,
            connections,
            duration,
            TEXT,
            { upstream: [upstream.pid] },
            options
          )
          rows.push({ round, mode: "direct", rate: overallRate, ...m })
          log(
            `overhead round ${round} ${tag} c=${connections} direct: p50 ${m.p50.toFixed(2)} ms, p95 ${
              m.p95.toFixed(2)
            } ms, ${Math.round(m.rps)} req/s, upstream CPU ${m.cpuMs.upstream.toFixed(3)} ms/call, bad=${m.bad}`
          )
          for (const b of m.badSamples) log(`  bad response (direct): ${b}`)
          await request(upstream.url, "DELETE", session.headers).catch(() => {})
        }
        if (!ours) continue
        const config = writeConfig(dir, "overhead.json", { mcpServers: { slow: { url: upstream.url } } })
        const gwPort = await freePort()
        let gw
        try {
          gw = await startNode("ours --gateway", [
            DIST_MAIN,
            "--gateway",
            config,
            "--host",
            "127.0.0.1",
            "--port",
            String(gwPort),
            "--log-level",
            "info",
            "--log-format",
            "json"
          ], gwPort)
          const session = await openSessionPatiently(gw.url, "sleep10", args, TEXT)
          const prep = prepared(session.headers, session.tool, args)
          await drive(gw.url, prep, connections, warmup, TEXT, options)
          const m = await measure(gw.url, prep, connections, duration, TEXT, {
            gateway: [gw.pid],
            upstream: [upstream.pid]
          }, options)
          rows.push({ round, mode: "through", rate: overallRate, ...m })
          log(
            `overhead round ${round} ${tag} c=${connections} through ours: p50 ${m.p50.toFixed(2)} ms, p95 ${
              m.p95.toFixed(2)
            } ms, ${Math.round(m.rps)} req/s, gateway CPU ${m.cpuMs.gateway.toFixed(3)} ms/call, bad=${m.bad}`
          )
          for (const b of m.badSamples) log(`  bad response (through): ${b}`)
        } catch (error) {
          rows.push({ round, mode: "through", rate: overallRate, failed: error.message })
          log(`overhead round ${round} ${tag} through ours: FAILED ${error.message}`)
        } finally {
          if (gw !== undefined) await stop(gw.child)
        }
      }
    }
  } finally {
    await stop(upstream.child)
  }
  return rows
}

// ---------------------------------------------------------------------------------------------------------------
// 3. Memory per front session with a per-session upstream session (ours only).

/** Heap of a node process started with --inspect, after full GCs, over the inspector protocol. */
const inspectorHeap = (wsUrl) =>
  new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl)
    let id = 0
    const pending = new Map()
    const call = (method, params = {}) =>
      new Promise((res, rej) => {
        const n = ++id
        pending.set(n, { res, rej })
        ws.send(JSON.stringify({ id: n, method, params }))
      })
    const timer = setTimeout(() => {
      ws.terminate()
      reject(new Error("inspector: no answer in 20 s"))
    }, 20_000)
    ws.on("message", (data) => {
      const msg = JSON.parse(String(data))
      const p = pending.get(msg.id)
      if (p === undefined) return
      pending.delete(msg.id)
      if (msg.error) p.rej(new Error(msg.error.message))
      else p.res(msg.result)
    })
    ws.on("error", reject)
    ws.on("open", async () => {
      try {
        for (let i = 0; i < 3; i++) await call("HeapProfiler.collectGarbage")
        const r = await call("Runtime.evaluate", {
          expression: "JSON.stringify(process.memoryUsage())",
          returnByValue: true
        })
        clearTimeout(timer)
        ws.close()
        resolve(JSON.parse(r.result.value))
      } catch (error) {
        clearTimeout(timer)
        ws.terminate()
        reject(error)
      }
    })
  })

const benchMemory = async ({ sessions, log, dir }) => {
  const port = await freePort()
  const upstream = await startNode("slow-upstream", [SLOW], undefined, {
    cpu: 0,
    env: { PORT: String(port), LIMIT: String(sessions * 2 + 100) },
    readyLine: /READY (\S+)/
  })
  let gw
  try {
    const config = writeConfig(dir, "per-session.json", {
      mcpServers: { slow: { url: upstream.url, isolation: "per-session", maxSessions: sessions + 10 } }
    })
    const gwPort = await freePort()
    gw = await startNode("ours --gateway (per-session)", [
      "--inspect=127.0.0.1:0",
      DIST_MAIN,
      "--gateway",
      config,
      "--host",
      "127.0.0.1",
      "--port",
      String(gwPort),
      "--max-sessions",
      String(sessions + 100),
      "--log-level",
      "warning"
    ], gwPort)
    const wsUrl = /(ws:\/\/127\.0\.0\.1:\d+\/[\w-]+)/.exec(gw.output())?.[1]
    if (wsUrl === undefined) throw new Error(`no inspector URL in: ${gw.output().slice(0, 500)}`)
    const args = { text: TEXT }
    // Warm-up: a few sessions opened and closed, so code paths are compiled before the baseline.
    for (let i = 0; i < 5; i++) {
      const s = await openSessionPatiently(gw.url, "sleep10", args, TEXT)
      await request(gw.url, "DELETE", s.headers)
    }
    await new Promise((r) => setTimeout(r, 300))
    const base = await inspectorHeap(wsUrl)
    const baseRss = procRssMiB(gw.pid)
    const opened = []
    for (let i = 0; i < sessions; i += 20) {
      opened.push(
        ...await Promise.all(
          Array.from({ length: Math.min(20, sessions - i) }, () => openSession(gw.url, "sleep10", args, TEXT))
        )
      )
    }
    // The keep-alive sockets are connections, not sessions: closed before measuring.
    agent.destroy()
    await new Promise((r) => setTimeout(r, 300))
    const open = await inspectorHeap(wsUrl)
    const openRss = procRssMiB(gw.pid)
    for (let i = 0; i < opened.length; i += 20) {
      await Promise.all(opened.slice(i, i + 20).map((s) => request(gw.url, "DELETE", s.headers)))
    }
    agent.destroy()
    await new Promise((r) => setTimeout(r, 1000))
    const closed = await inspectorHeap(wsUrl)
    const closedRss = procRssMiB(gw.pid)
    const kib = (bytes) => bytes / 1024 / sessions
    const result = {
      sessions,
      heapPerSessionKiB: kib(open.heapUsed - base.heapUsed),
      rssPerSessionKiB: ((openRss - baseRss) * 1024) / sessions,
      heapLeftPerSessionKiB: kib(closed.heapUsed - base.heapUsed),
      rssLeftPerSessionKiB: ((closedRss - baseRss) * 1024) / sessions
    }
    log(
      `memory: ${sessions} front sessions (per-session upstream): heap ${
        result.heapPerSessionKiB.toFixed(1)
      } KiB/session, RSS ${result.rssPerSessionKiB.toFixed(1)} KiB/session; after DELETE: heap ${
        result.heapLeftPerSessionKiB.toFixed(1)
      } KiB/session left`
    )
    return result
  } finally {
    if (gw !== undefined) await stop(gw.child)
    await stop(upstream.child)
  }
}

// ---------------------------------------------------------------------------------------------------------------

/** A message fit for one markdown line or table cell. */
const oneLine = (text, max) => text.replace(/\s+/g, " ").replace(/\|/g, "/").slice(0, max)

const f2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : "n/a")
const f3 = (x) => (Number.isFinite(x) ? x.toFixed(3) : "n/a")

/**
 * Runs the gateway bench and returns its markdown lines (and the raw figures). Options: duration and warmup (s),
 * rounds, connectionsList, gateways (names of GATEWAYS), skip (a Set of "overhead", "memory"), overheadConnections,
 * overheadRate (req/s offered, one number or a list; 0: closed loop only), sessions, log (a line printer).
 */
export const runGatewayBench = async (options = {}) => {
  const {
    duration = 10,
    warmup = 2,
    rounds = 1,
    connectionsList = [10, 1],
    gateways = ["mcp-proxy", "supergateway", "ours"],
    skip = new Set(),
    overheadConnections = 50,
    overheadDuration = duration,
    overheadRate = 0,
    sessions = 200,
    log = (line) => process.stderr.write(`${line}\n`)
  } = options
  pin = hasTaskset && options.pin !== false
  const overheadRates = [overheadRate].flat().filter((rate) => rate > 0)
  for (const name of gateways) {
    if (GATEWAYS[name] === undefined) throw new Error(`unknown gateway ${name}; known: ${Object.keys(GATEWAYS)}`)
  }
  const ours = oursAvailable()
  const lines = [`## Gateways (scripts/bench/gateway.mjs)`, ""]
  if (!ours) {
    log("ours: not available in this build")
    lines.push("ours: not available in this build (`node dist/main.js --help` does not mention --gateway).", "")
  }
  const names = gateways.filter((n) => n !== "ours" || ours)
  const dir = mkdtempSync(join(os.tmpdir(), "gateway-bench-"))
  process.on("SIGINT", onSignal)
  process.on("SIGTERM", onSignal)
  process.on("exit", killLive)
  try {
    return await withLoadPinned(async () => {
      const load0 = os.loadavg()[0]
      const { failures, samples } = skip.has("gateways")
        ? { failures: [], samples: [] }
        : await benchGateways({ names, connectionsList, rounds, duration, warmup, log })
      lines.push(
        `Upstream: @modelcontextprotocol/server-everything over stdio, \`echo\`; one legacy session (${PROTOCOL}) per gateway, all connections on it; ${rounds} round(s) of ${duration} s (+${warmup} s warm-up) per gateway and concurrency, order rotated per round; a fresh gateway (and upstream) per run. Gateway pinned to CPU 1, upstream and load to CPU 0: ${pin}. CPU is the gateway's own pid (utime+stime, children excluded); upstream CPU is its descendants'. Medians over rounds. Load average (1 min) before / after: ${
          load0.toFixed(1)
        } / ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} CPUs.`,
        "",
        "| gateway | conns | req/s | p50 / p99 ms | gateway CPU ms/call | upstream CPU ms/call | peak RSS MiB | bad |",
        "|---|---:|---:|---|---:|---:|---:|---:|"
      )
      const ratios = []
      for (const connections of connectionsList) {
        const byName = new Map()
        for (const name of names) {
          const mine = samples.filter((s) => s.gateway === name && s.connections === connections)
          if (mine.length === 0) {
            lines.push(`| ${name} | ${connections} | failed | | | | | |`)
            continue
          }
          const cpu = median(mine.map((s) => s.cpuMs.gateway))
          byName.set(name, cpu)
          lines.push(
            `| ${name} | ${connections} | ${Math.round(median(mine.map((s) => s.rps)))} | ${
              f2(median(mine.map((s) => s.p50)))
            } / ${f2(median(mine.map((s) => s.p99)))} | ${f3(cpu)} | ${
              f3(median(mine.map((s) => s.cpuMs.upstream)))
            } | ${median(mine.map((s) => s.rss)).toFixed(0)} | ${mine.reduce((a, s) => a + s.bad, 0)} |`
          )
        }
        const peers = [...byName].filter(([n]) => GATEWAYS[n].peer)
        const best = peers.reduce((a, b) => (b[1] < a[1] ? b : a), peers[0] ?? [undefined, NaN])
        if (byName.has("ours") && best[0] !== undefined) {
          // Also paired per round (the same minutes of a noisy machine): ours over the round's best peer, median.
          const paired = median(
            Array.from({ length: rounds }, (_, i) => {
              const inRound = samples.filter((s) => s.round === i + 1 && s.connections === connections)
              const mine = inRound.find((s) => s.gateway === "ours")
              const peerCpu = Math.min(...inRound.filter((s) => GATEWAYS[s.gateway].peer).map((s) => s.cpuMs.gateway))
              return mine === undefined ? NaN : mine.cpuMs.gateway / peerCpu
            })
          )
          ratios.push(
            `c=${connections}: ours / best peer (${best[0]}) gateway CPU per call = ${
              (byName.get("ours") / best[1]).toFixed(2)
            } (medians); paired per round, median: ${f2(paired)} (target <= 0.33)`
          )
        }
      }
      const versions = names.map((n) =>
        `${n} ${[...new Set(samples.filter((s) => s.gateway === n).map((s) => s.version))]}`
      )
      lines.push("", `Negotiated protocol version: ${versions.join(", ")}.`, "")
      if (ratios.length > 0) lines.push(...ratios.map((r) => `- ${r}`), "")
      if (failures.length > 0) lines.push("Failed runs:", ...failures.map((f) => `- ${f}`), "")

      if (!skip.has("overhead")) {
        const rows = await benchOverhead({
          ours,
          connections: overheadConnections,
          duration: overheadDuration,
          warmup,
          rounds,
          rates: overheadRates,
          log,
          dir
        })
        lines.push(
          `Overhead: a remote Streamable HTTP upstream (scripts/bench/servers/slow-upstream.mjs, this project's library, tool \`sleep10\`), direct vs through \`node dist/main.js --gateway\` (one \`url\` upstream), c=${overheadConnections}, ${rounds} round(s) of ${overheadDuration} s, medians.${
            ours ? "" : " Ours not available in this build: direct only."
          }`,
          "",
          "| load | path | req/s | p50 / p95 / p99 ms | gateway CPU ms/call | p95 overhead | bad |",
          "|---|---|---:|---|---:|---:|---:|"
        )
        for (const rate of [undefined, ...overheadRates]) {
          const tag = rate === undefined ? "closed loop" : `${rate} req/s offered`
          const direct = rows.filter((r) => r.mode === "direct" && r.rate === rate && r.failed === undefined)
          const through = rows.filter((r) => r.mode === "through" && r.rate === rate && r.failed === undefined)
          const dP95 = median(direct.map((r) => r.p95))
          const row = (path, list, overhead) =>
            `| ${tag} | ${path} | ${Math.round(median(list.map((r) => r.rps)))} | ${
              f2(median(list.map((r) => r.p50)))
            } / ${f2(median(list.map((r) => r.p95)))} / ${f2(median(list.map((r) => r.p99)))} | ${
              path === "direct" ? "-" : f3(median(list.map((r) => r.cpuMs.gateway)))
            } | ${overhead} | ${list.reduce((a, r) => a + r.bad, 0)} |`
          lines.push(row("direct", direct, "-"))
          if (through.length > 0) {
            const overhead = median(through.map((r) => r.p95)) / dP95 - 1
            // Paired: through over direct of the same round (the machine's state drifts between rounds).
            const paired = median(
              through.flatMap((t) => {
                const d = direct.find((r) => r.round === t.round)
                return d === undefined ? [] : [t.p95 / d.p95 - 1]
              })
            )
            lines.push(
              row(
                "through ours",
                through,
                `${(overhead * 100).toFixed(1)}% (paired ${(paired * 100).toFixed(1)}%; target < 5%)`
              )
            )
          }
          for (const r of rows.filter((r) => r.rate === rate && r.failed !== undefined)) {
            lines.push(`| ${tag} | ${r.mode}: failed: ${oneLine(r.failed, 200)} | | | | | |`)
          }
        }
        lines.push("")
      }

      if (!skip.has("memory")) {
        if (!ours) {
          log("memory per front session: skipped, ours not available in this build")
          lines.push("Memory per front session (per-session upstream): skipped, ours not available in this build.", "")
        } else {
          try {
            const m = await benchMemory({ sessions, log, dir })
            lines.push(
              `Memory per front session, \`"isolation": "per-session"\` on the slow HTTP upstream (each session initialized and one \`sleep10\` called, so its upstream session exists): ${m.sessions} sessions; heap after full GC (inspector) ${
                m.heapPerSessionKiB.toFixed(1)
              } KiB/session, RSS ${m.rssPerSessionKiB.toFixed(1)} KiB/session; after every session was DELETEd: heap ${
                m.heapLeftPerSessionKiB.toFixed(1)
              } KiB/session still held, RSS ${m.rssLeftPerSessionKiB.toFixed(1)} KiB/session.`,
              ""
            )
          } catch (error) {
            log(`memory per front session: FAILED ${error.message}`)
            lines.push(`Memory per front session: failed: ${oneLine(error.message, 400)}`, "")
          }
        }
      }
      return { lines, samples, ours }
    })
  } finally {
    killLive()
    process.off("SIGINT", onSignal)
    process.off("SIGTERM", onSignal)
    process.off("exit", killLive)
    agent.destroy()
    rmSync(dir, { recursive: true, force: true })
  }
}

// Standalone: node scripts/bench/gateway.mjs [flags]
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const argv = process.argv.slice(2)
  const flag = (name, fallback) => {
    const i = argv.indexOf(`--${name}`)
    return i === -1 ? fallback : argv[i + 1]
  }
  const quick = argv.includes("--quick")
  const { lines } = await runGatewayBench({
    duration: Number(flag("duration", quick ? 3 : 10)),
    warmup: Number(flag("warmup", quick ? 1 : 2)),
    rounds: Number(flag("rounds", 1)),
    connectionsList: flag("connections", "10,1").split(",").map(Number),
    gateways: flag("gateways", "mcp-proxy,supergateway,ours").split(","),
    skip: new Set(flag("skip", "").split(",").filter(Boolean)),
    overheadConnections: Number(flag("overhead-connections", 50)),
    overheadDuration: Number(flag("overhead-duration", flag("duration", quick ? 3 : 10))),
    overheadRate: String(flag("overhead-rate", "0")).split(",").map(Number),
    sessions: Number(flag("sessions", quick ? 50 : 200)),
    pin: !argv.includes("--no-pin")
  })
  console.log(lines.join("\n"))
}
