/**
 * McpTest's public types: results typed by method and by the client's era, no `any` left in what a test sees
 * (checked by `tsc`, which `npm test` runs first), and `isInputRequired` telling a modern round-trip answer apart at
 * run time.
 */
import { assert, describe, expectTypeOf, it } from "@effect/vitest"
import { Effect } from "effect"
import { McpTest } from "../src/index.js"
import type { McpSchema } from "../src/index.js"
import * as TestServer from "./fixtures/TestServer.js"
import { textOf } from "./support/Rpc.js"

describe("McpTest types", () => {
  it("nothing a test reads from the client is `any`", () => {
    expectTypeOf<McpTest.ServerMessage["params"]>().not.toBeAny()
    expectTypeOf<McpTest.ServerMessage["result"]>().toBeUnknown()
    expectTypeOf<McpTest.Client["initializeResult"]>().not.toBeAny()
    expectTypeOf<Effect.Effect.Success<ReturnType<McpTest.Client["request"]>>>().not.toBeAny()
    expectTypeOf<Effect.Effect.Success<ReturnType<McpTest.Client["callTool"]>>>().not.toBeAny()
    expectTypeOf<Parameters<NonNullable<McpTest.ConnectOptions["onRequest"]>>[1]>().toEqualTypeOf<
      McpSchema.JsonObject | undefined
    >()
  })

  it.scoped("a legacy client's results have the type of their method; an unknown method's is unknown", () =>
    Effect.gen(function*() {
      const client = yield* McpTest.connect()
      expectTypeOf(client.era).toEqualTypeOf<"legacy">()
      const tools = yield* client.request("tools/list")
      expectTypeOf(tools).toEqualTypeOf<McpTest.ListToolsResult & McpTest.ResultFields>()
      assert.include(tools.tools.map((tool) => tool.name), "sleep")
      // No input_required in the legacy era: a tool result is a CallToolResult as it is.
      const echo = yield* client.callTool("echo", { text: "hi" })
      expectTypeOf(echo).toEqualTypeOf<McpSchema.CallToolResult & McpTest.ResultFields>()
      assert.strictEqual(textOf(echo.content[0]), "hi")
      const other = yield* client.request("ping")
      expectTypeOf(other).toEqualTypeOf<McpTest.EmptyResult & McpTest.ResultFields>()
      expectTypeOf(client.request("x/custom")).toEqualTypeOf<Effect.Effect<unknown, McpTest.RpcError>>()
      expectTypeOf(client.initializeResult).toEqualTypeOf<McpTest.ResultOf<"initialize", "legacy"> | undefined>()
      assert.strictEqual(client.initializeResult?.serverInfo.name, "test-server")
    }).pipe(Effect.provide(TestServer.layer())))

  it.scoped("a modern client's round-trip results may be input_required, and isInputRequired tells which", () =>
    Effect.gen(function*() {
      const client = yield* McpTest.connect({ era: "modern", capabilities: { elicitation: {} } })
      expectTypeOf(client.era).toEqualTypeOf<"modern">()
      const asked = yield* client.callTool("ask", { questions: ["elicit"] })
      expectTypeOf(asked).toEqualTypeOf<
        (McpSchema.CallToolResult & McpTest.ResultFields) | McpTest.InputRequiredResult
      >()
      assert.isTrue(McpTest.isInputRequired(asked), JSON.stringify(asked))
      if (McpTest.isInputRequired(asked)) {
        assert.strictEqual(Object.values(asked.inputRequests)[0]?.method, "elicitation/create")
        assert.isString(asked.requestState)
      }
      const echo = yield* client.callTool("echo", { text: "hi" })
      assert.isFalse(McpTest.isInputRequired(echo), JSON.stringify(echo))
      if (!McpTest.isInputRequired(echo)) {
        expectTypeOf(echo).toEqualTypeOf<McpSchema.CallToolResult & McpTest.ResultFields>()
        assert.strictEqual(echo.resultType, "complete")
        assert.strictEqual(textOf(echo.content[0]), "hi")
      }
      // Lists are never input_required, in either era.
      expectTypeOf(yield* client.request("tools/list")).toEqualTypeOf<
        McpTest.ListToolsResult & McpTest.ResultFields
      >()
    }).pipe(Effect.provide(TestServer.layer())))

  it("isInputRequired is false for anything but an input_required result", () => {
    assert.isTrue(McpTest.isInputRequired({ resultType: "input_required", inputRequests: {}, requestState: "s" }))
    for (const other of [{ resultType: "complete" }, { content: [] }, null, undefined, "input_required", []]) {
      assert.isFalse(McpTest.isInputRequired(other), JSON.stringify(other))
    }
  })
})
