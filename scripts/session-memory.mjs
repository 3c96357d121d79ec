// Heap per idle legacy session, and per session with an open GET SSE stream, of the server alone:
//   node scripts/session-memory.mjs [N]
// Starts the reference server in a child process (scripts/bench/servers/memory-server.mjs, with --expose-gc), opens
// N sessions (initialize + initialized) from this process, asks the child for its heap after full GCs, then opens a
// GET stream on each session (at most 4,000: this process holds the client side of every socket) and asks again.
import { fork } from "node:child_process"
import http from "node:http"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const here = dirname(fileURLToPath(import.meta.url))
const N = Number(process.argv[2] ?? 1000)
const STREAMS = Math.min(N, 4000)
const child = fork(join(here, "bench", "servers", "memory-server.mjs"), [], {
  execArgv: ["--expose-gc"],
  env: { ...process.env, LIMIT: String(N + 100) },
  stdio: ["ignore", "ignore", "ignore", "ipc"]
})
const next = () => new Promise((resolve) => child.once("message", resolve))
const { url } = await next()
const heap = async () => {
  const reply = next()
  child.send("heap")
  return (await reply).heap
}
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 })
const post = (body, headers = {}) =>
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

const base = await heap()
const ids = []
for (let i = 0; i < N; i += 50) {
  ids.push(
    ...await Promise.all(Array.from({ length: Math.min(50, N - i) }, async () => {
      const res = await post({
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "m", version: "1" } }
      })
      const id = res.headers["mcp-session-id"]
      await post({ jsonrpc: "2.0", method: "notifications/initialized" }, {
        "mcp-session-id": id,
        "mcp-protocol-version": "2025-11-25"
      })
      return id
    }))
  )
}
// The keep-alive sockets of the POSTs are closed first: they are connections, not sessions.
agent.destroy()
await new Promise((r) => setTimeout(r, 200))
const idle = await heap()
const streams = []
for (let i = 0; i < STREAMS; i += 100) {
  await Promise.all(
    ids.slice(i, Math.min(STREAMS, i + 100)).map((id) =>
      new Promise((resolve) => {
        const req = http.request(url, {
          method: "GET",
          agent: false,
          headers: { accept: "text/event-stream", "mcp-session-id": id }
        }, (res) => {
          res.once("data", () => resolve())
          streams.push(req)
        })
        req.end()
      })
    )
  )
}
const withStreams = await heap()
console.log(JSON.stringify({
  sessions: N,
  heapPerIdleSessionKiB: +((idle - base) / N / 1024).toFixed(2),
  heapPerSessionWithStreamKiB: +((idle - base) / N / 1024 + (withStreams - idle) / STREAMS / 1024).toFixed(2),
  streamsMeasured: STREAMS,
  note: "the server's heap only (it runs in its own process)"
}))
for (const req of streams) req.destroy()
child.disconnect()
