/**
 * The push side, over the real Connection and Dispatcher (McpTest), with the TestClock: list_changed and
 * resources/updated, legacy subscriptions, modern subscriptions/listen, asking the client in the legacy era
 * (pending table, timeout, cancellation, roots cache) and the modern multi round-trip requests (requestState).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Ref, TestClock } from "effect"
import { Connection, McpServer, McpTest, Tool } from "../src/index.js"
import type { JsonObject } from "../src/protocol/McpSchema.js"
import * as TestServer from "./fixtures/TestServer.js"
import { complete, drain, inputRequired, rpcError, textOf } from "./support/Rpc.js"
import { settle } from "./support/Settle.js"

const events = TestServer.events

const Extra = Tool.make({ name: "extra", handler: () => Effect.succeed("extra") })

const SUB = "io.modelcontextprotocol/subscriptionId"

describe("list_changed and legacy subscriptions", () => {
  it.scoped("adding and removing while serving tells every legacy session, once per change", () =>
    Effect.gen(function*() {
      const a = yield* McpTest.connect()
      const b = yield* McpTest.connect()
      yield* McpServer.putTool(Extra)
      yield* settle
      for (const client of [a, b]) {
        assert.deepStrictEqual((yield* drain(client)).map((m) => m.method), ["notifications/tools/list_changed"])
      }
      assert.isTrue((yield* Ref.get((yield* McpServer.McpServer).registry)).tools.has("extra"))
      assert.isTrue(yield* McpServer.removeTool("extra"))
      assert.isFalse(yield* McpServer.removeTool("extra"))
      yield* McpServer.removePrompt("hello")
      yield* settle
      assert.deepStrictEqual((yield* drain(a)).map((m) => m.method), [
        "notifications/tools/list_changed",
        "notifications/prompts/list_changed"
      ])
    }).pipe(Effect.provide(TestServer.layer())))

  it.scoped("a session that has not initialized hears nothing; a modern connection hears nothing unasked", () =>
    Effect.gen(function*() {
      const fresh = yield* McpTest.connect({ initialize: false })
      const modern = yield* McpTest.connect({ era: "modern" })
      yield* McpServer.putTool(Extra)
      yield* settle
      assert.deepStrictEqual(yield* drain(fresh), [])
      assert.deepStrictEqual(yield* drain(modern), [])
    }).pipe(Effect.provide(TestServer.layer())))

  it.scoped("resources/subscribe: updates only for subscribed URIs, until unsubscribe; the count is returned", () =>
    Effect.gen(function*() {
      const a = yield* McpTest.connect()
      const b = yield* McpTest.connect()
      assert.deepStrictEqual(yield* a.request("resources/subscribe", { uri: "test://doc" }), {})
      assert.deepStrictEqual(yield* b.request("resources/subscribe", { uri: "test://other" }), {})
      assert.strictEqual(yield* McpServer.resourceUpdated("test://doc"), 1)
      yield* settle
      assert.deepStrictEqual(yield* drain(a), [{
        jsonrpc: "2.0",
        method: "notifications/resources/updated",
        params: { uri: "test://doc" }
      }])
      assert.deepStrictEqual(yield* drain(b), [])
      yield* a.request("resources/unsubscribe", { uri: "test://doc" })
      assert.strictEqual(yield* McpServer.resourceUpdated("test://doc"), 0)
      yield* settle
      assert.deepStrictEqual(yield* drain(a), [])
      // A closed connection leaves the hub.
      yield* b.close
      yield* settle
      assert.strictEqual(yield* McpServer.resourceUpdated("test://other"), 0)
    }).pipe(Effect.provide(TestServer.layer())))

  it.scoped("resources/subscribe is legacy only; malformed params are -32602", () =>
    Effect.gen(function*() {
      const legacy = yield* McpTest.connect()
      assert.strictEqual((yield* rpcError(legacy.request("resources/subscribe", {}))).code, -32602)
      const modern = yield* McpTest.connect({ era: "modern" })
      assert.strictEqual((yield* rpcError(modern.request("resources/subscribe", { uri: "test://doc" }))).code, -32601)
    }).pipe(Effect.provide(TestServer.layer())))
})

describe("a stalled subscriber", () => {
  it.scoped("costs O(1) pending notifications however many broadcasts it misses, and slows nobody", () =>
    Effect.gen(function*() {
      // A peer that stops reading after its first two answers (initialize, resources/subscribe): every later write
      // suspends forever.
      let inbound: Connection.Inbound | undefined
      let writes = 0
      const stalled: Connection.Transport = {
        start: (callbacks) =>
          Effect.sync(() => {
            inbound = callbacks
          }),
        write: () => (++writes <= 2 ? Effect.void : Effect.never),
        pause: () => {},
        resume: () => {},
        pausable: true,
        destroy: () => {}
      }
      yield* Effect.forkScoped(Connection.serve(stalled))
      yield* settle
      inbound!.frame(JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "stalled", version: "1" } }
      }))
      inbound!.frame(
        JSON.stringify({ jsonrpc: "2.0", id: 2, method: "resources/subscribe", params: { uri: "test://doc" } })
      )
      yield* settle
      const healthy = yield* McpTest.connect()
      yield* healthy.request("resources/subscribe", { uri: "test://doc" })
      const server = yield* McpServer.McpServer
      let received = 0
      for (let round = 0; round < 2000; round++) {
        server.notifications.listChanged("tools")
        server.notifications.resourceUpdated("test://doc")
        yield* settle
        received += (yield* drain(healthy)).length
      }
      // The healthy client heard every round; the stalled one holds one pending copy per kind and URI.
      assert.strictEqual(received, 4000)
      const stats = server.notifications.stats()
      assert.strictEqual(stats.subscribers, 2)
      assert.strictEqual(stats.maxPending, 2)
      assert.strictEqual(stats.pending, 2)
    }).pipe(Effect.provide(TestServer.layer())))
})

describe("modern subscriptions/listen", () => {
  it.scoped("acknowledges the honoured subset, sends only what was asked, tagged; cancelling ends it", () =>
    Effect.gen(function*() {
      const client = yield* McpTest.connect({ era: "modern" })
      const hub = (yield* McpServer.McpServer).notifications
      const listen = yield* Effect.fork(client.request("subscriptions/listen", {
        notifications: { toolsListChanged: true, resourceSubscriptions: ["test://doc"] }
      }, { id: "L1" }))
      yield* settle
      assert.deepStrictEqual(yield* drain(client), [{
        jsonrpc: "2.0",
        method: "notifications/subscriptions/acknowledged",
        params: {
          notifications: { toolsListChanged: true, resourceSubscriptions: ["test://doc"] },
          _meta: { [SUB]: "L1" }
        }
      }])
      assert.strictEqual(hub.size, 1)
      yield* McpServer.putTool(Extra)
      yield* McpServer.removePrompt("hello") // not asked for
      yield* McpServer.resourceUpdated("test://doc")
      yield* McpServer.resourceUpdated("test://bin") // not subscribed
      yield* settle
      assert.deepStrictEqual(yield* drain(client), [
        { jsonrpc: "2.0", method: "notifications/tools/list_changed", params: { _meta: { [SUB]: "L1" } } },
        {
          jsonrpc: "2.0",
          method: "notifications/resources/updated",
          params: { uri: "test://doc", _meta: { [SUB]: "L1" } }
        }
      ])
      // No request timeout applies to a subscription.
      yield* TestClock.adjust("10 minutes")
      assert.isNull(listen.unsafePoll())
      yield* client.cancel("L1")
      yield* settle
      assert.strictEqual(hub.size, 0)
      assert.deepStrictEqual(yield* drain(client), [])
      yield* Fiber.interrupt(listen)
    }).pipe(Effect.provide(TestServer.layer())))

  it.scoped("a graceful end sends notifications/cancelled and the final result", () =>
    Effect.gen(function*() {
      const client = yield* McpTest.connect({ era: "modern" })
      const listen = yield* Effect.fork(client.request("subscriptions/listen", {
        notifications: { promptsListChanged: true }
      }, { id: 7 }))
      yield* settle
      yield* drain(client)
      ;(yield* McpServer.McpServer).notifications.endAll()
      const result = yield* Fiber.join(listen)
      assert.strictEqual(result.resultType, "complete")
      assert.strictEqual(result._meta?.[SUB], 7)
      assert.deepStrictEqual(yield* drain(client), [{
        jsonrpc: "2.0",
        method: "notifications/cancelled",
        params: { requestId: 7, reason: "The server is shutting down" }
      }])
    }).pipe(Effect.provide(TestServer.layer())))

  it.scoped("coalescing: a burst of changes reaches a listener as one notification per kind and URI", () =>
    Effect.gen(function*() {
      const client = yield* McpTest.connect({ era: "modern" })
      yield* Effect.fork(client.request("subscriptions/listen", {
        notifications: { toolsListChanged: true, resourceSubscriptions: ["test://doc"] }
      }, { id: "L" }))
      yield* settle
      yield* drain(client)
      const server = yield* McpServer.McpServer
      // All in one synchronous step: the listener has no chance to run in between.
      yield* Effect.sync(() => {
        for (let i = 0; i < 1000; i++) {
          server.notifications.listChanged("tools")
          server.notifications.resourceUpdated("test://doc")
        }
      })
      yield* settle
      assert.deepStrictEqual((yield* drain(client)).map((m) => m.method), [
        "notifications/tools/list_changed",
        "notifications/resources/updated"
      ])
    }).pipe(Effect.provide(TestServer.layer())))
})

describe("asking the client, legacy era", () => {
  const answering = (options: { readonly capabilities?: JsonObject; readonly log?: Array<string> } = {}) =>
    McpTest.connect({
      capabilities: options.capabilities ?? { sampling: {}, elicitation: {}, roots: {} },
      onRequest: (method, params) => {
        options.log?.push(method)
        switch (method) {
          case "sampling/createMessage":
            return Effect.succeed({ role: "assistant", content: { type: "text", text: "sampled" }, model: "m" })
          case "elicitation/create":
            return Effect.succeed(
              params?.mode === "url" ? { action: "accept" } : { action: "accept", content: { name: "Ada" } }
            )
          case "roots/list":
            return Effect.succeed({ roots: [{ uri: "file:///a" }] })
          default:
            return Effect.fail(new McpTest.RpcError({ code: -32601, message: "no" }))
        }
      }
    })

  it.scoped("sampling, elicitation and roots from one tool, answered in order", () =>
    Effect.gen(function*() {
      const client = yield* answering()
      const result = yield* client.callTool("ask", { questions: ["sample", "elicit", "roots"] })
      assert.deepStrictEqual(JSON.parse(textOf(result.content[0])), [
        { role: "assistant", content: { type: "text", text: "sampled" }, model: "m" },
        { action: "accept", content: { name: "Ada" } },
        { roots: [{ uri: "file:///a" }] }
      ])
    }).pipe(Effect.provide(TestServer.layer())))

  it.scoped("only what the client declared: -32021 naming the capability; tools need sampling.tools", () =>
    Effect.gen(function*() {
      const none = yield* answering({ capabilities: {} })
      for (const [question, capability] of [["sample", "sampling"], ["elicit", "elicitation"], ["roots", "roots"]]) {
        const error = yield* rpcError(none.callTool("ask", { questions: [question!] }))
        assert.strictEqual(error.code, -32021)
        assert.include(error.message, capability!)
      }
      const plain = yield* answering({ capabilities: { sampling: {}, elicitation: {} } })
      assert.include(
        (yield* rpcError(plain.callTool("ask", { questions: ["sample_tools"] }))).message,
        "sampling.tools"
      )
      // An empty elicitation capability means form only.
      assert.include((yield* rpcError(plain.callTool("ask", { questions: ["elicit_url"] }))).message, "elicitation.url")
      const withTools = yield* answering({ capabilities: { sampling: { tools: {} }, elicitation: { url: {} } } })
      const ok = yield* withTools.callTool("ask", { questions: ["sample_tools", "elicit_url"] })
      assert.isUndefined(ok.isError)
    }).pipe(Effect.provide(TestServer.layer())))

  it.scoped("the client's error answer becomes the tool's error result", () =>
    Effect.gen(function*() {
      const client = yield* McpTest.connect({
        capabilities: { sampling: {} },
        onRequest: () => Effect.fail(new McpTest.RpcError({ code: -1, message: "User rejected sampling" }))
      })
      const result = yield* client.callTool("ask", { questions: ["sample"] })
      assert.isTrue(result.isError)
      assert.deepStrictEqual(result.content, [{ type: "text", text: "User rejected sampling" }])
    }).pipe(Effect.provide(TestServer.layer())))

  it.scoped("no answer in time: the question is cancelled on the client, the tool gets a timeout error", () =>
    Effect.gen(function*() {
      const client = yield* McpTest.connect({ capabilities: { sampling: {} } })
      const call = yield* Effect.fork(client.callTool("ask", { questions: ["sample"] }))
      yield* settle
      const [asked] = yield* drain(client)
      assert.strictEqual(asked!.method, "sampling/createMessage")
      yield* TestClock.adjust("2 seconds")
      const result = yield* Fiber.join(call)
      assert.isTrue(result.isError)
      assert.include(textOf(result.content[0]), "did not answer within 2000 ms")
      assert.deepStrictEqual(yield* drain(client), [{
        jsonrpc: "2.0",
        method: "notifications/cancelled",
        params: { requestId: asked!.id, reason: "Timed out" }
      }])
      // A late answer is ignored, and the connection goes on.
      yield* client.respond(asked!.id!, { role: "assistant", content: { type: "text", text: "late" }, model: "m" })
      assert.deepStrictEqual(yield* client.request("ping"), {})
    }).pipe(Effect.provide(TestServer.layer({ clientRequestTimeout: "2 seconds" }))))

  it.scoped("cancelling the tool call cancels the question it is waiting on", () =>
    Effect.gen(function*() {
      const client = yield* McpTest.connect({ capabilities: { elicitation: {} } })
      const call = yield* Effect.fork(client.callTool("ask", { questions: ["elicit"] }, { id: "call-1" }))
      yield* settle
      const [asked] = yield* drain(client)
      assert.strictEqual(asked!.method, "elicitation/create")
      yield* client.cancel("call-1")
      yield* settle
      assert.deepStrictEqual(yield* drain(client), [{
        jsonrpc: "2.0",
        method: "notifications/cancelled",
        params: { requestId: asked!.id, reason: "The request was cancelled" }
      }])
      assert.include(yield* events, "ask:interrupted")
      yield* Fiber.interrupt(call)
    }).pipe(Effect.provide(TestServer.layer())))

  it.scoped("roots are cached per session until notifications/roots/list_changed", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const client = yield* answering({ log })
      yield* client.callTool("ask", { questions: ["roots", "roots"] })
      yield* client.callTool("ask", { questions: ["roots"] })
      assert.deepStrictEqual(log, ["roots/list"])
      yield* client.notify("notifications/roots/list_changed")
      yield* client.callTool("ask", { questions: ["roots"] })
      assert.deepStrictEqual(log, ["roots/list", "roots/list"])
    }).pipe(Effect.provide(TestServer.layer())))

  it.scoped("2025-11-25 URL elicitation: -32042 with the elicitations, then notifications/elicitation/complete", () =>
    Effect.gen(function*() {
      const client = yield* McpTest.connect({ capabilities: { elicitation: { url: {} } } })
      const error = yield* rpcError(client.callTool("needs_login", {}))
      assert.strictEqual(error.code, -32042)
      assert.deepStrictEqual(
        (error.data as { elicitations: ReadonlyArray<{ elicitationId: string }> }).elicitations[0]?.elicitationId,
        "login-1"
      )
      yield* client.callTool("needs_login", { done: true })
      yield* settle
      assert.deepStrictEqual(yield* drain(client), [{
        jsonrpc: "2.0",
        method: "notifications/elicitation/complete",
        params: { elicitationId: "login-1" }
      }])
      // Older versions have no such notification.
      const old = yield* McpTest.connect({ protocolVersion: "2025-06-18", capabilities: { elicitation: {} } })
      yield* old.callTool("needs_login", { done: true })
      yield* settle
      assert.deepStrictEqual(yield* drain(old), [])
    }).pipe(Effect.provide(TestServer.layer())))
})

describe("modern multi round-trip requests", () => {
  const capabilities = { sampling: {}, elicitation: {}, roots: {} }
  const call = (client: McpTest.Client, extra: JsonObject = {}, options?: McpTest.RequestOptions) =>
    client.request("tools/call", { name: "ask", arguments: { questions: ["elicit", "sample"] }, ...extra }, options)

  it.scoped("input_required per question, answers carried in the signed state, then the result", () =>
    Effect.gen(function*() {
      const client = yield* McpTest.connect({ era: "modern", capabilities })
      const first = inputRequired(yield* call(client))
      assert.strictEqual(first.resultType, "input_required")
      assert.deepStrictEqual(Object.keys(first.inputRequests), ["q0"])
      assert.strictEqual(first.inputRequests.q0.method, "elicitation/create")
      assert.isString(first.requestState)
      assert.isDefined(first._meta?.["io.modelcontextprotocol/serverInfo"])

      const second = inputRequired(
        yield* call(client, {
          inputResponses: { q0: { action: "accept", content: { name: "Ada" } } },
          requestState: first.requestState
        })
      )
      assert.strictEqual(second.resultType, "input_required")
      assert.deepStrictEqual(Object.keys(second.inputRequests), ["q1"])
      assert.strictEqual(second.inputRequests.q1.method, "sampling/createMessage")

      // Only the newest answer is sent: the first comes back from the state.
      const third = complete(
        yield* call(client, {
          inputResponses: { q1: { role: "assistant", content: { type: "text", text: "hi" }, model: "m" } },
          requestState: second.requestState
        })
      )
      assert.strictEqual(third.resultType, "complete")
      assert.deepStrictEqual(JSON.parse(textOf(third.content[0])), [
        { action: "accept", content: { name: "Ada" } },
        { role: "assistant", content: { type: "text", text: "hi" }, model: "m" }
      ])
    }).pipe(Effect.provide(TestServer.layer())))

  it.scoped("missing inputs ask again rather than fail", () =>
    Effect.gen(function*() {
      const client = yield* McpTest.connect({ era: "modern", capabilities })
      const first = inputRequired(yield* call(client))
      const again = inputRequired(yield* call(client, { requestState: first.requestState, inputResponses: {} }))
      assert.strictEqual(again.resultType, "input_required")
      assert.deepStrictEqual(Object.keys(again.inputRequests), ["q0"])
    }).pipe(Effect.provide(TestServer.layer())))

  it.scoped("tampered, replayed, expired, or another request's state is refused with -32602", () =>
    Effect.gen(function*() {
      const client = yield* McpTest.connect({ era: "modern", capabilities })
      const first = inputRequired(yield* call(client))
      const state: string = first.requestState
      const answer = { q0: { action: "decline" } }
      const [v, body, mac] = state.split(".")
      const payload = JSON.parse(Buffer.from(body!, "base64url").toString())
      const forged = Buffer.from(JSON.stringify({ ...payload, r: { q0: { action: "accept" } } })).toString("base64url")
      const tampered = yield* rpcError(call(client, { inputResponses: answer, requestState: `${v}.${forged}.${mac}` }))
      assert.strictEqual(tampered.code, -32602)
      assert.include(tampered.message, "tampered")

      const other = yield* rpcError(client.request("tools/call", {
        name: "ask",
        arguments: { questions: ["sample"] },
        inputResponses: answer,
        requestState: state
      }))
      assert.include(other.message, "another request")

      assert.strictEqual(
        (yield* call(client, { inputResponses: answer, requestState: state })).resultType,
        "input_required"
      )
      const replay = yield* rpcError(call(client, { inputResponses: answer, requestState: state }))
      assert.include(replay.message, "already used")

      const fresh = inputRequired(yield* call(client))
      yield* TestClock.adjust("11 minutes")
      const expired = yield* rpcError(call(client, { inputResponses: answer, requestState: fresh.requestState }))
      assert.include(expired.message, "expired")

      assert.include((yield* rpcError(call(client, { requestState: "v1.x.y" }))).message, "tampered")
      assert.include((yield* rpcError(call(client, { requestState: 5 }))).message, "malformed")
    }).pipe(Effect.provide(TestServer.layer())))

  it.scoped("a state signed with another key is refused; a configured key survives a restart", () =>
    Effect.gen(function*() {
      const makeState = Effect.scoped(
        Effect.flatMap(
          McpTest.connect({ era: "modern", capabilities }),
          (client) => Effect.map(call(client), inputRequired)
        )
      )
      const signedA = yield* makeState.pipe(Effect.provide(TestServer.layer({ requestStateKey: "key-a" })))
      const signedRandom = yield* makeState.pipe(Effect.provide(TestServer.layer()))
      const retry = (state: string) =>
        Effect.scoped(Effect.flatMap(
          McpTest.connect({ era: "modern", capabilities }),
          (client) => call(client, { inputResponses: { q0: { action: "cancel" } }, requestState: state })
        ))
      const again = yield* retry(signedA.requestState).pipe(
        Effect.provide(TestServer.layer({ requestStateKey: "key-a" }))
      )
      assert.strictEqual(again.resultType, "input_required")
      const refused = yield* Effect.flip(retry(signedRandom.requestState).pipe(Effect.provide(TestServer.layer())))
      assert.strictEqual(refused.code, -32602)
    }))

  it.scoped("the client's capabilities still rule: no input request for what it did not declare", () =>
    Effect.gen(function*() {
      const client = yield* McpTest.connect({ era: "modern", capabilities: { sampling: {} } })
      assert.strictEqual((yield* rpcError(call(client))).code, -32021)
    }).pipe(Effect.provide(TestServer.layer())))
})
