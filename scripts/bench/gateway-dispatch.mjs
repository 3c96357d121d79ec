// The gateway's own cost per proxied call, in-process and without sockets: a tools/call through a one-shot
// Dispatcher to (a) the reference server's local echo and (b) the gateway (Gateway.layer) in front of an in-memory
// upstream that answers at once; alternating rounds, CPU microseconds per call (median of rounds) and the gateway's
// added cost (median of the per-round differences). The front era is the first argument; the upstream's declared era
// is UPSTREAM_ERA (legacy: a modern front parks the call on a fiber of its own, see src/gateway/Parking.ts).
//   node scripts/bench/gateway-dispatch.mjs [legacy|modern] [N=10000] [rounds=7]     (npm run build first)
import { Effect, Layer, ManagedRuntime } from "effect"
import { Dispatcher, Execution, Gateway, ReferenceServer, Session } from "../../dist/index.js"
const era = process.argv[2] ?? "legacy"
const N = Number(process.argv[3] ?? 10000), rounds = Number(process.argv[4] ?? 7)
const config = {
  name: "up",
  type: "http",
  url: "http://127.0.0.1:1/mcp",
  headers: {},
  isolation: "shared",
  maxSessions: 10,
  timeoutMillis: 60000,
  maxInFlight: 100
}
const declared = {
  era: process.env.UPSTREAM_ERA ?? "legacy",
  protocolVersion: "2025-06-18",
  serverInfo: { name: "up", version: "1" },
  capabilities: { tools: {} },
  instructions: undefined
}
const connect = (cfg) =>
  Effect.succeed({
    name: cfg.name,
    config: cfg,
    state: () => ({ _tag: "Ready", declared }),
    ready: Effect.succeed(declared),
    request: (method) =>
      Effect.succeed(
        method === "tools/list"
          ? { tools: [{ name: "echo", inputSchema: { type: "object" } }] }
          : method === "tools/call"
          ? { content: [{ type: "text", text: "hi" }] }
          : {}
      ),
    notify: () => Effect.void,
    inFlight: () => 0
  })
const setup = async (layer) => {
  const managed = ManagedRuntime.make(layer)
  const env = await managed.runPromise(Dispatcher.environment)
  const session = await managed.runPromise(Session.make)
  return { managed, env, session }
}
const local = await setup(ReferenceServer.layer)
const gw = await setup(Gateway.layer({ upstreams: [config], connect, server: { name: "gw", version: "1" } }))
const meta = {
  "io.modelcontextprotocol/protocolVersion": "2026-07-28",
  "io.modelcontextprotocol/clientCapabilities": {}
}
let bytes = 0, last = ""
const sink = {
  notify: () => Effect.void,
  respond: (frame) =>
    Effect.sync(() => {
      bytes += frame.length
      last = frame
    })
}
const caller = ({ env, session, managed }) => {
  const dispatcher = Dispatcher.unsafeMake(env, {
    era,
    send: sink,
    execution: Execution.oneShot,
    session,
    transport: "bench"
  })
  return async (i) => {
    await managed.runPromise(
      dispatcher.handleJson({
        jsonrpc: "2.0",
        id: i,
        method: "tools/call",
        params: { name: "echo", arguments: { message: "hi", text: "hi" }, ...(era === "modern" ? { _meta: meta } : {}) }
      }, sink)
    )
  }
}
const init = async (s) => {
  if (era !== "legacy") return
  const d = Dispatcher.unsafeMake(s.env, {
    era,
    send: sink,
    execution: Execution.oneShot,
    session: s.session,
    transport: "bench"
  })
  await s.managed.runPromise(
    d.handleJson({
      jsonrpc: "2.0",
      id: "init",
      method: "initialize",
      params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "b", version: "1" } }
    }, sink)
  )
  await s.managed.runPromise(d.handleJson({ jsonrpc: "2.0", method: "notifications/initialized" }, sink))
}
await init(local)
await init(gw)
const time = async (f) => {
  const c0 = process.cpuUsage()
  for (let i = 0; i < N; i++) await f(i)
  const c = process.cpuUsage(c0)
  return (c.user + c.system) / N
}
const a = caller(local), b = caller(gw)
// Both answer the call (not an error): checked once.
for (const [name, f] of [["local", a], ["gateway", b]]) {
  await f(-1)
  if (!last.includes("\"text\":\"hi\"")) throw new Error(`${name} did not answer the call: ${last.slice(0, 300)}`)
}
await time(a)
await time(b)
const sa = [], sb = []
for (let r = 0; r < rounds; r++) {
  sa.push(await time(a))
  sb.push(await time(b))
}
const med = (xs) => [...xs].sort((x, y) => x - y)[xs.length >> 1]
const diff = sb.map((x, i) => x - sa[i])
console.log(
  JSON.stringify({
    front: era,
    upstream: declared.era,
    N,
    localUs: +med(sa).toFixed(1),
    gatewayUs: +med(sb).toFixed(1),
    addedUs: +med(diff).toFixed(1)
  })
)
await local.managed.dispose()
await gw.managed.dispose()
