// (dist) Gateway mode as users run it: `node dist/main.js -- COMMAND` and `--gateway FILE` in front of MCP servers
// nobody here wrote (@modelcontextprotocol/server-everything and server-memory over stdio, and this project's own
// server as a remote Streamable HTTP upstream), with the official SDK client on the front: names, calls, progress
// and sampling relayed, an upstream killed mid-call, SIGTERM with upstream children (exit 0, no orphan).
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import { CreateMessageRequestSchema, ListRootsRequestSchema } from "@modelcontextprotocol/sdk/types.js"
import { execFileSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { afterAll, assert, describe, it } from "vitest"
import { startServer } from "./fixtures/MainProcess.js"
import { resultText } from "./support/Sdk.js"
import { until } from "./support/Wait.js"

const bin = (name: string) => Path.resolve("node_modules", ".bin", name)
const EVERYTHING = [process.execPath, bin("mcp-server-everything"), "stdio"]
const MEMORY = [process.execPath, bin("mcp-server-memory")]

const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "gw-e2e-"))
afterAll(() => Fs.rmSync(dir, { recursive: true, force: true }))

const connect = async (port: number, sampling = false) => {
  const client = new Client({ name: "sdk", version: "1.0.0" }, { capabilities: sampling ? { sampling: {} } : {} })
  if (sampling) {
    client.setRequestHandler(CreateMessageRequestSchema, async (request) => ({
      role: "assistant",
      content: { type: "text", text: `answer to ${JSON.stringify(request.params.messages[0]?.content)}` },
      model: "test-model"
    }))
  }
  await client.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`)))
  return client
}

/** The pids of a process's children (the gateway's upstreams). */
const childrenOf = (pid: number): Array<number> => {
  try {
    return execFileSync("ps", ["-o", "pid=", "--ppid", String(pid)], { encoding: "utf8" })
      .split("\n").map((line) => Number(line.trim())).filter((n) => n > 0)
  } catch {
    return []
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe("gateway mode in front of real MCP servers (dist)", () => {
  it("-- COMMAND: server-everything's tools pass unchanged; calls, progress and sampling relayed", async () => {
    const server = await startServer(["--", ...EVERYTHING])
    const client = await connect(server.port, true)
    const names = (await client.listTools()).tools.map((tool) => tool.name)
    assert.includeMembers(names, ["echo", "trigger-long-running-operation", "trigger-sampling-request"])
    assert.strictEqual(resultText(await client.callTool({ name: "echo", arguments: { message: "hi" } })), "Echo: hi")
    const progress: Array<number> = []
    const long = await client.callTool(
      { name: "trigger-long-running-operation", arguments: { duration: 1, steps: 2 } },
      undefined,
      { onprogress: (p) => progress.push(p.progress) }
    )
    assert.include(resultText(long), "Long running operation completed")
    assert.deepStrictEqual(progress, [1, 2])
    const sampled = await client.callTool({
      name: "trigger-sampling-request",
      arguments: { prompt: "2+2?", maxTokens: 5 }
    })
    assert.include(resultText(sampled), "answer to")
    assert.include(resultText(sampled), "test-model")
    await client.close()
    const upstreams = childrenOf(server.child.pid!)
    assert.isAbove(upstreams.length, 0)
    server.child.kill("SIGTERM")
    assert.deepStrictEqual(await server.exit, { code: 0, signal: null })
    for (const pid of upstreams) await until(() => !alive(pid), `upstream ${pid} to exit`, 5_000, 50)
  })

  it("--gateway FILE: two stdio servers and a remote one, names prefixed; /ready reports each", async () => {
    const remote = await startServer([])
    const file = Path.join(dir, "servers.json")
    Fs.writeFileSync(
      file,
      JSON.stringify({
        mcpServers: {
          everything: { command: EVERYTHING[0], args: EVERYTHING.slice(1) },
          memory: { command: MEMORY[0], args: MEMORY.slice(1), isolation: "per-session" },
          ours: { type: "http", url: `http://127.0.0.1:${remote.port}/mcp` }
        }
      })
    )
    const server = await startServer(["--gateway", file])
    const client = await connect(server.port)
    const names = (await client.listTools()).tools.map((tool) => tool.name)
    assert.includeMembers(names, ["everything__echo", "memory__read_graph", "ours__echo", "ours__add"])
    assert.isTrue(names.every((name) => /^[a-zA-Z0-9_-]{1,64}$/.test(name)), names.join(","))
    assert.strictEqual(
      resultText(await client.callTool({ name: "everything__echo", arguments: { message: "a" } })),
      "Echo: a"
    )
    const graph = await client.callTool({ name: "memory__read_graph", arguments: {} })
    assert.deepStrictEqual(JSON.parse(resultText(graph)), { entities: [], relations: [] })
    const added = await client.callTool({ name: "ours__add", arguments: { a: 2, b: 3 } })
    assert.include(resultText(added), "5")
    const ready = await (await fetch(`http://127.0.0.1:${server.port}/ready`)).json() as {
      upstreams: Record<string, { state: string }>
    }
    assert.deepStrictEqual(
      Object.fromEntries(Object.entries(ready.upstreams).map(([name, s]) => [name, s.state])),
      { everything: "Ready", memory: "Ready", ours: "Ready" }
    )
    await client.close()
    server.child.kill("SIGTERM")
    assert.deepStrictEqual(await server.exit, { code: 0, signal: null })
    remote.child.kill("SIGTERM")
    await remote.exit
  })

  it("per-session stdio upstream: the roots it asks for at its start come from its front session's client", async () => {
    const file = Path.join(dir, "per-session.json")
    Fs.writeFileSync(
      file,
      JSON.stringify({
        mcpServers: { everything: { command: EVERYTHING[0], args: EVERYTHING.slice(1), isolation: "per-session" } }
      })
    )
    const server = await startServer(["--gateway", file])
    const client = new Client({ name: "sdk", version: "1.0.0" }, { capabilities: { roots: { listChanged: true } } })
    let asked = 0
    client.setRequestHandler(ListRootsRequestSchema, async () => {
      asked++
      return { roots: [{ uri: "file:///front/workspace", name: "workspace" }] }
    })
    await client.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${server.port}/mcp`)))
    // The first call makes this session's upstream; once initialized it asks its client for the roots (by then the
    // call may be over or still in flight: either way the question reaches this session's client, through the
    // session's own stream or the call's; test/gateway.test.ts checks the outside-any-call path alone).
    assert.strictEqual(resultText(await client.callTool({ name: "echo", arguments: { message: "a" } })), "Echo: a")
    await until(() => asked > 0, "the upstream's roots/list relayed to the front client", 10_000, 50)
    const listed = await client.callTool({ name: "get-roots-list", arguments: {} })
    assert.include(resultText(listed), "file:///front/workspace")
    await client.close()
    server.child.kill("SIGTERM")
    assert.deepStrictEqual(await server.exit, { code: 0, signal: null })
  })

  it("an upstream killed mid-call: the call is answered with an error at once, the upstream restarts", async () => {
    const server = await startServer(["--", ...EVERYTHING])
    const client = await connect(server.port)
    const [upstream] = childrenOf(server.child.pid!)
    assert.isDefined(upstream)
    const started = Date.now()
    const call = client.callTool({
      name: "trigger-long-running-operation",
      arguments: { duration: 20, steps: 20 }
    }).then((result) => ({ ok: true as const, result }), (error: unknown) => ({ ok: false as const, error }))
    await new Promise((resolve) => setTimeout(resolve, 500))
    process.kill(upstream!, "SIGKILL")
    const outcome = await call
    assert.isBelow(Date.now() - started, 10_000, "answered long before the operation would have ended")
    const text = outcome.ok ? resultText(outcome.result) : String(outcome.error)
    if (outcome.ok) assert.isTrue((outcome.result as { isError?: boolean }).isError, text)
    assert.match(text, /upstream|closed|exited/i)
    // Supervised: a new child comes up and serves again.
    await until(
      () => childrenOf(server.child.pid!).some((pid) => pid !== upstream),
      "a restarted upstream",
      15_000,
      100
    )
    await until(
      async () => {
        try {
          return resultText(await client.callTool({ name: "echo", arguments: { message: "back" } })) === "Echo: back"
        } catch {
          return false
        }
      },
      "echo through the restarted upstream",
      15_000,
      250
    )
    await client.close()
    server.child.kill("SIGTERM")
    assert.deepStrictEqual(await server.exit, { code: 0, signal: null })
  })
})
