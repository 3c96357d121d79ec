// The gateway's front through McpTest with scripted upstreams (test/support/FakeUpstream.ts): names (one upstream vs
// several, sanitized, collisions), lists paginated across upstreams, local tools mixed in, list_changed relayed,
// routing of resources, prompts and completion, an upstream down while the others work, errors passed through.
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Layer, Queue, Scope, TestClock } from "effect"
import * as Catalog from "../src/gateway/Catalog.js"
import * as Instances from "../src/gateway/Instances.js"
import * as Names from "../src/gateway/Names.js"
import * as Upstream from "../src/gateway/Upstream.js"
import type * as Routes from "../src/http/Routes.js"
import { Gateway, Interceptor, McpServer, McpTest, Tool } from "../src/index.js"
import * as Fake from "./support/FakeUpstream.js"
import { complete, inputRequired, rpcError } from "./support/Rpc.js"
import { settle } from "./support/Settle.js"

const serve = (
  fake: ReturnType<typeof Fake.make>,
  upstreams: ReadonlyArray<Upstream.Config>,
  server: Partial<McpServer.Options> = {}
) => Gateway.layer({ upstreams, connect: fake.connect, server: { name: "gw", version: "1", ...server } })

/** Starts the gateway for the rest of the test (its Scope) and connects a front client. */
const front = <E extends "legacy" | "modern" = "legacy">(
  layer: Layer.Layer<McpServer.McpServer | Gateway.Gateway | Routes.Readiness, unknown>,
  options: McpTest.ConnectOptions<E> = {}
) =>
  Effect.flatMap(Effect.orDie(Layer.build(layer)), (context) => McpTest.connect(options).pipe(Effect.provide(context)))

const text = (result: unknown) =>
  (complete(result as never) as { content: Array<{ text?: string }> }).content.map((b) => b.text).join("")

describe("Gateway names", () => {
  it("sanitizes and shortens deterministically", () => {
    assert.strictEqual(Names.front(false, "fs", "read.file"), "read.file")
    assert.strictEqual(Names.front(true, "fs", "read_file"), "fs__read_file")
    assert.strictEqual(Names.front(true, "my server", "read.file"), "my_server__read_file")
    const long = Names.front(true, "upstream", "x".repeat(100))
    assert.strictEqual(long.length, 64)
    assert.match(long, Names.PATTERN)
    assert.strictEqual(long, Names.front(true, "upstream", "x".repeat(100)))
    assert.notStrictEqual(long, Names.front(true, "upstream", "x".repeat(101)))
  })

  it("a collision names both owners", () => {
    const view = Catalog.view([
      ["a", { ...Catalog.empty, tools: [{ name: "b.c" }] }],
      ["a.b", { ...Catalog.empty, tools: [{ name: "c" }] }]
    ], { tools: [], prompts: [] })
    assert.deepStrictEqual(view.collisions, []) // a__b_c vs a_b__c: different
    const clash = Catalog.view([
      ["a", { ...Catalog.empty, tools: [{ name: "b__c" }] }],
      ["a__b", { ...Catalog.empty, tools: [{ name: "c" }] }]
    ], { tools: [], prompts: [] })
    assert.deepStrictEqual(clash.collisions, [
      `Tool name "a__b__c" is claimed by upstream "a"'s "b__c" and upstream "a__b"'s "c"`
    ])
  })

  it.scoped("a collision is a startup error", () =>
    Effect.gen(function*() {
      const fake = Fake.make({ a: { tools: [{ name: "b__c" }] }, a__b: { tools: [{ name: "c" }] } })
      const exit = yield* Effect.exit(Layer.build(serve(fake, [Fake.config("a"), Fake.config("a__b")])))
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit)) {
        assert.include(
          String(exit.cause),
          `Gateway names collide: Tool name "a__b__c" is claimed by upstream "a"'s "b__c"`
        )
      }
    }))

  it.scoped("a local tool shadows a proxied one of the same name (listed once, called locally)", () =>
    Effect.gen(function*() {
      const fake = Fake.make({ one: { tools: [{ name: "echo" }, { name: "other" }] } })
      const tool = Tool.make({ name: "echo", handler: () => Effect.succeed("local echo") })
      const client = yield* front(McpServer.tool(tool).pipe(Layer.provideMerge(serve(fake, [Fake.config("one")]))))
      assert.deepStrictEqual((yield* client.request("tools/list", {})).tools.map((t) => t.name), ["echo", "other"])
      assert.strictEqual(text(yield* client.callTool("echo", {})), "local echo")
    }))
})

const local = Tool.make({ name: "local_tool", handler: () => Effect.succeed("from the gateway itself") })

/** Waits (bounded) until `check` holds, letting forked fibers run. */
const until = (check: () => boolean) =>
  Effect.gen(function*() {
    for (let i = 0; i < 200 && !check(); i++) yield* settle
    assert.isTrue(check(), "condition not reached")
  })

const messagesOf = (client: McpTest.Client) => Effect.map(Queue.takeAll(client.messages), (chunk) => [...chunk])

describe("Gateway front", () => {
  it.scoped("one upstream: names pass unchanged; calls reach it", () =>
    Effect.gen(function*() {
      const fake = Fake.make({ one: { tools: [{ name: "read.file" }, { name: "echo" }] } })
      const client = yield* front(serve(fake, [Fake.config("one")]))
      const list = yield* client.request("tools/list", {})
      assert.deepStrictEqual(list.tools.map((t) => t.name), ["read.file", "echo"])
      assert.strictEqual(text(yield* client.callTool("echo", { a: 1 })), "{\"a\":1}")
      assert.deepStrictEqual(fake.shared("one").requests.at(-1), {
        method: "tools/call",
        params: { name: "echo", arguments: { a: 1 } }
      })
    }))

  it.scoped("several upstreams: NAME__tool, every upstream page read, front pages with stable cursors, local tools first", () =>
    Effect.gen(function*() {
      const fake = Fake.make({
        a: { tools: [{ name: "t1" }, { name: "t2" }, { name: "t3" }], pageSize: 2 },
        "b.srv": { tools: [{ name: "x" }, { name: "y.z" }], pageSize: 1 }
      })
      const layer = McpServer.tool(local).pipe(
        Layer.provideMerge(serve(fake, [Fake.config("a"), Fake.config("b.srv")], { pageSize: 4 }))
      )
      const client = yield* front(layer)
      const first = yield* client.request("tools/list", {})
      assert.deepStrictEqual(first.tools.map((t) => t.name), ["local_tool", "a__t1", "a__t2", "a__t3"])
      const second = yield* client.request("tools/list", { cursor: first.nextCursor! })
      assert.deepStrictEqual(second.tools.map((t) => t.name), ["b_srv__x", "b_srv__y_z"])
      assert.isUndefined(second.nextCursor)
      assert.strictEqual(text(yield* client.callTool("local_tool", {})), "from the gateway itself")
      assert.strictEqual(text(yield* client.callTool("b_srv__y_z", { q: 1 })), "{\"q\":1}")
      assert.deepStrictEqual(fake.shared("b.srv").requests.at(-1)?.params, { name: "y.z", arguments: { q: 1 } })
      const bad = yield* rpcError(client.request("tools/list", { cursor: "bm9wZQ" }))
      assert.strictEqual(bad.code, -32602)
      const unknown = yield* rpcError(client.callTool("nope", {}))
      assert.deepStrictEqual(unknown, { code: -32602, message: "Unknown tool: nope", data: { name: "nope" } })
    }))

  it.scoped("list_changed from an upstream refreshes its catalog and reaches the front; so does Ready after a restart", () =>
    Effect.gen(function*() {
      const specs: Record<string, Fake.Spec> = { a: { tools: [{ name: "t1" }] }, b: { tools: [{ name: "u" }] } }
      const fake = Fake.make(specs)
      const client = yield* front(serve(fake, [Fake.config("a"), Fake.config("b")]))
      yield* messagesOf(client)
      specs.a!.tools = [{ name: "t1" }, { name: "t2" }]
      yield* fake.shared("a").events.notification("notifications/tools/list_changed", undefined)
      yield* fake.shared("a").events.notification("notifications/tools/list_changed", undefined)
      yield* until(() => fake.shared("a").requests.filter((r) => r.method === "tools/list").length >= 2)
      yield* settle
      const seen = yield* messagesOf(client)
      assert.deepStrictEqual(seen.map((m) => m.method), ["notifications/tools/list_changed"])
      assert.deepStrictEqual((yield* client.request("tools/list", {})).tools.map((t) => t.name), [
        "a__t1",
        "a__t2",
        "b__u"
      ])
      // A restart: Down, then Ready again with other tools.
      specs.b!.tools = [{ name: "v" }]
      const b = fake.shared("b")
      yield* b.setState({ _tag: "Down", reason: "exited", since: 0 })
      const down = yield* client.callTool("b__u", {})
      assert.isTrue(complete(down).isError)
      assert.include(text({ ...complete(down), isError: undefined }), `Upstream "b" is down: exited`)
      yield* b.setState({
        _tag: "Ready",
        declared: {
          era: "legacy",
          protocolVersion: "2025-06-18",
          serverInfo: { name: "b", version: "2" },
          capabilities: { tools: {} },
          instructions: undefined
        }
      })
      yield* until(() => b.requests.filter((r) => r.method === "tools/list").length >= 2)
      yield* settle
      assert.deepStrictEqual((yield* client.request("tools/list", {})).tools.map((t) => t.name), [
        "a__t1",
        "a__t2",
        "b__v"
      ])
      assert.deepStrictEqual((yield* messagesOf(client)).map((m) => m.method), ["notifications/tools/list_changed"])
    }))

  it.scoped("resources, templates, prompts and completion are routed; a scheme two upstreams share is rewritten", () =>
    Effect.gen(function*() {
      const fake = Fake.make({
        a: {
          resources: [{ uri: "file:///a.txt", name: "a" }, { uri: "mem://a", name: "m" }],
          prompts: [{ name: "p" }]
        },
        b: { resources: [{ uri: "file:///b.txt", name: "b" }], templates: [{ uriTemplate: "notes://{id}", name: "n" }] }
      })
      const client = yield* front(serve(fake, [Fake.config("a"), Fake.config("b")]))
      const resources = yield* client.request("resources/list", {})
      assert.deepStrictEqual(resources.resources.map((r) => r.uri), ["a+file:///a.txt", "mem://a", "b+file:///b.txt"])
      const templates = yield* client.request("resources/templates/list", {})
      assert.deepStrictEqual(templates.resourceTemplates.map((t) => t.uriTemplate), ["notes://{id}"])
      const read = yield* client.request("resources/read", { uri: "b+file:///b.txt" })
      assert.deepStrictEqual(read.contents, [{ uri: "b+file:///b.txt", text: "b read file:///b.txt" }])
      const byTemplate = yield* client.request("resources/read", { uri: "notes://42" })
      assert.deepStrictEqual(byTemplate.contents, [{ uri: "notes://42", text: "b read notes://42" }])
      // A URI of a rewritten scheme never seen in a list: routed by its prefix.
      yield* client.request("resources/read", { uri: "a+file:///other" })
      assert.deepStrictEqual(fake.shared("a").requests.at(-1), {
        method: "resources/read",
        params: { uri: "file:///other" }
      })
      const missing = yield* rpcError(client.request("resources/read", { uri: "file:///nowhere" }))
      assert.strictEqual(missing.code, -32002)
      const prompt = yield* client.request("prompts/get", { name: "a__p" })
      assert.deepStrictEqual(complete(prompt).messages, [{ role: "user", content: { type: "text", text: "a:p" } }])
      const completion = yield* client.request("completion/complete", {
        ref: { type: "ref/prompt", name: "a__p" },
        argument: { name: "x", value: "" }
      })
      assert.deepStrictEqual(completion.completion.values, [`a:{"type":"ref/prompt","name":"p"}`])
      const byUri = yield* client.request("completion/complete", {
        ref: { type: "ref/resource", uri: "notes://{id}" },
        argument: { name: "id", value: "" }
      })
      assert.deepStrictEqual(byUri.completion.values, [`b:{"type":"ref/resource","uri":"notes://{id}"}`])
      // Subscriptions are forwarded; the upstream's resources/updated reaches the subscribed front session.
      yield* client.request("resources/subscribe", { uri: "b+file:///b.txt" })
      assert.deepStrictEqual(fake.shared("b").requests.at(-1), {
        method: "resources/subscribe",
        params: { uri: "file:///b.txt" }
      })
      yield* messagesOf(client)
      yield* fake.shared("b").events.notification("notifications/resources/updated", { uri: "file:///b.txt" })
      yield* settle
      assert.deepStrictEqual((yield* messagesOf(client)).map((m) => [m.method, m.params]), [
        ["notifications/resources/updated", { uri: "b+file:///b.txt" }]
      ])
    }))

  it.scoped("progress, log messages and sampling of an upstream call reach the legacy front client", () =>
    Effect.gen(function*() {
      const fake = Fake.make({
        a: {
          tools: [{
            name: "ask",
            call: (_args, hooks) =>
              Effect.gen(function*() {
                yield* hooks.progress!({ progress: 1, total: 2, message: "half" })
                yield* hooks.notification!("notifications/message", { level: "info", logger: "up", data: "working" })
                const answer = yield* Effect.orDie(Effect.mapError(
                  hooks.request!("sampling/createMessage", {
                    messages: [{ role: "user", content: { type: "text", text: "hi" } }],
                    maxTokens: 5
                  }),
                  (e) => new Error(e.message)
                ))
                return { content: [{ type: "text", text: `sampled ${JSON.stringify(answer)}` }] }
              })
          }]
        }
      })
      const client = yield* front(serve(fake, [Fake.config("a")]), {
        capabilities: { sampling: {} },
        onRequest: (method) =>
          Effect.succeed({ role: "assistant", content: { type: "text", text: `answer to ${method}` }, model: "m" })
      })
      const result = yield* client.callTool("ask", {}, { progressToken: "tok" })
      assert.strictEqual(
        text(result),
        `sampled {"role":"assistant","content":{"type":"text","text":"answer to sampling/createMessage"},"model":"m"}`
      )
      const seen = yield* messagesOf(client)
      assert.deepStrictEqual(seen.map((m) => [m.method, m.params]), [
        ["notifications/progress", { progressToken: "tok", progress: 1, total: 2, message: "half" }],
        ["notifications/message", { level: "info", logger: "up", data: "working" }]
      ])
    }))

  it.scoped("logging/setLevel is forwarded to the upstreams that log, without making a per-session instance", () =>
    Effect.gen(function*() {
      const fake = Fake.make({ a: { tools: [{ name: "t" }] }, b: { tools: [{ name: "u" }] } })
      const client = yield* front(serve(fake, [Fake.config("a"), Fake.config("b", { isolation: "per-session" })]))
      yield* client.request("logging/setLevel", { level: "warning" })
      assert.deepStrictEqual(fake.shared("a").requests.at(-1), {
        method: "logging/setLevel",
        params: { level: "warning" }
      })
      assert.deepStrictEqual(fake.counts("b"), { opened: 1, closed: 0 })
      assert.notStrictEqual(fake.shared("b").requests.at(-1)?.method, "logging/setLevel")
      yield* client.callTool("b__u", {})
      yield* client.request("logging/setLevel", { level: "error" })
      assert.deepStrictEqual(fake.instances[2]!.requests.at(-1), {
        method: "logging/setLevel",
        params: { level: "error" }
      })
    }))

  it.scoped("cancelling the front request interrupts the upstream request", () =>
    Effect.gen(function*() {
      const fake = Fake.make({ a: { tools: [{ name: "slow", call: () => Effect.never }] } })
      const client = yield* front(serve(fake, [Fake.config("a")]))
      yield* Effect.fork(client.callTool("slow", {}, { id: 77 }))
      yield* until(() => fake.shared("a").requests.some((r) => r.method === "tools/call"))
      yield* client.cancel(77, "enough")
      yield* until(() => fake.shared("a").interrupted.length === 1)
      assert.deepStrictEqual(fake.shared("a").interrupted, ["tools/call"])
    }))

  it.scoped("an upstream down: its tools answer an error naming it, its resources a JSON-RPC error; others work", () =>
    Effect.gen(function*() {
      const fake = Fake.make({
        a: { tools: [{ name: "t" }] },
        b: { tools: [{ name: "u" }], resources: [{ uri: "b://r", name: "r" }] },
        c: { tools: [{ name: "never" }], down: "spawn ENOENT" }
      })
      const client = yield* front(serve(fake, [Fake.config("a"), Fake.config("b"), Fake.config("c")]))
      // Down at start: nothing of it is listed.
      assert.deepStrictEqual((yield* client.request("tools/list", {})).tools.map((t) => t.name), ["a__t", "b__u"])
      yield* fake.shared("b").setState({ _tag: "Down", reason: "exited with code 1", since: 0 })
      const result = complete(yield* client.callTool("b__u", {}))
      assert.deepStrictEqual(result, {
        content: [{ type: "text", text: `Upstream "b" is down: exited with code 1` }],
        isError: true
      })
      const read = yield* rpcError(client.request("resources/read", { uri: "b://r" }))
      assert.deepStrictEqual(read, {
        code: -32000,
        message: `Upstream "b" is down: exited with code 1`,
        data: { upstream: "b", reason: "unavailable" }
      })
      assert.strictEqual(text(yield* client.callTool("a__t", { ok: true })), "{\"ok\":true}")
    }))

  it.scoped("an upstream's JSON-RPC error passes through as it is", () =>
    Effect.gen(function*() {
      const fake = Fake.make({
        a: {
          tools: [{
            name: "t",
            call: () =>
              Effect.fail(
                new Upstream.UpstreamRpcError({
                  upstream: "a",
                  error: { code: -32042, message: "go", data: { url: "x" } }
                })
              )
          }]
        }
      })
      const client = yield* front(serve(fake, [Fake.config("a")]))
      assert.deepStrictEqual(yield* rpcError(client.callTool("t", {})), {
        code: -32042,
        message: "go",
        data: { url: "x" }
      })
    }))

  it.scoped("timeouts and the in-flight limit per upstream config", () =>
    Effect.gen(function*() {
      const gate = yield* Deferred.make<void>()
      const fake = Fake.make({
        a: { tools: [{ name: "wait", call: () => Effect.as(Deferred.await(gate), { content: [] }) }] }
      })
      const client = yield* front(serve(fake, [Fake.config("a", { maxInFlight: 1, timeoutMillis: 1000 })]))
      const first = yield* Effect.fork(client.callTool("wait", {}))
      yield* until(() => fake.shared("a").requests.some((r) => r.method === "tools/call"))
      const busy = complete(yield* client.callTool("wait", {}))
      assert.deepStrictEqual(busy.content, [{
        type: "text",
        text: `Upstream "a" has 1 requests in flight (maxInFlight)`
      }])
      yield* TestClock.adjust(1000)
      const timedOut = complete(yield* first.await.pipe(Effect.flatten))
      assert.deepStrictEqual(timedOut.content, [{
        type: "text",
        text: `Upstream "a" did not answer tools/call within 1000 ms`
      }])
      assert.deepStrictEqual(fake.shared("a").interrupted, ["tools/call"])
    }))

  it.scoped("initialize and server/discover declare the union of the upstreams' capabilities and their instructions", () =>
    Effect.gen(function*() {
      const fake = Fake.make({
        a: { tools: [{ name: "t" }], instructions: "Use a for files." },
        b: { resources: [], instructions: "Use b for notes." }
      })
      const context = yield* Layer.build(serve(fake, [Fake.config("a"), Fake.config("b")]))
      const legacy = yield* McpTest.connect().pipe(Effect.provide(context))
      const init = legacy.initializeResult!
      assert.deepStrictEqual(init.capabilities, {
        logging: {},
        tools: { listChanged: true },
        completions: {},
        resources: { subscribe: true, listChanged: true }
      })
      assert.strictEqual(init.instructions, "a: Use a for files.\n\nb: Use b for notes.")
      const modern = yield* McpTest.connect({ era: "modern" }).pipe(Effect.provide(context))
      const discovered = (yield* modern.request("server/discover", {})) as { capabilities: unknown }
      assert.deepStrictEqual(discovered.capabilities, init.capabilities)
    }))
})

describe("Gateway interceptors per upstream", () => {
  it.scoped("a chain on one upstream rewrites, blocks and answers its requests, rewrites its answers; others untouched", () =>
    Effect.gen(function*() {
      const fake = Fake.make({
        a: { tools: [{ name: "echo" }, { name: "secret" }, { name: "cached" }] },
        b: { tools: [{ name: "echo" }] }
      })
      const seen: Array<string> = []
      const guard: Interceptor.Interceptor = {
        name: "guard",
        outbound: (message, context) =>
          Effect.sync(() => {
            seen.push(`${context.direction} ${message.method} ${String(context.metadata.get("upstream"))}`)
            const name = (message.params as { name?: string } | undefined)?.name
            if (message.method !== "tools/call") return Interceptor.Continue
            if (name === "secret") return Interceptor.block({ code: -32000, message: "secret is not for you" })
            if (name === "cached") return Interceptor.respond({ content: [{ type: "text", text: "from the chain" }] })
            return Interceptor.modify({
              ...message,
              params: { ...message.params, arguments: { rewritten: true } }
            })
          }),
        inbound: (message) =>
          Effect.succeed(
            message.result !== undefined && (message.result as { content?: unknown }).content !== undefined
              ? Interceptor.modify({ ...message, result: { ...(message.result as object), _meta: { via: "chain" } } })
              : Interceptor.Continue
          )
      }
      const layer = Gateway.layer({
        upstreams: [Fake.config("a"), Fake.config("b")],
        connect: fake.connect,
        server: { name: "gw", version: "1" },
        interceptors: { a: [guard] }
      })
      const client = yield* front(layer)
      const echoed = complete(yield* client.callTool("a__echo", { x: 1 })) as { content: unknown; _meta?: unknown }
      assert.deepStrictEqual(fake.shared("a").requests.at(-1), {
        method: "tools/call",
        params: { name: "echo", arguments: { rewritten: true } }
      })
      assert.deepStrictEqual(echoed._meta, { via: "chain" })
      const blocked = yield* rpcError(client.callTool("a__secret", {}))
      assert.strictEqual(blocked.message, "secret is not for you")
      const before = fake.shared("a").requests.length
      assert.strictEqual(text(yield* client.callTool("a__cached", {})), "from the chain")
      assert.strictEqual(fake.shared("a").requests.length, before)
      // The other upstream is not wrapped.
      yield* client.callTool("b__echo", { y: 2 })
      assert.deepStrictEqual(fake.shared("b").requests.at(-1), {
        method: "tools/call",
        params: { name: "echo", arguments: { y: 2 } }
      })
      assert.isTrue(seen.every((line) => line.endsWith(" a")))
      assert.include(seen, "outbound tools/list a")
    }))
})

describe("Gateway on a modern front", () => {
  const samplingAnswer = (text: string) => ({ role: "assistant", content: { type: "text", text }, model: "m" })
  const askTwice = () =>
    Fake.make({
      a: {
        tools: [{
          name: "ask",
          call: (_args, hooks) =>
            Effect.gen(function*() {
              const question = (text: string) => ({
                messages: [{ role: "user", content: { type: "text", text } }],
                maxTokens: 5
              })
              const one = yield* Effect.orDie(hooks.request!("sampling/createMessage", question("one")))
              const two = yield* Effect.orDie(hooks.request!("sampling/createMessage", question("two")))
              return {
                content: [{ type: "text", text: `${JSON.stringify(one.content)} ${JSON.stringify(two.content)}` }]
              }
            })
        }]
      }
    })

  it.scoped("an upstream's questions become input_required rounds; the upstream request is parked, never run twice", () =>
    Effect.gen(function*() {
      const fake = askTwice()
      const client = yield* front(serve(fake, [Fake.config("a")]), { era: "modern", capabilities: { sampling: {} } })
      const calls = () => fake.shared("a").requests.filter((r) => r.method === "tools/call").length
      const before = calls()
      const first = inputRequired(yield* client.callTool("ask", {}))
      assert.strictEqual(first.inputRequests.q0.method, "sampling/createMessage")
      const second = inputRequired(
        yield* client.request("tools/call", {
          name: "ask",
          arguments: {},
          inputResponses: { q0: samplingAnswer("yes") },
          requestState: first.requestState
        })
      )
      // The second question is the upstream's next one, asked by the same (parked) upstream request.
      assert.deepStrictEqual(Object.keys(second.inputRequests), ["q1"])
      assert.deepStrictEqual(
        (second.inputRequests.q1.params as { messages: Array<{ content: unknown }> }).messages[0]!.content,
        { type: "text", text: "two" }
      )
      const done = complete(
        yield* client.request("tools/call", {
          name: "ask",
          arguments: {},
          inputResponses: { q1: samplingAnswer("no") },
          requestState: second.requestState
        })
      )
      assert.deepStrictEqual(done.content, [{
        type: "text",
        text: `{"type":"text","text":"yes"} {"type":"text","text":"no"}`
      }])
      assert.strictEqual(calls() - before, 1)
      assert.strictEqual(fake.shared("a").interrupted.length, 0)
      // The state was accepted once: replaying it finds nothing parked any more.
      const replay = yield* Effect.either(client.request("tools/call", {
        name: "ask",
        arguments: {},
        inputResponses: { q1: samplingAnswer("no") },
        requestState: second.requestState
      }))
      assert.isTrue(replay._tag === "Left")
    }))

  it.scoped("a modern upstream's question ends the round; the retry calls it again with the answer (nothing parked)", () =>
    Effect.gen(function*() {
      // A modern upstream's request is over once it answers input_required: its client (the gateway) retries it
      // with the answer. The fake asks through the hook on every run, as HttpUpstream's rounds do.
      const fake = Fake.make({
        a: {
          era: "modern",
          tools: [{
            name: "ask",
            call: (_args, hooks) =>
              Effect.map(
                Effect.orDie(hooks.request!("sampling/createMessage", {
                  messages: [{ role: "user", content: { type: "text", text: "one" } }],
                  maxTokens: 5
                })),
                (answer) => ({ content: [{ type: "text", text: JSON.stringify(answer.content) }] })
              )
          }]
        }
      })
      const client = yield* front(serve(fake, [Fake.config("a")]), { era: "modern", capabilities: { sampling: {} } })
      const calls = () => fake.shared("a").requests.filter((r) => r.method === "tools/call").length
      const first = inputRequired(yield* client.callTool("ask", {}))
      assert.strictEqual(first.inputRequests.q0.method, "sampling/createMessage")
      assert.strictEqual(calls(), 1)
      const done = complete(
        yield* client.request("tools/call", {
          name: "ask",
          arguments: {},
          inputResponses: { q0: samplingAnswer("yes") },
          requestState: first.requestState
        })
      )
      assert.deepStrictEqual(done.content, [{ type: "text", text: `{"type":"text","text":"yes"}` }])
      assert.strictEqual(calls(), 2)
    }))

  it.scoped("a parked request whose client never comes back is cancelled upstream at the TTL", () =>
    Effect.gen(function*() {
      const fake = Fake.make({
        a: {
          tools: [{
            name: "ask",
            call: (_args, hooks) =>
              Effect.as(
                Effect.orDie(hooks.request!("sampling/createMessage", {
                  messages: [{ role: "user", content: { type: "text", text: "hi" } }],
                  maxTokens: 5
                })),
                { content: [] }
              )
          }]
        }
      })
      const client = yield* front(serve(fake, [Fake.config("a", { timeoutMillis: 3_600_000 })]), {
        era: "modern",
        capabilities: { sampling: {} }
      })
      const first = inputRequired(yield* client.callTool("ask", {}))
      assert.strictEqual(first.inputRequests.q0.method, "sampling/createMessage")
      yield* TestClock.adjust("9 minutes")
      assert.strictEqual(fake.shared("a").interrupted.length, 0)
      yield* TestClock.adjust("2 minutes")
      yield* until(() => fake.shared("a").interrupted.length === 1)
      const late = yield* Effect.either(client.request("tools/call", {
        name: "ask",
        arguments: {},
        inputResponses: { q0: samplingAnswer("late") },
        requestState: first.requestState
      }))
      assert.isTrue(late._tag === "Left")
    }))

  it.scoped("per-session isolation without a principal: a modern client uses the shared instance", () =>
    Effect.gen(function*() {
      const fake = Fake.make({ a: { tools: [{ name: "t" }] } })
      const client = yield* front(serve(fake, [Fake.config("a", { isolation: "per-session" })]), { era: "modern" })
      yield* client.callTool("t", {})
      yield* client.callTool("t", {})
      assert.deepStrictEqual(fake.counts("a"), { opened: 1, closed: 0 })
      assert.strictEqual(fake.shared("a").requests.filter((r) => r.method === "tools/call").length, 2)
    }))
})

describe("Gateway isolation", () => {
  it.scoped("per-session: an upstream's request outside any call goes to its front session's client; shared: -32601", () =>
    Effect.gen(function*() {
      const fake = Fake.make({ a: { tools: [{ name: "t" }] } })
      const layer = serve(fake, [Fake.config("a", { isolation: "per-session" })])
      const asked: Array<string> = []
      const client = yield* front(layer, {
        capabilities: { roots: { listChanged: true } },
        onRequest: (method) =>
          Effect.sync(() => {
            asked.push(method)
            return { roots: [{ uri: "file:///front", name: "front" }] }
          })
      })
      yield* client.callTool("t", {})
      const own = fake.instances.at(-1)!
      assert.notStrictEqual(own, fake.shared("a"))
      // As an upstream does at its start (server-filesystem asks roots/list once initialized): no call in flight.
      const roots = yield* own.events.request("roots/list", {})
      assert.deepStrictEqual(roots, { roots: [{ uri: "file:///front", name: "front" }] })
      assert.deepStrictEqual(asked, ["roots/list"])
      const refused = yield* Effect.flip(fake.shared("a").events.request("roots/list", {}))
      assert.strictEqual(refused.code, -32601)
    }))

  it.scoped("per-session: a front client without the capability is not asked; the upstream gets the error", () =>
    Effect.gen(function*() {
      const fake = Fake.make({ a: { tools: [{ name: "t" }] } })
      const asked: Array<string> = []
      const client = yield* front(serve(fake, [Fake.config("a", { isolation: "per-session" })]), {
        onRequest: (method) => Effect.sync(() => void asked.push(method))
      })
      yield* client.callTool("t", {})
      const failed = yield* Effect.flip(fake.instances.at(-1)!.events.request("roots/list", {}))
      assert.notStrictEqual(failed.code, -32601)
      assert.include(failed.message, "roots")
      assert.deepStrictEqual(asked, [])
    }))

  it.scoped("per-session: one upstream instance per front session, made on first use, closed when it ends; a cap", () =>
    Effect.gen(function*() {
      const fake = Fake.make({ a: { tools: [{ name: "t" }] } })
      const layer = serve(fake, [Fake.config("a", { isolation: "per-session", maxSessions: 2 })])
      const context = yield* Layer.build(layer)
      const connect = Effect.gen(function*() {
        const scope = yield* Scope.make()
        const client = yield* McpTest.connect().pipe(Effect.provide(context), Scope.extend(scope))
        return { client, scope }
      })
      assert.deepStrictEqual(fake.counts("a"), { opened: 1, closed: 0 }) // the shared instance (catalog)
      const one = yield* connect
      const two = yield* connect
      const three = yield* connect
      assert.deepStrictEqual(fake.counts("a"), { opened: 1, closed: 0 }) // nothing until first use
      yield* one.client.callTool("t", {})
      yield* one.client.callTool("t", {})
      yield* two.client.callTool("t", {})
      assert.deepStrictEqual(fake.counts("a"), { opened: 3, closed: 0 })
      const refused = complete(yield* three.client.callTool("t", {}))
      assert.deepStrictEqual(refused.content, [{
        type: "text",
        text: `Upstream "a" has 2 per-session instances open (maxSessions)`
      }])
      yield* Scope.close(one.scope, Exit.void)
      yield* until(() => fake.counts("a").closed === 1)
      yield* three.client.callTool("t", {})
      assert.deepStrictEqual(fake.counts("a"), { opened: 4, closed: 1 })
      // Each call went to its session's own instance.
      assert.deepStrictEqual(fake.instances.map((i) => i.requests.filter((r) => r.method === "tools/call").length), [
        0,
        2,
        1,
        1
      ])
      yield* Scope.close(two.scope, Exit.void)
      yield* Scope.close(three.scope, Exit.void)
      yield* until(() => fake.counts("a").closed === 3)
    }))

  it.scoped("shutdown closes every upstream instance", () =>
    Effect.gen(function*() {
      const fake = Fake.make({ a: { tools: [{ name: "t" }] }, b: { tools: [{ name: "u" }] } })
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(
        serve(fake, [Fake.config("a", { isolation: "per-session" }), Fake.config("b")]),
        scope
      )
      const client = yield* McpTest.connect().pipe(Effect.provide(context), Scope.extend(scope))
      yield* client.callTool("a__t", {})
      assert.deepStrictEqual(fake.counts("a"), { opened: 2, closed: 0 })
      yield* Scope.close(scope, Exit.void)
      assert.deepStrictEqual([fake.counts("a"), fake.counts("b")], [{ opened: 2, closed: 2 }, { opened: 1, closed: 1 }])
    }))
})

describe("Gateway instances", () => {
  it.scoped("modern clients keyed by principal: at the cap, the least recently used idle instance is reaped", () =>
    Effect.gen(function*() {
      const fake = Fake.make({ a: { tools: [{ name: "t" }] } })
      const config = Fake.config("a", { isolation: "per-session", maxSessions: 2 })
      const scope = yield* Effect.scope
      const events = { notification: () => Effect.void, request: () => Effect.never, state: () => Effect.void }
      const pool: Instances.Pool = {
        config,
        shared: yield* Instances.open(config, "shared", fake.connect, events, scope),
        sessions: new Map(),
        open: (key) => Instances.open(config, key, fake.connect, events, scope)
      }
      const x = yield* Instances.instanceFor(pool, "principal:x", () => {})
      const y = yield* Instances.instanceFor(pool, "principal:y", () => {})
      yield* Instances.call(x, "tools/call", { name: "t" }) // x used after y: y is the least recently used
      assert.strictEqual(yield* Instances.instanceFor(pool, "principal:x", () => {}), x)
      yield* Instances.instanceFor(pool, "principal:z", () => {})
      assert.deepStrictEqual([...pool.sessions.keys()], ["principal:x", "principal:z"])
      assert.deepStrictEqual(fake.instances.map((i) => i.closed), [false, false, true, false])
      assert.notStrictEqual(y, x)
      // A legacy session's instance may take an idle principal's place, but is itself only closed when its session ends.
      yield* Instances.instanceFor(pool, "session:1", () => {})
      yield* Instances.instanceFor(pool, "session:2", () => {})
      assert.deepStrictEqual([...pool.sessions.keys()], ["session:1", "session:2"])
      const refused = yield* Effect.flip(Instances.instanceFor(pool, "session:3", () => {}))
      assert.strictEqual(refused.reason, "busy")
    }))
})
