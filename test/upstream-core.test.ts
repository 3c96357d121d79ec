/**
 * The client core that every upstream transport shares, driven in memory (frames written to an array, the
 * upstream's messages fed in): ids, answers taken once, progress tokens, the upstream's
 * requests and who answers them, cancellation, closing, and the count of requests in flight.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import * as ClientCore from "../src/gateway/ClientCore.js"
import type * as Upstream from "../src/gateway/Upstream.js"
import { recorder } from "./fixtures/UpstreamHarness.js"

const setup = (events: Upstream.Events = recorder().events) =>
  Effect.gen(function*() {
    const written: Array<any> = []
    const write = (frame: string) => Effect.sync(() => void written.push(JSON.parse(frame)))
    const core = yield* ClientCore.make({
      upstream: "mem",
      events,
      write,
      cancelByNotification: true,
      maxPending: 4
    })
    const request = (method: string, params?: Upstream.Json, hooks?: Upstream.Hooks) =>
      Effect.fork(core.request(method, params, hooks, write))
    return { core, written, request }
  })

describe("ClientCore", () => {
  it.scoped("ids are allocated per request; an answer is taken once", () =>
    Effect.gen(function*() {
      const { core, request, written } = yield* setup()
      const a = yield* request("tools/list", {})
      const b = yield* request("tools/list", { cursor: "x" })
      yield* Effect.yieldNow()
      assert.deepStrictEqual(written.map((m) => m.id), [1, 2])
      yield* core.receive(JSON.stringify({ jsonrpc: "2.0", id: 2, result: { tools: ["b"] } }))
      yield* core.receive(JSON.stringify({ jsonrpc: "2.0", id: 2, result: { tools: ["again"] } }))
      yield* core.receive(JSON.stringify({ jsonrpc: "2.0", id: 1, error: { code: -32601, message: "no" } }))
      assert.deepStrictEqual(yield* Fiber.join(b), { tools: ["b"] })
      const error = yield* Effect.flip(Fiber.join(a))
      assert.strictEqual(error._tag, "UpstreamRpcError")
      assert.strictEqual(core.inFlight(), 0)
    }))

  it.scoped("progress: the client's own token upstream, mapped back to the request's hook", () =>
    Effect.gen(function*() {
      const { core, request, written } = yield* setup()
      const seen: Array<unknown> = []
      const call = yield* request("tools/call", { name: "t", _meta: { progressToken: "front", keep: 1 } }, {
        progress: (p) => Effect.sync(() => void seen.push(p))
      })
      const plain = yield* request("tools/call", { name: "t", _meta: { progressToken: "front" } })
      yield* Effect.yieldNow()
      assert.deepStrictEqual(written[0].params._meta, { progressToken: 1, keep: 1 })
      // Without a hook the caller's token is not sent: its progress could not be related.
      assert.deepStrictEqual(written[1].params._meta, {})
      yield* core.receive(JSON.stringify({
        jsonrpc: "2.0",
        method: "notifications/progress",
        params: { progressToken: 1, progress: 1, total: 2, message: "half" }
      }))
      yield* core.receive(JSON.stringify({
        jsonrpc: "2.0",
        method: "notifications/progress",
        params: { progressToken: 99, progress: 1 }
      }))
      assert.deepStrictEqual(seen, [{ progress: 1, total: 2, message: "half" }])
      yield* core.receive(JSON.stringify({ jsonrpc: "2.0", id: 1, result: {} }))
      yield* core.receive(JSON.stringify({ jsonrpc: "2.0", id: 2, result: {} }))
      yield* Fiber.join(call)
      yield* Fiber.join(plain)
    }))

  it.scoped("the upstream's requests: ping answered, the oldest request with a hook asked, else the events", () =>
    Effect.gen(function*() {
      const recorded = recorder((method) => Effect.succeed({ from: "events", method }))
      const { core, request, written } = yield* setup(recorded.events)
      yield* core.receive(JSON.stringify({ jsonrpc: "2.0", id: "p", method: "ping" }))
      yield* core.receive(JSON.stringify({ jsonrpc: "2.0", id: "r0", method: "roots/list" }))
      yield* core.receive(JSON.stringify({ jsonrpc: "2.0", id: "x", method: "unknown/method" }))
      yield* request("tools/call", { name: "no-hook" })
      yield* request("tools/call", { name: "hook" }, {
        request: (method) => Effect.succeed({ from: "hook", method })
      })
      yield* request("tools/call", { name: "hook-2" }, {
        request: () => Effect.fail({ code: -1, message: "declined" })
      })
      yield* Effect.yieldNow()
      yield* core.receive(JSON.stringify({ jsonrpc: "2.0", id: "s", method: "sampling/createMessage", params: {} }))
      yield* Effect.yieldNow()
      yield* Effect.yieldNow()
      const answers = written.filter((m) => m.method === undefined)
      assert.deepStrictEqual(answers, [
        { jsonrpc: "2.0", id: "p", result: {} },
        { jsonrpc: "2.0", id: "r0", result: { from: "events", method: "roots/list" } },
        { jsonrpc: "2.0", id: "x", error: { code: -32601, message: "Method not found: unknown/method" } },
        { jsonrpc: "2.0", id: "s", result: { from: "hook", method: "sampling/createMessage" } }
      ])
      assert.deepStrictEqual(recorded.requests.map((r) => r.method), ["roots/list"])
    }))

  it.scoped("interrupting a request sends notifications/cancelled; a late answer is dropped", () =>
    Effect.gen(function*() {
      const { core, request, written } = yield* setup()
      const call = yield* request("tools/call", { name: "slow" })
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(call)
      assert.deepStrictEqual(written[1], {
        jsonrpc: "2.0",
        method: "notifications/cancelled",
        params: { requestId: 1, reason: "The gateway's client cancelled the request" }
      })
      assert.strictEqual(core.inFlight(), 0)
      yield* core.receive(JSON.stringify({ jsonrpc: "2.0", id: 1, result: {} }))
      assert.strictEqual(written.length, 2)
    }))

  it.scoped("close fails every request in flight (closed) and refuses later ones; past maxPending: busy", () =>
    Effect.gen(function*() {
      const { core, request } = yield* setup()
      const calls = yield* Effect.forEach([1, 2, 3, 4], () => request("tools/list", {}))
      yield* Effect.yieldNow()
      const busy = yield* Effect.flip(Fiber.join(yield* request("tools/list", {})))
      assert.strictEqual((busy as Upstream.UpstreamError).reason, "busy")
      core.close("the child exited")
      for (const call of calls) {
        const error = yield* Effect.flip(Fiber.join(call))
        assert.strictEqual((error as Upstream.UpstreamError).reason, "closed")
      }
      const later = yield* Effect.flip(Fiber.join(yield* request("tools/list", {})))
      assert.strictEqual((later as Upstream.UpstreamError).reason, "closed")
    }))

  it.effect("limits counts requests in flight, however they end (the gateway's Instances enforce the limits)", () =>
    Effect.gen(function*() {
      const limits = yield* ClientCore.limits()
      const slow = yield* Effect.fork(limits.run(Effect.never))
      yield* Effect.yieldNow()
      assert.strictEqual(limits.inFlight(), 1)
      assert.strictEqual(yield* limits.run(Effect.succeed(1)), 1)
      yield* Effect.flip(limits.run(Effect.fail("no")))
      assert.strictEqual(limits.inFlight(), 1)
      yield* Fiber.interrupt(slow)
      assert.strictEqual(limits.inFlight(), 0)
    }))
})
