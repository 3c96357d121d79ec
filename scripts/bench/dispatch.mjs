// The dispatch alone, in-process and without HTTP: a modern tools/call echo through Dispatcher.makeInline and
// Runtime.runSync, N times per round; prints the best and median of the rounds (microseconds per call), and the
// cost of runSync(Effect.void) as a reference. Use it to measure changes to the request path without the noise of
// sockets:  node scripts/bench/dispatch.mjs [N=20000] [rounds=7]
import { Effect, ManagedRuntime, Runtime } from "effect"
import { Dispatcher, McpServer, ReferenceServer, Session } from "../../dist/index.js"

const N = Number(process.argv[2] ?? 20000)
const rounds = Number(process.argv[3] ?? 7)
const managed = ManagedRuntime.make(ReferenceServer.layer)
const server = await managed.runPromise(McpServer.McpServer)
const session = await managed.runPromise(Session.make)
const runSync = Runtime.runSync(await managed.runtime())
const meta = { "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {} }
let bytes = 0
const sink = { notify: () => Effect.void, respond: (frame) => Effect.sync(() => void (bytes += frame.length)) }

const time = (f) => {
  const t0 = performance.now()
  for (let i = 0; i < N; i++) f(i)
  return ((performance.now() - t0) * 1000) / N
}
const call = (i) => {
  const dispatcher = Dispatcher.makeInline({ era: "modern", send: sink, transport: "bench" }, server, session)
  runSync(dispatcher.handleJson({ jsonrpc: "2.0", id: i, method: "tools/call", params: { name: "echo", arguments: { text: "hi" }, _meta: meta } }, sink))
}
const samples = []
for (let r = 0; r < rounds; r++) samples.push(time(call))
samples.sort((a, b) => a - b)
const floor = time(() => runSync(Effect.void))
console.log(JSON.stringify({ calls: N, rounds, bestUs: +samples[0].toFixed(1), medianUs: +samples[Math.floor(rounds / 2)].toFixed(1), runSyncVoidUs: +floor.toFixed(2), bytes }))
await managed.dispose()
