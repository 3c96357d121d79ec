// Handlers are a value the engine is given: a server built with another table answers with it, in both eras, with
// the params decoded by the method table, and methods the table leaves out are -32601.
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import { Handlers, McpMethod, McpServer, McpTest } from "../src/index.js"
import { complete } from "./support/Rpc.js"

// A table such as a gateway would give: tools/call and tools/list forwarded (here: answered from a fixed list).
const forwarded: Handlers.Handlers = [
  Handlers.handle(
    McpMethod.listTools,
    () => Effect.succeed({ tools: [{ name: "upstream__echo", inputSchema: { type: "object" } }] })
  ),
  Handlers.handle(
    McpMethod.callTool,
    (params) =>
      Effect.succeed({
        content: [{ type: "text", text: `forwarded ${params.name} ${JSON.stringify(params.arguments)}` }]
      })
  ),
  ...Handlers.local.filter((entry) => entry.method === McpMethod.ping)
]

const server = McpServer.layer({ name: "gateway", version: "1", handlers: forwarded })

describe("Handlers", () => {
  for (const era of ["legacy", "modern"] as const) {
    it.scoped(`a server given another table answers with it (${era})`, () =>
      Effect.gen(function*() {
        const client = yield* McpTest.connect({ era })
        const list = yield* client.request("tools/list", {})
        assert.deepStrictEqual(list.tools.map((t) => t.name), ["upstream__echo"])
        const result = complete(yield* client.callTool("upstream__echo", { a: 1 }))
        assert.deepStrictEqual(result.content, [{ type: "text", text: "forwarded upstream__echo {\"a\":1}" }])
        // Params are still decoded by the method table before the handler runs.
        const bad = yield* Effect.either(client.request("tools/call", { name: 42 }))
        assert.isTrue(Either.isLeft(bad) && bad.left.code === -32602)
        // A method the table does not answer is unknown.
        const missing = yield* Effect.either(client.request("prompts/list", {}))
        assert.isTrue(Either.isLeft(missing) && missing.left.code === -32601)
      }).pipe(Effect.provide(server)))
  }

  it("the local table answers every request method but initialize, which the engine handles itself", () => {
    const answered = new Set(Handlers.local.map((entry) => entry.method.name))
    for (const method of McpMethod.all) {
      assert.strictEqual(answered.has(method.name), method !== McpMethod.initialize, method.name)
    }
  })
})
