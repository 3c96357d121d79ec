import { Effect, Layer, ManagedRuntime, Runtime } from "effect"
import { Dispatcher, McpServer, ReferenceServer, Session } from "../dist/index.js"
const rt = ManagedRuntime.make(ReferenceServer.layer)
const server = await rt.runPromise(McpServer.McpServer)
const session = await rt.runPromise(Session.make)
const meta = { "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {} }
let out = 0
const sink = { notify: () => Effect.void, respond: (f) => Effect.sync(() => { out += f.length }) }
const runtime = await rt.runtime()
const runSync = Runtime.runSync(runtime)
const N = Number(process.argv[2] ?? 20000)
for (const round of [1, 2, 3]) {
  const t0 = performance.now()
  for (let i = 0; i < N; i++) {
    const json = { jsonrpc: "2.0", id: i, method: "tools/call", params: { name: "echo", arguments: { text: "hi" }, _meta: meta } }
    const d = Dispatcher.makeInline({ era: "modern", send: sink, transport: "http" }, server, session)
    runSync(d.handleJson(json, sink))
  }
  const us = (performance.now() - t0) * 1000 / N
  console.log(`round ${round}: ${us.toFixed(1)} us per modern tools/call dispatch (inline, runSync)`)
}
const t1 = performance.now()
for (let i = 0; i < N; i++) runSync(Effect.void)
console.log(`runSync(Effect.void): ${((performance.now() - t1) * 1000 / N).toFixed(2)} us`)
await rt.dispose()
