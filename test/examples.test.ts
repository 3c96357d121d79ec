/**
 * The runnable examples in examples/, run as their README says: the stdio server and the weather CLI as child
 * processes (through vite-node, which runs TypeScript), the Express app in-process with the official SDK client.
 * examples/weather/server.test.ts is the weather server's own TestClock test.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import { Effect, Exit, Layer, Scope } from "effect"
import { spawnSync } from "node:child_process"
import type { AddressInfo } from "node:net"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "vitest"
import * as ExpressExample from "../examples/express/app.js"

const root = fileURLToPath(new URL("..", import.meta.url))
const viteNode = fileURLToPath(new URL("../node_modules/vite-node/vite-node.mjs", import.meta.url))
const runExample = (file: string, args: ReadonlyArray<string>, input = "") =>
  spawnSync(process.execPath, [viteNode, "--config", "vitest.config.ts", file, "--", ...args], {
    cwd: root,
    encoding: "utf8",
    input,
    timeout: 30_000,
    env: { ...process.env, NO_COLOR: "1" }
  })

const lines = (messages: ReadonlyArray<unknown>) => messages.map((m) => JSON.stringify(m)).join("\n") + "\n"

describe("examples", () => {
  it("stdio/main.ts: answers over stdin/stdout, every stdout line JSON-RPC, the handler's log on stderr", () => {
    const result = runExample(
      "examples/stdio/main.ts",
      [],
      lines([
        {
          jsonrpc: "2.0",
          id: 1,
          method: "initialize",
          params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } }
        },
        { jsonrpc: "2.0", method: "notifications/initialized" },
        { jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "reverse", arguments: { text: "abc" } } }
      ])
    )
    assert.strictEqual(result.status, 0, result.stderr)
    const out = result.stdout.split("\n").filter((line) => line !== "")
    for (const line of out) assert.strictEqual((JSON.parse(line) as { jsonrpc: string }).jsonrpc, "2.0", line)
    assert.strictEqual(out.length, 2)
    assert.deepStrictEqual(JSON.parse(out[1]!).result.content, [{ type: "text", text: "cba" }])
    assert.include(result.stderr, "reversing 3 characters")
  })

  it("weather/main.ts: the library's CLI with the example's name", () => {
    const result = runExample("examples/weather/main.ts", ["--help"])
    assert.strictEqual(result.status, 0, result.stderr)
    assert.include(result.stdout, "Usage: weather [flags]")
    assert.include(result.stdout, "Serves today's forecasts.")
  })

  it("express/app.ts: the SDK client calls the mounted server's tool; the app's own route answers", async () => {
    const scope = await Effect.runPromise(Scope.make())
    try {
      const context = await Effect.runPromise(Layer.buildWithScope(ExpressExample.server, scope))
      const { http } = await Effect.runPromise(ExpressExample.make.pipe(Effect.provide(context), Scope.extend(scope)))
      await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve))
      const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`
      assert.deepStrictEqual(await (await fetch(base)).json(), { app: "express-example", mcp: "/mcp" })
      const client = new Client({ name: "examples-test", version: "1.0.0" })
      await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`)))
      const result = await client.callTool({ name: "greet", arguments: { name: "Ada" } })
      assert.deepStrictEqual(result.content, [{ type: "text", text: "Hello, Ada!" }])
      await client.close()
      http.closeAllConnections()
      http.close()
    } finally {
      await Effect.runPromise(Scope.close(scope, Exit.void))
    }
  })
})
