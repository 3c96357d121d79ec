/**
 * Unit tests of the wire codec (src/protocol/JsonRpc.ts), version negotiation (src/protocol/ProtocolVersion.ts) and
 * URI templates (src/server/UriTemplate.ts). Pure functions: no server, no I/O.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Schema } from "effect"
import * as JsonRpc from "../src/protocol/JsonRpc.js"
import * as ProtocolVersion from "../src/protocol/ProtocolVersion.js"
import * as UriTemplate from "../src/server/UriTemplate.js"
import { nest } from "./support/Messages.js"

const expectInvalid = (message: JsonRpc.Incoming | JsonRpc.Invalid): JsonRpc.Invalid => {
  if (message._tag !== "Invalid") throw new Error(`expected Invalid, got ${message._tag}`)
  return message
}

describe("JsonRpc.parse", () => {
  it("parses valid JSON", () => {
    const parsed = JsonRpc.parse("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}")
    assert.isTrue(Either.isRight(parsed))
    if (Either.isRight(parsed)) assert.deepStrictEqual(parsed.right, { jsonrpc: "2.0", id: 1, method: "ping" })
    const scalar = JsonRpc.parse("42")
    assert.isTrue(Either.isRight(scalar) && scalar.right === 42)
  })

  it("invalid JSON is a ParseError with code -32700", () => {
    for (const text of ["{", "not json", "{\"a\":}", "", "\u0000\u00ff"]) {
      const parsed = JsonRpc.parse(text)
      assert.isTrue(Either.isLeft(parsed), text)
      if (Either.isLeft(parsed)) {
        assert.strictEqual(parsed.left.id, null)
        assert.instanceOf(parsed.left.error, JsonRpc.ParseError)
        assert.strictEqual(parsed.left.error.code, -32700)
        assert.strictEqual(JsonRpc.toErrorObject(parsed.left.error).code, -32700)
        assert.isTrue(JsonRpc.isJsonRpcError(parsed.left.error))
      }
    }
  })

  it("JSON nested deeper than MAX_DEPTH is -32600, with the id when it can be read", () => {
    const deepParams = JsonRpc.parse(`{"jsonrpc":"2.0","id":7,"method":"ping","params":{"a":${nest(3000, "1")}}}`)
    assert.isTrue(Either.isLeft(deepParams))
    if (Either.isLeft(deepParams)) {
      assert.strictEqual(deepParams.left.id, 7)
      assert.strictEqual(deepParams.left.error.code, JsonRpc.INVALID_REQUEST)
      assert.include(deepParams.left.error.message, `${JsonRpc.MAX_DEPTH} levels`)
    }
    for (
      const text of [
        `{"jsonrpc":"2.0","id":${nest(3000, "1")},"method":"ping"}`,
        `{"jsonrpc":"2.0","method":${nest(3000, "\"x\"")}}`,
        nest(1_000_000, "0"),
        `[${nest(200, "{}")}]`
      ]
    ) {
      const parsed = JsonRpc.parse(text)
      assert.isTrue(Either.isLeft(parsed), text.slice(0, 80))
      if (Either.isLeft(parsed)) {
        assert.strictEqual(parsed.left.id, null)
        assert.strictEqual(parsed.left.error.code, JsonRpc.INVALID_REQUEST)
      }
    }
  })

  it("the depth limit counts the message as level 1 and both arrays and objects", () => {
    // params is level 2: 126 more levels inside it make 128.
    const at = (levels: number) => `{"jsonrpc":"2.0","id":1,"method":"ping","params":{"a":${nest(levels - 2, "1")}}}`
    assert.isTrue(Either.isRight(JsonRpc.parse(at(JsonRpc.MAX_DEPTH))))
    assert.isTrue(Either.isLeft(JsonRpc.parse(at(JsonRpc.MAX_DEPTH + 1))))
    assert.isTrue(JsonRpc.withinDepth({ a: { b: [1] } }, 3))
    assert.isFalse(JsonRpc.withinDepth({ a: { b: [1] } }, 2))
    assert.isTrue(JsonRpc.withinDepth("scalar", 0))
  })
})

describe("JsonRpc.decode", () => {
  it("an id that is not a finite number is refused with id null, never answered as null", () => {
    for (const id of [Infinity, -Infinity, NaN, true, {}, []]) {
      const decoded = JsonRpc.decode({ jsonrpc: "2.0", id, method: "ping" })
      assert.strictEqual(decoded._tag, "Invalid", String(id))
      if (decoded._tag === "Invalid") {
        assert.strictEqual(decoded.id, null)
        assert.strictEqual(decoded.error.code, JsonRpc.INVALID_REQUEST)
      }
    }
    const parsed = JsonRpc.parse(`{"jsonrpc":"2.0","id":1e400,"method":"ping"}`)
    assert.isTrue(Either.isRight(parsed) && JsonRpc.decode(parsed.right)._tag === "Invalid")
  })

  it("errors name the field, not the value", () => {
    const huge = "x".repeat(100_000)
    const decoded = JsonRpc.decode({ jsonrpc: "2.0", id: 1, method: { huge } })
    assert.strictEqual(decoded._tag, "Invalid")
    if (decoded._tag === "Invalid") {
      assert.strictEqual(decoded.id, 1)
      assert.isBelow(decoded.error.message.length, 200)
    }
  })

  it("a request with a string id", () => {
    assert.deepStrictEqual(
      JsonRpc.decode({ jsonrpc: "2.0", id: "abc", method: "tools/list", params: { cursor: "x" } }),
      {
        _tag: "Request",
        id: "abc",
        method: "tools/list",
        params: { cursor: "x" }
      }
    )
  })

  it("a request with a number id, and without params", () => {
    assert.deepStrictEqual(JsonRpc.decode({ jsonrpc: "2.0", id: 7, method: "ping" }), {
      _tag: "Request",
      id: 7,
      method: "ping",
      params: undefined
    })
    const zero = JsonRpc.decode({ jsonrpc: "2.0", id: 0, method: "ping" })
    assert.strictEqual(zero._tag, "Request")
    if (zero._tag === "Request") assert.strictEqual(zero.id, 0)
  })

  it("a notification (no id)", () => {
    assert.deepStrictEqual(
      JsonRpc.decode({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: 1 } }),
      { _tag: "Notification", method: "notifications/cancelled", params: { requestId: 1 } }
    )
    assert.deepStrictEqual(JsonRpc.decode({ jsonrpc: "2.0", method: "notifications/initialized" }), {
      _tag: "Notification",
      method: "notifications/initialized",
      params: undefined
    })
  })

  it("a response with a result", () => {
    assert.deepStrictEqual(JsonRpc.decode({ jsonrpc: "2.0", id: 3, result: { ok: true } }), {
      _tag: "Response",
      id: 3,
      result: { ok: true },
      error: undefined
    })
  })

  it("a response with an error", () => {
    assert.deepStrictEqual(
      JsonRpc.decode({ jsonrpc: "2.0", id: "r1", error: { code: -32601, message: "nope", data: { x: 1 } } }),
      { _tag: "Response", id: "r1", result: undefined, error: { code: -32601, message: "nope", data: { x: 1 } } }
    )
  })

  it("a response without an id is invalid", () => {
    const invalid = expectInvalid(JsonRpc.decode({ jsonrpc: "2.0", result: {} }))
    assert.strictEqual(invalid.id, null)
    assert.strictEqual(invalid.error.code, -32600)
  })

  it("a request with id null is Invalid with id null and code -32600", () => {
    const invalid = expectInvalid(JsonRpc.decode({ jsonrpc: "2.0", id: null, method: "ping" }))
    assert.strictEqual(invalid.id, null)
    assert.instanceOf(invalid.error, JsonRpc.InvalidRequest)
    assert.strictEqual(invalid.error.code, -32600)
  })

  it("a wrong jsonrpc version is -32600, keeping a readable id", () => {
    for (const jsonrpc of ["1.0", "2", 2, null]) {
      const invalid = expectInvalid(JsonRpc.decode({ jsonrpc, id: 5, method: "ping" }))
      assert.strictEqual(invalid.id, 5)
      assert.strictEqual(invalid.error.code, -32600)
      assert.include(invalid.error.message, "jsonrpc")
    }
    const stringId = expectInvalid(JsonRpc.decode({ jsonrpc: "1.0", id: "s", method: "ping" }))
    assert.strictEqual(stringId.id, "s")
  })

  it("a missing jsonrpc member is -32600, keeping a readable id", () => {
    const invalid = expectInvalid(JsonRpc.decode({ id: "x-1", method: "ping" }))
    assert.strictEqual(invalid.id, "x-1")
    assert.strictEqual(invalid.error.code, -32600)
  })

  it("an unreadable id gives id null", () => {
    const objectId = expectInvalid(JsonRpc.decode({ jsonrpc: "1.0", id: { a: 1 }, method: "ping" }))
    assert.strictEqual(objectId.id, null)
    assert.strictEqual(objectId.error.code, -32600)
    const badIdType = expectInvalid(JsonRpc.decode({ jsonrpc: "2.0", id: [1], method: "ping" }))
    assert.strictEqual(badIdType.id, null)
    assert.strictEqual(badIdType.error.code, -32600)
  })

  it("a method that is not a string is -32600 with the id", () => {
    const invalid = expectInvalid(JsonRpc.decode({ jsonrpc: "2.0", id: 9, method: 42 }))
    assert.strictEqual(invalid.id, 9)
    assert.strictEqual(invalid.error.code, -32600)
  })

  it("non-object values are -32600 with id null", () => {
    for (const value of [null, undefined, 1, "text", true, [], [{ jsonrpc: "2.0", id: 1, method: "ping" }]]) {
      const invalid = expectInvalid(JsonRpc.decode(value))
      assert.strictEqual(invalid.id, null)
      assert.strictEqual(invalid.error.code, -32600)
    }
  })

  it("params that are not an object are -32600, keeping the id", () => {
    for (const params of [[1, 2], "x", 3, null, true]) {
      const invalid = expectInvalid(JsonRpc.decode({ jsonrpc: "2.0", id: 11, method: "tools/list", params }))
      assert.strictEqual(invalid.id, 11, JSON.stringify(params))
      assert.strictEqual(invalid.error.code, -32600)
    }
    const notification = expectInvalid(JsonRpc.decode({ jsonrpc: "2.0", method: "notifications/x", params: [1] }))
    assert.strictEqual(notification.id, null)
    assert.strictEqual(notification.error.code, -32600)
  })

  it("a message with neither method nor result/error is -32600", () => {
    const withId = expectInvalid(JsonRpc.decode({ jsonrpc: "2.0", id: 4 }))
    assert.strictEqual(withId.id, 4)
    assert.strictEqual(withId.error.code, -32600)
    const bare = expectInvalid(JsonRpc.decode({ jsonrpc: "2.0" }))
    assert.strictEqual(bare.id, null)
    assert.strictEqual(bare.error.code, -32600)
  })

  it("a malformed error object in a response is -32600", () => {
    const invalid = expectInvalid(JsonRpc.decode({ jsonrpc: "2.0", id: 1, error: { code: "x", message: 1 } }))
    assert.strictEqual(invalid.id, 1)
    assert.strictEqual(invalid.error.code, -32600)
  })
})

describe("JsonRpc encoding", () => {
  it("encodeResult round-trips", () => {
    assert.deepStrictEqual(JSON.parse(JsonRpc.encodeResult(1, { tools: [] })), {
      jsonrpc: "2.0",
      id: 1,
      result: { tools: [] }
    })
    const text = JsonRpc.encodeResult("a\"b\n", { s: "quote \" and \u2028" })
    assert.deepStrictEqual(JSON.parse(text), { jsonrpc: "2.0", id: "a\"b\n", result: { s: "quote \" and \u2028" } })
    assert.notInclude(text, "\n")
  })

  it("encodeError round-trips, with and without data, and with id null", () => {
    assert.deepStrictEqual(JSON.parse(JsonRpc.encodeError(2, { code: -32601, message: "Method not found: x" })), {
      jsonrpc: "2.0",
      id: 2,
      error: { code: -32601, message: "Method not found: x" }
    })
    assert.deepStrictEqual(
      JSON.parse(JsonRpc.encodeError(null, { code: -32600, message: "too big", data: { maxBytes: 10 } })),
      { jsonrpc: "2.0", id: null, error: { code: -32600, message: "too big", data: { maxBytes: 10 } } }
    )
    assert.deepStrictEqual(
      JSON.parse(JsonRpc.encodeError("s", JsonRpc.toErrorObject(new JsonRpc.InternalError({ message: "boom" })))),
      { jsonrpc: "2.0", id: "s", error: { code: -32603, message: "boom" } }
    )
  })

  it("encodeNotification round-trips, with and without params", () => {
    assert.deepStrictEqual(JSON.parse(JsonRpc.encodeNotification("notifications/progress", { progress: 1 })), {
      jsonrpc: "2.0",
      method: "notifications/progress",
      params: { progress: 1 }
    })
    const bare = JSON.parse(JsonRpc.encodeNotification("notifications/tools/list_changed", undefined))
    assert.deepStrictEqual(bare, { jsonrpc: "2.0", method: "notifications/tools/list_changed" })
    assert.isFalse("params" in bare)
  })

  it("encodeBatch round-trips", () => {
    const frames = [JsonRpc.encodeResult(1, {}), JsonRpc.encodeError(2, { code: -32601, message: "x" })]
    assert.deepStrictEqual(JSON.parse(JsonRpc.encodeBatch(frames)), [
      { jsonrpc: "2.0", id: 1, result: {} },
      { jsonrpc: "2.0", id: 2, error: { code: -32601, message: "x" } }
    ])
    assert.deepStrictEqual(JSON.parse(JsonRpc.encodeBatch([])), [])
  })

  it("encoded messages decode back to what they say", () => {
    const response = JsonRpc.decode(JSON.parse(JsonRpc.encodeResult("id", { a: 1 })))
    assert.deepStrictEqual(response, { _tag: "Response", id: "id", result: { a: 1 }, error: undefined })
    const notification = JsonRpc.decode(JSON.parse(JsonRpc.encodeNotification("m", { p: 1 })))
    assert.deepStrictEqual(notification, { _tag: "Notification", method: "m", params: { p: 1 } })
  })
})

describe("JsonRpc.idKey", () => {
  it("distinguishes 1 from \"1\"", () => {
    assert.notStrictEqual(JsonRpc.idKey(1), JsonRpc.idKey("1"))
    assert.strictEqual(JsonRpc.idKey(1), JsonRpc.idKey(1))
    assert.strictEqual(JsonRpc.idKey("1"), JsonRpc.idKey("1"))
    assert.notStrictEqual(JsonRpc.idKey(0), JsonRpc.idKey("0"))
    assert.notStrictEqual(JsonRpc.idKey("n1"), JsonRpc.idKey(1))
    assert.notStrictEqual(JsonRpc.idKey(""), JsonRpc.idKey("s"))
  })
})

describe("JsonRpc.invalidParams", () => {
  const Params = Schema.Struct({
    name: Schema.String,
    options: Schema.Struct({ limit: Schema.Number })
  })
  const decode = Schema.decodeUnknownEither(Params)

  it.effect("names the failing field path in the message and in data.issues", () =>
    Effect.gen(function*() {
      const decoded = decode({ name: "ok", options: { limit: "ten" } }, { errors: "all" })
      assert.isTrue(Either.isLeft(decoded))
      if (Either.isRight(decoded)) return
      const error = JsonRpc.invalidParams(decoded.left)
      assert.instanceOf(error, JsonRpc.InvalidParams)
      assert.strictEqual(error.code, -32602)
      assert.isTrue(error.message.startsWith("Invalid params: "), error.message)
      assert.include(error.message, "options.limit")
      const data = error.data as { issues: Array<{ path: string; message: string }> }
      assert.strictEqual(data.issues.length, 1)
      assert.strictEqual(data.issues[0]!.path, "options.limit")
      assert.include(data.issues[0]!.message, "number")
      const object = JsonRpc.toErrorObject(error)
      assert.strictEqual(object.code, -32602)
      assert.deepStrictEqual(object.data, data)
      // The failure is also usable as an Effect failure.
      const failed = yield* Effect.flip(Effect.fail(error))
      assert.strictEqual(failed.code, -32602)
    }))

  it("lists every issue, and uses the prefix", () => {
    const decoded = decode({ name: 42 }, { errors: "all" })
    if (Either.isRight(decoded)) return assert.fail("expected a failure")
    const error = JsonRpc.invalidParams(decoded.left, "Invalid arguments")
    assert.isTrue(error.message.startsWith("Invalid arguments: "), error.message)
    const paths = (error.data as { issues: Array<{ path: string }> }).issues.map((issue) => issue.path).sort()
    assert.deepStrictEqual(paths, ["name", "options"])
    assert.include(error.message, "name: ")
    assert.include(error.message, "options: ")
  })
})

describe("JsonRpc errors", () => {
  const cases: ReadonlyArray<readonly [JsonRpc.JsonRpcError, number]> = [
    [new JsonRpc.ParseError({ message: "m" }), -32700],
    [new JsonRpc.InvalidRequest({ message: "m" }), -32600],
    [new JsonRpc.MethodNotFound({ message: "m" }), -32601],
    [new JsonRpc.InvalidParams({ message: "m" }), -32602],
    [new JsonRpc.InternalError({ message: "m" }), -32603],
    [new JsonRpc.RequestTimeout({ message: "m" }), -32001],
    [new JsonRpc.ResourceNotFound({ message: "m", uri: "x://y" }), -32002],
    [new JsonRpc.HeaderMismatch({ message: "m" }), -32020],
    [new JsonRpc.MissingRequiredClientCapability({ message: "m" }), -32021],
    [new JsonRpc.UnsupportedProtocolVersion({ message: "m" }), -32022]
  ]

  it("toErrorObject gives each error class its code", () => {
    for (const [error, code] of cases) {
      assert.strictEqual(error.code, code, error._tag)
      assert.deepStrictEqual(JsonRpc.toErrorObject(error), { code, message: "m" }, error._tag)
    }
  })

  it("the code constants agree", () => {
    assert.deepStrictEqual(
      [
        JsonRpc.PARSE_ERROR,
        JsonRpc.INVALID_REQUEST,
        JsonRpc.METHOD_NOT_FOUND,
        JsonRpc.INVALID_PARAMS,
        JsonRpc.INTERNAL_ERROR,
        JsonRpc.REQUEST_TIMEOUT,
        JsonRpc.RESOURCE_NOT_FOUND,
        JsonRpc.HEADER_MISMATCH,
        JsonRpc.MISSING_REQUIRED_CLIENT_CAPABILITY,
        JsonRpc.UNSUPPORTED_PROTOCOL_VERSION
      ],
      cases.map(([, code]) => code)
    )
  })

  it("toErrorObject keeps data when present and omits it when absent", () => {
    const withData = JsonRpc.toErrorObject(
      new JsonRpc.ResourceNotFound({ message: "gone", uri: "a://b", data: { uri: "a://b" } })
    )
    assert.deepStrictEqual(withData, { code: -32002, message: "gone", data: { uri: "a://b" } })
    const withoutData = JsonRpc.toErrorObject(new JsonRpc.MethodNotFound({ message: "x" }))
    assert.isFalse("data" in withoutData)
    // The ResourceNotFound's uri field is not leaked onto the wire by itself.
    assert.isFalse("uri" in JsonRpc.toErrorObject(new JsonRpc.ResourceNotFound({ message: "gone", uri: "a://b" })))
  })

  it("isJsonRpcError recognizes every error class and nothing else", () => {
    for (const [error] of cases) assert.isTrue(JsonRpc.isJsonRpcError(error), error._tag)
    for (
      const value of [
        new Error("x"),
        { _tag: "InvalidParams", code: -32602, message: "m" },
        { code: -32600, message: "m" },
        null,
        undefined,
        "InvalidRequest",
        -32600
      ]
    ) {
      assert.isFalse(JsonRpc.isJsonRpcError(value), String(value))
    }
  })
})

describe("ProtocolVersion", () => {
  it("negotiateLegacy echoes every supported legacy version, including 2024-10-07", () => {
    for (const version of ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05", "2024-10-07"]) {
      assert.strictEqual(ProtocolVersion.negotiateLegacy(version), version)
      assert.isTrue(ProtocolVersion.isLegacy(version))
    }
  })

  it("negotiateLegacy answers 2025-11-25 to anything unknown", () => {
    for (const version of ["1999-01-01", "", "2026-07-28", "2025-11-26", "latest"]) {
      assert.strictEqual(ProtocolVersion.negotiateLegacy(version), "2025-11-25", version)
    }
    assert.strictEqual(ProtocolVersion.LATEST_LEGACY, "2025-11-25")
  })

  it("eras", () => {
    assert.isTrue(ProtocolVersion.isModern("2026-07-28"))
    assert.isFalse(ProtocolVersion.isLegacy("2026-07-28"))
    assert.isFalse(ProtocolVersion.isModern("2025-11-25"))
  })

  it("allowsBatch only for 2025-03-26", () => {
    assert.isTrue(ProtocolVersion.allowsBatch("2025-03-26"))
    for (const version of ["2024-10-07", "2024-11-05", "2025-06-18", "2025-11-25", "2026-07-28", undefined]) {
      assert.isFalse(ProtocolVersion.allowsBatch(version), String(version))
    }
  })

  it("hasStructuredOutput from 2025-06-18 on", () => {
    for (const version of ["2024-10-07", "2024-11-05", "2025-03-26"]) {
      assert.isFalse(ProtocolVersion.hasStructuredOutput(version), version)
    }
    for (const version of ["2025-06-18", "2025-11-25", "2026-07-28"]) {
      assert.isTrue(ProtocolVersion.hasStructuredOutput(version), version)
    }
  })
})

describe("UriTemplate", () => {
  it("simple expressions", () => {
    const template = UriTemplate.make("reference://items/{id}")
    assert.deepStrictEqual(template.variables, ["id"])
    assert.deepStrictEqual(template.match("reference://items/7"), { id: "7" })
    assert.deepStrictEqual(template.match("reference://items/abc-def"), { id: "abc-def" })
    const two = UriTemplate.make("db://{schema}/{table}")
    assert.deepStrictEqual(two.variables, ["schema", "table"])
    assert.deepStrictEqual(two.match("db://public/users"), { schema: "public", table: "users" })
  })

  it("simple expressions do not match across / and need a value", () => {
    const template = UriTemplate.make("reference://items/{id}")
    assert.isUndefined(template.match("reference://items/7/8"))
    assert.isUndefined(template.match("reference://items/"))
    assert.isUndefined(template.match("reference://items/7?x=1"))
    assert.isUndefined(template.match("reference://other/7"))
    assert.isUndefined(template.match("xreference://items/7"))
    assert.isUndefined(template.match("reference://items/7#frag"))
  })

  it("regex metacharacters in the literal parts are literal", () => {
    const template = UriTemplate.make("a.b://x+y/{id}")
    assert.deepStrictEqual(template.match("a.b://x+y/1"), { id: "1" })
    assert.isUndefined(template.match("aXb://x+y/1"))
    assert.isUndefined(template.match("a.b://xxy/1"))
  })

  it("reserved expressions (+) match across /", () => {
    const template = UriTemplate.make("file:///{+path}")
    assert.deepStrictEqual(template.variables, ["path"])
    assert.deepStrictEqual(template.match("file:///usr/local/bin"), { path: "usr/local/bin" })
    assert.deepStrictEqual(template.match("file:///"), { path: "" })
    assert.isUndefined(template.match("file:///a?b"))
  })

  it("path expressions (/)", () => {
    const template = UriTemplate.make("repo://owner{/name,branch}")
    assert.deepStrictEqual(template.variables, ["name", "branch"])
    assert.deepStrictEqual(template.match("repo://owner/effect/main"), { name: "effect", branch: "main" })
    assert.isUndefined(template.match("repo://owner/effect"))
    assert.isUndefined(template.match("repo://owner/effect/main/extra"))
  })

  it("query expressions (?a,b)", () => {
    const template = UriTemplate.make("search://items{?q,limit}")
    assert.deepStrictEqual(template.variables, ["q", "limit"])
    assert.deepStrictEqual(template.match("search://items?q=shoes&limit=10"), { q: "shoes", limit: "10" })
    assert.deepStrictEqual(template.match("search://items?limit=5"), { limit: "5" })
    assert.deepStrictEqual(template.match("search://items"), {})
    // Unknown query keys are ignored; a key without "=" has an empty value.
    assert.deepStrictEqual(template.match("search://items?q=a&other=1&limit"), { q: "a", limit: "" })
    assert.isUndefined(template.match("search://other?q=a"))
  })

  it("query continuation (&) after a path variable", () => {
    const template = UriTemplate.make("api://users/{id}{?fields}{&page}")
    assert.deepStrictEqual(template.variables, ["id", "fields", "page"])
    assert.deepStrictEqual(template.match("api://users/3?fields=name&page=2"), { id: "3", fields: "name", page: "2" })
    assert.deepStrictEqual(template.match("api://users/3"), { id: "3" })
  })

  it("percent-decodes values (and keeps malformed escapes as they are)", () => {
    const template = UriTemplate.make("notes://{title}")
    assert.deepStrictEqual(template.match("notes://hello%20world"), { title: "hello world" })
    assert.deepStrictEqual(template.match("notes://caf%C3%A9"), { title: "café" })
    assert.deepStrictEqual(template.match("notes://100%"), { title: "100%" })
    const reserved = UriTemplate.make("file:///{+path}")
    assert.deepStrictEqual(reserved.match("file:///my%20dir/a%2Fb"), { path: "my dir/a/b" })
    const query = UriTemplate.make("search://x{?q}")
    assert.deepStrictEqual(query.match("search://x?q=a%26b%3Dc"), { q: "a&b=c" })
  })

  it("an unclosed brace throws", () => {
    assert.throws(() => UriTemplate.make("x://{id"))
  })
})
