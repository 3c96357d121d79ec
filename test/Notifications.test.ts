/**
 * The notification Hub and its Subscribers, through their own API (no connection, no dispatcher): coalescing into
 * at most one pending frame per list kind and per URI, one wake-up per batch, list kinds filtered per subscriber,
 * resources/updated only to that URI's subscribers, the per-subscriber URI cap, endAll, stats, and the tagging of
 * modern subscription frames.
 */
import { assert, describe, it } from "@effect/vitest"
import { JsonRpc, Notifications } from "../src/index.js"

const SUB = "io.modelcontextprotocol/subscriptionId"

/** A subscriber that counts its wake-ups. */
const subscriber = (
  lists: ReadonlySet<Notifications.ListKind> = Notifications.ALL_LISTS,
  tagJson?: string
) => {
  const wakes = { count: 0 }
  const s = new Notifications.Subscriber(lists, () => {
    wakes.count++
  }, tagJson)
  return { s, wakes }
}

const updated = (uri: string) => JsonRpc.encodeNotification("notifications/resources/updated", { uri })
const listChanged = (kind: Notifications.ListKind) =>
  JsonRpc.encodeNotification(Notifications.listChangedMethod[kind], undefined)

describe("Subscriber", () => {
  it("many signals of one kind coalesce into one pending frame and one wake-up", () => {
    const hub = new Notifications.Hub()
    const { s, wakes } = subscriber()
    hub.add(s)
    for (let i = 0; i < 100; i++) hub.listChanged("tools")
    assert.strictEqual(s.pendingCount, 1)
    assert.isTrue(s.hasPending)
    assert.strictEqual(wakes.count, 1)
    assert.deepStrictEqual(s.take(), [listChanged("tools")])
    assert.strictEqual(s.pendingCount, 0)
    assert.isFalse(s.hasPending)
    assert.deepStrictEqual(s.take(), [])
    // Once taken, the next signal wakes it again.
    hub.listChanged("tools")
    assert.strictEqual(wakes.count, 2)
  })

  it("a wake-up per batch, not per kind: whatever is signalled before take is taken together", () => {
    const hub = new Notifications.Hub()
    const { s, wakes } = subscriber()
    hub.add(s)
    hub.subscribe(s, "test://a")
    hub.listChanged("prompts")
    hub.resourceUpdated("test://a")
    hub.listChanged("tools")
    hub.resourceUpdated("test://a")
    hub.listChanged("prompts")
    assert.strictEqual(wakes.count, 1)
    assert.strictEqual(s.pendingCount, 3)
    // List kinds first, in the order first signalled, then URIs.
    assert.deepStrictEqual(s.take(), [listChanged("prompts"), listChanged("tools"), updated("test://a")])
  })

  it("the frames are the JSON-RPC notifications, parseable as such", () => {
    const hub = new Notifications.Hub()
    const { s } = subscriber()
    hub.add(s)
    hub.subscribe(s, "test://doc?x=\"1\"")
    hub.listChanged("resources")
    hub.resourceUpdated("test://doc?x=\"1\"")
    assert.deepStrictEqual(s.take().map((frame) => JSON.parse(frame)), [
      { jsonrpc: "2.0", method: "notifications/resources/list_changed" },
      { jsonrpc: "2.0", method: "notifications/resources/updated", params: { uri: "test://doc?x=\"1\"" } }
    ])
  })
})

describe("Hub", () => {
  it("listChanged reaches only the subscribers that want that kind, and counts them", () => {
    const hub = new Notifications.Hub()
    const all = subscriber()
    const toolsOnly = subscriber(new Set(["tools"]))
    const none = subscriber(new Set())
    for (const { s } of [all, toolsOnly, none]) hub.add(s)
    assert.strictEqual(hub.size, 3)
    assert.strictEqual(hub.listChanged("tools"), 2)
    assert.strictEqual(hub.listChanged("prompts"), 1)
    assert.deepStrictEqual(all.s.take(), [listChanged("tools"), listChanged("prompts")])
    assert.deepStrictEqual(toolsOnly.s.take(), [listChanged("tools")])
    assert.deepStrictEqual(none.s.take(), [])
    assert.strictEqual(none.wakes.count, 0)
    // A subscriber signalled directly for a kind it does not want ignores it.
    toolsOnly.s.signalList("prompts")
    assert.isFalse(toolsOnly.s.hasPending)
  })

  it("resourceUpdated reaches only that URI's subscribers, until they unsubscribe or leave", () => {
    const hub = new Notifications.Hub()
    const a = subscriber()
    const b = subscriber()
    const c = subscriber()
    for (const { s } of [a, b, c]) hub.add(s)
    assert.isTrue(hub.subscribe(a.s, "test://doc"))
    assert.isTrue(hub.subscribe(b.s, "test://doc"))
    assert.isTrue(hub.subscribe(c.s, "test://other"))
    assert.strictEqual(hub.resourceUpdated("test://doc"), 2)
    assert.strictEqual(hub.resourceUpdated("test://nobody"), 0)
    assert.deepStrictEqual(a.s.take(), [updated("test://doc")])
    assert.deepStrictEqual(b.s.take(), [updated("test://doc")])
    assert.deepStrictEqual(c.s.take(), [])
    assert.strictEqual(c.wakes.count, 0)
    // Subscribing twice is one subscription.
    assert.isTrue(hub.subscribe(a.s, "test://doc"))
    assert.strictEqual(hub.resourceUpdated("test://doc"), 2)
    hub.unsubscribe(a.s, "test://doc")
    assert.deepStrictEqual([...a.s.uris], [])
    a.s.take()
    b.s.take()
    assert.strictEqual(hub.resourceUpdated("test://doc"), 1)
    assert.deepStrictEqual(a.s.take(), [])
    // Leaving the hub unsubscribes from every URI.
    hub.remove(b.s)
    assert.strictEqual(hub.size, 2)
    assert.strictEqual(hub.resourceUpdated("test://doc"), 0)
    assert.strictEqual(hub.listChanged("tools"), 2)
    // Unsubscribing what was never subscribed is harmless.
    hub.unsubscribe(c.s, "test://doc")
    assert.strictEqual(hub.resourceUpdated("test://other"), 1)
  })

  it("a subscriber that left the hub gains no subscription and is not counted", () => {
    const hub = new Notifications.Hub()
    const gone = subscriber()
    hub.add(gone.s)
    hub.remove(gone.s)
    hub.subscribe(gone.s, "test://doc")
    assert.strictEqual(hub.resourceUpdated("test://doc"), 0)
    assert.deepStrictEqual(gone.s.take(), [])
    assert.strictEqual(gone.wakes.count, 0)
  })

  it("many updates of one URI coalesce; updates of different URIs each stay pending once", () => {
    const hub = new Notifications.Hub()
    const { s, wakes } = subscriber()
    hub.add(s)
    hub.subscribe(s, "test://a")
    hub.subscribe(s, "test://b")
    for (let i = 0; i < 50; i++) {
      hub.resourceUpdated("test://a")
      hub.resourceUpdated("test://b")
    }
    assert.strictEqual(s.pendingCount, 2)
    assert.strictEqual(wakes.count, 1)
    assert.deepStrictEqual(s.take(), [updated("test://a"), updated("test://b")])
  })

  it(`a subscriber holds at most ${Notifications.MAX_URIS_PER_SUBSCRIBER} URIs; past it subscribe is refused`, () => {
    const hub = new Notifications.Hub()
    const { s } = subscriber()
    const other = subscriber()
    hub.add(s)
    hub.add(other.s)
    for (let i = 0; i < Notifications.MAX_URIS_PER_SUBSCRIBER; i++) {
      assert.isTrue(hub.subscribe(s, `test://${i}`))
    }
    assert.isFalse(hub.subscribe(s, "test://one-too-many"))
    assert.strictEqual(s.uris.size, Notifications.MAX_URIS_PER_SUBSCRIBER)
    assert.strictEqual(hub.resourceUpdated("test://one-too-many"), 0)
    // A URI it already holds is still accepted, and the cap is per subscriber.
    assert.isTrue(hub.subscribe(s, "test://0"))
    assert.isTrue(hub.subscribe(other.s, "test://one-too-many"))
    // Unsubscribing frees a place.
    hub.unsubscribe(s, "test://0")
    assert.isTrue(hub.subscribe(s, "test://one-too-many"))
    assert.strictEqual(hub.resourceUpdated("test://one-too-many"), 2)
  })

  it("stats: subscribers, pending notifications in total and at the worst subscriber", () => {
    const hub = new Notifications.Hub()
    const a = subscriber()
    const b = subscriber(new Set(["tools"]))
    hub.add(a.s)
    hub.add(b.s)
    assert.deepStrictEqual(hub.stats(), { subscribers: 2, pending: 0, maxPending: 0 })
    hub.subscribe(a.s, "test://doc")
    for (let i = 0; i < 10; i++) {
      hub.listChanged("tools")
      hub.listChanged("prompts")
      hub.resourceUpdated("test://doc")
    }
    assert.deepStrictEqual(hub.stats(), { subscribers: 2, pending: 4, maxPending: 3 })
    a.s.take()
    assert.deepStrictEqual(hub.stats(), { subscribers: 2, pending: 1, maxPending: 1 })
  })

  it("endAll ends the modern (tagged) subscribers, waking them, and leaves legacy ones alone", () => {
    const hub = new Notifications.Hub()
    const legacy = subscriber()
    const modern = subscriber(new Set(["tools"]), "\"L1\"")
    hub.add(legacy.s)
    hub.add(modern.s)
    hub.endAll()
    assert.isTrue(modern.s.ended)
    assert.strictEqual(modern.wakes.count, 1)
    assert.isFalse(legacy.s.ended)
    assert.strictEqual(legacy.wakes.count, 0)
  })
})

describe("tagging modern subscription frames", () => {
  const meta = (tag: unknown) => ({ _meta: { [SUB]: tag } })

  it("tagFrame splices _meta.subscriptionId into a frame with no params, empty params, or params", () => {
    assert.deepStrictEqual(JSON.parse(Notifications.tagFrame(listChanged("tools"), "\"L1\"")), {
      jsonrpc: "2.0",
      method: "notifications/tools/list_changed",
      params: meta("L1")
    })
    assert.deepStrictEqual(
      JSON.parse(Notifications.tagFrame(JsonRpc.encodeNotification("notifications/x", {}), "7")),
      { jsonrpc: "2.0", method: "notifications/x", params: meta(7) }
    )
    assert.deepStrictEqual(JSON.parse(Notifications.tagFrame(updated("test://doc"), "\"a\\\"b\"")), {
      jsonrpc: "2.0",
      method: "notifications/resources/updated",
      params: { uri: "test://doc", ...meta("a\"b") }
    })
    // Params whose last value is itself an object, or a string with braces in it.
    const nested = JsonRpc.encodeNotification("notifications/x", { a: { b: {} }, s: "{}}" })
    assert.deepStrictEqual(JSON.parse(Notifications.tagFrame(nested, "1")), {
      jsonrpc: "2.0",
      method: "notifications/x",
      params: { a: { b: {} }, s: "{}}", ...meta(1) }
    })
    const endsWithObject = JsonRpc.encodeNotification("notifications/x", { a: {} })
    assert.deepStrictEqual(JSON.parse(Notifications.tagFrame(endsWithObject, "1")), {
      jsonrpc: "2.0",
      method: "notifications/x",
      params: { a: {}, ...meta(1) }
    })
  })

  it("a tagged subscriber's frames carry its subscription id; a legacy subscriber's do not", () => {
    const hub = new Notifications.Hub()
    const modern = subscriber(new Set(["tools"]), "\"L1\"")
    const numeric = subscriber(new Set(["tools"]), "42")
    const legacy = subscriber()
    for (const { s } of [modern, numeric, legacy]) {
      hub.add(s)
      hub.subscribe(s, "test://doc")
    }
    hub.listChanged("tools")
    hub.resourceUpdated("test://doc")
    assert.deepStrictEqual(modern.s.take().map((frame) => JSON.parse(frame)), [
      { jsonrpc: "2.0", method: "notifications/tools/list_changed", params: meta("L1") },
      { jsonrpc: "2.0", method: "notifications/resources/updated", params: { uri: "test://doc", ...meta("L1") } }
    ])
    assert.deepStrictEqual(numeric.s.take().map((frame) => JSON.parse(frame).params._meta[SUB]), [42, 42])
    assert.deepStrictEqual(legacy.s.take(), [listChanged("tools"), updated("test://doc")])
  })
})
