/**
 * `McpContext.elicitWith`: a form described by a Schema. The `requestedSchema` derived from it (flat primitives only,
 * anything else refused naming the field), the answer decoded on `accept`, `decline`/`cancel` as values, a bad
 * answer a typed error (a tool's `isError` result); in the legacy era over the wire (McpTest's `onRequest` answers)
 * and in the modern era (`input_required`, then the retry with `inputResponses`). The raw `McpContext.elicit` still
 * works as before.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import { McpContext, McpServer, McpTest, Tool } from "../src/index.js"
import type { JsonObject } from "../src/protocol/McpSchema.js"
import { complete, inputRequired, rpcError, textOf } from "./support/Rpc.js"

const Person = Schema.Struct({
  name: Schema.String.annotations({ title: "Name", description: "Who to greet" }),
  age: Schema.optional(Schema.Int.pipe(Schema.between(0, 150))),
  formal: Schema.Boolean.annotations({ default: false }),
  tone: Schema.Literal("warm", "dry"),
  email: Schema.optional(Schema.String.annotations({ jsonSchema: { format: "email" } })),
  visits: Schema.NumberFromString,
  tags: Schema.optional(Schema.Array(Schema.Literal("new", "vip")))
})

/** The requestedSchema of Person: encoded side, Effect's own titles left out, other checks left to the decoding. */
const personForm = {
  type: "object",
  properties: {
    name: { type: "string", title: "Name", description: "Who to greet" },
    age: { type: "integer", description: "a number between 0 and 150", minimum: 0, maximum: 150 },
    formal: { type: "boolean", default: false },
    tone: { type: "string", enum: ["warm", "dry"] },
    email: { type: "string", format: "email" },
    visits: { type: "string", description: "a string to be decoded into a number" },
    tags: { type: "array", items: { type: "string", enum: ["new", "vip"] } }
  },
  required: ["name", "formal", "tone", "visits"]
}

const Greet = Tool.make({
  name: "greet",
  handler: () =>
    Effect.gen(function*() {
      const answer = yield* McpContext.elicitWith("Who should we greet?", Person)
      if (answer.action !== "accept") return `no greeting: ${answer.action}`
      const person = answer.content
      // Decoded: visits is a number, not the string the client sent.
      return `Hello ${person.name} (${typeof person.visits} ${person.visits}, ${person.tone}${
        person.age === undefined ? "" : `, ${person.age}`
      })`
    })
})

const Nested = Tool.make({
  name: "nested",
  handler: () =>
    Effect.as(
      McpContext.elicitWith("Address?", Schema.Struct({ address: Schema.Struct({ street: Schema.String }) })),
      "unreachable"
    )
})

const Raw = Tool.make({
  name: "raw",
  handler: () =>
    Effect.map(
      McpContext.elicit({
        message: "Raw?",
        requestedSchema: { type: "object", properties: { ok: { type: "boolean" } } }
      }),
      (result) => JSON.stringify(result)
    )
})

const server = Layer.mergeAll(McpServer.tool(Greet), McpServer.tool(Nested), McpServer.tool(Raw)).pipe(
  Layer.provideMerge(McpServer.layer({ name: "elicitation", version: "1.0.0" }))
)

const text = (result: { readonly content: ReadonlyArray<unknown> }) => (result.content[0] as { text: string }).text

const ada = { name: "Ada", formal: true, tone: "warm", visits: "3", age: 36 }

describe("McpContext.requestedSchema", () => {
  it("a struct of primitives: its encoded side, titles of the user's own, required fields", () => {
    assert.deepStrictEqual(McpContext.requestedSchema(Person), personForm)
    // The same object the next time (derived once per schema).
    assert.strictEqual(McpContext.requestedSchema(Person), McpContext.requestedSchema(Person))
    // A Class schema is a struct too.
    class Login extends Schema.Class<Login>("Login")({ user: Schema.String }) {}
    assert.deepStrictEqual(McpContext.requestedSchema(Login), {
      type: "object",
      properties: { user: { type: "string" } },
      required: ["user"]
    })
  })

  it("what form mode cannot ask for throws, naming the field and why", () => {
    const refused: ReadonlyArray<readonly [Schema.Schema.AnyNoContext, string]> = [
      [Schema.String, "the schema must be a struct of primitive fields"],
      [Schema.Struct({ u: Schema.Union(Schema.String, Schema.Number) }), "field \"u\""],
      [Schema.Struct({ n: Schema.NullOr(Schema.String) }), "field \"n\""],
      [Schema.Struct({ o: Schema.Struct({ x: Schema.String }) }), "field \"o\""],
      [Schema.Struct({ any: Schema.Unknown }), "field \"any\""],
      [Schema.Record({ key: Schema.String, value: Schema.String }), "without index signatures"],
      [
        Schema.Struct({ l: Schema.Literal(1, 2) }),
        "field \"l\" ({\"type\":\"number\",\"enum\":[1,2]}): enum values must be strings"
      ],
      [Schema.Struct({ free: Schema.Array(Schema.String) }), "field \"free\""]
    ]
    for (const [schema, message] of refused) {
      assert.throws(() => McpContext.requestedSchema(schema), message)
      assert.throws(() => McpContext.requestedSchema(schema), /^McpContext\.requestedSchema: /)
    }
    assert.throws(
      () => McpContext.requestedSchema(Schema.Struct({ o: Schema.Struct({ x: Schema.String }) })),
      "is not a string, number, integer, boolean or string-enum array; form-mode elicitation asks only for those"
    )
  })
})

describe("McpContext.elicitWith, legacy era", () => {
  const connect = (answer: (params: JsonObject | undefined) => unknown, asked: Array<unknown> = []) =>
    McpTest.connect({
      capabilities: { elicitation: {} },
      onRequest: (method, params) =>
        Effect.sync(() => {
          asked.push({ method, params })
          return answer(params)
        })
    })

  it.scoped("asks with the derived requestedSchema and returns the decoded content on accept", () =>
    Effect.gen(function*() {
      const asked: Array<unknown> = []
      const client = yield* connect(() => ({ action: "accept", content: ada }), asked)
      const result = yield* client.callTool("greet", {})
      assert.deepStrictEqual(result, { content: [{ type: "text", text: "Hello Ada (number 3, warm, 36)" }] })
      assert.deepStrictEqual(asked, [{
        method: "elicitation/create",
        params: { message: "Who should we greet?", requestedSchema: personForm }
      }])
    }).pipe(Effect.provide(server)))

  it.scoped("decline and cancel are values", () =>
    Effect.gen(function*() {
      for (const action of ["decline", "cancel"]) {
        const client = yield* connect(() => ({ action }))
        assert.strictEqual(text(yield* client.callTool("greet", {})), `no greeting: ${action}`)
      }
    }).pipe(Effect.provide(server)))

  it.scoped("an answer the Schema refuses is ElicitationDecodeError: the tool's isError result, fields named", () =>
    Effect.gen(function*() {
      const client = yield* connect(() => ({ action: "accept", content: { ...ada, visits: "many", tone: "loud" } }))
      const result = yield* client.callTool("greet", {})
      assert.isTrue(result.isError)
      const message = text(result)
      assert.strictEqual(
        message,
        "The elicitation answer does not match its schema: tone: Expected \"warm\", actual \"loud\"; " +
          "tone: Expected \"dry\", actual \"loud\"; visits: Unable to decode \"many\" into a number"
      )
      const error = (result.structuredContent as any).error
      assert.strictEqual(error._tag, "effect-mcp-server/ElicitationDecodeError")
      assert.strictEqual(error.message, message)
      assert.deepStrictEqual(error.issues.map((issue: { path: string }) => issue.path), ["tone", "tone", "visits"])
      assert.deepStrictEqual(error.content, { ...ada, visits: "many", tone: "loud" })
    }).pipe(Effect.provide(server)))

  it.scoped("an answer that is no elicitation result is ElicitationDecodeError too", () =>
    Effect.gen(function*() {
      const client = yield* connect(() => ({ action: "maybe" }))
      const result = yield* client.callTool("greet", {})
      assert.isTrue(result.isError)
      assert.match(text(result), /^The client's elicitation result is invalid: action: /)
    }).pipe(Effect.provide(server)))

  it.scoped("a client without the elicitation capability: -32021, nothing asked", () =>
    Effect.gen(function*() {
      const client = yield* McpTest.connect()
      const error = yield* rpcError(client.callTool("greet", {}))
      assert.deepStrictEqual(error, {
        code: -32021,
        message: "Missing required client capability: elicitation",
        data: { requiredCapabilities: { elicitation: {} } }
      })
    }).pipe(Effect.provide(server)))

  it.scoped("a schema form mode cannot ask for is a defect: -32603, nothing asked", () =>
    Effect.gen(function*() {
      const asked: Array<unknown> = []
      const client = yield* connect(() => ({ action: "cancel" }), asked)
      assert.deepStrictEqual(yield* rpcError(client.callTool("nested", {})), {
        code: -32603,
        message: "Internal error"
      })
      assert.deepStrictEqual(asked, [])
    }).pipe(Effect.provide(server)))

  it.scoped("the raw McpContext.elicit still sends its schema as given and returns the answer undecoded", () =>
    Effect.gen(function*() {
      const asked: Array<unknown> = []
      const client = yield* connect(() => ({ action: "accept", content: { ok: "yes" } }), asked)
      assert.strictEqual(
        text(yield* client.callTool("raw", {})),
        "{\"action\":\"accept\",\"content\":{\"ok\":\"yes\"}}"
      )
      assert.deepStrictEqual(asked, [{
        method: "elicitation/create",
        params: { message: "Raw?", requestedSchema: { type: "object", properties: { ok: { type: "boolean" } } } }
      }])
    }).pipe(Effect.provide(server)))
})

describe("McpContext.elicitWith, modern era (input_required, then the retry)", () => {
  const call = (client: McpTest.Client, extra: JsonObject = {}) =>
    client.request("tools/call", { name: "greet", arguments: {}, ...extra })

  it.scoped("the round ends with the question; the retry's answer is decoded", () =>
    Effect.gen(function*() {
      const client = yield* McpTest.connect({ era: "modern", capabilities: { elicitation: {} } })
      const first = inputRequired(yield* call(client))
      assert.strictEqual(first.resultType, "input_required")
      assert.deepStrictEqual(first.inputRequests, {
        q0: {
          method: "elicitation/create",
          params: { message: "Who should we greet?", requestedSchema: personForm }
        }
      })
      const accepted = complete(
        yield* call(client, {
          inputResponses: { q0: { action: "accept", content: { ...ada, age: undefined, tone: "dry", visits: "12" } } },
          requestState: first.requestState
        })
      )
      assert.strictEqual(accepted.resultType, "complete")
      assert.deepStrictEqual(accepted.content, [{ type: "text", text: "Hello Ada (number 12, dry)" }])

      const again = inputRequired(yield* call(client))
      const declined = complete(
        yield* call(client, {
          inputResponses: { q0: { action: "decline" } },
          requestState: again.requestState
        })
      )
      assert.deepStrictEqual(declined.content, [{ type: "text", text: "no greeting: decline" }])
    }).pipe(Effect.provide(server)))

  it.scoped("a retry whose answer the Schema refuses: the tool's isError result naming the field", () =>
    Effect.gen(function*() {
      const client = yield* McpTest.connect({ era: "modern", capabilities: { elicitation: {} } })
      const first = inputRequired(yield* call(client))
      const refused = complete(
        yield* call(client, {
          inputResponses: {
            q0: { action: "accept", content: { name: "Ada", formal: "yes", tone: "warm", visits: "1" } }
          },
          requestState: first.requestState
        })
      )
      assert.strictEqual(refused.resultType, "complete")
      assert.isTrue(refused.isError)
      assert.include(textOf(refused.content[0]), "formal: Expected boolean, actual \"yes\"")
      assert.strictEqual(
        (refused.structuredContent as { readonly error: { readonly _tag: string } }).error._tag,
        "effect-mcp-server/ElicitationDecodeError"
      )
    }).pipe(Effect.provide(server)))
})
