// Heap per idle legacy session, measured in-process after a full GC:
//   node --expose-gc scripts/session-memory.mjs [N]
// Starts the reference server on a free port, opens N sessions (initialize + initialized), and reports the heap
// growth per session; then opens a GET stream on each (at most 4,000: client and server share this process's file
// descriptors) and reports the heap per session with a stream.
import { Effect, Layer, ManagedRuntime } from "effect"
import http from "node:http"
import { HttpServer, ReferenceServer } from "../dist/index.js"

const N = Number(process.argv[2] ?? 1000)
const runtime = ManagedRuntime.make(
  HttpServer.layer({ port: 0, maxSessions: N + 10, maxStreams: N + 10 }).pipe(Layer.provide(ReferenceServer.layer))
)
// Client and server share this process's file descriptors: open streams on at most this many sessions.
const STREAMS = Math.min(N, 4000)
const server = await runtime.runPromise(HttpServer.HttpServer)
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 })

const post = (body, headers = {}) =>
  new Promise((resolve, reject) => {
    const req = http.request(server.url, {
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

const heap = async () => {
  for (let i = 0; i < 3; i++) {
    global.gc()
    await new Promise((r) => setImmediate(r))
  }
  return process.memoryUsage().heapUsed
}

const base = await heap()
const ids = []
for (let i = 0; i < N; i++) {
  const res = await post({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "m", version: "1" } } })
  const id = res.headers["mcp-session-id"]
  await post({ jsonrpc: "2.0", method: "notifications/initialized" }, { "mcp-session-id": id, "mcp-protocol-version": "2025-11-25" })
  ids.push(id)
}
const idle = await heap()
const streams = []
for (const id of ids.slice(0, STREAMS)) {
  await new Promise((resolve) => {
    const req = http.request(server.url, { method: "GET", headers: { accept: "text/event-stream", "mcp-session-id": id } }, (res) => {
      res.once("data", () => resolve())
      streams.push(req)
    })
    req.end()
  })
}
const withStreams = await heap()
console.log(JSON.stringify({
  sessions: N,
  heapPerIdleSessionKiB: +((idle - base) / N / 1024).toFixed(2),
  heapPerSessionWithStreamKiB: +((idle - base) / N / 1024 + (withStreams - idle) / STREAMS / 1024).toFixed(2),
  streamsMeasured: STREAMS,
  note: "in-process: the client's open sockets count too"
}))
for (const req of streams) req.destroy()
agent.destroy()
await runtime.dispose()
