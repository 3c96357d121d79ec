// The push side over Streamable HTTP with real sockets on 127.0.0.1: legacy list_changed and resources/updated on
// the session's GET stream (never on a request's stream), modern subscriptions/listen streams (acknowledgement,
// tagging, closing ends the subscription, a graceful end at shutdown), and fan-out to 1,000 sessions with absent
// subscribers whose pending notifications stay coalesced.
import { Effect } from "effect"
import http from "node:http"
import v8 from "node:v8"
import vm from "node:vm"
import { assert, describe, it } from "vitest"
import { McpServer, Tool } from "../src/index.js"
import { post, session, start } from "./fixtures/Http.js"
import { modernHeaders, modernMeta } from "./support/Messages.js"
import { messagesOf, readEvents, readSse, SseParser } from "./support/Sse.js"
import { until } from "./support/Wait.js"

const SUB = "io.modelcontextprotocol/subscriptionId"

v8.setFlagsFromString("--expose-gc")
const gc = vm.runInNewContext("gc") as () => void
const heapAfterGc = () => {
  gc()
  return process.memoryUsage().heapUsed
}
const Extra = Tool.make({ name: "extra", handler: () => Effect.succeed("extra") })

interface Stream {
  readonly messages: Array<{ method?: string; params?: any; id?: unknown; result?: any }>
  /** The SSE event id of each message, in the same order. */
  readonly eventIds: Array<string | undefined>
  readonly close: () => void
}

/** Opens the session's GET stream on its own socket and collects the JSON-RPC messages it carries. */
const openGet = (url: string, sessionId: string, lastEventId?: string): Promise<Stream> =>
  new Promise((resolve, reject) => {
    const req = http.request(url, {
      method: "GET",
      agent: false,
      headers: {
        accept: "text/event-stream",
        "mcp-session-id": sessionId,
        ...(lastEventId !== undefined ? { "last-event-id": lastEventId } : {})
      }
    }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`GET answered ${res.statusCode}`))
      const messages: Stream["messages"] = []
      const eventIds: Stream["eventIds"] = []
      const parser = new SseParser()
      res.setEncoding("utf8")
      res.on("data", (chunk: string) => {
        for (const event of parser.push(chunk)) {
          if (event.data === "") continue // the priming event
          messages.push(JSON.parse(event.data))
          eventIds.push(event.id)
        }
      })
      resolve({ messages, eventIds, close: () => req.destroy() })
    })
    req.on("error", () => {})
    req.end()
  })

const request = (url: string, sessionId: string, id: number, method: string, params: unknown = {}) =>
  post(url, { jsonrpc: "2.0", id, method, params }, { "mcp-session-id": sessionId })

describe("legacy Streamable HTTP", () => {
  it("list_changed and resources/updated go on the GET stream only, never on a request's stream", async () => {
    const { url, runtime } = await start()
    const id = await session(url)
    const get = await openGet(url, id)
    assert.deepStrictEqual(await (await request(url, id, 2, "resources/subscribe", { uri: "test://doc" })).json(), {
      jsonrpc: "2.0",
      id: 2,
      result: {}
    })
    // A request whose answer streams (progress) while the changes happen.
    const call = await post(url, {
      jsonrpc: "2.0",
      id: 3,
      method: "tools/call",
      params: { name: "sleep", arguments: { ms: 300, steps: 3 }, _meta: { progressToken: "p" } }
    }, { "mcp-session-id": id })
    const reading = readEvents(call, (events) => messagesOf(events).some((m) => m.id === 3))
    await runtime.runPromise(Effect.zipRight(McpServer.putTool(Extra), McpServer.resourceUpdated("test://doc")))
    const { events } = await reading
    const onPost = messagesOf(events).map((m) => m.method ?? "answer")
    assert.deepStrictEqual(onPost, [
      "notifications/progress",
      "notifications/progress",
      "notifications/progress",
      "answer"
    ])
    await until(() => get.messages.length >= 2, "two notifications on the GET stream")
    assert.deepStrictEqual(get.messages.map((m) => m.method), [
      "notifications/tools/list_changed",
      "notifications/resources/updated"
    ])
    get.close()
  })

  it("notifications written straight to a parked stream are logged: a resumed stream gets what it missed", async () => {
    const { openStreams, runtime, url } = await start()
    const id = await session(url)
    const first = await openGet(url, id)
    await runtime.runPromise(McpServer.putTool(Extra))
    await until(() => first.messages.length === 1, "the first notification")
    const eventId = first.eventIds[0]
    assert.match(eventId ?? "", /\/get#\d+$/)
    first.close()
    await until(async () => (await openStreams()) === 0, "the server to see the stream closed")
    await runtime.runPromise(McpServer.removePrompt("hello"))
    const resumed = await openGet(url, id, eventId)
    await until(() => resumed.messages.length >= 1, "the missed notification")
    // A later change as a marker: anything sent twice on resumption would come before it.
    await runtime.runPromise(McpServer.removeTool("extra"))
    await until(() => resumed.messages.length >= 2, "the marker")
    assert.deepStrictEqual(resumed.messages.map((m) => m.method), [
      "notifications/prompts/list_changed",
      "notifications/tools/list_changed"
    ])
    resumed.close()
  })

  it("with no stream open, changes wait coalesced and arrive when the client opens one", async () => {
    const { url, runtime } = await start()
    const id = await session(url)
    await request(url, id, 2, "resources/subscribe", { uri: "test://doc" })
    await runtime.runPromise(Effect.gen(function*() {
      for (let i = 0; i < 50; i++) {
        yield* McpServer.putTool(Extra)
        yield* McpServer.resourceUpdated("test://doc")
      }
    }))
    const get = await openGet(url, id)
    await until(() => get.messages.length >= 2, "the pending notifications")
    // A later change as a marker: whatever else was pending would come before it.
    await runtime.runPromise(McpServer.removePrompt("hello"))
    await until(() => get.messages.length >= 3, "the marker")
    assert.deepStrictEqual(get.messages.map((m) => m.method), [
      "notifications/tools/list_changed",
      "notifications/resources/updated",
      "notifications/prompts/list_changed"
    ])
    get.close()
  })

  it("fan-out to 1,000 sessions: the listening ones get the final state, absent ones hold O(1) pending", async () => {
    const { url, runtime } = await start({}, {})
    const server = await runtime.runPromise(McpServer.McpServer)
    const ids: Array<string> = []
    for (let i = 0; i < 1000; i += 100) {
      ids.push(...await Promise.all(Array.from({ length: 100 }, () => session(url))))
    }
    // 900 sessions listen on a GET stream; 100 never open one (their subscriber has nowhere to deliver).
    const listening = ids.slice(0, 900)
    const streams: Array<Stream> = []
    for (let i = 0; i < listening.length; i += 100) {
      streams.push(...await Promise.all(listening.slice(i, i + 100).map((id) => openGet(url, id))))
    }
    assert.strictEqual(server.notifications.size, 1000)
    const heapBefore = heapAfterGc()
    // 50 rounds of changes, with the event loop free between rounds so deliveries interleave with broadcasts.
    for (let round = 0; round < 50; round++) {
      server.notifications.listChanged("tools")
      server.notifications.listChanged("resources")
      await new Promise((r) => setImmediate(r))
    }
    server.notifications.listChanged("prompts") // the marker: last of all
    await until(
      () => streams.every((s) => s.messages.some((m) => m.method === "notifications/prompts/list_changed")),
      "every listening session to receive the last change"
    )
    // Coalescing: nobody got more than one notification per broadcast, and each got the final state of each kind.
    for (const s of streams) {
      assert.isAtMost(s.messages.length, 101)
      const methods = new Set(s.messages.map((m) => m.method))
      assert.isTrue(
        methods.has("notifications/tools/list_changed") && methods.has("notifications/resources/list_changed")
      )
    }
    // The absent ones: three pending notifications each (one per kind), however many rounds went by.
    const stats = server.notifications.stats()
    assert.strictEqual(stats.subscribers, 1000)
    assert.strictEqual(stats.maxPending, 3)
    assert.strictEqual(stats.pending, 300)
    // Heap growth (the event logs of 900 resumable streams included) stays bounded.
    assert.isBelow(heapAfterGc() - heapBefore, 64 * 1024 * 1024)
    for (const s of streams) s.close()
  }, 60_000)
})

describe("asking the client over legacy Streamable HTTP", () => {
  it("the question goes on the POST's SSE stream, the answer is a POST answered 202, then the result follows", async () => {
    const { url } = await start()
    const id = await session(url, "2025-11-25", { sampling: {} })
    const call = await post(url, {
      jsonrpc: "2.0",
      id: 5,
      method: "tools/call",
      params: { name: "ask", arguments: { questions: ["sample"] } }
    }, { "mcp-session-id": id })
    assert.include(call.headers.get("content-type"), "text/event-stream")
    const stream = readSse(call)
    const find = async (predicate: (message: any) => boolean) =>
      messagesOf(await stream.readUntil((events) => messagesOf(events).some(predicate))).find(predicate)
    const question = await find((m) => m.method === "sampling/createMessage")
    assert.isDefined(question, "the question before the stream ended")
    const answer = await post(url, {
      jsonrpc: "2.0",
      id: question.id,
      result: { role: "assistant", content: { type: "text", text: "sampled" }, model: "m" }
    }, { "mcp-session-id": id })
    assert.strictEqual(answer.status, 202)
    const result = await find((m) => m.id === 5)
    assert.isDefined(result, "the result before the stream ended")
    assert.deepStrictEqual(JSON.parse(result.result.content[0].text), [
      { role: "assistant", content: { type: "text", text: "sampled" }, model: "m" }
    ])
  })
})

describe("modern subscriptions/listen over HTTP", () => {
  const listen = (url: string, id: string | number, notifications: Record<string, unknown>) =>
    post(url, {
      jsonrpc: "2.0",
      id,
      method: "subscriptions/listen",
      params: { notifications, _meta: modernMeta }
    }, modernHeaders("subscriptions/listen"))

  it("the POST's SSE stream: acknowledgement, tagged notifications; closing it ends the subscription", async () => {
    const { url, runtime } = await start()
    const server = await runtime.runPromise(McpServer.McpServer)
    const res = await listen(url, "s1", { toolsListChanged: true, resourceSubscriptions: ["test://doc"] })
    assert.strictEqual(res.status, 200)
    assert.include(res.headers.get("content-type"), "text/event-stream")
    const stream = readSse(res)
    const next = async (count: number) => {
      const messages = messagesOf(await stream.readUntil((events) => messagesOf(events).length >= count))
      assert.isAtLeast(messages.length, count, "the stream ended early")
      return messages
    }
    const [ack] = await next(1)
    assert.deepStrictEqual(ack, {
      jsonrpc: "2.0",
      method: "notifications/subscriptions/acknowledged",
      params: {
        notifications: { toolsListChanged: true, resourceSubscriptions: ["test://doc"] },
        _meta: { [SUB]: "s1" }
      }
    })
    await runtime.runPromise(Effect.gen(function*() {
      yield* McpServer.removePrompt("hello")
      yield* McpServer.putTool(Extra)
      yield* McpServer.resourceUpdated("test://doc")
    }))
    const messages = await next(3)
    assert.deepStrictEqual(messages.slice(1), [
      { jsonrpc: "2.0", method: "notifications/tools/list_changed", params: { _meta: { [SUB]: "s1" } } },
      {
        jsonrpc: "2.0",
        method: "notifications/resources/updated",
        params: { uri: "test://doc", _meta: { [SUB]: "s1" } }
      }
    ])
    assert.strictEqual(server.notifications.size, 1)
    await stream.cancel()
    await until(() => server.notifications.size === 0, "the subscription to end with its stream")
  })

  it("shutdown ends a subscription gracefully: notifications/cancelled, then the final result", async () => {
    const { url, runtime } = await start()
    const server = await runtime.runPromise(McpServer.McpServer)
    const res = await listen(url, 9, { promptsListChanged: true })
    const reading = readEvents(res, () => false)
    await until(() => server.notifications.size === 1, "the subscription")
    await runtime.dispose()
    const { events } = await reading
    const messages = events.map((e) => JSON.parse(e.data))
    assert.deepStrictEqual(messages.map((m) => m.method ?? "result"), [
      "notifications/subscriptions/acknowledged",
      "notifications/cancelled",
      "result"
    ])
    assert.deepStrictEqual(messages[1].params, { requestId: 9, reason: "The server is shutting down" })
    assert.strictEqual(messages[2].id, 9)
    assert.strictEqual(messages[2].result.resultType, "complete")
    assert.strictEqual(messages[2].result._meta[SUB], 9)
  })

  it("multi round-trip over HTTP: input_required, then the answer", async () => {
    const { url } = await start()
    const meta = { ...modernMeta, "io.modelcontextprotocol/clientCapabilities": { elicitation: {} } }
    const call = (extra: Record<string, unknown>) =>
      post(url, {
        jsonrpc: "2.0",
        id: 1,
        method: "tools/call",
        params: { name: "ask", arguments: { questions: ["elicit"] }, _meta: meta, ...extra }
      }, modernHeaders("tools/call", "ask"))
    const first: any = await (await call({})).json()
    assert.strictEqual(first.result.resultType, "input_required")
    const second: any = await (await call({
      inputResponses: { q0: { action: "accept", content: { name: "Ada" } } },
      requestState: first.result.requestState
    })).json()
    assert.strictEqual(second.result.resultType, "complete")
    assert.deepStrictEqual(JSON.parse(second.result.content[0].text), [{ action: "accept", content: { name: "Ada" } }])
    const replayed = await call({ inputResponses: {}, requestState: first.result.requestState })
    assert.strictEqual(replayed.status, 400)
    assert.strictEqual(((await replayed.json()) as any).error.code, -32602)
  })
})
