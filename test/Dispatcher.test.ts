import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Option, TestClock } from "effect"
import { McpTest } from "../src/index.js"
import * as TestServer from "./fixtures/TestServer.js"
import { complete, drain, rpcError } from "./support/Rpc.js"
import { settle } from "./support/Settle.js"

const events = TestServer.events

type ListMethod = "tools/list" | "resources/list" | "resources/templates/list" | "prompts/list"

/** Every page of a list, following `nextCursor` from the first page until a page has none (at most 50 pages). */
const pages = <M extends ListMethod>(client: McpTest.Client, method: M) =>
  Effect.gen(function*() {
    const all: Array<McpTest.Results[M] & McpTest.ResultFields> = []
    let cursor: string | undefined
    do {
      // A list method's result does not depend on the era; TypeScript cannot resolve `ResultOf` for a generic `M`.
      const page = (yield* client.request(method, cursor === undefined ? {} : { cursor })) as
        & McpTest.Results[M]
        & McpTest.ResultFields
      all.push(page)
      cursor = page.nextCursor
      assert.isBelow(all.length, 50, `${method} never stops giving a next cursor`)
    } while (cursor !== undefined)
    return all
  })

const TOOLS = [
  "sleep",
  "bad_progress",
  "log_levels",
  "needs_elicitation",
  "dies",
  "bad_output",
  "scalar",
  "echo",
  "add",
  "ask",
  "needs_login"
]

describe("legacy era", () => {
  it.scoped("initialize answers the requested version when supported, else the latest", () =>
    Effect.gen(function*() {
      const a = yield* McpTest.connect({ protocolVersion: "2025-03-26" })
      assert.strictEqual(a.initializeResult?.protocolVersion, "2025-03-26")
      assert.deepStrictEqual(a.initializeResult?.serverInfo, { name: "test-server", version: "1.0.0" })
      assert.deepStrictEqual(Object.keys(a.initializeResult?.capabilities ?? {}).sort(), [
        "completions",
        "logging",
        "prompts",
        "resources",
        "tools"
      ])
      const b = yield* McpTest.connect({ protocolVersion: "1999-01-01" })
      assert.strictEqual(b.initializeResult?.protocolVersion, "2025-11-25")
      const c = yield* McpTest.connect({ protocolVersion: "2024-10-07" })
      assert.strictEqual(c.initializeResult?.protocolVersion, "2024-10-07")
    }).pipe(Effect.provide(TestServer.layer())))

  it.scoped("a second initialize and a malformed one are refused", () =>
    Effect.gen(function*() {
      const client = yield* McpTest.connect()
      const again = yield* rpcError(
        client.request("initialize", {
          protocolVersion: "2025-11-25",
          capabilities: {},
          clientInfo: { name: "x", version: "1" }
        })
      )
      assert.strictEqual(again.code, -32600)
      const fresh = yield* McpTest.connect({ initialize: false })
      const bad = yield* rpcError(fresh.request("initialize", { protocolVersion: 5, capabilities: {} }))
      assert.strictEqual(bad.code, -32602)
      assert.include(bad.message, "protocolVersion")
      assert.include(bad.message, "clientInfo")
    }).pipe(Effect.provide(TestServer.layer())))

  it.scoped("ping answers {}", () =>
    Effect.gen(function*() {
      const client = yield* McpTest.connect()
      assert.deepStrictEqual(yield* client.request("ping"), {})
    }).pipe(Effect.provide(TestServer.layer())))

  it.scoped("lists page along nextCursor: pages of pageSize, disjoint, in order, all items, no cursor on the last", () =>
    Effect.gen(function*() {
      const client = yield* McpTest.connect()
      const tools = yield* pages(client, "tools/list")
      // Page by page: 4, 4, then the 3 left, each page continuing where the one before stopped.
      assert.deepStrictEqual(tools.map((page) => page.tools.map((tool) => tool.name)), [
        TOOLS.slice(0, 4),
        TOOLS.slice(4, 8),
        TOOLS.slice(8)
      ])
      // Every page but the last names the next one, each a different cursor; the last has no nextCursor at all.
      const cursors = tools.slice(0, -1).map((page) => page.nextCursor)
      assert.isTrue(cursors.every((cursor) => typeof cursor === "string" && cursor !== ""), JSON.stringify(cursors))
      assert.strictEqual(new Set(cursors).size, cursors.length)
      assert.isFalse("nextCursor" in tools.at(-1)!)
      // A cursor is stable: asked again, it gives the same page.
      assert.deepStrictEqual(yield* client.request("tools/list", { cursor: cursors[0] }), tools[1])
      assert.deepStrictEqual(yield* client.request("tools/list", { cursor: cursors[1] }), tools[2])
    }).pipe(Effect.provide(TestServer.layer({ pageSize: 4 }))))

  it.scoped("every list pages the same way, in both eras", () =>
    Effect.gen(function*() {
      const legacy = yield* McpTest.connect()
      const modern = yield* McpTest.connect({ era: "modern" })
      for (const client of [legacy, modern]) {
        const names = <M extends ListMethod>(
          method: M,
          namesOf: (page: McpTest.Results[M]) => ReadonlyArray<string>
        ) => Effect.map(pages(client, method), (all) => all.map(namesOf))
        assert.deepStrictEqual(
          yield* names("tools/list", (page) => page.tools.map((tool) => tool.name)),
          TOOLS.map((name) => [name])
        )
        assert.deepStrictEqual(
          yield* names("resources/list", (page) => page.resources.map((resource) => resource.uri)),
          [["test://doc"], ["test://bin"]]
        )
        const templates = yield* names(
          "resources/templates/list",
          (page) => page.resourceTemplates.map((template) => template.uriTemplate)
        )
        assert.deepStrictEqual(templates, [["test://rows/{n}"]])
        assert.deepStrictEqual(yield* names("prompts/list", (page) => page.prompts.map((prompt) => prompt.name)), [[
          "hello"
        ]])
      }
    }).pipe(Effect.provide(TestServer.layer({ pageSize: 1 }))))

  it.scoped("a cursor this server did not issue for this list is -32602", () =>
    Effect.gen(function*() {
      const client = yield* McpTest.connect()
      const first = yield* client.request("tools/list")
      const invalid = yield* rpcError(client.request("tools/list", { cursor: "not-a-cursor" }))
      assert.strictEqual(invalid.code, -32602)
      // A cursor of one list is not valid for another.
      const crossed = yield* rpcError(client.request("prompts/list", { cursor: first.nextCursor }))
      assert.strictEqual(crossed.code, -32602)
      const resources = yield* rpcError(client.request("resources/list", { cursor: first.nextCursor }))
      assert.strictEqual(resources.code, -32602)
      const empty = yield* rpcError(client.request("tools/list", { cursor: "" }))
      assert.strictEqual(empty.code, -32602)
      const wrongType = yield* rpcError(client.request("tools/list", { cursor: 2 }))
      assert.strictEqual(wrongType.code, -32602)
    }).pipe(Effect.provide(TestServer.layer({ pageSize: 4 }))))

  it.scoped("tools: results, tool errors, unknown tools, invalid arguments, defects", () =>
    Effect.gen(function*() {
      const client = yield* McpTest.connect()
      assert.deepStrictEqual(yield* client.callTool("echo", { text: "hi" }), {
        content: [{ type: "text", text: "hi" }]
      })
      const unknown = yield* rpcError(client.callTool("nope", {}))
      assert.strictEqual(unknown.code, -32602)
      assert.include(unknown.message, "nope")
      const invalid = yield* client.callTool("echo", { text: 5 })
      assert.isTrue(invalid.isError)
      assert.include((invalid.content[0] as { text: string }).text, "text")
      const died = yield* rpcError(client.callTool("dies", {}))
      assert.deepStrictEqual(died, { code: -32603, message: "Internal error" })
      const badOutput = yield* rpcError(client.callTool("bad_output", {}))
      assert.strictEqual(badOutput.code, -32603)
      // Wrong params shape for tools/call itself is a protocol error naming the field.
      const shape = yield* rpcError(client.request("tools/call", { name: 42 }))
      assert.strictEqual(shape.code, -32602)
      assert.include(shape.message, "name")
    }).pipe(Effect.provide(TestServer.layer())))

  it.scoped("structured output is sent where the negotiated version has it", () =>
    Effect.gen(function*() {
      const modern = yield* McpTest.connect({ protocolVersion: "2025-06-18" })
      const result = yield* modern.callTool("add", { a: 2, b: 3 })
      assert.deepStrictEqual(result, {
        content: [{ type: "text", text: "{\"sum\":5}" }],
        structuredContent: { sum: 5 }
      })
      // Every tool, from every page: "add" and "scalar" are not on the first.
      const all = (yield* pages(modern, "tools/list")).flatMap((page) => page.tools)
      assert.deepStrictEqual(all.map((tool) => tool.name), TOOLS)
      const add = all.find((tool) => tool.name === "add")!
      assert.deepStrictEqual(add.outputSchema, {
        type: "object",
        required: ["sum"],
        properties: { sum: { type: "number" } },
        additionalProperties: false
      })
      // A non-object output cannot be structuredContent before 2026-07-28.
      const scalar = yield* modern.callTool("scalar", {})
      assert.deepStrictEqual(scalar, { content: [{ type: "text", text: "42" }] })
      assert.isUndefined(all.find((tool) => tool.name === "scalar")!.outputSchema)

      const old = yield* McpTest.connect({ protocolVersion: "2025-03-26" })
      assert.deepStrictEqual(yield* old.callTool("add", { a: 2, b: 3 }), {
        content: [{ type: "text", text: "{\"sum\":5}" }]
      })
    }).pipe(Effect.provide(TestServer.layer({ pageSize: 4 }))))

  it.scoped("resources, templates and not-found", () =>
    Effect.gen(function*() {
      const client = yield* McpTest.connect()
      assert.deepStrictEqual(yield* client.request("resources/read", { uri: "test://doc" }), {
        contents: [{ uri: "test://doc", text: "hello", mimeType: "text/plain" }]
      })
      assert.deepStrictEqual(yield* client.request("resources/read", { uri: "test://bin" }), {
        contents: [{ uri: "test://bin", blob: "AQID" }]
      })
      assert.deepStrictEqual(yield* client.request("resources/read", { uri: "test://rows/5" }), {
        contents: [{ uri: "test://rows/5", text: "row 10" }]
      })
      const list = yield* client.request("resources/list")
      assert.deepStrictEqual(list.resources.map((r: { uri: string }) => r.uri), ["test://doc", "test://bin"])
      const templates = yield* client.request("resources/templates/list")
      assert.deepStrictEqual(templates.resourceTemplates, [{ uriTemplate: "test://rows/{n}", name: "row" }])
      // A URI that matches the template but whose variable does not decode is not found.
      const notFound = yield* rpcError(client.request("resources/read", { uri: "test://rows/abc" }))
      assert.deepStrictEqual(notFound, {
        code: -32002,
        message: "Resource not found: test://rows/abc",
        data: { uri: "test://rows/abc" }
      })
    }).pipe(Effect.provide(TestServer.layer())))

  it.scoped("prompts and completions", () =>
    Effect.gen(function*() {
      const client = yield* McpTest.connect()
      const list = yield* client.request("prompts/list")
      assert.deepStrictEqual(list.prompts, [{
        name: "hello",
        arguments: [{ name: "who", description: "Who", required: true }, { name: "mood", required: false }]
      }])
      assert.deepStrictEqual(yield* client.request("prompts/get", { name: "hello", arguments: { who: "Ada" } }), {
        messages: [{ role: "user", content: { type: "text", text: "Hello Ada" } }]
      })
      const missing = yield* rpcError(client.request("prompts/get", { name: "hello", arguments: {} }))
      assert.strictEqual(missing.code, -32602)
      assert.include(missing.message, "who")
      assert.strictEqual((yield* rpcError(client.request("prompts/get", { name: "nope" }))).code, -32602)
      const mood = yield* client.request("completion/complete", {
        ref: { type: "ref/prompt", name: "hello" },
        argument: { name: "mood", value: "h" }
      })
      assert.deepStrictEqual(mood, { completion: { values: ["happy", "hungry"], total: 2, hasMore: false } })
      const row = yield* client.request("completion/complete", {
        ref: { type: "ref/resource", uri: "test://rows/{n}" },
        argument: { name: "n", value: "1" }
      })
      assert.deepStrictEqual(row.completion.values, ["1", "10"])
      const none = yield* client.request("completion/complete", {
        ref: { type: "ref/prompt", name: "hello" },
        argument: { name: "who", value: "" }
      })
      assert.deepStrictEqual(none.completion.values, [])
      const unknown = yield* rpcError(client.request("completion/complete", {
        ref: { type: "ref/prompt", name: "nope" },
        argument: { name: "x", value: "" }
      }))
      assert.strictEqual(unknown.code, -32602)
    }).pipe(Effect.provide(TestServer.layer())))

  it.scoped("logging: every level until logging/setLevel, then only that level and above", () =>
    Effect.gen(function*() {
      const client = yield* McpTest.connect()
      yield* client.callTool("log_levels", {})
      const before = yield* drain(client)
      assert.deepStrictEqual(before.map((m) => m.params?.level), ["debug", "info", "warning", "error"])
      assert.deepStrictEqual(before[0], {
        jsonrpc: "2.0",
        method: "notifications/message",
        params: { level: "debug", logger: "test", data: { level: "debug" } }
      })
      assert.deepStrictEqual(yield* client.request("logging/setLevel", { level: "warning" }), {})
      yield* client.callTool("log_levels", {})
      assert.deepStrictEqual((yield* drain(client)).map((m) => m.params?.level), ["warning", "error"])
      const bad = yield* rpcError(client.request("logging/setLevel", { level: "loud" }))
      assert.strictEqual(bad.code, -32602)
    }).pipe(Effect.provide(TestServer.layer())))

  it.scoped("progress: increasing values only, none after the response, none without a token", () =>
    Effect.gen(function*() {
      const client = yield* McpTest.connect()
      const call = yield* Effect.fork(client.callTool("sleep", { ms: 300, steps: 3 }, { progressToken: "tok" }))
      yield* TestClock.adjust("1 second")
      assert.deepStrictEqual(yield* Fiber.join(call), { content: [{ type: "text", text: "slept" }] })
      const progress = yield* drain(client)
      assert.deepStrictEqual(progress.map((m) => m.params), [
        { progressToken: "tok", progress: 1, total: 3 },
        { progressToken: "tok", progress: 2, total: 3 },
        { progressToken: "tok", progress: 3, total: 3 }
      ])

      yield* client.callTool("bad_progress", {}, { progressToken: 7 })
      yield* TestClock.adjust("5 seconds")
      yield* settle
      assert.deepStrictEqual((yield* drain(client)).map((m) => m.params?.progress), [1, 2])

      const quiet = yield* Effect.fork(client.callTool("sleep", { ms: 300, steps: 3 }))
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(quiet)
      assert.deepStrictEqual(yield* drain(client), [])
    }).pipe(Effect.provide(TestServer.layer())))

  it.scoped("notifications/cancelled interrupts exactly that request: its finalizer runs, no response is sent", () =>
    Effect.gen(function*() {
      const client = yield* McpTest.connect()
      const cancelled = yield* Effect.fork(client.callTool("sleep", { ms: 10_000 }, { id: "c1" }))
      const other = yield* Effect.fork(client.callTool("sleep", { ms: 10_000 }, { id: "c2" }))
      yield* settle
      assert.deepStrictEqual(yield* events, ["sleep:start", "sleep:start"])
      yield* client.cancel("c1", "changed my mind")
      yield* settle
      assert.deepStrictEqual(yield* events, ["sleep:start", "sleep:start", "sleep:interrupted"])
      yield* TestClock.adjust("10 seconds")
      assert.deepStrictEqual(yield* Fiber.join(other), { content: [{ type: "text", text: "slept" }] })
      assert.isTrue(Option.isNone(yield* Fiber.poll(cancelled)), "the cancelled request got no response")
      // Cancelling an unknown or finished request is ignored.
      yield* client.cancel("c2")
      yield* client.cancel("never-sent")
      assert.deepStrictEqual(yield* client.request("ping"), {})
      assert.deepStrictEqual(yield* drain(client), [])
    }).pipe(Effect.provide(TestServer.layer())))

  it.scoped("a request id already in flight is refused, not dropped or crossed", () =>
    Effect.gen(function*() {
      const client = yield* McpTest.connect()
      const first = yield* Effect.fork(client.callTool("sleep", { ms: 1000 }, { id: 5 }))
      yield* settle
      const duplicate = yield* rpcError(client.callTool("echo", { text: "x" }, { id: 5 }))
      assert.strictEqual(duplicate.code, -32600)
      assert.include(duplicate.message, "already in flight")
      // The same number as a string is a different id.
      assert.deepStrictEqual(yield* client.callTool("echo", { text: "y" }, { id: "5" }), {
        content: [{ type: "text", text: "y" }]
      })
      yield* TestClock.adjust("1 second")
      // The original request still completes (its response went to the id's latest waiter in this harness).
      yield* settle
      assert.deepStrictEqual(yield* events, ["sleep:start"])
      yield* Fiber.interrupt(first)
    }).pipe(Effect.provide(TestServer.layer())))

  it.scoped("a request past the timeout is interrupted (finalizer ran) and answered with -32001", () =>
    Effect.gen(function*() {
      const client = yield* McpTest.connect()
      const call = yield* Effect.fork(rpcError(client.callTool("sleep", { ms: 60_000 })))
      const quick = yield* Effect.fork(client.callTool("sleep", { ms: 10_000 }))
      yield* TestClock.adjust("10 seconds")
      assert.deepStrictEqual(yield* Fiber.join(quick), { content: [{ type: "text", text: "slept" }] })
      yield* TestClock.adjust("20 seconds")
      const error = yield* Fiber.join(call)
      assert.strictEqual(error.code, -32001)
      yield* settle
      assert.deepStrictEqual(yield* events, ["sleep:start", "sleep:start", "sleep:interrupted"])
    }).pipe(Effect.provide(TestServer.layer())))

  it.scoped("batches: accepted in 2025-03-26 as one array answer, refused otherwise", () =>
    Effect.gen(function*() {
      const client = yield* McpTest.connect({ protocolVersion: "2025-03-26" })
      yield* client.sendRaw(JSON.stringify([
        { jsonrpc: "2.0", id: 100, method: "ping" },
        { jsonrpc: "2.0", id: 101, method: "tools/call", params: { name: "echo", arguments: { text: "b" } } },
        { jsonrpc: "2.0", method: "notifications/whatever" },
        { jsonrpc: "1.0", id: 102, method: "ping" },
        { jsonrpc: "2.0", id: 103, method: "nope" }
      ]))
      yield* settle
      const answers = yield* drain(client)
      assert.deepStrictEqual(
        answers.map((m) => [m.id, m.result ?? m.error?.code]).sort((a, b) => Number(a[0]) - Number(b[0])),
        [[100, {}], [101, { content: [{ type: "text", text: "b" }] }], [102, -32600], [103, -32601]]
      )
      yield* client.sendRaw("[]")
      yield* settle
      assert.deepStrictEqual((yield* drain(client)).map((m) => [m.id, m.error?.code]), [[null, -32600]])

      const newer = yield* McpTest.connect({ protocolVersion: "2025-06-18" })
      yield* newer.sendRaw(JSON.stringify([{ jsonrpc: "2.0", id: 1, method: "ping" }]))
      yield* settle
      const refused = yield* drain(newer)
      assert.strictEqual(refused.length, 1)
      assert.strictEqual(refused[0]!.id, null)
      assert.strictEqual(refused[0]!.error?.code, -32600)
      assert.include(refused[0]!.error?.message, "2025-03-26")
    }).pipe(Effect.provide(TestServer.layer())))

  it.scoped("malformed frames get -32700 / -32600 and the connection keeps serving", () =>
    Effect.gen(function*() {
      const client = yield* McpTest.connect()
      yield* client.sendRaw("{not json")
      yield* client.sendRaw("42")
      yield* client.sendRaw(JSON.stringify({ jsonrpc: "2.0", id: null, method: "ping" }))
      yield* client.sendRaw(JSON.stringify({ jsonrpc: "2.0", id: 9, method: "ping", params: [1] }))
      yield* client.sendRaw(JSON.stringify({ jsonrpc: "2.0", id: 10 }))
      yield* settle
      assert.deepStrictEqual((yield* drain(client)).map((m) => [m.id, m.error?.code]), [
        [null, -32700],
        [null, -32600],
        [null, -32600],
        [9, -32600],
        [10, -32600]
      ])
      assert.deepStrictEqual(yield* client.request("ping"), {})
    }).pipe(Effect.provide(TestServer.layer())))
})

describe("modern era (2026-07-28)", () => {
  const serverInfo = { "io.modelcontextprotocol/serverInfo": { name: "test-server", version: "1.0.0" } }

  it.scoped("server/discover and resultType, ttlMs, cacheScope, serverInfo on results", () =>
    Effect.gen(function*() {
      const client = yield* McpTest.connect({ era: "modern" })
      assert.deepStrictEqual(yield* client.request("server/discover"), {
        supportedVersions: ["2026-07-28"],
        capabilities: {
          tools: { listChanged: true },
          resources: { subscribe: true, listChanged: true },
          prompts: { listChanged: true },
          completions: {},
          logging: {}
        },
        resultType: "complete",
        ttlMs: 60_000,
        cacheScope: "public",
        _meta: serverInfo
      })
      const tools = yield* client.request("tools/list")
      assert.strictEqual(tools.resultType, "complete")
      assert.strictEqual(tools.ttlMs, 60_000)
      assert.strictEqual(tools.cacheScope, "public")
      assert.deepStrictEqual(tools._meta, serverInfo)
      const call: unknown = yield* client.callTool("scalar", {})
      assert.deepStrictEqual(call, {
        content: [{ type: "text", text: "42" }],
        structuredContent: 42,
        resultType: "complete",
        _meta: serverInfo
      })
      const read = complete(yield* client.request("resources/read", { uri: "test://doc" }))
      assert.strictEqual(read.ttlMs, 0)
      assert.strictEqual(read.cacheScope, "public")
      const missing = yield* rpcError(client.request("resources/read", { uri: "test://nothing" }))
      assert.strictEqual(missing.code, -32602)
      // Removed methods.
      assert.strictEqual((yield* rpcError(client.request("ping"))).code, -32601)
      assert.strictEqual((yield* rpcError(client.request("logging/setLevel", { level: "info" }))).code, -32601)
    }).pipe(Effect.provide(TestServer.layer())))

  it.scoped("_meta validation: -32602 when missing or malformed, -32022 for an unsupported version", () =>
    Effect.gen(function*() {
      const client = yield* McpTest.connect({ era: "modern" })
      const unsupported = yield* rpcError(client.request("tools/list", {}, {
        meta: {
          "io.modelcontextprotocol/protocolVersion": "2099-01-01",
          "io.modelcontextprotocol/clientCapabilities": {}
        }
      }))
      assert.deepStrictEqual(unsupported, {
        code: -32022,
        message: "Unsupported protocol version: 2099-01-01",
        data: { supported: ["2026-07-28"], requested: "2099-01-01" }
      })
      const noCapabilities = yield* rpcError(client.request("tools/list", {}, {
        meta: { "io.modelcontextprotocol/protocolVersion": "2026-07-28" }
      }))
      assert.strictEqual(noCapabilities.code, -32602)
      assert.include(noCapabilities.message, "clientCapabilities")
      const noVersion = yield* rpcError(client.request("tools/list", {}, { meta: {} }))
      assert.strictEqual(noVersion.code, -32602)
      assert.include(noVersion.message, "protocolVersion")
      const badLevel = yield* rpcError(client.request("tools/list", {}, {
        meta: {
          "io.modelcontextprotocol/protocolVersion": "2026-07-28",
          "io.modelcontextprotocol/clientCapabilities": {},
          "io.modelcontextprotocol/logLevel": "loud"
        }
      }))
      assert.strictEqual(badLevel.code, -32602)
      // The connection is pinned modern: initialize is refused.
      const init = yield* rpcError(client.request("initialize", {
        protocolVersion: "2025-11-25",
        capabilities: {},
        clientInfo: { name: "x", version: "1" }
      }, { meta: {} }))
      assert.strictEqual(init.code, -32600)
    }).pipe(Effect.provide(TestServer.layer())))

  it.scoped("-32021 when a handler needs a capability the request did not declare", () =>
    Effect.gen(function*() {
      const without = yield* McpTest.connect({ era: "modern" })
      assert.deepStrictEqual(yield* rpcError(without.callTool("needs_elicitation", {})), {
        code: -32021,
        message: "Missing required client capability: elicitation",
        data: { requiredCapabilities: { elicitation: {} } }
      })
      const withIt = yield* McpTest.connect({ era: "modern", capabilities: { elicitation: {} } })
      assert.deepStrictEqual(complete(yield* withIt.callTool("needs_elicitation", {})).content, [
        { type: "text", text: "ok" }
      ])
    }).pipe(Effect.provide(TestServer.layer())))

  it.scoped("log messages only when the request asks, at its level and above", () =>
    Effect.gen(function*() {
      const client = yield* McpTest.connect({ era: "modern" })
      yield* client.callTool("log_levels", {})
      assert.deepStrictEqual(yield* drain(client), [])
      yield* client.callTool("log_levels", {}, { logLevel: "info" })
      assert.deepStrictEqual((yield* drain(client)).map((m) => m.params?.level), ["info", "warning", "error"])
    }).pipe(Effect.provide(TestServer.layer())))

  it.scoped("progress and cancellation work the same in the modern era", () =>
    Effect.gen(function*() {
      const client = yield* McpTest.connect({ era: "modern" })
      const call = yield* Effect.fork(client.callTool("sleep", { ms: 200, steps: 2 }, { progressToken: "m" }))
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(call)
      assert.deepStrictEqual((yield* drain(client)).map((m) => m.params?.progress), [1, 2])
      const cancelled = yield* Effect.fork(client.callTool("sleep", { ms: 5000 }, { id: 77 }))
      yield* settle
      yield* client.cancel(77)
      yield* settle
      yield* TestClock.adjust("10 seconds")
      assert.isTrue(Option.isNone(yield* Fiber.poll(cancelled)))
      assert.deepStrictEqual(yield* events, ["sleep:start", "sleep:start", "sleep:interrupted"])
    }).pipe(Effect.provide(TestServer.layer())))
})
