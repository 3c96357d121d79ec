/**
 * The in-memory event store behind resumable SSE streams, through its own API: ids `<stream>#<n>`, replay after an
 * id (only that stream's events), unknown and malformed ids, the per-stream bound (oldest dropped, replay marked
 * truncated), the bound on streams (least recently written evicted), and drop.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { EventStore } from "../src/index.js"

type Store = EventStore.EventStore["Type"]

/** The replay after `id`, which must exist. */
const replay = (store: Store, id: string) =>
  Effect.map(store.after(id), (found) => {
    assert.isTrue(Option.isSome(found), `no replay after ${id}`)
    return Option.getOrThrow(found)
  })

const ids = (events: ReadonlyArray<EventStore.StoredEvent>) => events.map((event) => event.id)

/** Appends `n` frames `f1`..`fn` to a stream. */
const fill = (store: Store, streamId: string, n: number) =>
  Effect.forEach(Array.from({ length: n }, (_, i) => `f${i + 1}`), (frame) => store.append(streamId, frame))

describe("EventStore.makeMemory", () => {
  it.effect("event ids are <stream>#<n>, numbered from 1 per stream", () =>
    Effect.gen(function*() {
      const store = EventStore.makeMemory()
      assert.strictEqual(yield* store.append("s/get", "a"), "s/get#1")
      assert.strictEqual(yield* store.append("s/get", "b"), "s/get#2")
      assert.strictEqual(yield* store.append("s/1", "c"), "s/1#1")
      assert.strictEqual(store.unsafeAppend!("s/get", "d"), "s/get#3")
      assert.strictEqual(EventStore.streamOf("s/get#3"), "s/get")
      // The sequence is after the last '#', so a stream id may itself contain one.
      assert.strictEqual(yield* store.append("a#b", "e"), "a#b#1")
      assert.strictEqual(EventStore.streamOf("a#b#1"), "a#b")
    }))

  it.effect("after an id: that stream's later events, in order, with their frames", () =>
    Effect.gen(function*() {
      const store = EventStore.makeMemory()
      yield* store.append("s", "one")
      yield* store.append("other", "x")
      yield* store.append("s", "two")
      store.unsafeAppend!("s", "three")
      yield* store.append("other", "y")
      assert.deepStrictEqual(yield* replay(store, "s#1"), {
        streamId: "s",
        events: [{ id: "s#2", frame: "two" }, { id: "s#3", frame: "three" }],
        truncated: false
      })
      assert.deepStrictEqual(ids((yield* replay(store, "s#0")).events), ["s#1", "s#2", "s#3"])
      assert.deepStrictEqual(yield* replay(store, "s#3"), { streamId: "s", events: [], truncated: false })
      assert.deepStrictEqual(ids((yield* replay(store, "other#1")).events), ["other#2"])
    }))

  it.effect("an unknown stream or an id that names no stream has no replay", () =>
    Effect.gen(function*() {
      const store = EventStore.makeMemory()
      yield* store.append("s", "one")
      for (const id of ["unknown#1", "s", "#1", "", "s1"]) {
        assert.isTrue(Option.isNone(yield* store.after(id)), id)
      }
      assert.isUndefined(EventStore.streamOf("s"))
      assert.isUndefined(EventStore.streamOf("#1"))
    }))

  it.effect("a stream keeps its last 1,000 events: the oldest is dropped, and a replay that misses it says so", () =>
    Effect.gen(function*() {
      const store = EventStore.makeMemory()
      yield* fill(store, "s", 1000)
      const whole = yield* replay(store, "s#0")
      assert.strictEqual(whole.events.length, 1000)
      assert.isFalse(whole.truncated)
      yield* store.append("s", "f1001")
      const fromStart = yield* replay(store, "s#0")
      assert.strictEqual(fromStart.events.length, 1000)
      assert.deepStrictEqual(fromStart.events[0], { id: "s#2", frame: "f2" })
      assert.deepStrictEqual(fromStart.events[999], { id: "s#1001", frame: "f1001" })
      assert.isTrue(fromStart.truncated)
      // After #1 the next event is #2, which is still there: nothing was missed.
      const fromFirst = yield* replay(store, "s#1")
      assert.strictEqual(fromFirst.events.length, 1000)
      assert.isFalse(fromFirst.truncated)
      const tail = yield* replay(store, "s#999")
      assert.deepStrictEqual(ids(tail.events), ["s#1000", "s#1001"])
      assert.isFalse(tail.truncated)
    }))

  it.effect("eventsPerStream bounds each stream separately", () =>
    Effect.gen(function*() {
      const store = EventStore.makeMemory({ eventsPerStream: 3 })
      yield* fill(store, "a", 5)
      yield* fill(store, "b", 2)
      const a = yield* replay(store, "a#1")
      assert.deepStrictEqual(ids(a.events), ["a#3", "a#4", "a#5"])
      assert.isTrue(a.truncated)
      assert.isFalse((yield* replay(store, "a#2")).truncated)
      assert.deepStrictEqual(ids((yield* replay(store, "b#0")).events), ["b#1", "b#2"])
    }))

  it.effect("past the bound on streams, the least recently written stream is evicted", () =>
    Effect.gen(function*() {
      const store = EventStore.makeMemory({ streams: 2 })
      yield* store.append("a", "a1")
      yield* store.append("b", "b1")
      // Writing to a makes b the least recently written.
      yield* store.append("a", "a2")
      yield* store.append("c", "c1")
      assert.isTrue(Option.isNone(yield* store.after("b#0")))
      assert.deepStrictEqual(ids((yield* replay(store, "a#0")).events), ["a#1", "a#2"])
      assert.deepStrictEqual(ids((yield* replay(store, "c#0")).events), ["c#1"])
      // Reading does not count as writing: a is now the oldest written.
      yield* store.after("a#0")
      yield* store.append("d", "d1")
      assert.isTrue(Option.isNone(yield* store.after("a#0")))
      assert.isTrue(Option.isSome(yield* store.after("c#0")))
    }))

  it.effect("drop forgets one stream and leaves the others", () =>
    Effect.gen(function*() {
      const store = EventStore.makeMemory()
      yield* fill(store, "s/get", 3)
      yield* fill(store, "t/get", 2)
      yield* store.drop("s/get")
      assert.isTrue(Option.isNone(yield* store.after("s/get#1")))
      assert.deepStrictEqual(ids((yield* replay(store, "t/get#0")).events), ["t/get#1", "t/get#2"])
      // Dropping an unknown stream is harmless.
      yield* store.drop("never")
      assert.deepStrictEqual(ids((yield* replay(store, "t/get#0")).events), ["t/get#1", "t/get#2"])
    }))

  it.effect("layerMemory provides the EventStore Tag with the bounds given", () =>
    Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      yield* fill(store, "s", 3)
      const replayed = yield* replay(store, "s#0")
      assert.deepStrictEqual(ids(replayed.events), ["s#2", "s#3"])
      assert.isTrue(replayed.truncated)
    }).pipe(Effect.provide(EventStore.layerMemory({ eventsPerStream: 2 }))))
})
