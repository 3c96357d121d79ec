/**
 * Interop over stdio with real peers: the official MCP SDK client (legacy era, 2025-11-25 handshake) spawning
 * `node dist/main.js --stdio`, and a hand-written newline-delimited JSON client for the modern era (2026-07-28),
 * which SDK 1.x does not speak. Needs `npm run build` first.
 */
import { getDefaultEnvironment, StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import type { ChildProcessWithoutNullStreams } from "node:child_process"
import { spawn } from "node:child_process"
import { EventEmitter } from "node:events"
import { createInterface } from "node:readline"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { sdkSuite } from "./fixtures/InteropSuite.js"
import { assertBuilt, SERVER } from "./support/Dist.js"
import { waitFor } from "./support/Wait.js"

beforeAll(assertBuilt)

// ---------------------------------------------------------------------------------------------------------------------
// Legacy era: the official SDK client
// ---------------------------------------------------------------------------------------------------------------------

sdkSuite("stdio interop with the official SDK client (legacy era)", async () => {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [SERVER, "--stdio"],
    stderr: "pipe",
    env: { ...getDefaultEnvironment(), MCP_LOG_FORMAT: "json" }
  })
  const stderr = transport.stderr
  if (stderr === null) throw new Error("stderr was not piped")
  return { transport, stderr, close: async () => {} }
}, "Serving MCP over stdio")

// ---------------------------------------------------------------------------------------------------------------------
// Modern era (2026-07-28): a hand-written newline-delimited JSON client
// ---------------------------------------------------------------------------------------------------------------------

interface Response {
  readonly jsonrpc: "2.0"
  readonly id: number | string | null
  readonly result?: Record<string, unknown>
  readonly error?: { readonly code: number; readonly message: string; readonly data?: Record<string, unknown> }
}

const MODERN = "2026-07-28"
const PV = "io.modelcontextprotocol/protocolVersion"
const CAPS = "io.modelcontextprotocol/clientCapabilities"
const SERVER_INFO = "io.modelcontextprotocol/serverInfo"
const modernMeta = { [PV]: MODERN, [CAPS]: {} }

describe("stdio, modern era (2026-07-28) without the SDK", () => {
  let child: ChildProcessWithoutNullStreams
  let exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  const stdoutLines: Array<string> = []
  const responses = new Map<string | number, Response>()
  const arrivals = new EventEmitter()
  let nextId = 1

  const request = async (method: string, params: Record<string, unknown>): Promise<Response> => {
    const id = nextId++
    child.stdin.write(JSON.stringify({ jsonrpc: "2.0", id, method, params }) + "\n")
    return waitFor(arrivals, "data", () => responses.get(id), `the response to ${method} (id ${id})`)
  }

  beforeAll(() => {
    child = spawn(process.execPath, [SERVER, "--stdio"], {
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, MCP_LOG_FORMAT: "json" }
    })
    exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })))
    child.stderr.resume()
    createInterface({ input: child.stdout }).on("line", (line) => {
      stdoutLines.push(line)
      try {
        const message = JSON.parse(line) as Response
        if (message.id !== undefined && message.id !== null) responses.set(message.id, message)
      } catch {
        // Kept in stdoutLines; the last test asserts stdout carried only JSON.
      }
      arrivals.emit("data")
    })
  })

  afterAll(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
  })

  it("server/discover: complete, supported versions, cache hints and server info", async () => {
    const response = await request("server/discover", { _meta: modernMeta })
    expect(response.error).toBeUndefined()
    const result = response.result!
    expect(result.resultType).toBe("complete")
    expect(result.supportedVersions).toEqual([MODERN])
    expect(typeof result.ttlMs).toBe("number")
    expect(result.ttlMs as number).toBeGreaterThanOrEqual(0)
    expect(["public", "private"]).toContain(result.cacheScope)
    expect(result.capabilities).toMatchObject({ tools: {}, resources: {}, prompts: {} })
    const meta = result._meta as Record<string, unknown>
    expect(meta[SERVER_INFO]).toMatchObject({ name: "effect-mcp-server-reference" })
  })

  it("tools/list and tools/call add carry resultType complete", async () => {
    const list = await request("tools/list", { _meta: modernMeta })
    expect(list.error).toBeUndefined()
    expect(list.result!.resultType).toBe("complete")
    expect(typeof list.result!.ttlMs).toBe("number")
    expect(["public", "private"]).toContain(list.result!.cacheScope)
    const tools = list.result!.tools as Array<{ name: string; outputSchema?: unknown }>
    expect(tools.map((t) => t.name)).toContain("add")
    expect(tools.find((t) => t.name === "add")!.outputSchema).toBeDefined()

    const call = await request("tools/call", { name: "add", arguments: { a: 1, b: 2 }, _meta: modernMeta })
    expect(call.error).toBeUndefined()
    expect(call.result!.resultType).toBe("complete")
    expect(call.result!.structuredContent).toEqual({ sum: 3 })
    expect(call.result!.content).toEqual([{ type: "text", text: "{\"sum\":3}" }])
    expect((call.result!._meta as Record<string, unknown>)[SERVER_INFO]).toMatchObject({
      name: "effect-mcp-server-reference"
    })
  })

  it("resources/read of an unknown URI: -32602 in the modern era", async () => {
    const response = await request("resources/read", { uri: "reference://nope", _meta: modernMeta })
    expect(response.result).toBeUndefined()
    expect(response.error?.code).toBe(-32602)
  })

  it("an unsupported protocol version: -32022 with supported and requested", async () => {
    const response = await request("tools/list", { _meta: { [PV]: "2099-01-01", [CAPS]: {} } })
    expect(response.result).toBeUndefined()
    expect(response.error?.code).toBe(-32022)
    expect(response.error?.data?.supported).toEqual([MODERN])
    expect(response.error?.data?.requested).toBe("2099-01-01")
  })

  it("a request without clientCapabilities: -32602", async () => {
    const response = await request("tools/list", { _meta: { [PV]: MODERN } })
    expect(response.result).toBeUndefined()
    expect(response.error?.code).toBe(-32602)
  })

  it("initialize after the connection was pinned modern is rejected, and the connection keeps serving", async () => {
    const response = await request("initialize", {
      protocolVersion: "2025-11-25",
      capabilities: {},
      clientInfo: { name: "late", version: "1.0.0" }
    })
    expect(response.result).toBeUndefined()
    expect(response.error).toBeDefined()
    expect(typeof response.error!.code).toBe("number")
    // Still modern: a legacy-only method is not found, a modern request is served.
    const ping = await request("ping", {})
    expect(ping.result).toBeUndefined()
    expect(ping.error).toBeDefined()
    const discover = await request("server/discover", { _meta: modernMeta })
    expect(discover.result?.resultType).toBe("complete")
  })

  it("stdout carried only JSON-RPC messages, and closing stdin exits 0", async () => {
    child.stdin.end()
    const { code, signal } = await exited
    expect(signal).toBeNull()
    expect(code).toBe(0)
    expect(stdoutLines.length).toBeGreaterThan(0)
    for (const line of stdoutLines) {
      const message = JSON.parse(line) as Response
      expect(message.jsonrpc).toBe("2.0")
    }
    // Every request got exactly one response.
    expect(responses.size).toBe(nextId - 1)
  })
})
