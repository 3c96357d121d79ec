/**
 * What a client is told when a handler fails (issue 12, "Error text"), through a real server (McpTest) in both eras:
 * a resource's or a prompt's typed failure is -32603 with the error's message, else its `_tag`, else a generic text,
 * its whole cause logged; a JSON-RPC error passes through; a defect is "Internal error". `Resource.notFound` answers
 * "resource not found" in the code of the request's version (-32002 up to 2025-11-25, -32602 from 2026-07-28), as the
 * server does for a URI nothing matches. A tool's typed failure keeps its fields as `structuredContent.error` where
 * the version carries structured content and the tool has no success schema.
 */
import { assert, describe, it } from "@effect/vitest"
import { Data, Effect, HashMap, Layer, Logger, LogLevel, Schema } from "effect"
import { JsonRpc, McpServer, McpTest, Prompt, ProtocolVersion, Resource, Tool } from "../src/index.js"
import { complete, rpcError } from "./support/Rpc.js"
import { settle } from "./support/Settle.js"

class NoMessage extends Data.TaggedError("NoMessage")<{}> {}
class WithMessage extends Data.TaggedError("WithMessage")<{ readonly message: string; readonly id: number }> {}
class NotFound extends Schema.TaggedError<NotFound>()("NotFound", { id: Schema.String }) {}

const failingResource = (uri: string, error: unknown) =>
  McpServer.resource(Resource.make({ uri, name: uri, read: Effect.fail(error) }))

const failingPrompt = (name: string, error: unknown) =>
  McpServer.prompt(Prompt.make({ name, content: () => Effect.fail(error) }))

const Notes = Resource.template({
  uriTemplate: "notes://{id}",
  name: "note",
  params: Schema.Struct({ id: Schema.NumberFromString }),
  read: ({ id }, uri) => (id === 1 ? Effect.succeed("the first note") : Resource.notFound(uri))
})

const ToolFails = Tool.make({
  name: "tool_fails",
  handler: () => Effect.fail(new WithMessage({ message: "quota exceeded", id: 7 }))
})

const TypedToolFails = Tool.make({
  name: "typed_tool_fails",
  success: Schema.Struct({ n: Schema.Number }),
  failure: NotFound,
  handler: () => Effect.fail(new NotFound({ id: "7" }))
})

const server = Layer.mergeAll(
  failingResource("test://no-message", new NoMessage()),
  failingResource("test://message", new WithMessage({ message: "disk on fire", id: 1 })),
  failingResource("test://schema-error", new NotFound({ id: "9" })),
  failingResource("test://nothing", {}),
  failingResource("test://protocol", new JsonRpc.InvalidParams({ message: "Bad URI: no such shelf" })),
  McpServer.resource(Resource.make({ uri: "test://dies", name: "dies", read: Effect.die(new Error("secret")) })),
  McpServer.resource(Resource.make({ uri: "test://gone", name: "gone", read: Resource.notFound("test://gone") })),
  McpServer.resourceTemplate(Notes),
  failingPrompt("p_no_message", new NoMessage()),
  failingPrompt("p_message", new WithMessage({ message: "template missing", id: 2 })),
  failingPrompt("p_nothing", undefined),
  failingPrompt("p_protocol", new JsonRpc.InvalidParams({ message: "Unknown style" })),
  McpServer.prompt(Prompt.make({ name: "p_dies", content: () => Effect.die(new Error("secret")) })),
  McpServer.tool(ToolFails),
  McpServer.tool(TypedToolFails)
).pipe(Layer.provideMerge(McpServer.layer({ name: "errors", version: "1.0.0" })))

/** A legacy client at `protocolVersion` and a modern one. */
const clients = Effect.all([
  McpTest.connect({ protocolVersion: "2025-11-25" }),
  McpTest.connect({ era: "modern" })
])

const read = (client: McpTest.Client, uri: string) => rpcError(client.request("resources/read", { uri }))
const get = (client: McpTest.Client, name: string) => rpcError(client.request("prompts/get", { name }))

describe("a resource's or a prompt's failure", () => {
  it.scoped("a typed failure is -32603 with its message, else its _tag, else a generic text, in both eras", () =>
    Effect.gen(function*() {
      for (const client of yield* clients) {
        const era = client.era
        assert.deepStrictEqual(yield* read(client, "test://no-message"), { code: -32603, message: "NoMessage" }, era)
        assert.deepStrictEqual(yield* read(client, "test://message"), { code: -32603, message: "disk on fire" }, era)
        // A Schema.TaggedError without a message field: its tag, not the fields Schema prints as its message.
        assert.deepStrictEqual(yield* read(client, "test://schema-error"), { code: -32603, message: "NotFound" }, era)
        assert.deepStrictEqual(yield* read(client, "test://nothing"), {
          code: -32603,
          message: "Failed to read the resource test://nothing"
        }, era)
        assert.deepStrictEqual(yield* get(client, "p_no_message"), { code: -32603, message: "NoMessage" }, era)
        assert.deepStrictEqual(yield* get(client, "p_message"), { code: -32603, message: "template missing" }, era)
        assert.deepStrictEqual(yield* get(client, "p_nothing"), {
          code: -32603,
          message: "Prompt \"p_nothing\" failed"
        }, era)
      }
    }).pipe(Effect.provide(server)))

  it.scoped("a JSON-RPC error passes through as it is; a defect is Internal error, its text kept from the client", () =>
    Effect.gen(function*() {
      for (const client of yield* clients) {
        assert.deepStrictEqual(yield* read(client, "test://protocol"), {
          code: -32602,
          message: "Bad URI: no such shelf"
        })
        assert.deepStrictEqual(yield* get(client, "p_protocol"), { code: -32602, message: "Unknown style" })
        assert.deepStrictEqual(yield* read(client, "test://dies"), { code: -32603, message: "Internal error" })
        assert.deepStrictEqual(yield* get(client, "p_dies"), { code: -32603, message: "Internal error" })
      }
    }).pipe(Effect.provide(server)))

  it.scoped("the log keeps the whole cause: a warning naming the resource or prompt, the error's fields in it", () => {
    const logs: Array<{ level: string; message: string; annotations: Record<string, unknown> }> = []
    const collecting = Logger.make(({ annotations, logLevel, message }) => {
      logs.push({
        level: logLevel.label,
        message: String(Array.isArray(message) ? message[0] : message),
        annotations: Object.fromEntries(HashMap.toEntries(annotations))
      })
    })
    return Effect.gen(function*() {
      const client = yield* McpTest.connect()
      yield* read(client, "test://message")
      yield* get(client, "p_no_message")
      yield* client.callTool("tool_fails", {})
      yield* settle
      const resource = logs.find((log) => log.message === "Resource read failed")
      assert.isDefined(resource, JSON.stringify(logs))
      assert.strictEqual(resource!.level, "WARN")
      assert.strictEqual(resource!.annotations.uri, "test://message")
      assert.include(String(resource!.annotations.cause), "WithMessage: disk on fire")
      assert.include(String(resource!.annotations.cause), "HandlerErrors.test.ts")
      const prompt = logs.find((log) => log.message === "Prompt failed")
      assert.strictEqual(prompt?.level, "WARN")
      assert.strictEqual(prompt?.annotations.prompt, "p_no_message")
      assert.include(String(prompt?.annotations.cause), "NoMessage")
      // A tool's failure is an answer, not a server problem: logged at debug.
      const tool = logs.find((log) => log.message === "Tool failed")
      assert.strictEqual(tool?.level, "DEBUG")
      assert.strictEqual(tool?.annotations.tool, "tool_fails")
      assert.include(String(tool?.annotations.cause), "quota exceeded")
    }).pipe(
      Effect.provide(server),
      Effect.provide(Logger.replace(Logger.defaultLogger, collecting)),
      Logger.withMinimumLogLevel(LogLevel.Debug)
    )
  })
})

describe("resource not found", () => {
  const legacyNotFound = (uri: string) => ({ code: -32002, message: `Resource not found: ${uri}`, data: { uri } })
  const modernNotFound = (uri: string) => ({ code: -32602, message: `Resource not found: ${uri}`, data: { uri } })

  it.scoped("Resource.notFound: -32002 up to 2025-11-25, -32602 from 2026-07-28, as for a URI nothing matches", () =>
    Effect.gen(function*() {
      const [legacy, modern] = yield* clients
      const old = yield* McpTest.connect({ protocolVersion: "2024-11-05" })
      for (const uri of ["notes://2", "test://gone", "nothing://here"]) {
        assert.deepStrictEqual(yield* read(legacy, uri), legacyNotFound(uri))
        assert.deepStrictEqual(yield* read(old, uri), legacyNotFound(uri))
        assert.deepStrictEqual(yield* read(modern, uri), modernNotFound(uri))
      }
      // The template still reads what exists.
      const found = complete(yield* modern.request("resources/read", { uri: "notes://1" }))
      assert.deepStrictEqual(found.contents, [{ uri: "notes://1", text: "the first note" }])
    }).pipe(Effect.provide(server)))

  it("Resource.notFoundError picks the class and code from the version", () => {
    for (const version of [...ProtocolVersion.LEGACY, ...ProtocolVersion.MODERN]) {
      const error = Resource.notFoundError("x://1", version)
      const modern = ProtocolVersion.isModern(version)
      assert.strictEqual(error.code, modern ? -32602 : -32002, version)
      assert.strictEqual(error._tag, modern ? "InvalidParams" : "ResourceNotFound", version)
      assert.deepStrictEqual(JsonRpc.toErrorObject(error), {
        code: modern ? -32602 : -32002,
        message: "Resource not found: x://1",
        data: { uri: "x://1" }
      })
    }
  })
})

describe("a tool's typed failure over the wire", () => {
  const details = { error: { _tag: "WithMessage", message: "quota exceeded", id: 7 } }

  it.scoped("its fields are structuredContent.error where the version has structured content", () =>
    Effect.gen(function*() {
      const [legacy, modern] = yield* clients
      const legacyResult = yield* legacy.callTool("tool_fails", {})
      assert.deepStrictEqual(legacyResult, {
        content: [{ type: "text", text: "quota exceeded" }],
        structuredContent: details,
        isError: true
      })
      const modernResult = complete(yield* modern.callTool("tool_fails", {}))
      assert.deepStrictEqual(modernResult.structuredContent, details)
      assert.deepStrictEqual(modernResult.content, [{ type: "text", text: "quota exceeded" }])
      assert.isTrue(modernResult.isError)
      const june = yield* McpTest.connect({ protocolVersion: "2025-06-18" })
      assert.deepStrictEqual((yield* june.callTool("tool_fails", {})).structuredContent, details)
      // 2025-03-26 has no structured content: the text only.
      const march = yield* McpTest.connect({ protocolVersion: "2025-03-26" })
      assert.deepStrictEqual(yield* march.callTool("tool_fails", {}), {
        content: [{ type: "text", text: "quota exceeded" }],
        isError: true
      })
    }).pipe(Effect.provide(server)))

  it.scoped("a tool with a success schema: the text only (its outputSchema does not describe the failure)", () =>
    Effect.gen(function*() {
      for (const client of yield* clients) {
        const result = complete(yield* client.callTool("typed_tool_fails", {}))
        assert.deepStrictEqual(result.content, [{ type: "text", text: "NotFound" }])
        assert.isTrue(result.isError)
        assert.notProperty(result, "structuredContent")
      }
    }).pipe(Effect.provide(server)))
})
