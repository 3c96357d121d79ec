// The dispatch alone, in-process and without HTTP: a modern tools/call echo through a one-shot Dispatcher and
// Runtime.runSync, N times per round, on the reference server and on the same server with five no-op interceptors,
// alternating rounds; prints the best and median of the rounds (microseconds per call) for each, the chain's added
// cost, and the cost of runSync(Effect.void) as a reference. Use it to measure changes to the request path without
// the noise of sockets:  node scripts/bench/dispatch.mjs [N=20000] [rounds=7]
import { Effect, Layer, ManagedRuntime, Runtime } from "effect"
import { Dispatcher, Execution, Interceptor, ReferenceServer, Session } from "../../dist/index.js"

const N = Number(process.argv[2] ?? 20000)
const rounds = Number(process.argv[3] ?? 7)
const noop = (i) => ({
  name: `noop-${i}`,
  inbound: () => Effect.succeed(Interceptor.Continue),
  outbound: () => Effect.succeed(Interceptor.Continue)
})
const setup = async (layer) => {
  const managed = ManagedRuntime.make(layer)
  const env = await managed.runPromise(Dispatcher.environment)
  const session = await managed.runPromise(Session.make)
  const runSync = Runtime.runSync(await managed.runtime())
  return { managed, env, session, runSync }
}
const plain = await setup(ReferenceServer.layer)
const chained = await setup(
  Interceptor.layer(...[1, 2, 3, 4, 5].map(noop)).pipe(Layer.provideMerge(ReferenceServer.layer))
)
const meta = {
  "io.modelcontextprotocol/protocolVersion": "2026-07-28",
  "io.modelcontextprotocol/clientCapabilities": {}
}
let bytes = 0
const sink = { notify: () => Effect.void, respond: (frame) => Effect.sync(() => void (bytes += frame.length)) }

const time = (f) => {
  const t0 = performance.now()
  for (let i = 0; i < N; i++) f(i)
  return ((performance.now() - t0) * 1000) / N
}
const caller = ({ env, session, runSync }) => (i) => {
  const dispatcher = Dispatcher.unsafeMake(env, {
    era: "modern",
    send: sink,
    execution: Execution.oneShot,
    session,
    transport: "bench"
  })
  runSync(
    dispatcher.handleJson({
      jsonrpc: "2.0",
      id: i,
      method: "tools/call",
      params: { name: "echo", arguments: { text: "hi" }, _meta: meta }
    }, sink)
  )
}
const callPlain = caller(plain)
const callChained = caller(chained)
time(callPlain)
time(callChained)
const samples = { plain: [], chained: [] }
for (let r = 0; r < rounds; r++) {
  samples.plain.push(time(callPlain))
  samples.chained.push(time(callChained))
}
const stats = (xs) => {
  const sorted = [...xs].sort((a, b) => a - b)
  return { bestUs: +sorted[0].toFixed(1), medianUs: +sorted[Math.floor(sorted.length / 2)].toFixed(1) }
}
// The chain's cost per call: the median over rounds of (chained - plain) of the same round.
const added = samples.chained.map((c, i) => c - samples.plain[i]).sort((a, b) => a - b)[Math.floor(rounds / 2)]
const floor = time(() => plain.runSync(Effect.void))
console.log(JSON.stringify({
  calls: N,
  rounds,
  ...stats(samples.plain),
  interceptors5: stats(samples.chained),
  interceptors5AddedUs: +added.toFixed(1),
  runSyncVoidUs: +floor.toFixed(2),
  bytes
}))
await plain.managed.dispose()
await chained.managed.dispose()
