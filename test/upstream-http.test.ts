/**
 * The Streamable HTTP upstream, both eras: against our reference server (`node dist/main.js`, which speaks both, so
 * each era is forced in turn, and detected), and against `@modelcontextprotocol/server-everything streamableHttp`
 * (the official SDK's legacy server: SSE answers, sessions). Every wait is bounded. Needs `npm run build` first.
 */
import { assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import * as http from "node:http"
import * as HttpUpstream from "../src/gateway/HttpUpstream.js"
import type * as Upstream from "../src/gateway/Upstream.js"
import * as Upstreams from "../src/gateway/Upstreams.js"
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
