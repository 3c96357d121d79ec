/**
 * The Streamable HTTP upstream, both eras: against our reference server (`node dist/main.js`, which speaks both, so
 * each era is forced in turn, and detected), and against `@modelcontextprotocol/server-everything streamableHttp`
 * (the official SDK's legacy server: SSE answers, sessions). Every wait is bounded. Needs `npm run build` first.
 */
import { assert, beforeAll, describe, it } from "@effect/vitest"
import { Context, Effect, Fiber, Layer, Ref, Schema } from "effect"
import * as http from "node:http"
import * as HttpUpstream from "../src/gateway/HttpUpstream.js"
import type * as Upstream from "../src/gateway/Upstream.js"
import * as Upstreams from "../src/gateway/Upstreams.js"
import { McpContext, McpHttpServer, McpServer, Resource, Tool } from "../src/index.js"
import { startServer } from "./fixtures/MainProcess.js"
import { alive, common, freePort, recorder, textOf, waitUntil } from "./fixtures/UpstreamHarness.js"
import { startEverything } from "./fixtures/UpstreamServers.js"
import { assertBuilt } from "./support/Dist.js"

beforeAll(assertBuilt)

const httpConfig = (name: string, url: string, overrides: Partial<Upstream.HttpConfig> = {}): Upstream.HttpConfig => ({
  ...common(name),
  type: "http",
  url,
  headers: {},
  ...overrides
})

const interrupted = (lines: ReadonlyArray<any>) =>
  lines.filter((l) => l?.annotations?.event === "long_running_operation.interrupted").length

const start = () => Effect.promise(() => startServer([]))

/** A tool call whose elicitation is answered by the hook (legacy: a request on the POST's stream; modern: MRTR). */
const confirm = (upstream: Upstream.Upstream, asked: Array<string>) =>
  upstream.request("tools/call", { name: "confirm_action", arguments: { action: "deploy" } }, {
    request: (method) =>
      Effect.sync(() => {
        asked.push(method)
        return { action: "accept", content: { confirm: true } }
      })
  })

describe("http upstream: modern era (our reference server)", () => {
  it.live("detected by server/discover; tools/list, echo, progress, input_required, list_changed, cancel", () => {
    const recorded = recorder()
    return Effect.gen(function*() {
      const server = yield* start()
      const upstream = yield* Upstreams.make(
        httpConfig("ref", `http://127.0.0.1:${server.port}/mcp`, { headers: { "x-upstream-test": "1" } }),
        recorded.events
      )
      const declared = yield* upstream.ready
      assert.strictEqual(declared.era, "modern")
      assert.strictEqual(declared.protocolVersion, "2026-07-28")
      assert.strictEqual(declared.serverInfo.name, "effect-mcp-server-reference")
      const list = yield* upstream.request("tools/list", {})
      assert.include((list.tools as Array<{ name: string }>).map((t) => t.name), "echo")
      assert.strictEqual(
        textOf(yield* upstream.request("tools/call", { name: "echo", arguments: { text: "hé" } })),
        "hé"
      )

      const progress: Array<number> = []
      const long = yield* upstream.request(
        "tools/call",
        { name: "long_running_operation", arguments: { steps: 3, stepMs: 20 } },
        { progress: (p) => Effect.sync(() => void progress.push(p.progress)) }
      )
      assert.strictEqual(textOf(long), "Finished 3 steps")
      assert.deepStrictEqual(progress, [1, 2, 3])

      const asked: Array<string> = []
      assert.strictEqual(textOf(yield* confirm(upstream, asked)), "Confirmed: deploy")
      assert.deepStrictEqual(asked, ["elicitation/create"])

      // list_changed comes on the subscriptions/listen stream.
      yield* Effect.sleep(200)
      yield* upstream.request("tools/call", { name: "toggle_extra_tool", arguments: {} })
      yield* waitUntil(
        () => recorded.notifications.some((n) => n.method === "notifications/tools/list_changed"),
        "tools/list_changed from the listen stream"
      )

      // Cancelling aborts the POST: the server interrupts the tool.
      const call = yield* Effect.fork(upstream.request(
        "tools/call",
        { name: "long_running_operation", arguments: { steps: 100, stepMs: 50 } },
        { progress: () => Effect.void }
      ))
      yield* waitUntil(() => upstream.inFlight() === 1, "the call in flight")
      yield* Effect.sleep(200)
      yield* Fiber.interrupt(call)
      yield* waitUntil(() => interrupted(server.stderr()) === 1, "the server's interrupted log line")
      assert.strictEqual(upstream.inFlight(), 0)
    }).pipe(Effect.scoped)
  })

  it.live("a JSON-RPC error passes through; an unknown tool is the upstream's error", () =>
    Effect.gen(function*() {
      const server = yield* start()
      const upstream = yield* HttpUpstream.make(
        httpConfig("ref", `http://127.0.0.1:${server.port}/mcp`),
        recorder().events,
        { era: "modern" }
      )
      const error = yield* Effect.flip(upstream.request("tools/call", { name: "no_such_tool", arguments: {} }))
      assert.strictEqual(error._tag, "UpstreamRpcError")
      assert.strictEqual((error as Upstream.UpstreamRpcError).error.code, -32602)
    }).pipe(Effect.scoped))

  it.live("an upstream that cannot be reached is Down, then Ready again once it is back (era detected anew)", () => {
    const recorded = recorder()
    return Effect.gen(function*() {
      const port = yield* Effect.promise(freePort)
      const first = yield* Effect.promise(() => startServer(["--port", String(port)]))
      const upstream = yield* HttpUpstream.make(
        httpConfig("ref", `http://127.0.0.1:${port}/mcp`),
        recorded.events,
        { restartBaseMillis: 100, restartMaxMillis: 200 }
      )
      yield* upstream.ready
      first.child.kill("SIGKILL")
      yield* Effect.promise(() => first.exit)
      // The first call may meet the pool's dead socket (closed); one that finds nobody listening is unavailable.
      const reasons: Array<string> = []
      for (let i = 0; i < 3 && !reasons.includes("unavailable"); i++) {
        const error = yield* Effect.flip(upstream.request("tools/call", { name: "echo", arguments: { text: "x" } }))
        reasons.push((error as Upstream.UpstreamError).reason)
      }
      assert.include(reasons, "unavailable")
      yield* waitUntil(() => recorded.states.some((s) => s._tag === "Down"), "Down")
      yield* Effect.promise(() => startServer(["--port", String(port)]))
      yield* waitUntil(() => upstream.state()._tag === "Ready", "Ready again", 15_000)
      assert.strictEqual(textOf(yield* upstream.request("tools/call", { name: "echo", arguments: { text: "y" } })), "y")
      assert.deepStrictEqual(recorded.states.slice(0, 2).map((s) => s._tag), ["Ready", "Down"])
      assert.strictEqual(recorded.states.at(-1)?._tag, "Ready")
    }).pipe(Effect.scoped)
  })
})

describe("http upstream: an endpoint that never answers", () => {
  it.live("is Down after timeoutMillis (server/discover, then initialize), never Ready", () => {
    const recorded = recorder()
    return Effect.gen(function*() {
      const silent = yield* Effect.acquireRelease(
        Effect.async<http.Server>((resume) => {
          const server = http.createServer(() => {})
          server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
        }),
        (server) =>
          Effect.async<void>((resume) => {
            server.closeAllConnections()
            server.close(() => resume(Effect.void))
          })
      )
      const port = (silent.address() as { port: number }).port
      for (const era of ["auto", "legacy"] as const) {
        const states: Array<Upstream.State> = []
        yield* Effect.scoped(Effect.gen(function*() {
          const upstream = yield* HttpUpstream.make(
            httpConfig("silent", `http://127.0.0.1:${port}/mcp`, { timeoutMillis: 300 }),
            { ...recorded.events, state: (s) => Effect.sync(() => void states.push(s)) },
            { era, restartBaseMillis: 10_000 }
          )
          yield* waitUntil(() => upstream.state()._tag === "Down", "Down", 5_000)
          const state = upstream.state()
          assert.include(state._tag === "Down" ? state.reason : "", era === "auto" ? "server/discover" : "initialize")
          assert.isFalse(states.some((s) => s._tag === "Ready"))
        }))
      }
    }).pipe(Effect.scoped)
  })
})

describe("http upstream: legacy era (our reference server, forced)", () => {
  it.live("initialize + session; echo, progress, sampling and elicitation on the POST's stream, cancel", () => {
    const recorded = recorder()
    return Effect.gen(function*() {
      const server = yield* start()
      const upstream = yield* HttpUpstream.make(
        httpConfig("ref", `http://127.0.0.1:${server.port}/mcp`),
        recorded.events,
        { era: "legacy" }
      )
      const declared = yield* upstream.ready
      assert.strictEqual(declared.era, "legacy")
      assert.strictEqual(declared.protocolVersion, "2025-11-25")
      assert.strictEqual(textOf(yield* upstream.request("tools/call", { name: "echo", arguments: { text: "a" } })), "a")

      const progress: Array<number> = []
      yield* upstream.request(
        "tools/call",
        { name: "long_running_operation", arguments: { steps: 3, stepMs: 20 } },
        { progress: (p) => Effect.sync(() => void progress.push(p.progress)) }
      )
      assert.deepStrictEqual(progress, [1, 2, 3])

      const asked: Array<string> = []
      const summary = yield* upstream.request("tools/call", { name: "summarize", arguments: { text: "long text" } }, {
        request: (method) =>
          Effect.sync(() => {
            asked.push(method)
            return { role: "assistant", model: "m", content: { type: "text", text: "short" } }
          })
      })
      assert.strictEqual(textOf(summary), "Summary: short")
      assert.strictEqual(textOf(yield* confirm(upstream, asked)), "Confirmed: deploy")
      assert.deepStrictEqual(asked, ["sampling/createMessage", "elicitation/create"])

      // A log message on the POST's stream goes to that request's notification hook, not to the events.
      yield* upstream.request("logging/setLevel", { level: "debug" })
      const related: Array<string> = []
      yield* upstream.request("tools/call", { name: "log", arguments: { level: "info", message: "hello" } }, {
        notification: (method, params) => Effect.sync(() => void related.push(`${method} ${JSON.stringify(params)}`))
      })
      assert.strictEqual(related.length, 1)
      assert.include(related[0], "notifications/message")
      assert.include(related[0], "hello")
      assert.isFalse(recorded.notifications.some((n) => n.method === "notifications/message"))

      // list_changed comes on the GET stream, to the events.
      yield* Effect.sleep(200)
      yield* upstream.request("tools/call", { name: "toggle_extra_tool", arguments: {} })
      yield* waitUntil(
        () => recorded.notifications.some((n) => n.method === "notifications/tools/list_changed"),
        "tools/list_changed from the GET stream"
      )

      const call = yield* Effect.fork(upstream.request(
        "tools/call",
        { name: "long_running_operation", arguments: { steps: 100, stepMs: 50 } }
      ))
      yield* waitUntil(() => upstream.inFlight() === 1, "the call in flight")
      yield* Effect.sleep(200)
      yield* Fiber.interrupt(call)
      yield* waitUntil(() => interrupted(server.stderr()) === 1, "the server's interrupted log line")
    }).pipe(Effect.scoped)
  })

  it.live("a session the server forgot (restarted on the same port): 404, initialize again, the call retried", () => {
    const recorded = recorder()
    return Effect.gen(function*() {
      const port = yield* Effect.promise(freePort)
      const first = yield* Effect.promise(() => startServer(["--port", String(port)]))
      const upstream = yield* HttpUpstream.make(
        httpConfig("ref", `http://127.0.0.1:${port}/mcp`),
        recorded.events,
        { era: "legacy" }
      )
      yield* upstream.ready
      assert.strictEqual(textOf(yield* upstream.request("tools/call", { name: "echo", arguments: { text: "1" } })), "1")
      first.child.kill("SIGKILL")
      yield* Effect.promise(() => first.exit)
      yield* Effect.promise(() => startServer(["--port", String(port)]))
      assert.strictEqual(textOf(yield* upstream.request("tools/call", { name: "echo", arguments: { text: "2" } })), "2")
      // Initialized twice: Ready, then Ready again with what the new session declared.
      assert.deepStrictEqual(recorded.states.map((s) => s._tag), ["Ready", "Ready"])
    }).pipe(Effect.scoped)
  })
})

// -- server-everything streamableHttp (the official SDK's legacy server) ----------------------------------------------

describe("http upstream: server-everything streamableHttp", () => {
  it.live("detected as legacy; echo, progress on the POST's SSE stream, sampling, roots; DELETE at Scope close", () => {
    const recorded = recorder()
    return Effect.gen(function*() {
      const server = yield* startEverything("streamableHttp")
      yield* Effect.gen(function*() {
        const upstream = yield* Upstreams.make(
          httpConfig("everything", `http://127.0.0.1:${server.port}/mcp`),
          recorded.events
        )
        const declared = yield* upstream.ready
        assert.strictEqual(declared.era, "legacy")
        assert.strictEqual(declared.serverInfo.name, "mcp-servers/everything")
        const echoed = yield* upstream.request("tools/call", { name: "echo", arguments: { message: "over http" } })
        assert.strictEqual(textOf(echoed), "Echo: over http")
        const progress: Array<number> = []
        yield* upstream.request(
          "tools/call",
          { name: "trigger-long-running-operation", arguments: { duration: 0.2, steps: 2 } },
          { progress: (p) => Effect.sync(() => void progress.push(p.progress)) }
        )
        assert.deepStrictEqual(progress, [1, 2])
        // The server asks for the roots outside any request: on the GET stream, answered by a POST.
        yield* waitUntil(() => recorded.requests.some((r) => r.method === "roots/list"), "roots/list on the GET stream")
        const sampled = yield* upstream.request(
          "tools/call",
          { name: "trigger-sampling-request", arguments: { prompt: "p" } },
          {
            request: () =>
              Effect.succeed({ role: "assistant", model: "m", content: { type: "text", text: "from hook" } })
          }
        )
        assert.include(textOf(sampled), "from hook")
      }).pipe(Effect.scoped)
      yield* waitUntil(() => server.output().includes("Received session termination request"), "the DELETE")
      assert.isTrue(alive(server.child.pid!))
    })
  })
})

// -- an upstream built with this library, in-process ------------------------------------------------------------------

/** An upstream served by this library on 127.0.0.1 for the Scope, with `parts` registered (SSE `retry` 50 ms). */
const library = (parts: ReadonlyArray<Layer.Layer<never, never, McpServer.McpServer>>) =>
  Effect.map(
    Layer.build(
      McpHttpServer.layer({ port: 0, shutdownTimeout: "1 second", retryMillis: 50 }).pipe(
        Layer.provideMerge(
          Layer.mergeAll(...(parts as [Layer.Layer<never, never, McpServer.McpServer>])).pipe(
            Layer.provideMerge(McpServer.layer({ name: "library-upstream", version: "1.0.0" }))
          )
        )
      )
    ),
    (context) => ({
      ...Context.get(context, McpHttpServer.McpHttpServer),
      mcp: Context.get(context, McpServer.McpServer)
    })
  )

/** A scripted node:http upstream for the Scope: `handle` answers every request (bodies read whole). */
const scripted = (handle: (req: http.IncomingMessage, body: string, res: http.ServerResponse) => void) =>
  Effect.acquireRelease(
    Effect.async<http.Server>((resume) => {
      const server = http.createServer((req, res) => {
        let body = ""
        req.setEncoding("utf8")
        req.on("data", (chunk: string) => (body += chunk))
        req.on("end", () => handle(req, body, res))
      })
      server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
    }),
    (server) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  )

describe("http upstream: legacy POST stream resumption (SEP-1699)", () => {
  it.live("a tool that closes its stream, reports progress, then answers: resumed with Last-Event-ID", () =>
    Effect.gen(function*() {
      const steps = yield* Ref.make<ReadonlyArray<string>>([])
      const Polled = Tool.make({
        name: "polled",
        parameters: Schema.Struct({ wait: Schema.Number }),
        handler: ({ wait }) =>
          Effect.gen(function*() {
            yield* McpContext.progress(1, { total: 2 })
            yield* McpContext.closeStream
            yield* Effect.sleep(wait)
            yield* McpContext.progress(2, { total: 2 })
            return "after the poll"
          }).pipe(Effect.onInterrupt(() => Ref.update(steps, (s) => [...s, "interrupted"])))
      })
      const server = yield* library([McpServer.tool(Polled)])
      const upstream = yield* HttpUpstream.make(httpConfig("lib", server.url), recorder().events, { era: "legacy" })
      assert.strictEqual((yield* upstream.ready).protocolVersion, "2025-11-25")

      const progress: Array<number> = []
      const result = yield* upstream.request("tools/call", { name: "polled", arguments: { wait: 100 } }, {
        progress: (p) => Effect.sync(() => void progress.push(p.progress))
      })
      assert.strictEqual(textOf(result), "after the poll")
      assert.deepStrictEqual(progress, [1, 2])
      // Twice more at once: each resumes its own stream.
      const both = yield* Effect.all([
        upstream.request("tools/call", { name: "polled", arguments: { wait: 50 } }),
        upstream.request("tools/call", { name: "polled", arguments: { wait: 80 } })
      ], { concurrency: 2 })
      assert.deepStrictEqual(both.map(textOf), ["after the poll", "after the poll"])
      assert.strictEqual(upstream.inFlight(), 0)

      // Interrupted while resumed (the request's timeout is an interruption): the GET is aborted, the upstream is
      // told (notifications/cancelled interrupts the tool), and its stream closes.
      const before = server.openStreams()
      const call = yield* Effect.fork(upstream.request("tools/call", { name: "polled", arguments: { wait: 30_000 } }))
      // The POST's (kept while its request runs) and the resumed GET.
      yield* waitUntil(() => server.openStreams() === before + 2, "the resumed GET open")
      yield* Fiber.interrupt(call)
      yield* waitUntil(
        () => Effect.runSync(Ref.get(steps)).includes("interrupted"),
        "the tool interrupted by notifications/cancelled"
      )
      yield* waitUntil(() => server.openStreams() === before, "the resumed GET closed")
      assert.strictEqual(upstream.inFlight(), 0)
    }).pipe(Effect.scoped))

  it.live("gives up when the stream had no event id, the GET is refused, or 3 resumptions bring nothing; no hang", () =>
    Effect.gen(function*() {
      const gets: Array<string> = []
      const server = yield* scripted((req, body, res) => {
        if (req.method === "GET") {
          // The session's own GET stream has no Last-Event-ID; a resumption has one.
          const from = req.headers["last-event-id"]
          if (typeof from === "string") gets.push(from)
          // "e#0" (the "empty" tool's stream) is resumed with streams that end at once, bringing nothing.
          if (from === "e#0") res.writeHead(200, { "content-type": "text/event-stream" }).end()
          else res.writeHead(405).end()
          return
        }
        if (req.method !== "POST") return void res.writeHead(200).end()
        const message = JSON.parse(body)
        if (message.method === "initialize") {
          res.writeHead(200, { "content-type": "application/json", "mcp-session-id": "s1" })
          res.end(JSON.stringify({
            jsonrpc: "2.0",
            id: message.id,
            result: {
              protocolVersion: "2025-11-25",
              capabilities: { tools: {} },
              serverInfo: { name: "s", version: "1" }
            }
          }))
          return
        }
        if (message.id === undefined) return void res.writeHead(202).end()
        res.writeHead(200, { "content-type": "text/event-stream" })
        // "bare": a stream with a message but no event id; else a priming event (id, retry 20 ms) and the end.
        if (message.params?.name === "bare") {
          res.end(
            `data: ${
              JSON.stringify({ jsonrpc: "2.0", method: "notifications/message", params: { level: "info" } })
            }\n\n`
          )
        } else {
          res.end(`id: ${message.params?.name === "empty" ? "e" : "p"}#0\nretry: 20\ndata: \n\n`)
        }
      })
      const port = (server.address() as { port: number }).port
      const upstream = yield* HttpUpstream.make(
        httpConfig("scripted", `http://127.0.0.1:${port}/mcp`),
        recorder().events,
        { era: "legacy" }
      )
      yield* upstream.ready
      const started = Date.now()
      const bare = yield* Effect.flip(upstream.request("tools/call", { name: "bare", arguments: {} }))
      assert.strictEqual(bare.message, "Upstream scripted: the response ended without an answer")
      assert.deepStrictEqual(gets, [])
      const refused = yield* Effect.flip(upstream.request("tools/call", { name: "primed", arguments: {} }))
      assert.strictEqual(
        refused.message,
        "Upstream scripted: the response ended without an answer (resuming it with Last-Event-ID: HTTP 405)"
      )
      assert.deepStrictEqual(gets, ["p#0"])
      const empty = yield* Effect.flip(upstream.request("tools/call", { name: "empty", arguments: {} }))
      assert.strictEqual(
        empty.message,
        "Upstream scripted: the response ended without an answer (resuming it with Last-Event-ID: 3 attempts brought nothing)"
      )
      assert.deepStrictEqual(gets, ["p#0", "e#0", "e#0", "e#0"])
      assert.isBelow(Date.now() - started, 2_000)
      assert.strictEqual(upstream.inFlight(), 0)
    }).pipe(Effect.scoped))
})

/** Polls an Effect every 20 ms on real time until it is true; fails naming `what` after 10 s. */
const eventually = (check: Effect.Effect<boolean>, what: string) =>
  Effect.gen(function*() {
    for (let i = 0; i < 500; i++) {
      if (yield* check) return
      yield* Effect.sleep(20)
    }
    return yield* Effect.fail(new Error(`Timed out waiting for ${what}`))
  })

describe("http upstream: modern resource subscriptions (on the subscriptions/listen stream)", () => {
  it.live("resources/subscribe and unsubscribe change the set the listen stream carries; updates reach the events", () => {
    const recorded = recorder()
    return Effect.gen(function*() {
      const note = (name: string) =>
        McpServer.resource(Resource.make({ uri: `note://${name}`, name, read: Effect.succeed(name) }))
      const server = yield* library([note("a"), note("b"), note("c")])
      const upstream = yield* HttpUpstream.make(httpConfig("lib", server.url), recorded.events, { era: "modern" })
      assert.strictEqual((yield* upstream.ready).era, "modern")
      const updated = () =>
        recorded.notifications.filter((n) => n.method === "notifications/resources/updated").map((n) => n.params?.uri)
      // Answered once the upstream acknowledged a listen stream that carries the URI.
      assert.deepStrictEqual(yield* upstream.request("resources/subscribe", { uri: "note://a" }), {})
      assert.strictEqual(yield* server.mcp.resourceUpdated("note://a"), 1)
      yield* waitUntil(() => updated().length === 1, "the update of note://a")
      yield* upstream.request("resources/subscribe", { uri: "note://b" })
      // The stream it replaced is closed: one subscriber upstream.
      yield* eventually(Effect.map(server.mcp.resourceUpdated("note://b"), (n) => n === 1), "one listen stream")
      yield* waitUntil(() => updated().includes("note://b"), "the update of note://b")
      yield* upstream.request("resources/unsubscribe", { uri: "note://a" })
      // Acknowledged after the unsubscription: the stream now carries b and c only.
      yield* upstream.request("resources/subscribe", { uri: "note://c" })
      // The stream with a closes once the one without it is acknowledged (meanwhile an update may come twice).
      yield* eventually(Effect.map(server.mcp.resourceUpdated("note://a"), (n) => n === 0), "the stream with a closed")
      assert.strictEqual(yield* server.mcp.resourceUpdated("note://c"), 1)
      const before = updated().length
      assert.strictEqual(yield* server.mcp.resourceUpdated("note://a"), 0)
      yield* server.mcp.resourceUpdated("note://b")
      yield* waitUntil(() => updated().slice(before).includes("note://b"), "the update of note://b")
      assert.notInclude(updated().slice(before), "note://a")

      // Bounded: 1,000 subscriptions at most (b and c, and 998 of these, taken by streams re-opened meanwhile).
      const many = yield* Effect.all(
        Array.from(
          { length: 1_000 },
          (_, i) => Effect.either(upstream.request("resources/subscribe", { uri: `x://${i}` }))
        ),
        { concurrency: "unbounded" }
      )
      assert.strictEqual(many.filter((e) => e._tag === "Right").length, 998)
      const refused = many.flatMap((e) => (e._tag === "Left" ? [e.left.message] : []))
      assert.deepStrictEqual(refused, [
        "Upstream lib: 1000 resource subscriptions already",
        "Upstream lib: 1000 resource subscriptions already"
      ])
      yield* eventually(Effect.map(server.mcp.resourceUpdated("x://997"), (n) => n === 1), "x://997 carried")
    }).pipe(Effect.scoped)
  })

  it.live("an upstream that refuses subscriptions/listen: the subscription fails with its reason, and is dropped", () =>
    Effect.gen(function*() {
      let listens = 0
      const server = yield* scripted((_req, body, res) => {
        const message = JSON.parse(body)
        const answer = (status: number, reply: object) =>
          res.writeHead(status, { "content-type": "application/json" }).end(
            JSON.stringify({ jsonrpc: "2.0", id: message.id, ...reply })
          )
        if (message.method === "server/discover") {
          return answer(200, {
            result: { supportedVersions: ["2026-07-28"], capabilities: { resources: { subscribe: true } } }
          })
        }
        if (message.method === "subscriptions/listen") listens++
        answer(404, { error: { code: -32601, message: `Method not found: ${message.method}` } })
      })
      const port = (server.address() as { port: number }).port
      const upstream = yield* HttpUpstream.make(
        httpConfig("scripted", `http://127.0.0.1:${port}/mcp`),
        recorder().events,
        { era: "modern" }
      )
      yield* upstream.ready
      // Nothing wanted yet (no list_changed offered, no subscription): no listen stream.
      yield* Effect.sleep(100)
      assert.strictEqual(listens, 0)
      const error = yield* Effect.flip(upstream.request("resources/subscribe", { uri: "note://a" }))
      assert.strictEqual(
        error.message,
        "Upstream scripted: subscriptions/listen for note://a was refused: HTTP 404: Method not found: subscriptions/listen"
      )
      // The set is empty again: the listen stream is not re-opened.
      yield* Effect.sleep(1_200)
      assert.strictEqual(listens, 1)
    }).pipe(Effect.scoped))
})
