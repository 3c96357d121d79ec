import { Layer, ManagedRuntime } from "effect"
import http from "node:http"
import inspector from "node:inspector/promises"
import { writeFileSync } from "node:fs"
import { HttpServer, ReferenceServer } from "../dist/index.js"
const N = Number(process.argv[2] ?? 4000)
const runtime = ManagedRuntime.make(HttpServer.layer({ port: 0, maxSessions: N + 10, maxStreams: N + 10 }).pipe(Layer.provide(ReferenceServer.layer)))
const server = await runtime.runPromise(HttpServer.HttpServer)
const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity })
const post = (body) => new Promise((resolve, reject) => { const req = http.request(server.url, { method: "POST", agent, headers: { "content-type": "application/json", accept: "application/json, text/event-stream" } }, (res) => { res.resume(); res.on("end", () => resolve(res.headers["mcp-session-id"])) }); req.on("error", reject); req.end(JSON.stringify(body)) })
const sessions = []
for (let i = 0; i < N; i += 200) sessions.push(...await Promise.all(Array.from({ length: Math.min(200, N - i) }, () => post({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "b", version: "1" } } }))))
for (let i = 0; i < N; i += 500) await Promise.all(sessions.slice(i, i + 500).map((s) => new Promise((resolve) => { const req = http.request(server.url, { agent, headers: { accept: "text/event-stream", "mcp-session-id": s } }, (res) => { res.on("data", () => {}); resolve() }); req.end() })))
const session = new inspector.Session(); session.connect()
await session.post("Profiler.enable"); await session.post("Profiler.start")
const t0 = performance.now()
await runtime.dispose()
const ms = performance.now() - t0
const { profile } = await session.post("Profiler.stop")
writeFileSync("/tmp/prof/shutdown.cpuprofile", JSON.stringify(profile))
console.log(`dispose ${Math.round(ms)} ms`)
agent.destroy()
process.exit(0)
