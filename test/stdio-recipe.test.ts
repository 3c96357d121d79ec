/**
 * The README's stdio recipe run as a user runs it: test/fixtures/StdioRecipe.ts, a program on the public API, as a
 * child process (vite-node, no build needed) spoken to over stdin/stdout. Its tools log every way an app does
 * (Effect.log, Effect's Console, console.log/info/debug/dir/table, a forked fiber, the library's own error log):
 * every stdout line must be a JSON-RPC message and every one of those lines must be on stderr.
 */
import { afterEach, assert, describe, it } from "@effect/vitest"
import { fileURLToPath } from "node:url"
import type { StdioProcess } from "./fixtures/StdioProcess.js"
import { cleanEnv, killAll, spawnProgram } from "./fixtures/StdioProcess.js"

const VITE_NODE = fileURLToPath(new URL("../node_modules/vite-node/vite-node.mjs", import.meta.url))
const RECIPE = fileURLToPath(new URL("./fixtures/StdioRecipe.ts", import.meta.url))

/** vite-node transforms the sources on start: the first answer may take a while on a busy machine. */
const START_MS = 40_000

/** What the tools and the library write while a `shout` and a `crash` are served, one marker each. */
const SERVING_MARKERS = [
  "marker-effect-log hi-there",
  "marker-effect-warning",
  "marker-effect-console",
  "marker-console-log",
  "marker-console-info",
  "marker-console-debug",
  "marker-console-dir",
  "marker-console-table",
  "marker-forked-fiber",
  "Request handler died",
  "marker-defect"
]

afterEach(() => {
  killAll()
})

const start = (recipe?: string): StdioProcess =>
  spawnProgram([VITE_NODE, RECIPE], cleanEnv(recipe === undefined ? {} : { RECIPE: recipe }))

/** The legacy handshake, a tool that logs every way, one that dies; then stdin closes. */
const exercise = async (server: StdioProcess) => {
  server.send({
    jsonrpc: "2.0",
    id: 1,
    method: "initialize",
    params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "recipe-test", version: "1" } }
  })
  const init = await server.waitForId(1, START_MS)
  assert.strictEqual(init.result?.protocolVersion, "2025-11-25", JSON.stringify(init))
  server.send({ jsonrpc: "2.0", method: "notifications/initialized" })
  const shout = await server.request(2, "tools/call", { name: "shout", arguments: { text: "hi-there" } })
  assert.deepStrictEqual(shout.result?.content, [{ type: "text", text: "HI-THERE" }], JSON.stringify(shout))
  const crash = await server.request(3, "tools/call", { name: "crash", arguments: {} })
  assert.strictEqual(crash.error?.code, -32603, JSON.stringify(crash))
  // Everything the tools wrote is written by the time they answered; the forked fiber was joined.
  await server.waitFor(
    () => SERVING_MARKERS.every((marker) => server.stderr().includes(marker)) ? true : undefined,
    `every marker on stderr (${SERVING_MARKERS.join(", ")})`
  )
}

/** Every stdout line (the first `count`, when given) is one JSON-RPC 2.0 message, and no marker is on stdout. */
const assertStdoutIsProtocol = (server: StdioProcess, count = server.messages.length) => {
  assert.deepStrictEqual(server.unparsed, [], `stdout lines that are not JSON:\n${server.unparsed.join("\n")}`)
  for (const message of server.messages.slice(0, count)) {
    assert.isTrue(
      typeof message === "object" && message !== null && (message as { jsonrpc?: unknown }).jsonrpc === "2.0",
      `not a JSON-RPC message on stdout: ${JSON.stringify(message)}`
    )
  }
  assert.notInclude(server.lines.join("\n"), "marker", "a log line on stdout")
}

describe("the README's stdio recipe, as a child process", () => {
  it("Stdio.serve(): stdout carries only JSON-RPC; Effect's logs and console output are on stderr", async () => {
    const server = start()
    await exercise(server)
    server.closeStdin()
    assert.deepStrictEqual(await server.waitForExit(), { code: 0, signal: null })
    assertStdoutIsProtocol(server)
    assert.deepStrictEqual(server.messages.map((m) => (m as { id?: unknown }).id), [1, 2, 3])
  }, 90_000)

  it("with the pretty logger (what NodeRuntime.runMain installs): the same", async () => {
    const server = start("pretty")
    await exercise(server)
    server.closeStdin()
    assert.deepStrictEqual(await server.waitForExit(), { code: 0, signal: null })
    assertStdoutIsProtocol(server)
    // The pretty logger's own format, on stderr.
    assert.match(server.stderr(), /INFO \(#\d+\): marker-effect-log hi-there/)
    assert.deepStrictEqual(server.messages.map((m) => (m as { id?: unknown }).id), [1, 2, 3])
  }, 90_000)

  it(
    "Stdio.guardStdout around the program: layers' logs while built go to stderr too; the console is put back after",
    async () => {
      const server = start("guard-all")
      await exercise(server)
      assert.include(server.stderr(), "marker-layer-build")
      assert.include(server.stderr(), "marker-layer-console")
      server.closeStdin()
      assert.deepStrictEqual(await server.waitForExit(), { code: 0, signal: null })
      assertStdoutIsProtocol(server, 3)
      // After serving, outside the guard, console.log writes to stdout again (the program prints one JSON line).
      assert.deepStrictEqual(server.messages.slice(3), [{ after: "serving" }])
    },
    90_000
  )

  it("Stdio.layer under Layer.launch: the same while the layer serves", async () => {
    const server = start("layer")
    await exercise(server)
    assertStdoutIsProtocol(server)
    assert.deepStrictEqual(server.messages.map((m) => (m as { id?: unknown }).id), [1, 2, 3])
  }, 90_000)
})
