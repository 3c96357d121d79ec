// What a gateway keeps of a front session once it has ended, by counts: every per-session upstream instance made
// for a legacy HTTP session is closed when the session ends, even one made by a call that was still running when
// the session ended; over real HTTP upstreams, each upstream session is DELETEd and every socket and stream the
// gateway opened for the ended sessions is closed.
import { McpServer as SdkServer } from "@modelcontextprotocol/sdk/server/mcp.js"
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js"
import { isInitializeRequest } from "@modelcontextprotocol/sdk/types.js"
import { Deferred, Effect, Layer, ManagedRuntime, Schema } from "effect"
import { randomUUID } from "node:crypto"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { afterEach, assert, describe, it } from "vitest"
import type * as Upstream from "../src/gateway/Upstream.js"
import * as Upstreams from "../src/gateway/Upstreams.js"
import { Gateway, Interceptor, McpHttpServer, McpServer, Tool } from "../src/index.js"
import * as Fake from "./support/FakeUpstream.js"
import { until } from "./support/Wait.js"

const runtimes: Array<ManagedRuntime.ManagedRuntime<unknown, unknown>> = []
const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((runtime) => runtime.dispose()))
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()))
})

/**
 * A legacy upstream: the official SDK's Streamable HTTP server, one transport per session, with what the test
 * counts: live sessions, DELETEs answered, sockets open.
 */
const startSdkUpstream = async () => {
  const transports = new Map<string, StreamableHTTPServerTransport>()
  const counts = { deletes: 0, sockets: 0 }
  const server = http.createServer((req, res) => {
    const chunks: Array<Buffer> = []
    req.on("data", (chunk: Buffer) => chunks.push(chunk))
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8")
      const body: unknown = text === "" ? undefined : JSON.parse(text)
      const id = req.headers["mcp-session-id"]
      let transport = typeof id === "string" ? transports.get(id) : undefined
      if (transport === undefined && isInitializeRequest(body)) {
        const created = new StreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          enableJsonResponse: true,
          onsessioninitialized: (sid) => void transports.set(sid, created)
        })
        created.onclose = () => {
          if (created.sessionId !== undefined) transports.delete(created.sessionId)
        }
        const mcp = new SdkServer({ name: "sdk-upstream", version: "1.0.0" })
        mcp.registerTool("t", { description: "answers ok" }, async () => ({ content: [{ type: "text", text: "ok" }] }))
        void mcp.connect(created)
        transport = created
      }
      if (transport === undefined) {
        res.writeHead(req.method === "POST" && !isInitializeRequest(body) ? 404 : 400).end()
        return
      }
      if (req.method === "DELETE") res.on("finish", () => counts.deletes++)
      void transport.handleRequest(req, res, body)
    })
  })
  server.on("connection", (socket) => {
    counts.sockets++
    socket.on("close", () => counts.sockets--)
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  cleanups.push(() =>
    new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  )
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`, transports, counts }
}

/** A modern upstream: this library's own server, whose open streams (`subscriptions/listen`) are counted. */
const startOwnUpstream = async () => {
  const tool = Tool.make({ name: "t", parameters: Schema.Struct({}), handler: () => Effect.succeed("ok") })
  const runtime = ManagedRuntime.make(
    McpHttpServer.layer({ port: 0, shutdownTimeout: "2 seconds" }).pipe(
      Layer.provide(McpServer.tool(tool).pipe(Layer.provideMerge(McpServer.layer({ name: "own", version: "1" }))))
    )
  )
  const info = await runtime.runPromise(McpHttpServer.McpHttpServer)
  cleanups.push(() => runtime.dispose())
  return info
}

const httpConfig = (name: string, url: string): Upstream.Config => ({
  name,
  type: "http",
  url,
  headers: {},
  isolation: "per-session",
  maxSessions: 50,
  timeoutMillis: 15_000,
  maxInFlight: 16
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

  it("over real HTTP upstreams of both eras: N sessions ended, N upstream sessions DELETEd, every socket and stream closed", async () => {
    const N = 8
    const legacy = await startSdkUpstream()
    const modern = await startOwnUpstream()
    const { port, url } = await start({
      upstreams: [httpConfig("old", legacy.url), httpConfig("new", modern.url)],
      connect: Upstreams.make
    })
    // The shared instances (the catalogs) stay: what they hold is the baseline.
    await until(async () => {
      const ready = await readiness(port)
      return Object.keys(ready.upstreams).length === 2
    }, "the gateway ready")
    await until(() => modern.openStreams() === 1, "the shared instance's listen stream", 5_000, 20)
    const baseline = { sessions: legacy.transports.size, streams: modern.openStreams(), sockets: legacy.counts.sockets }
    assert.deepStrictEqual([baseline.sessions, baseline.streams], [1, 1])

    const sessions = await Promise.all(Array.from({ length: N }, () => openSession(url)))
    for (const headers of sessions) {
      for (const name of ["old__t", "new__t"]) {
        const answer = await (await callTool(url, headers, name)).json() as {
          result?: { content: Array<{ text: string }> }
        }
        assert.strictEqual(answer.result?.content[0]?.text, "ok")
      }
    }
    assert.strictEqual(legacy.transports.size, 1 + N)
    await until(() => modern.openStreams() === 1 + N, "a listen stream per session", 5_000, 20)
    const open = await readiness(port)
    assert.deepStrictEqual([open.sessions, open.upstreams.old!.sessions, open.upstreams.new!.sessions], [N, N, N])

    for (const headers of sessions) {
      assert.strictEqual((await fetch(url, { method: "DELETE", headers })).status, 200)
    }
    await until(() => legacy.counts.deletes === N, "an upstream DELETE per ended session", 10_000, 20)
    await until(() => modern.openStreams() === 1, "the ended sessions' listen streams closed", 10_000, 20)
    // Each per-session instance had its own sockets (its GET stream, its POSTs): all closed, the shared one's kept.
    await until(() => legacy.counts.sockets <= baseline.sockets, "the ended sessions' sockets closed", 10_000, 20)
    const closed = await readiness(port)
    assert.deepStrictEqual([closed.sessions, closed.upstreams.old!.sessions, closed.upstreams.new!.sessions], [0, 0, 0])
    assert.strictEqual(legacy.transports.size, 1)
    assert.strictEqual(legacy.counts.deletes, N)
  })
})
