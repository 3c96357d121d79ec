/**
 * The server's one timer (Deadlines), through its own API under the TestClock: items of one length expire in
 * deadline order, each at its deadline and not before; removed (settled) items never fire; a shorter deadline wakes
 * a timer sleeping for a longer one; `unsafeAdd` uses the time it is given; the timer lives in its Scope.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Scope, TestClock } from "effect"
import * as Deadlines from "../src/server/Deadlines.js"
import { settle } from "./support/Settle.js"

/** An item that records its name in `fired` when it expires. */
const item = (name: string, fired: Array<string>): Deadlines.Item => ({
  deadline: 0,
  expire: () => {
    fired.push(name)
  }
})

/** Moves the TestClock and lets the timer fiber do what is due. */
const advance = (millis: number) => Effect.zipRight(TestClock.adjust(millis), settle)

/** The timer, started, with a fresh record of expiries. */
const start = Effect.gen(function*() {
  const deadlines = yield* Deadlines.make
  yield* settle
  return { deadlines, fired: [] as Array<string> }
})

describe("Deadlines", () => {
  it.scoped("items of one length expire in deadline order, each at its deadline and not before", () =>
    Effect.gen(function*() {
      const { deadlines, fired } = yield* start
      const a = item("a", fired)
      const b = item("b", fired)
      const c = item("c", fired)
      assert.strictEqual(yield* deadlines.add(a, 1000), 1000)
      yield* advance(100)
      assert.strictEqual(yield* deadlines.add(b, 1000), 1100)
      yield* advance(100)
      assert.strictEqual(yield* deadlines.add(c, 1000), 1200)
      assert.strictEqual(a.deadline, 1000)
      assert.strictEqual(c.deadline, 1200)
      assert.strictEqual(deadlines.size(), 3)
      yield* advance(799) // t = 999
      assert.deepStrictEqual(fired, [])
      yield* advance(1) // t = 1000
      assert.deepStrictEqual(fired, ["a"])
      assert.strictEqual(deadlines.size(), 2)
      yield* advance(99) // t = 1099
      assert.deepStrictEqual(fired, ["a"])
      yield* advance(1) // t = 1100
      assert.deepStrictEqual(fired, ["a", "b"])
      yield* advance(100) // t = 1200
      assert.deepStrictEqual(fired, ["a", "b", "c"])
      assert.strictEqual(deadlines.size(), 0)
    }))

  it.scoped("many items of one length: one jump past all their deadlines fires each once, in order", () =>
    Effect.gen(function*() {
      const { deadlines, fired } = yield* start
      const names: Array<string> = []
      for (let i = 0; i < 20; i++) {
        names.push(`i${i}`)
        yield* deadlines.add(item(`i${i}`, fired), 500)
        yield* advance(10)
      }
      // t = 200: the first item is due at 500, the last at 690.
      assert.deepStrictEqual(fired, [])
      yield* advance(299) // t = 499
      assert.deepStrictEqual(fired, [])
      yield* advance(1) // t = 500
      assert.deepStrictEqual(fired, ["i0"])
      yield* advance(10_000)
      assert.deepStrictEqual(fired, names)
      assert.strictEqual(deadlines.size(), 0)
    }))

  it.scoped("a length of 0, less, or not finite schedules nothing and returns Infinity", () =>
    Effect.gen(function*() {
      const { deadlines, fired } = yield* start
      assert.strictEqual(yield* deadlines.add(item("zero", fired), 0), Infinity)
      assert.strictEqual(yield* deadlines.add(item("negative", fired), -5), Infinity)
      assert.strictEqual(yield* deadlines.add(item("infinite", fired), Infinity), Infinity)
      assert.strictEqual(yield* deadlines.add(item("nan", fired), NaN), Infinity)
      assert.strictEqual(deadlines.unsafeAdd(item("unsafe", fired), 0, 0), Infinity)
      assert.strictEqual(deadlines.size(), 0)
      yield* advance(24 * 60 * 60 * 1000)
      assert.deepStrictEqual(fired, [])
    }))

  it.scoped("a removed (settled) item never fires; the others still fire at their deadlines", () =>
    Effect.gen(function*() {
      const { deadlines, fired } = yield* start
      const a = item("a", fired)
      const b = item("b", fired)
      const c = item("c", fired)
      yield* deadlines.add(a, 1000)
      yield* deadlines.add(b, 1000)
      yield* advance(10)
      yield* deadlines.add(c, 1000)
      // The head and the middle settle before their deadline.
      deadlines.remove(a, 1000)
      deadlines.remove(b, 1000)
      assert.strictEqual(deadlines.size(), 1)
      yield* advance(999) // t = 1009
      assert.deepStrictEqual(fired, [])
      yield* advance(1) // t = 1010
      assert.deepStrictEqual(fired, ["c"])
      yield* advance(10_000)
      assert.deepStrictEqual(fired, ["c"])
    }))

  it.scoped("remove names the item's length: removing under another length leaves it scheduled", () =>
    Effect.gen(function*() {
      const { deadlines, fired } = yield* start
      const a = item("a", fired)
      yield* deadlines.add(a, 1000)
      deadlines.remove(a, 999)
      assert.strictEqual(deadlines.size(), 1)
      yield* advance(1000)
      assert.deepStrictEqual(fired, ["a"])
    }))

  it.scoped("a timer sleeping for a settled item's deadline still fires a later item at that item's own deadline", () =>
    Effect.gen(function*() {
      const { deadlines, fired } = yield* start
      // The timer is woken for a (deadline 1000); a settles in the same step.
      const a = item("a", fired)
      yield* deadlines.add(a, 1000)
      deadlines.remove(a, 1000)
      yield* settle
      yield* advance(500)
      // b arrives later than the time the timer sleeps until, so it is not woken for it.
      yield* deadlines.add(item("b", fired), 1000) // deadline 1500
      yield* advance(500) // t = 1000: a's old deadline
      assert.deepStrictEqual(fired, [])
      yield* advance(499) // t = 1499
      assert.deepStrictEqual(fired, [])
      yield* advance(1) // t = 1500
      assert.deepStrictEqual(fired, ["b"])
    }))

  it.scoped("a shorter deadline arriving while the timer sleeps for a longer one wakes it in time", () =>
    Effect.gen(function*() {
      const { deadlines, fired } = yield* start
      yield* deadlines.add(item("long", fired), 10_000)
      yield* advance(50)
      yield* deadlines.add(item("short", fired), 100) // deadline 150
      assert.strictEqual(deadlines.size(), 2)
      yield* advance(99) // t = 149
      assert.deepStrictEqual(fired, [])
      yield* advance(1) // t = 150
      assert.deepStrictEqual(fired, ["short"])
      yield* advance(9849) // t = 9999
      assert.deepStrictEqual(fired, ["short"])
      yield* advance(1) // t = 10000
      assert.deepStrictEqual(fired, ["short", "long"])
    }))

  it.scoped("after going idle the timer wakes for the next item", () =>
    Effect.gen(function*() {
      const { deadlines, fired } = yield* start
      yield* deadlines.add(item("first", fired), 100)
      yield* advance(100)
      assert.deepStrictEqual(fired, ["first"])
      yield* advance(60 * 60 * 1000)
      yield* deadlines.add(item("second", fired), 100)
      yield* advance(99)
      assert.deepStrictEqual(fired, ["first"])
      yield* advance(1)
      assert.deepStrictEqual(fired, ["first", "second"])
    }))

  it.scoped("unsafeAdd uses the time it is given, not the Clock's, and writes the item's deadline", () =>
    Effect.gen(function*() {
      const { deadlines, fired } = yield* start
      yield* advance(1000)
      const early = item("early", fired)
      // Registered as if at t = 400: due at 900, which has already passed at t = 1000.
      assert.strictEqual(deadlines.unsafeAdd(early, 500, 400), 900)
      assert.strictEqual(early.deadline, 900)
      const exact = item("exact", fired)
      assert.strictEqual(deadlines.unsafeAdd(exact, 500, 1000), 1500)
      yield* settle
      assert.deepStrictEqual(fired, ["early"])
      yield* advance(499)
      assert.deepStrictEqual(fired, ["early"])
      yield* advance(1)
      assert.deepStrictEqual(fired, ["early", "exact"])
    }))

  it.scoped("the order holds: a re-added item moves to the end, an earlier time given waits for the last deadline", () =>
    Effect.gen(function*() {
      const { deadlines, fired } = yield* start
      const again = item("again", fired)
      assert.strictEqual(deadlines.unsafeAdd(again, 100, 0), 100)
      assert.strictEqual(deadlines.unsafeAdd(item("second", fired), 100, 50), 150)
      // Re-added later: due at 160, after "second", and counted once.
      assert.strictEqual(deadlines.unsafeAdd(again, 100, 60), 160)
      assert.strictEqual(deadlines.size(), 2)
      // A caller whose clock lags (t = 10) does not jump the queue: due with the last one, not before it.
      const lagging = item("lagging", fired)
      assert.strictEqual(deadlines.unsafeAdd(lagging, 100, 10), 160)
      yield* advance(150)
      assert.deepStrictEqual(fired, ["second"])
      yield* advance(10)
      assert.deepStrictEqual(fired, ["second", "again", "lagging"])
    }))

  it.scoped("size counts the items of every length until each expires or is removed", () =>
    Effect.gen(function*() {
      const { deadlines, fired } = yield* start
      const kept = item("kept", fired)
      const removed = item("removed", fired)
      yield* deadlines.add(kept, 100)
      yield* deadlines.add(item("x", fired), 200)
      yield* deadlines.add(removed, 300)
      assert.strictEqual(deadlines.size(), 3)
      deadlines.remove(removed, 300)
      assert.strictEqual(deadlines.size(), 2)
      yield* advance(100)
      assert.strictEqual(deadlines.size(), 1)
      yield* advance(100)
      assert.strictEqual(deadlines.size(), 0)
      assert.deepStrictEqual(fired, ["kept", "x"])
    }))

  it.scoped("an item re-added from its own expire is scheduled again from then", () =>
    Effect.gen(function*() {
      const { deadlines } = yield* start
      const fired: Array<number> = []
      let rounds = 0
      const ticker: Deadlines.Item = {
        deadline: 0,
        expire: () => {
          fired.push(ticker.deadline)
          if (++rounds < 3) deadlines.unsafeAdd(ticker, 100, ticker.deadline)
        }
      }
      yield* deadlines.add(ticker, 100)
      yield* advance(99)
      assert.deepStrictEqual(fired, [])
      yield* advance(1)
      assert.deepStrictEqual(fired, [100])
      yield* advance(100)
      assert.deepStrictEqual(fired, [100, 200])
      yield* advance(100)
      assert.deepStrictEqual(fired, [100, 200, 300])
      yield* advance(1000)
      assert.deepStrictEqual(fired, [100, 200, 300])
      assert.strictEqual(deadlines.size(), 0)
    }))

  it.effect("the timer fiber lives in its Scope: once the Scope closes nothing fires", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const deadlines = yield* Scope.extend(Deadlines.make, scope)
      const fired: Array<string> = []
      yield* deadlines.add(item("before", fired), 100)
      yield* advance(100)
      assert.deepStrictEqual(fired, ["before"])
      yield* deadlines.add(item("after", fired), 100)
      yield* Scope.close(scope, Exit.void)
      yield* advance(1000)
      assert.deepStrictEqual(fired, ["before"])
    }))

  it.scoped("an expiry that throws does not stop the timer: the items after it and later ones still fire", () =>
    Effect.gen(function*() {
      const { deadlines, fired } = yield* start
      const thrower: Deadlines.Item = {
        deadline: 0,
        expire: () => {
          throw new Error("boom")
        }
      }
      yield* deadlines.add(thrower, 1000)
      yield* deadlines.add(item("same-tick", fired), 1000)
      yield* advance(1000)
      assert.deepStrictEqual(fired, ["same-tick"])
      yield* deadlines.add(item("later", fired), 500)
      yield* advance(500)
      assert.deepStrictEqual(fired, ["same-tick", "later"])
    }))
})
