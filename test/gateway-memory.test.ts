// What a gateway keeps of a front session once it has ended, by counts: every per-session upstream instance made
// for a legacy HTTP session is closed when the session ends, even one made by a call that was still running when
// the session ended; over real HTTP upstreams, each upstream session is DELETEd and every socket and stream the
// gateway opened for the ended sessions is closed.
import { Deferred, Effect, Layer, ManagedRuntime } from "effect"
import { afterEach, assert, describe, it } from "vitest"
import { Gateway, Interceptor, McpHttpServer } from "../src/index.js"
import * as Fake from "./support/FakeUpstream.js"
import { until } from "./support/Wait.js"

const runtimes: Array<ManagedRuntime.ManagedRuntime<unknown, unknown>> = []
afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((runtime) => runtime.dispose()))
})

const start = async (options: Gateway.Options, interceptors: ReadonlyArray<Interceptor.Interceptor> = []) => {
  const runtime = ManagedRuntime.make(
    McpHttpServer.layer({ port: 0, shutdownTimeout: "2 seconds" }).pipe(
      Layer.provide(Interceptor.layer(...interceptors)),
      Layer.provideMerge(Gateway.layer(options))
    )
  )
  runtimes.push(runtime as ManagedRuntime.ManagedRuntime<unknown, unknown>)
  const info = await runtime.runPromise(McpHttpServer.McpHttpServer)
  return { url: info.url, port: info.port }
}

const VERSION = "2025-11-25"

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers },
    body: JSON.stringify(body)
  })

/** A legacy front session, initialized: the headers its requests carry. */
const openSession = async (url: string): Promise<Record<string, string>> => {
  const init = await post(url, {
    jsonrpc: "2.0",
    id: 0,
    method: "initialize",
    params: { protocolVersion: VERSION, capabilities: {}, clientInfo: { name: "memory", version: "1" } }
  })
  assert.strictEqual(init.status, 200)
  await init.text()
  const id = init.headers.get("mcp-session-id")
  assert.isString(id)
  const headers = { "mcp-session-id": id!, "mcp-protocol-version": VERSION }
  const initialized = await post(url, { jsonrpc: "2.0", method: "notifications/initialized" }, headers)
  assert.strictEqual(initialized.status, 202)
  return headers
}

const callTool = (url: string, headers: Record<string, string>, name: string) =>
  post(url, { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name, arguments: {} } }, headers)

const readiness = async (port: number) =>
  (await (await fetch(`http://127.0.0.1:${port}/ready`)).json()) as {
    readonly sessions: number
    readonly upstreams: Record<string, { readonly sessions: number }>
  }

describe("Gateway memory: per-session upstreams end with their front sessions", () => {
  it("a call still running when its session ends: the instance it makes is closed, not kept", async () => {
    const fake = Fake.make({ a: { tools: [{ name: "t" }] } })
    // The front chain holds the call back (as a slow interceptor would) until the session has been DELETEd.
    const gate = Effect.runSync(Deferred.make<void>())
    let held = 0
    const hold: Interceptor.Interceptor = {
      name: "hold",
      inbound: (message) =>
        message.method === "tools/call"
          ? Effect.zipRight(Effect.sync(() => held++), Effect.as(Deferred.await(gate), Interceptor.Continue))
          : Effect.succeed(Interceptor.Continue)
    }
    const { port, url } = await start(
      { upstreams: [Fake.config("a", { isolation: "per-session" })], connect: fake.connect },
      [hold]
    )
    const headers = await openSession(url)
    const call = callTool(url, headers, "t").then((res) => res.text())
    await until(() => held === 1, "the call held by the front chain")
    const deleted = await fetch(url, { method: "DELETE", headers })
    assert.strictEqual(deleted.status, 200)
    assert.strictEqual((await readiness(port)).sessions, 0)
    Effect.runSync(Deferred.succeed(gate, undefined))
    await call
    // The call went on after its session had ended and made the session's instance; the instance is closed anyway.
    await until(() => fake.counts("a").opened === 2, "the ended session's instance made")
    await until(() => fake.counts("a").closed === 1, "the ended session's instance closed", 5_000, 20)
    assert.deepStrictEqual(fake.counts("a"), { opened: 2, closed: 1 })
    assert.strictEqual((await readiness(port)).upstreams.a!.sessions, 0)
  })
})
