/**
 * The HTTP+SSE (2024-11-05) upstream against `@modelcontextprotocol/server-everything sse` (the official SDK's
 * SSEServerTransport) and our reference server's `/sse`. Every wait is bounded. Needs `npm run build` first.
 */
import { assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import type * as Upstream from "../src/gateway/Upstream.js"
import * as Upstreams from "../src/gateway/Upstreams.js"
import { startServer } from "./fixtures/MainProcess.js"
import { common, recorder, textOf, waitUntil } from "./fixtures/UpstreamHarness.js"
import { startEverything } from "./fixtures/UpstreamServers.js"
import { assertBuilt } from "./support/Dist.js"

beforeAll(assertBuilt)

const sseConfig = (name: string, url: string, overrides: Partial<Upstream.SseConfig> = {}): Upstream.SseConfig => ({
  ...common(name),
  type: "sse",
  url,
  headers: {},
  ...overrides
})

describe("sse upstream", () => {
  it.live("server-everything: endpoint event, handshake, echo, progress, elicitation, list_changed", () => {
    const recorded = recorder()
    return Effect.gen(function*() {
      const server = yield* startEverything("sse")
      const upstream = yield* Upstreams.make(
        sseConfig("everything", `http://127.0.0.1:${server.port}/sse`),
        recorded.events
      )
      const declared = yield* upstream.ready
      assert.strictEqual(declared.era, "legacy")
      assert.strictEqual(declared.serverInfo.name, "mcp-servers/everything")
      const echoed = yield* upstream.request("tools/call", { name: "echo", arguments: { message: "sse" } })
      assert.strictEqual(textOf(echoed), "Echo: sse")
      const progress: Array<number> = []
      yield* upstream.request(
        "tools/call",
        { name: "trigger-long-running-operation", arguments: { duration: 0.2, steps: 2 } },
        { progress: (p) => Effect.sync(() => void progress.push(p.progress)) }
      )
      assert.deepStrictEqual(progress, [1, 2])
      yield* waitUntil(
        () => recorded.notifications.some((n) => n.method === "notifications/tools/list_changed"),
        "tools/list_changed"
      )
      // Nothing relates the upstream's request to a request on this transport: the oldest one with a hook answers.
      const asked: Array<string> = []
      const elicited = yield* upstream.request("tools/call", { name: "trigger-elicitation-request", arguments: {} }, {
        request: (method) =>
          Effect.sync(() => {
            asked.push(method)
            return { action: "decline" }
          })
      })
      assert.include(JSON.stringify(elicited), "decline")
      assert.deepStrictEqual(asked, ["elicitation/create"])
    }).pipe(Effect.scoped)
  })

  it.live("our reference server's /sse: a call, and cancellation reaches it (notifications/cancelled)", () =>
    Effect.gen(function*() {
      const server = yield* Effect.promise(() => startServer([]))
      const upstream = yield* Upstreams.make(
        sseConfig("ref", `http://127.0.0.1:${server.port}/sse`),
        recorder().events
      )
      const declared = yield* upstream.ready
      assert.strictEqual(declared.serverInfo.name, "effect-mcp-server-reference")
      assert.strictEqual(textOf(yield* upstream.request("tools/call", { name: "echo", arguments: { text: "x" } })), "x")
      const call = yield* Effect.fork(upstream.request(
        "tools/call",
        { name: "long_running_operation", arguments: { steps: 100, stepMs: 50 } }
      ))
      yield* waitUntil(() => upstream.inFlight() === 1, "the call in flight")
      yield* Effect.sleep(200)
      yield* Fiber.interrupt(call)
      yield* waitUntil(
        () => server.stderr().some((l: any) => l?.annotations?.event === "long_running_operation.interrupted"),
        "the server's interrupted log line"
      )
    }).pipe(Effect.scoped))

  it.live("the stream ending fails the calls in flight at once (closed); the upstream is Down", () => {
    const recorded = recorder()
    return Effect.gen(function*() {
      const server = yield* startEverything("sse")
      const upstream = yield* Upstreams.make(
        sseConfig("everything", `http://127.0.0.1:${server.port}/sse`),
        recorded.events
      )
      yield* upstream.ready
      const call = yield* Effect.fork(upstream.request(
        "tools/call",
        { name: "trigger-long-running-operation", arguments: { duration: 30, steps: 2 } }
      ))
      yield* waitUntil(() => upstream.inFlight() === 1, "the call in flight")
      yield* Effect.sleep(300)
      server.child.kill("SIGKILL")
      const error = yield* Effect.flip(Fiber.join(call)).pipe(Effect.timeout(5_000))
      assert.strictEqual((error as Upstream.UpstreamError).reason, "closed")
      yield* waitUntil(() => upstream.state()._tag !== "Ready", "not Ready")
      assert.include(recorded.states.map((s) => s._tag), "Down")
    }).pipe(Effect.scoped)
  })
})
