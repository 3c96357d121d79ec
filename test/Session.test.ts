/**
 * Legacy session state and the session registry, through their own API under the TestClock: the registry's size
 * cap, touch and remove, idle expiry at exactly the idle timeout (postponed by activity, skipped while busy), and
 * `protocolVersion`.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Scope, TestClock } from "effect"
import { ProtocolVersion, Session } from "../src/index.js"
import { settle } from "./support/Settle.js"

interface Stub extends Session.Managed {
  readonly id: string
  busyNow: boolean
}

/** A session that records its closing in `closed` and is busy while `busyNow` is set. */
const stub = (id: string, closed: Array<string>): Stub => {
  const session: Stub = {
    id,
    busyNow: false,
    close: Effect.sync(() => {
      closed.push(id)
    }),
    busy: () => session.busyNow
  }
  return session
}

/** Moves the TestClock and lets the expiry fiber do what is due. */
const advance = (millis: number) => Effect.zipRight(TestClock.adjust(millis), settle)

const registry = (options: { readonly maxSessions?: number; readonly idleTimeoutMillis?: number } = {}) =>
  Effect.tap(
    Session.makeRegistry<Stub>({
      maxSessions: options.maxSessions ?? 100,
      idleTimeoutMillis: options.idleTimeoutMillis ?? 1000
    }),
    () => settle
  )

describe("Session state", () => {
  it("protocolVersion: the negotiated version, or the latest legacy one before initialize", () => {
    assert.strictEqual(Session.protocolVersion(undefined), ProtocolVersion.LATEST_LEGACY)
    assert.strictEqual(Session.protocolVersion(undefined), "2025-11-25")
    assert.strictEqual(
      Session.protocolVersion({
        protocolVersion: "2025-03-26",
        clientInfo: { name: "c", version: "1" },
        clientCapabilities: {}
      }),
      "2025-03-26"
    )
  })

  it.effect("make: a session that has negotiated nothing, with no level, subscriber or roots", () =>
    Effect.gen(function*() {
      const a = yield* Session.make
      const b = yield* Session.make
      assert.deepStrictEqual(a, {
        negotiated: undefined,
        initialized: false,
        logLevel: undefined,
        subscriber: undefined,
        roots: undefined
      })
      // Each session is its own mutable state.
      a.initialized = true
      assert.isFalse(b.initialized)
    }))
})

describe("Session.makeRegistry", () => {
  it.scoped("add refuses past maxSessions; removing frees a slot", () =>
    Effect.gen(function*() {
      const closed: Array<string> = []
      const sessions = yield* registry({ maxSessions: 2 })
      assert.isTrue(yield* sessions.add("a", stub("a", closed)))
      assert.isTrue(yield* sessions.add("b", stub("b", closed)))
      assert.isFalse(yield* sessions.add("c", stub("c", closed)))
      assert.strictEqual(sessions.size(), 2)
      assert.isUndefined(yield* sessions.touch("c"))
      assert.isTrue(yield* sessions.remove("a"))
      assert.deepStrictEqual(closed, ["a"])
      assert.isTrue(yield* sessions.add("c", stub("c", closed)))
      assert.strictEqual(sessions.size(), 2)
    }))

  it.scoped("an id already taken is refused, and the live session is neither replaced nor closed", () =>
    Effect.gen(function*() {
      const closed: Array<string> = []
      const sessions = yield* registry({ maxSessions: 10 })
      const first = stub("a", closed)
      assert.isTrue(yield* sessions.add("a", first))
      assert.isFalse(yield* sessions.add("a", stub("a", closed)))
      assert.strictEqual(yield* sessions.touch("a"), first)
      assert.strictEqual(sessions.size(), 1)
      assert.deepStrictEqual(closed, [])
    }))

  it.scoped("maxSessions 0 refuses every session", () =>
    Effect.gen(function*() {
      const sessions = yield* registry({ maxSessions: 0 })
      assert.isFalse(yield* sessions.add("a", stub("a", [])))
      assert.strictEqual(sessions.size(), 0)
    }))

  it.scoped("touch gives the session; unknown and removed ids give undefined; remove closes once", () =>
    Effect.gen(function*() {
      const closed: Array<string> = []
      const sessions = yield* registry()
      const a = stub("a", closed)
      yield* sessions.add("a", a)
      assert.strictEqual(yield* sessions.touch("a"), a)
      assert.isUndefined(yield* sessions.touch("nope"))
      assert.isFalse(yield* sessions.remove("nope"))
      assert.isTrue(yield* sessions.remove("a"))
      assert.isFalse(yield* sessions.remove("a"))
      assert.isUndefined(yield* sessions.touch("a"))
      assert.deepStrictEqual(closed, ["a"])
      assert.strictEqual(sessions.size(), 0)
      // The expiry fiber does not close it again at its old deadline.
      yield* advance(10_000)
      assert.deepStrictEqual(closed, ["a"])
    }))

  it.scoped("a session idle for the idle timeout is closed then, not before; each at its own time", () =>
    Effect.gen(function*() {
      const closed: Array<string> = []
      const sessions = yield* registry({ idleTimeoutMillis: 1000 })
      yield* sessions.add("a", stub("a", closed))
      yield* advance(300)
      yield* sessions.add("b", stub("b", closed))
      yield* advance(699) // t = 999
      assert.deepStrictEqual(closed, [])
      assert.strictEqual(sessions.size(), 2)
      yield* advance(1) // t = 1000
      assert.deepStrictEqual(closed, ["a"])
      assert.isUndefined(yield* sessions.touch("a"))
      yield* advance(299) // t = 1299
      assert.deepStrictEqual(closed, ["a"])
      yield* advance(1) // t = 1300
      assert.deepStrictEqual(closed, ["a", "b"])
      assert.strictEqual(sessions.size(), 0)
    }))

  it.scoped("touching postpones expiry by a whole idle period, and expiry follows the order of activity", () =>
    Effect.gen(function*() {
      const closed: Array<string> = []
      const sessions = yield* registry({ idleTimeoutMillis: 1000 })
      yield* sessions.add("a", stub("a", closed))
      yield* sessions.add("b", stub("b", closed))
      yield* advance(600)
      yield* sessions.touch("a") // a now expires at 1600, after b
      yield* advance(400) // t = 1000
      assert.deepStrictEqual(closed, ["b"])
      yield* advance(599) // t = 1599
      assert.deepStrictEqual(closed, ["b"])
      yield* advance(1) // t = 1600
      assert.deepStrictEqual(closed, ["b", "a"])
    }))

  it.scoped("touching the most recent session again still postpones it", () =>
    Effect.gen(function*() {
      const closed: Array<string> = []
      const sessions = yield* registry({ idleTimeoutMillis: 1000 })
      yield* sessions.add("a", stub("a", closed))
      for (let i = 0; i < 5; i++) {
        yield* advance(900)
        assert.isDefined(yield* sessions.touch("a"))
      }
      // t = 4500, last touched then: it expires at 5500.
      yield* advance(999)
      assert.deepStrictEqual(closed, [])
      yield* advance(1)
      assert.deepStrictEqual(closed, ["a"])
    }))

  it.scoped("a busy session is skipped and looked at again one idle period later", () =>
    Effect.gen(function*() {
      const closed: Array<string> = []
      const sessions = yield* registry({ idleTimeoutMillis: 1000 })
      const a = stub("a", closed)
      a.busyNow = true
      yield* sessions.add("a", a)
      yield* advance(100)
      yield* sessions.add("b", stub("b", closed))
      yield* advance(900) // t = 1000: a is busy, skipped; b is not due yet
      assert.deepStrictEqual(closed, [])
      assert.strictEqual(sessions.size(), 2)
      yield* advance(100) // t = 1100
      assert.deepStrictEqual(closed, ["b"])
      a.busyNow = false
      yield* advance(899) // t = 1999: a's next look is at 2000
      assert.deepStrictEqual(closed, ["b"])
      yield* advance(1)
      assert.deepStrictEqual(closed, ["b", "a"])
    }))

  it.scoped("after the registry empties, a session added later still expires on time", () =>
    Effect.gen(function*() {
      const closed: Array<string> = []
      const sessions = yield* registry({ idleTimeoutMillis: 1000 })
      yield* sessions.add("a", stub("a", closed))
      yield* advance(1000)
      assert.deepStrictEqual(closed, ["a"])
      yield* advance(60 * 60 * 1000)
      yield* sessions.add("b", stub("b", closed))
      yield* advance(999)
      assert.deepStrictEqual(closed, ["a"])
      yield* advance(1)
      assert.deepStrictEqual(closed, ["a", "b"])
    }))

  it.scoped("an idle timeout of 0 never expires a session", () =>
    Effect.gen(function*() {
      const closed: Array<string> = []
      const sessions = yield* registry({ idleTimeoutMillis: 0 })
      yield* sessions.add("a", stub("a", closed))
      yield* advance(365 * 24 * 60 * 60 * 1000)
      assert.deepStrictEqual(closed, [])
      assert.strictEqual(sessions.size(), 1)
    }))

  it.scoped("closeAll closes every session in order and empties the registry", () =>
    Effect.gen(function*() {
      const closed: Array<string> = []
      const sessions = yield* registry()
      for (const id of ["a", "b", "c"]) yield* sessions.add(id, stub(id, closed))
      yield* sessions.closeAll
      assert.deepStrictEqual(closed, ["a", "b", "c"])
      assert.strictEqual(sessions.size(), 0)
      assert.isUndefined(yield* sessions.touch("b"))
      yield* advance(10_000)
      assert.deepStrictEqual(closed, ["a", "b", "c"])
    }))

  it.effect("the expiry fiber lives in its Scope: once the Scope closes no session expires", () =>
    Effect.gen(function*() {
      const closed: Array<string> = []
      const scope = yield* Scope.make()
      const sessions = yield* Scope.extend(registry({ idleTimeoutMillis: 1000 }), scope)
      yield* sessions.add("a", stub("a", closed))
      yield* Scope.close(scope, Exit.void)
      yield* advance(10_000)
      assert.deepStrictEqual(closed, [])
      assert.strictEqual(sessions.size(), 1)
    }))
})
