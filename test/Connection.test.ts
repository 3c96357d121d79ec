import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, FiberStatus, Scope, Supervisor } from "effect"
import { McpServer, McpTest } from "../src/index.js"
import * as Connection from "../src/transport/Connection.js"
import * as TestServer from "./fixtures/TestServer.js"
import { settle } from "./support/Settle.js"

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

const events = TestServer.events

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
      assert.deepStrictEqual(
        results.map((r) => (r.content[0] as { text: string }).text),
        Array.from({ length: 50 }, (_, i) => `m${i}`)
      )
    }).pipe(Effect.provide(TestServer.layer())))

  /** A transport whose peer stops reading after `reads` writes; `destroy` ends its stalled write, as a socket's close does. */
  const stalledTransport = (reads: number, pausable: boolean) =>
    Effect.gen(function*() {
      const gone = yield* Deferred.make<void>()
      const state = { inbound: undefined as Connection.Inbound | undefined, writes: 0, destroyed: 0, paused: 0 }
      const transport: Connection.Transport = {
        start: (callbacks) => Effect.sync(() => (state.inbound = callbacks)),
        write: () => (++state.writes <= reads ? Effect.void : Deferred.await(gone)),
        pause: () => state.paused++,
        resume: () => {},
        pausable,
        destroy: () => {
          state.destroyed++
          Deferred.unsafeDone(gone, Exit.void)
          state.inbound?.end({ drain: false })
        }
      }
      return { transport, state }
    })

  const echo = (id: number, text: string) =>
    JSON.stringify({ jsonrpc: "2.0", id, method: "tools/call", params: { name: "echo", arguments: { text } } })

  it.scoped("a peer that stops reading is cut off once its queued answers pass maxQueuedBytes; nothing outlives it", () =>
    Effect.gen(function*() {
      const { transport, state } = yield* stalledTransport(1, true)
      const connection = yield* Effect.fork(Connection.serve(transport, { maxQueuedBytes: 4096 }))
      yield* settle
      state.inbound!.frame(JSON.stringify({
        jsonrpc: "2.0",
        id: 0,
        method: "initialize",
        params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } }
      }))
      for (let i = 1; i <= 20; i++) assert.isTrue(state.inbound!.frame(echo(i, "x".repeat(1000))))
      const exit = yield* Fiber.await(connection)
      assert.isTrue(Exit.isSuccess(exit))
      assert.strictEqual(state.destroyed, 1)
      // Frames were held back (the transport paused) rather than buffered without bound.
      assert.isAbove(state.paused, 0)
    }).pipe(Effect.provide(TestServer.layer())))

  it.scoped("a transport that cannot pause is refused (false) once what waits passes maxQueuedBytes", () =>
    Effect.gen(function*() {
      const { transport, state } = yield* stalledTransport(0, false)
      yield* Effect.forkScoped(Connection.serve(transport, { maxQueuedBytes: 4096 }))
      yield* settle
      const big = echo(1, "y".repeat(3000))
      const accepted: Array<boolean> = []
      for (let i = 0; i < 10; i++) accepted.push(state.inbound!.frame(big))
      // At most the mailbox's bytes plus the same again waiting: a bounded number of bytes, whatever the count.
      assert.isTrue(accepted.includes(false))
      assert.isAtMost(accepted.filter((a) => a).length * big.length, 3 * 4096 + 2 * big.length)
    }).pipe(Effect.provide(TestServer.layer())))
})
