/**
 * Tools through their own API (no server, no dispatcher): `Tool.make`'s definition (inputSchema from the parameters
 * Schema as JSON Schema 2020-12, outputSchema from `success`, the optional fields), `toJsonSchema`, and `call`:
 * decoded arguments, invalid arguments and typed failures as `isError` results (their text, and their details as
 * `structuredContent.error`: encoded with the `failure` schema, else a tagged error's JSON fields), JSON-RPC errors
 * and bad output as protocol errors, defects left as defects, the shapes a handler may return, structuredContent with
 * its text block; tool names checked against the spec's rule.
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Data, Effect, Exit, Option, Schema } from "effect"
import { JsonRpc, McpContext, Tool } from "../src/index.js"
import type { CallToolResult, JsonObject } from "../src/protocol/McpSchema.js"

/**
 * Runs a tool's `call` outside any request. These handlers never read the request's McpContext, so an empty one
 * stands in for it.
 */
const call = <R>(tool: Tool.Tool<R>, args?: JsonObject) =>
  (tool as Tool.Tool<never>).call(args).pipe(
    Effect.provideService(McpContext.McpContext, {} as McpContext.McpContext["Type"])
  )

/** `call` in a request of that era. */
const callIn = <R>(era: "legacy" | "modern", tool: Tool.Tool<R>, args?: JsonObject) =>
  (tool as Tool.Tool<never>).call(args).pipe(
    Effect.provideService(McpContext.McpContext, { era } as McpContext.McpContext["Type"])
  )

const text = (result: CallToolResult) => (result.content[0] as { readonly text: string }).text

const Add = Tool.make({
  name: "add",
  title: "Add",
  description: "Adds two numbers.",
  annotations: { readOnlyHint: true },
  icons: [{ src: "https://example.com/add.png" }],
  _meta: { owner: "math" },
  parameters: Schema.Struct({
    a: Schema.Number.annotations({ description: "the first" }),
    b: Schema.Number,
    times: Schema.optionalWith(Schema.Int, { default: () => 1 })
  }),
  success: Schema.Struct({ sum: Schema.Number }),
  handler: ({ a, b, times }) => Effect.succeed({ sum: (a + b) * times })
})

describe("Tool.make: the definition", () => {
  it("inputSchema is the parameters' JSON Schema; outputSchema the success schema's; the optional fields kept", () => {
    assert.deepStrictEqual(Add.definition, {
      name: "add",
      title: "Add",
      description: "Adds two numbers.",
      inputSchema: {
        $defs: { Int: { type: "integer", description: "an integer", title: "int" } },
        type: "object",
        required: ["a", "b"],
        properties: {
          a: { type: "number", description: "the first" },
          b: { type: "number" },
          times: { $ref: "#/$defs/Int" }
        },
        additionalProperties: false
      },
      outputSchema: {
        type: "object",
        required: ["sum"],
        properties: { sum: { type: "number" } },
        additionalProperties: false
      },
      annotations: { readOnlyHint: true },
      icons: [{ src: "https://example.com/add.png" }],
      _meta: { owner: "math" }
    })
    assert.strictEqual(Add.name, "add")
    assert.isTrue(Add.structuredIsObject)
    assert.notProperty(Add.definition.inputSchema, "$schema")
  })

  it("no parameters: an object with no properties allowed; no success: no outputSchema; no optional fields", () => {
    const Bare = Tool.make({ name: "bare", handler: () => Effect.succeed("ok") })
    assert.deepStrictEqual(Bare.definition, {
      name: "bare",
      inputSchema: { type: "object", additionalProperties: false }
    })
    // What it sends as structuredContent (a failure's details, a whole result's own) is an object, or left out.
    assert.isTrue(Bare.structuredIsObject)
  })

  it("a success schema that is not an object gives an outputSchema, but structuredIsObject is false", () => {
    const Scalar = Tool.make({ name: "scalar", success: Schema.Number, handler: () => Effect.succeed(1) })
    assert.deepStrictEqual(Scalar.definition.outputSchema, { type: "number" })
    assert.isFalse(Scalar.structuredIsObject)
  })

  it("outputSchema describes the encoded side of the success schema", () => {
    const Encoded = Tool.make({
      name: "encoded",
      success: Schema.Struct({ n: Schema.NumberFromString }),
      handler: () => Effect.succeed({ n: 1 })
    })
    const schema = Encoded.definition.outputSchema as any
    assert.deepStrictEqual(schema.properties.n, { $ref: "#/$defs/NumberFromString" })
    assert.strictEqual(schema.$defs.NumberFromString.type, "string")
  })

  it("parameters that do not describe an object are refused when the tool is made", () => {
    assert.throws(
      () => Tool.make({ name: "s", parameters: Schema.String, handler: () => Effect.succeed("x") }),
      /Tool "s": parameters must describe an object/
    )
    assert.throws(
      () => Tool.make({ name: "h", inputSchema: { type: "string" }, handler: () => Effect.succeed("x") }),
      /Tool "h": parameters must describe an object/
    )
  })

  it.effect("a hand-written inputSchema is listed as given, and the arguments reach the handler undecoded", () =>
    Effect.gen(function*() {
      const inputSchema = {
        $schema: "http://json-schema.org/draft-07/schema#",
        type: "object",
        properties: { q: { type: "string" } }
      }
      let seen: unknown
      const Forwarded = Tool.make({
        name: "forwarded",
        inputSchema,
        handler: (params) => {
          seen = params
          return Effect.succeed("ok")
        }
      })
      assert.deepStrictEqual(Forwarded.definition.inputSchema, inputSchema)
      yield* call(Forwarded, { q: "x", extra: [1, { deep: true }] })
      assert.deepStrictEqual(seen, { q: "x", extra: [1, { deep: true }] })
    }))

  it.effect("a hand-written inputSchema with parameters: listed as given, arguments decoded by the parameters", () =>
    Effect.gen(function*() {
      const Both = Tool.make({
        name: "both",
        inputSchema: { type: "object", properties: { n: { type: "string" } } },
        parameters: Schema.Struct({ n: Schema.NumberFromString }),
        handler: ({ n }) => Effect.succeed(`${n + 1}`)
      })
      assert.deepStrictEqual(Both.definition.inputSchema, { type: "object", properties: { n: { type: "string" } } })
      assert.strictEqual(text(yield* call(Both, { n: "41" })), "42")
      assert.isTrue((yield* call(Both, { n: "x" })).isError)
    }))
})

describe("Tool.toJsonSchema", () => {
  it("inlines a root $ref and keeps the other definitions", () => {
    const Inner = Schema.Struct({ y: Schema.Number }).annotations({ identifier: "Inner" })
    assert.deepStrictEqual(Tool.toJsonSchema(Schema.Struct({ x: Schema.String }).annotations({ identifier: "P" })), {
      type: "object",
      required: ["x"],
      properties: { x: { type: "string" } },
      additionalProperties: false
    })
    assert.deepStrictEqual(Tool.toJsonSchema(Schema.Struct({ i: Inner }).annotations({ identifier: "Outer" })), {
      type: "object",
      required: ["i"],
      properties: { i: { $ref: "#/$defs/Inner" } },
      additionalProperties: false,
      $defs: {
        Inner: { type: "object", required: ["y"], properties: { y: { type: "number" } }, additionalProperties: false }
      }
    })
    assert.deepStrictEqual(Tool.toJsonSchema(Schema.Struct({})), { type: "object", additionalProperties: false })
  })
})

describe("Tool call", () => {
  it.effect("valid arguments are decoded (defaults applied, extra keys ignored) and the result has both forms", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* call(Add, { a: 2, b: 3 }), {
        content: [{ type: "text", text: "{\"sum\":5}" }],
        structuredContent: { sum: 5 }
      })
      assert.deepStrictEqual((yield* call(Add, { a: 2, b: 3, times: 2, extra: "ignored" })).structuredContent, {
        sum: 10
      })
    }))

  it.effect("structuredContent is the encoded value, and the text block is its JSON", () =>
    Effect.gen(function*() {
      const When = Tool.make({
        name: "when",
        success: Schema.Struct({ at: Schema.Date, n: Schema.NumberFromString }),
        handler: () => Effect.succeed({ at: new Date(0), n: 7 })
      })
      const result = yield* call(When)
      assert.deepStrictEqual(result.structuredContent, { at: "1970-01-01T00:00:00.000Z", n: "7" })
      assert.deepStrictEqual(JSON.parse(text(result)), result.structuredContent)
      assert.isUndefined(result.isError)
    }))

  it.effect("invalid arguments: an isError result naming every field at fault, the handler not run", () =>
    Effect.gen(function*() {
      let ran = false
      const Strict = Tool.make({
        name: "strict",
        parameters: Schema.Struct({ a: Schema.Number, b: Schema.Number, nested: Schema.Struct({ c: Schema.String }) }),
        handler: () => {
          ran = true
          return Effect.succeed("ran")
        }
      })
      const result = yield* call(Strict, { a: "1", nested: { c: 5 } })
      assert.isTrue(result.isError)
      assert.strictEqual(
        text(result),
        "Invalid arguments for tool \"strict\": a: Expected number, actual \"1\"; b: is missing; " +
          "nested.c: Expected string, actual 5"
      )
      assert.isFalse(ran)
    }))

  it.effect("missing arguments are an empty object: fine without required fields, an isError result with them", () =>
    Effect.gen(function*() {
      const Optional = Tool.make({
        name: "optional",
        parameters: Schema.Struct({ n: Schema.optionalWith(Schema.Number, { default: () => 3 }) }),
        handler: ({ n }) => Effect.succeed(`n=${n}`)
      })
      assert.strictEqual(text(yield* call(Optional)), "n=3")
      const missing = yield* call(Add)
      assert.isTrue(missing.isError)
      assert.include(text(missing), "a: is missing")
    }))

  it.effect("a typed failure is an isError result with its message, else its _tag, else its text", () =>
    Effect.gen(function*() {
      class WithMessage extends Data.TaggedError("WithMessage")<{ readonly message: string }> {}
      class NoMessage extends Data.TaggedError("NoMessage")<{}> {}
      const failing = (name: string, error: unknown) => Tool.make({ name, handler: () => Effect.fail(error) })
      assert.deepStrictEqual(yield* call(failing("m", new WithMessage({ message: "quota exceeded" }))), {
        content: [{ type: "text", text: "quota exceeded" }],
        structuredContent: { error: { _tag: "WithMessage", message: "quota exceeded" } },
        isError: true
      })
      assert.deepStrictEqual(yield* call(failing("t", new NoMessage())), {
        content: [{ type: "text", text: "NoMessage" }],
        structuredContent: { error: { _tag: "NoMessage" } },
        isError: true
      })
      assert.deepStrictEqual(yield* call(failing("o", { _tag: "PlainTagged" })), {
        content: [{ type: "text", text: "PlainTagged" }],
        structuredContent: { error: { _tag: "PlainTagged" } },
        isError: true
      })
      // Untagged failures have no details to keep: the text only.
      assert.deepStrictEqual(yield* call(failing("e", new Error("boom"))), {
        content: [{ type: "text", text: "boom" }],
        isError: true
      })
      assert.deepStrictEqual(yield* call(failing("s", "plain string")), {
        content: [{ type: "text", text: "plain string" }],
        isError: true
      })
      assert.deepStrictEqual(yield* call(failing("n", 42)), { content: [{ type: "text", text: "42" }], isError: true })
      for (const nothing of [undefined, null, {}, "", { message: "" }]) {
        assert.deepStrictEqual(yield* call(failing("x", nothing)), {
          content: [{ type: "text", text: "Tool \"x\" failed" }],
          isError: true
        }, JSON.stringify(nothing))
      }
    }))

  it.effect("a tagged failure's fields are kept as structuredContent.error: JSON values only, causes left out", () =>
    Effect.gen(function*() {
      class Quota extends Data.TaggedError("Quota")<{
        readonly message: string
        readonly limit: number
        readonly resetAt: Date
        readonly tiers: ReadonlyArray<{ readonly name: string }>
        readonly cause?: unknown
        readonly inner?: Error
        readonly big?: bigint
        readonly loop?: unknown
        readonly callback?: () => void
        readonly missing?: undefined
      }> {}
      const loop: Record<string, unknown> = { name: "loop" }
      loop.self = loop
      const error = new Quota({
        message: "quota exceeded",
        limit: 10,
        resetAt: new Date(0),
        tiers: [{ name: "free" }],
        cause: new Error("db password in here"),
        inner: new Error("internal"),
        big: 1n,
        loop,
        callback: () => {},
        missing: undefined
      })
      const Limited = Tool.make({ name: "limited", handler: () => Effect.fail(error) })
      const result = yield* call(Limited)
      assert.deepStrictEqual(result, {
        content: [{ type: "text", text: "quota exceeded" }],
        structuredContent: {
          error: {
            _tag: "Quota",
            message: "quota exceeded",
            limit: 10,
            resetAt: "1970-01-01T00:00:00.000Z",
            tiers: [{ name: "free" }]
          }
        },
        isError: true
      })
      // It is JSON as it is: what the wire carries.
      assert.deepStrictEqual(JSON.parse(JSON.stringify(result)), result)
      // A getter that throws does not lose the result.
      const hostile = { _tag: "Hostile", ok: 1 }
      Object.defineProperty(hostile, "boom", {
        enumerable: true,
        get: () => {
          throw new Error("no")
        }
      })
      assert.deepStrictEqual(yield* call(Tool.make({ name: "hostile", handler: () => Effect.fail(hostile) })), {
        content: [{ type: "text", text: "Hostile" }],
        structuredContent: { error: { _tag: "Hostile", ok: 1 } },
        isError: true
      })
    }))

  it.effect("a Schema.TaggedError: its own message (a getter of its class too), else its _tag; fields encoded", () =>
    Effect.gen(function*() {
      class NotFound extends Schema.TaggedError<NotFound>()("NotFound", { id: Schema.String }) {}
      class Gone extends Schema.TaggedError<Gone>()("Gone", { id: Schema.String }) {
        override get message() {
          return `Item ${this.id} is gone`
        }
      }
      class Said extends Schema.TaggedError<Said>()("Said", { message: Schema.String, at: Schema.DateFromNumber }) {}
      const failing = (name: string, error: unknown, failure?: Schema.Schema.AnyNoContext) =>
        Tool.make({ name, ...(failure ? { failure } : {}), handler: () => Effect.fail(error) })
      // No message field: Schema makes one up from the fields; the text is the tag instead.
      assert.deepStrictEqual(yield* call(failing("a", new NotFound({ id: "7" }))), {
        content: [{ type: "text", text: "NotFound" }],
        structuredContent: { error: { _tag: "NotFound", id: "7" } },
        isError: true
      })
      assert.deepStrictEqual(yield* call(failing("b", new Gone({ id: "7" }))), {
        content: [{ type: "text", text: "Item 7 is gone" }],
        structuredContent: { error: { _tag: "Gone", message: "Item 7 is gone", id: "7" } },
        isError: true
      })
      // Without a failure schema the fields are sent as they are (a Date as JSON makes it); with one, encoded.
      const said = new Said({ message: "said so", at: new Date(5) })
      assert.deepStrictEqual((yield* call(failing("c", said))).structuredContent, {
        error: { _tag: "Said", message: "said so", at: "1970-01-01T00:00:00.005Z" }
      })
      assert.deepStrictEqual((yield* call(failing("d", said, Schema.Union(NotFound, Said)))).structuredContent, {
        error: { _tag: "Said", message: "said so", at: 5 }
      })
      // A failure the schema does not describe falls back to its own fields.
      class Other extends Data.TaggedError("Other")<{ readonly n: number }> {}
      assert.deepStrictEqual((yield* call(failing("e", new Other({ n: 1 }), Said))).structuredContent, {
        error: { _tag: "Other", n: 1 }
      })
      // Whatever the failure schema encodes is sent, a string too.
      assert.deepStrictEqual((yield* call(failing("f", "plain", Schema.String))).structuredContent, {
        error: "plain"
      })
    }))

  it.effect("a tool with a success schema sends no structuredContent with a failure (clients check it)", () =>
    Effect.gen(function*() {
      class NotFound extends Schema.TaggedError<NotFound>()("NotFound", { id: Schema.String }) {}
      const Typed = Tool.make({
        name: "typed",
        success: Schema.Struct({ n: Schema.Number }),
        failure: NotFound,
        handler: () => Effect.fail(new NotFound({ id: "7" }))
      })
      assert.deepStrictEqual(yield* call(Typed), { content: [{ type: "text", text: "NotFound" }], isError: true })
    }))

  it.effect("a JSON-RPC error from the handler passes through as that protocol error", () =>
    Effect.gen(function*() {
      const error = new JsonRpc.InvalidParams({ message: "no such city" })
      const Protocol = Tool.make({ name: "protocol", handler: () => Effect.fail(error) })
      const exit = yield* Effect.exit(call(Protocol))
      assert.deepStrictEqual(exit, Exit.fail(error))
      const failed = Cause.failureOption((exit as Exit.Failure<unknown, unknown>).cause)
      assert.strictEqual(Option.getOrThrow(failed), error)
    }))

  it.effect("a defect stays a defect (not an isError result)", () =>
    Effect.gen(function*() {
      const bug = new Error("secret internal detail")
      const Dies = Tool.make({ name: "dies", handler: () => Effect.die(bug) })
      const exit = yield* Effect.exit(call(Dies))
      assert.isTrue(Exit.isFailure(exit))
      const defect = Cause.dieOption((exit as Exit.Failure<unknown, unknown>).cause)
      assert.strictEqual(Option.getOrThrow(defect), bug)
      // With a success schema too.
      const DiesTyped = Tool.make({ name: "dies_typed", success: Schema.Number, handler: () => Effect.die(bug) })
      const typedExit = yield* Effect.exit(call(DiesTyped))
      assert.strictEqual(Option.getOrThrow(Cause.dieOption((typedExit as Exit.Failure<unknown, unknown>).cause)), bug)
    }))

  it.effect("output failing its success schema is -32603 naming the tool", () =>
    Effect.gen(function*() {
      const BadOutput = Tool.make({
        name: "bad_output",
        success: Schema.Struct({ n: Schema.Number }),
        handler: () => Effect.succeed({ n: "nope" } as unknown as { n: number })
      })
      const error = yield* Effect.flip(call(BadOutput))
      assert.instanceOf(error, JsonRpc.InternalError)
      assert.strictEqual(error.code, -32603)
      assert.include(error.message, "\"bad_output\"")
    }))

  it.effect("without a success schema: a string, a block, blocks or a whole result become the result", () =>
    Effect.gen(function*() {
      const returning = (output: Tool.ToolOutput) => Tool.make({ name: "r", handler: () => Effect.succeed(output) })
      const image = { type: "image", data: "AAAA", mimeType: "image/png" } as const
      assert.deepStrictEqual(yield* call(returning("hi")), { content: [{ type: "text", text: "hi" }] })
      assert.deepStrictEqual(yield* call(returning(image)), { content: [image] })
      assert.deepStrictEqual(yield* call(returning([image, { type: "text", text: "t" }])), {
        content: [image, { type: "text", text: "t" }]
      })
      const whole: CallToolResult = { content: [{ type: "text", text: "handled" }], isError: true }
      assert.deepStrictEqual(yield* call(returning(whole)), whole)
      // A whole result's structuredContent: an object is sent as it is; anything else only to modern clients
      // (legacy versions require an object).
      const object: CallToolResult = { content: [], structuredContent: { a: 1 } }
      assert.deepStrictEqual(yield* call(returning(object)), object)
      const list: CallToolResult = { content: [], structuredContent: [1, 2] }
      assert.deepStrictEqual(yield* call(returning(list)), { content: [] })
      assert.deepStrictEqual(yield* callIn("modern", returning(list)), list)
      assert.deepStrictEqual(yield* callIn("legacy", returning(list)), { content: [] })
    }))
})

describe("Tool names", () => {
  const named = (name: string) => () => Tool.make({ name, handler: () => Effect.succeed("ok") })

  it("1 to 128 ASCII letters, digits, _, - and . are accepted, case-sensitive", () => {
    for (
      const name of ["a", "get_weather", "get-weather", "admin.tools.list", "DATA_EXPORT_v2", "A", "0", "x".repeat(128)]
    ) {
      assert.strictEqual(named(name)().name, name)
      assert.isTrue(Tool.isValidName(name), name)
    }
  })

  it("a name that almost passes throws at Tool.make, naming the tool and the rule", () => {
    const almost = [
      "",
      "x".repeat(129),
      "bad name with spaces!",
      "with space",
      "a/b",
      "tool:name",
      " leading",
      "trailing ",
      "trailing\n",
      "tab\tname",
      "café",
      "ｆｕｌｌｗｉｄｔｈ",
      "名前",
      "emoji🙂",
      "a,b",
      "a@b",
      "a+b",
      "a*b"
    ]
    for (const name of almost) {
      assert.isFalse(Tool.isValidName(name), JSON.stringify(name))
      assert.throws(
        named(name),
        `Tool ${
          JSON.stringify(name)
        }: invalid name: a tool name must be 1 to 128 characters, each an ASCII letter, a digit, "_", "-" or "." (MCP 2025-11-25, "Tool names")`
      )
    }
  })
})
