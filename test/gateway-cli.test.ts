// (dist) Gateway mode on the command line of `node dist/main.js`: --replay serves a tape (every other flag applies
// to the front), SIGTERM exits 0; gateway flags the program cannot honour are refused with a message and exit 2.
import { spawnSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { afterAll, assert, describe, it } from "vitest"
import { startServer } from "./fixtures/MainProcess.js"
import { cleanEnv, SERVER } from "./fixtures/StdioProcess.js"
import { connectSdk, resultText } from "./support/Sdk.js"

const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "gw-cli-"))
afterAll(() => Fs.rmSync(dir, { recursive: true, force: true }))

const line = (direction: string, message: Record<string, unknown>) =>
  JSON.stringify({ time: "2026-01-01T00:00:00.000Z", direction, session: "shared", upstream: "everything", message })

const tape = Path.join(dir, "tape.jsonl")
Fs.writeFileSync(
  tape,
  [
    line("state", {
      era: "legacy",
      protocolVersion: "2025-06-18",
      serverInfo: { name: "everything", version: "1" },
      capabilities: { tools: {} },
      instructions: "Recorded."
    }),
    line("to-upstream", { jsonrpc: "2.0", id: 1, method: "tools/list", params: {} }),
    line("from-upstream", {
      jsonrpc: "2.0",
      id: 1,
      result: { tools: [{ name: "echo", inputSchema: { type: "object" } }] }
    }),
    line("to-upstream", {
      jsonrpc: "2.0",
      id: 2,
      method: "tools/call",
      params: { name: "echo", arguments: { m: "hi" } }
    }),
    line("from-upstream", { jsonrpc: "2.0", id: 2, result: { content: [{ type: "text", text: "Echo: hi" }] } })
  ].join("\n") + "\n"
)

const run = (args: ReadonlyArray<string>) =>
  spawnSync(process.execPath, [SERVER, ...args], { encoding: "utf8", env: cleanEnv(), timeout: 15_000, input: "" })

describe("gateway mode on the command line (dist)", () => {
  it("--replay serves a recorded upstream over HTTP; SIGTERM exits 0", async () => {
    const server = await startServer(["--replay", tape, "--page-size", "1"])
    const client = await connectSdk(`http://127.0.0.1:${server.port}/mcp`, "cli")
    assert.deepStrictEqual((await client.listTools()).tools.map((t) => t.name), ["echo"])
    assert.strictEqual(resultText(await client.callTool({ name: "echo", arguments: { m: "hi" } })), "Echo: hi")
    assert.strictEqual(client.getInstructions(), "Recorded.")
    await client.close()
    server.child.kill("SIGTERM")
    assert.deepStrictEqual(await server.exit, { code: 0, signal: null })
  })

  it("--gateway with -- , a lone --record and a bare -- exit 2 with a message; a bad config file exits 1 naming it", () => {
    for (
      const [args, message] of [
        [["--gateway", "x.json", "--", "npx", "server"], "Give --gateway FILE or -- COMMAND, not both"],
        [["--record", "t.jsonl"], "--record needs gateway mode"],
        [["--"], "-- needs a command after it"]
      ] as const
    ) {
      const result = run(args)
      assert.strictEqual(result.status, 2, args.join(" "))
      assert.include(result.stderr, message)
      assert.strictEqual(result.stdout, "")
    }
    const missing = Path.join(dir, "missing.json")
    const both = Path.join(dir, "both.json")
    Fs.writeFileSync(both, JSON.stringify({ mcpServers: { a: { command: "x", url: "http://127.0.0.1:1/mcp" } } }))
    for (
      const [file, message] of [
        [missing, `${missing}: cannot read the gateway config`],
        [both, `${both}: server \\"a\\": has both \\"command\\" and \\"url\\"`]
      ] as const
    ) {
      const result = run(["--gateway", file])
      assert.strictEqual(result.status, 1, file)
      assert.include(result.stderr, message)
      assert.strictEqual(result.stdout, "")
    }
  })

  it("--help lists the gateway flags", () => {
    const result = run(["--help"])
    for (const flag of ["--gateway FILE", "--record FILE", "--replay FILE"]) assert.include(result.stdout, flag)
  })
})
