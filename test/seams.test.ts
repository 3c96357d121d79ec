// Seams that are "provide another layer": an EventStore in context is the one Streamable HTTP logs its streams to,
// a NotificationBus in context carries every change to the hubs (a shared store or bus, e.g. Redis, plugs in this
// way). The NonceStore seam is tested in McpServer.test.ts, interceptors in Interceptor.test.ts.
import { Effect, Layer, ManagedRuntime, Queue } from "effect"
import { afterEach, assert, describe, it } from "vitest"
import { EventStore, McpHttpServer, McpServer, McpTest, Notifications, Tool } from "../src/index.js"
import * as TestServer from "./fixtures/TestServer.js"
import { JSON_AND_SSE } from "./support/Messages.js"
import { readEvents } from "./support/Sse.js"

const runtimes: Array<{ readonly dispose: () => Promise<void> }> = []
afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((runtime) => runtime.dispose()))
})

describe("EventStore from context", () => {
  it("a store provided as a layer logs the session's stream events, and loses them with the session", async () => {
    const memory = EventStore.makeMemory()
    const appended: Array<string> = []
    const dropped: Array<string> = []
    // A store of our own: the in-memory one, recording what is appended (no unsafeAppend: the Effect path).
    const recording: EventStore.EventStore["Type"] = {
      append: (streamId, frame) =>
        Effect.tap(memory.append(streamId, frame), () => Effect.sync(() => appended.push(frame))),
      after: memory.after,
      drop: (streamId) => Effect.zipRight(Effect.sync(() => dropped.push(streamId)), memory.drop(streamId))
    }
    const runtime = ManagedRuntime.make(
      McpHttpServer.layer({ port: 0, shutdownTimeout: "1 second" }).pipe(
        Layer.provide(TestServer.layer({})),
        Layer.provide(Layer.succeed(EventStore.EventStore, recording))
      )
    )
    runtimes.push(runtime)
    const { url } = await runtime.runPromise(McpHttpServer.McpHttpServer)
    const post = (body: unknown, headers: Record<string, string> = {}) =>
      fetch(url, { method: "POST", headers: { ...JSON_AND_SSE, ...headers }, body: JSON.stringify(body) })
    const init = await post({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "t", version: "1" } }
    })
    const sid = init.headers.get("mcp-session-id")!
    await init.text()
    // A call with progress answers over SSE: its events go to the log.
    const res = await post({
      jsonrpc: "2.0",
      id: 2,
      method: "tools/call",
      params: { name: "sleep", arguments: { ms: 20, steps: 2 }, _meta: { progressToken: "p" } }
    }, { "mcp-session-id": sid })
    const { events } = await readEvents(res, (events) => events.some((e) => e.data.includes("\"id\":2")))
    assert.isTrue(events.length >= 2)
    assert.isTrue(appended.some((frame) => frame.includes("notifications/progress")), JSON.stringify(appended))
    assert.isTrue(appended.some((frame) => frame.includes("\"id\":2")))
    // Ending the session drops every stream it logged: the POST's too, not only its GET stream.
    const deleted = await fetch(url, { method: "DELETE", headers: { "mcp-session-id": sid } })
    await deleted.text()
    assert.includeMembers(dropped, [`${sid}/get`, `${sid}/1`])
  })
})

describe("NotificationBus from context", () => {
  it("every change is published on the bus; what the bus delivers (from this process or another) reaches subscribers", async () => {
    const published: Array<Notifications.Event> = []
    let deliverRemote: ((event: Notifications.Event) => number) | undefined
    // A bus of our own: records what is published and delivers it, as Redis pub/sub would echo it back.
    const bus: Notifications.BusFactory = {
      make: (deliver) =>
        Effect.sync(() => {
          deliverRemote = deliver
          return {
            publish: (event) =>
              Effect.sync(() => {
                published.push(event)
                return deliver(event)
              })
          }
        })
    }
    const program = Effect.gen(function*() {
      const client = yield* McpTest.connect()
      yield* client.request("resources/subscribe", { uri: "test://watched" })
      yield* McpServer.putTool(Tool.make({ name: "added", handler: () => Effect.succeed("ok") }))
      yield* McpServer.resourceUpdated("test://watched")
      const methods: Array<string> = []
      for (let i = 0; i < 2; i++) methods.push((yield* Queue.take(client.messages)).method!)
      // An event published by another node arrives through the bus alone (taken first: pending copies coalesce).
      const reached = deliverRemote!({ _tag: "ResourceUpdated", uri: "test://watched" })
      methods.push((yield* Queue.take(client.messages)).method!)
      return { reached, methods }
    })
    const { methods, reached } = await Effect.runPromise(
      Effect.scoped(program).pipe(
        Effect.provide(
          McpServer.layer({ name: "bus", version: "1.0.0" }).pipe(Layer.provide(Notifications.layerBus(bus)))
        )
      )
    )
    assert.deepStrictEqual(published, [
      { _tag: "ListChanged", kind: "tools" },
      { _tag: "ResourceUpdated", uri: "test://watched" }
    ])
    assert.strictEqual(reached, 1)
    assert.deepStrictEqual(methods.sort(), [
      "notifications/resources/updated",
      "notifications/resources/updated",
      "notifications/tools/list_changed"
    ])
  })
})
