import { spawn } from "node:child_process"
import http from "node:http"
const N = Number(process.argv[2] ?? 10000)
const child = spawn(process.execPath, [...(process.env.PROF ? ["--cpu-prof", "--cpu-prof-dir=/tmp/prof/shut"] : []), "dist/main.js", "--port", "0", "--log-format", "json", "--log-level", "debug", "--max-sessions", String(N + 10), "--max-streams", String(N + 10)], { stdio: ["ignore", "ignore", "pipe"] })
let log = ""
const url = await new Promise((resolve) => child.stderr.on("data", (c) => { log += c; const m = /"url":"(http:\/\/[^"]+)"/.exec(log); if (m) resolve(m[1]) }))
const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity })
const post = (body) => new Promise((resolve, reject) => { const req = http.request(url, { method: "POST", agent, headers: { "content-type": "application/json", accept: "application/json, text/event-stream" } }, (res) => { res.resume(); res.on("end", () => resolve(res.headers["mcp-session-id"])) }); req.on("error", reject); req.end(JSON.stringify(body)) })
const sessions = []
for (let i = 0; i < N; i += 200) sessions.push(...await Promise.all(Array.from({ length: Math.min(200, N - i) }, () => post({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "b", version: "1" } } }))))
let ended = 0
for (let i = 0; i < N; i += 500) await Promise.all(sessions.slice(i, i + 500).map((s) => new Promise((resolve) => { const req = http.request(url, { agent, headers: { accept: "text/event-stream", "mcp-session-id": s } }, (res) => { res.on("data", () => {}); res.on("close", () => ended++); resolve() }); req.end() })))
const t0 = performance.now()
const exited = new Promise((r) => child.once("exit", r))
child.kill("SIGTERM")
await exited
console.log(`exit after ${Math.round(performance.now() - t0)} ms; streams closed ${ended}`)
const lines = log.split("\n").filter((l) => l.includes("Shutdown") || l.includes("closed"))
console.log(lines.slice(-5).join("\n"))
agent.destroy()
