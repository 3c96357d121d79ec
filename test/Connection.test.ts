import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, FiberStatus, Ref, Scope, Supervisor } from "effect"
import { McpServer, McpTest } from "../src/index.js"
import * as TestServer from "./fixtures/TestServer.js"

const settle = Effect.gen(function*() {
  for (let i = 0; i < 20; i++) yield* Effect.yieldNow()
})

/** Server-side fibers of the supervised connection that have not finished. */
const live = (supervisor: Supervisor.Supervisor<Array<Fiber.RuntimeFiber<any, any>>>) =>
  Effect.gen(function*() {
    const fibers = yield* supervisor.value
    let alive = 0
    for (const fiber of fibers) {
      if (!FiberStatus.isDone(yield* fiber.status)) alive++
    }
    return alive
  })

const events = Effect.flatMap(TestServer.Probe, (probe) => Ref.get(probe.events))

describe("Connection", () => {
  // These two run on the live clock: TestClock forks a fiber of its own (a "not advancing the clock" warning)
  // whenever something sleeps on it, which would be counted here though it is not the server's.
  it.scopedLive("an idle connection is exactly one fiber; each in-flight request adds one", () =>
    Effect.gen(function*() {
      const supervisor = yield* Supervisor.track
      const client = yield* McpTest.connect({ supervisor })
      yield* settle
      assert.strictEqual(yield* live(supervisor), 1, "idle: the connection fiber only")

      const calls = yield* Effect.forEach([1, 2, 3], () => Effect.fork(client.callTool("sleep", { ms: 200 })))
      yield* settle
      assert.strictEqual(yield* live(supervisor), 1 + 3, "one fiber per in-flight request, nothing else")

      yield* Effect.forEach(calls, Fiber.join)
      yield* settle
      assert.strictEqual(yield* live(supervisor), 1, "back to one fiber when idle again")
    }).pipe(Effect.provide(TestServer.layer({ requestTimeout: 0 }))))

  it.scopedLive("with a request timeout, a connection still costs 1 fiber + 1 per request: deadlines live on the server's one timer", () =>
    Effect.gen(function*() {
      const supervisor = yield* Supervisor.track
      const server = yield* McpServer.McpServer
      const client = yield* McpTest.connect({ supervisor })
      yield* settle
      assert.strictEqual(yield* live(supervisor), 1)
      const calls = yield* Effect.forEach([1, 2, 3], () => Effect.fork(client.callTool("sleep", { ms: 100 })))
      yield* settle
      assert.strictEqual(yield* live(supervisor), 1 + 3, "connection + 3 requests, no timer fiber of its own")
      assert.strictEqual(server.deadlines.size(), 3)
      yield* Effect.forEach(calls, Fiber.join)
      yield* settle
      assert.strictEqual(yield* live(supervisor), 1)
      assert.strictEqual(server.deadlines.size(), 0, "a settled request leaves the timer at once")
    }).pipe(Effect.provide(TestServer.layer({ requestTimeout: "500 millis" }))))

  it.scoped("a vanished peer: in-flight handlers are interrupted and their finalizers run", () =>
    Effect.gen(function*() {
      const supervisor = yield* Supervisor.track
      const client = yield* McpTest.connect({ supervisor })
      yield* Effect.forEach([1, 2], () => Effect.fork(client.callTool("sleep", { ms: 10_000 })))
      yield* settle
      assert.deepStrictEqual(yield* events, ["sleep:start", "sleep:start"])
      yield* client.close
      yield* settle
      assert.deepStrictEqual(yield* events, ["sleep:start", "sleep:start", "sleep:interrupted", "sleep:interrupted"])
      assert.strictEqual(yield* live(supervisor), 0, "no fiber outlives the connection")
    }).pipe(Effect.provide(TestServer.layer())))

  it.effect("closing the connection's Scope interrupts in-flight handlers (finalizers run)", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const supervisor = yield* Supervisor.track
      const client = yield* McpTest.connect({ supervisor }).pipe(Scope.extend(scope))
      yield* Effect.forEach([1, 2, 3], () => Effect.fork(client.callTool("sleep", { ms: 10_000 })))
      yield* settle
      yield* Scope.close(scope, Exit.void)
      assert.deepStrictEqual((yield* events).filter((e) => e === "sleep:interrupted").length, 3)
      assert.strictEqual(yield* live(supervisor), 0)
    }).pipe(Effect.provide(TestServer.layer())))

  it.scoped("a small mailbox applies backpressure without losing or reordering messages", () =>
    Effect.gen(function*() {
      const client = yield* McpTest.connect({ mailboxCapacity: 2 })
      const results = yield* Effect.forEach(
        Array.from({ length: 50 }, (_, i) => i),
        (i) => client.callTool("echo", { text: `m${i}` }),
        { concurrency: "unbounded" }
      )
      assert.deepStrictEqual(results.map((r) => (r.content[0] as { text: string }).text), Array.from({ length: 50 }, (_, i) => `m${i}`))
    }).pipe(Effect.provide(TestServer.layer())))
})
