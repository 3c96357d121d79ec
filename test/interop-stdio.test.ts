/**
 * Interop over stdio with real peers: the official MCP SDK client (legacy era, 2025-11-25 handshake) spawning
 * `node dist/main.js --stdio`, and a hand-written newline-delimited JSON client for the modern era (2026-07-28),
 * which SDK 1.x does not speak. Needs `npm run build` first.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { getDefaultEnvironment, StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import { LoggingMessageNotificationSchema, McpError } from "@modelcontextprotocol/sdk/types.js"
import type { JSONRPCMessage, LoggingMessageNotification, Progress } from "@modelcontextprotocol/sdk/types.js"
import type { ChildProcessWithoutNullStreams } from "node:child_process"
import { spawn } from "node:child_process"
import { EventEmitter } from "node:events"
import { existsSync } from "node:fs"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

const SERVER = fileURLToPath(new URL("../dist/main.js", import.meta.url))

/** The reference server's 1x1 PNG (see src/reference/ReferenceServer.ts). */
const PNG_BASE64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="

/** Server log lines (JSON, one per line) as parsed objects; non-JSON lines are kept as raw strings. */
type LogLine = { readonly message?: unknown; readonly annotations?: Record<string, unknown> } | string

const parseLogLines = (text: string): Array<LogLine> =>
  text.split("\n").filter((line) => line.trim() !== "").map((line) => {
    try {
      return JSON.parse(line) as LogLine
    } catch {
      return line
    }
  })

/** Waits until `predicate` holds, re-checking whenever `source` emits data. Bounded, so a hang fails clearly. */
const waitFor = (
  source: NodeJS.EventEmitter,
  predicate: () => boolean,
  what: string,
  boundMs = 10_000
): Promise<void> =>
  new Promise((resolve, reject) => {
    if (predicate()) return resolve()
    const check = () => {
      if (predicate()) {
        cleanup()
        resolve()
      }
    }
    const timer = setTimeout(() => {
      cleanup()
      reject(new Error(`Timed out waiting for ${what}`))
    }, boundMs)
    const cleanup = () => {
      clearTimeout(timer)
      source.removeListener("data", check)
    }
    source.on("data", check)
  })

const rejectionOf = async (promise: Promise<unknown>): Promise<unknown> => {
  try {
    await promise
  } catch (error) {
    return error
  }
  throw new Error("expected the promise to reject")
}

const expectMcpError = async (promise: Promise<unknown>, code: number): Promise<McpError> => {
  const error = await rejectionOf(promise)
  expect(error).toBeInstanceOf(McpError)
  expect((error as McpError).code).toBe(code)
  return error as McpError
}

/** The SDK's report of a progress notification whose request already settled (typescript-sdk#2580). */
const isLateProgressError = (error: Error, token?: string | number, progress?: number): boolean => {
  if (!error.message.includes("progress notification for an unknown token")) return false
  const json = error.message.slice(error.message.indexOf("{"))
  try {
    const notification = JSON.parse(json) as { params?: { progressToken?: unknown; progress?: unknown } }
    return (token === undefined || notification.params?.progressToken === token) &&
      (progress === undefined || notification.params?.progress === progress)
  } catch {
    return token === undefined && progress === undefined
  }
}

const textOf = (content: unknown): string => {
  const blocks = content as ReadonlyArray<{ type: string; text?: string }>
  return blocks.filter((b) => b.type === "text").map((b) => b.text ?? "").join("\n")
}

beforeAll(() => {
  if (!existsSync(SERVER)) throw new Error(`${SERVER} is missing: run \`npm run build\` first`)
})

// ---------------------------------------------------------------------------------------------------------------------
// Legacy era: the official SDK client
// ---------------------------------------------------------------------------------------------------------------------

describe("stdio interop with the official SDK client (legacy era)", () => {
  let client: Client
  let transport: StdioClientTransport
  let stderr: NodeJS.EventEmitter
  let stderrText = ""
  const logMessages: Array<LoggingMessageNotification["params"]> = []
  /** Every message on the wire, in order, as the transport saw it (before the SDK's own dispatch). */
  const received: Array<JSONRPCMessage> = []
  const sent: Array<JSONRPCMessage> = []
  /** Errors the SDK client reported through `onerror` (protocol violations it noticed, among others). */
  const clientErrors: Array<Error> = []

  beforeAll(async () => {
    transport = new StdioClientTransport({
      command: process.execPath,
      args: [SERVER, "--stdio"],
      stderr: "pipe",
      env: { ...getDefaultEnvironment(), MCP_LOG_FORMAT: "json" }
    })
    const stream = transport.stderr
    if (stream === null) throw new Error("stderr was not piped")
    stderr = stream
    stderr.on("data", (chunk: Buffer | string) => {
      stderrText += chunk.toString()
    })
    // Protocol.connect chains a pre-existing onmessage, so this sees every inbound message synchronously, in order.
    transport.onmessage = (message) => {
      received.push(message)
    }
    const send = transport.send.bind(transport)
    transport.send = (message) => {
      sent.push(message)
      return send(message)
    }
    client = new Client({ name: "interop-stdio-test", version: "1.0.0" }, { capabilities: {} })
    client.onerror = (error) => {
      clientErrors.push(error)
    }
    client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => {
      logMessages.push(notification.params)
    })
    await client.connect(transport)
  })

  afterAll(async () => {
    await client?.close()
  })

  it("initialize: negotiates 2025-11-25 and reports server info and capabilities", () => {
    const initialize = sent.find((m) => "method" in m && m.method === "initialize") as
      | { id: number; params: { protocolVersion: string } }
      | undefined
    expect(initialize?.params.protocolVersion).toBe("2025-11-25")
    const response = received.find((m) => "id" in m && m.id === initialize?.id && "result" in m) as
      | { result: { protocolVersion: string } }
      | undefined
    expect(response?.result.protocolVersion).toBe("2025-11-25")
    expect(sent.some((m) => "method" in m && m.method === "notifications/initialized")).toBe(true)
    const info = client.getServerVersion()
    expect(info?.name).toBe("effect-mcp-server-reference")
    expect(typeof info?.version).toBe("string")
    const capabilities = client.getServerCapabilities()
    expect(capabilities).toBeDefined()
    for (const capability of ["tools", "resources", "prompts", "completions", "logging"] as const) {
      expect(capabilities?.[capability], capability).toBeDefined()
    }
    expect(client.getInstructions()).toContain("reference server")
  })

  it("ping", async () => {
    await expect(client.ping()).resolves.toEqual({})
  })

  it("tools/list: every tool, object input schemas, add has an outputSchema", async () => {
    const { tools } = await client.listTools()
    const names = tools.map((t) => t.name)
    expect(names).toEqual(expect.arrayContaining([
      "echo",
      "add",
      "get_item",
      "long_running_operation",
      "log",
      "fail",
      "get_image",
      "get_audio",
      "get_resource_link",
      "get_embedded_resource"
    ]))
    for (const tool of tools) expect(tool.inputSchema.type, tool.name).toBe("object")
    const add = tools.find((t) => t.name === "add")!
    expect(add.outputSchema?.type).toBe("object")
    expect(add.outputSchema?.properties).toHaveProperty("sum")
    expect(add.inputSchema.properties).toHaveProperty("a")
    expect(add.inputSchema.properties).toHaveProperty("b")
    const echo = tools.find((t) => t.name === "echo")!
    expect(echo.inputSchema.required).toEqual(["text"])
    expect(echo.outputSchema).toBeUndefined()
  })

  it("tools/call echo", async () => {
    const result = await client.callTool({ name: "echo", arguments: { text: "hello, interop" } })
    expect(result.isError).toBeFalsy()
    expect(result.content).toEqual([{ type: "text", text: "hello, interop" }])
  })

  it("tools/call add: structuredContent validated by the SDK client, plus the JSON text block", async () => {
    // listTools caches the output schema, so callTool validates structuredContent against it.
    await client.listTools()
    const result = await client.callTool({ name: "add", arguments: { a: 2, b: 40.5 } })
    expect(result.isError).toBeFalsy()
    expect(result.structuredContent).toEqual({ sum: 42.5 })
    expect(JSON.parse(textOf(result.content))).toEqual({ sum: 42.5 })
  })

  it("tools/call get_item: structured output from an application service", async () => {
    await client.listTools()
    const result = await client.callTool({ name: "get_item", arguments: { id: 7 } })
    expect(result.isError).toBeFalsy()
    expect(result.structuredContent).toEqual({ id: 7, name: "Item 7", price: 17.5 })
    expect(JSON.parse(textOf(result.content))).toEqual({ id: 7, name: "Item 7", price: 17.5 })
  })

  it("tools/call fail: a tool error is a result with isError: true", async () => {
    const result = await client.callTool({ name: "fail", arguments: { reason: "because" } })
    expect(result.isError).toBe(true)
    expect(textOf(result.content)).toContain("Refused: because")
  })

  it("tools/call echo with invalid arguments: isError naming the field", async () => {
    const wrongType = await client.callTool({ name: "echo", arguments: { text: 42 } })
    expect(wrongType.isError).toBe(true)
    expect(textOf(wrongType.content)).toContain("text")
    const missing = await client.callTool({ name: "echo", arguments: {} })
    expect(missing.isError).toBe(true)
    expect(textOf(missing.content)).toContain("text")
  })

  it("tools/call of an unknown tool: McpError -32602", async () => {
    const error = await expectMcpError(client.callTool({ name: "no_such_tool", arguments: {} }), -32602)
    expect(error.message).toContain("no_such_tool")
  })

  it("tools/call content types: image, audio, resource_link, embedded resource", async () => {
    const image = await client.callTool({ name: "get_image", arguments: {} })
    expect(image.isError).toBeFalsy()
    expect(image.content).toEqual([
      { type: "text", text: expect.any(String) },
      { type: "image", data: PNG_BASE64, mimeType: "image/png" }
    ])

    const audio = await client.callTool({ name: "get_audio", arguments: {} })
    expect(audio.isError).toBeFalsy()
    const audioBlocks = audio.content as Array<{ type: string; data: string; mimeType: string }>
    expect(audioBlocks).toHaveLength(1)
    expect(audioBlocks[0]!.type).toBe("audio")
    expect(audioBlocks[0]!.mimeType).toBe("audio/wav")
    const wav = Buffer.from(audioBlocks[0]!.data, "base64")
    expect(wav.subarray(0, 4).toString("ascii")).toBe("RIFF")
    expect(wav.subarray(8, 12).toString("ascii")).toBe("WAVE")

    const link = await client.callTool({ name: "get_resource_link", arguments: {} })
    expect(link.isError).toBeFalsy()
    expect(link.content).toEqual([
      expect.objectContaining({ type: "resource_link", uri: "reference://info", name: "info", mimeType: "text/plain" })
    ])

    const embedded = await client.callTool({ name: "get_embedded_resource", arguments: {} })
    expect(embedded.isError).toBeFalsy()
    const embeddedBlocks = embedded.content as Array<{ type: string; resource: { uri: string; text?: string } }>
    expect(embeddedBlocks).toHaveLength(1)
    expect(embeddedBlocks[0]!.type).toBe("resource")
    expect(embeddedBlocks[0]!.resource.uri).toBe("reference://info")
    expect(embeddedBlocks[0]!.resource.text).toContain("effect-mcp-server reference server")
  })

  it("resources/list and resources/templates/list", async () => {
    const { resources } = await client.listResources()
    expect(resources.map((r) => r.uri)).toEqual(expect.arrayContaining([
      "reference://info",
      "reference://config.json",
      "reference://logo.png"
    ]))
    expect(resources.find((r) => r.uri === "reference://logo.png")?.mimeType).toBe("image/png")
    const { resourceTemplates } = await client.listResourceTemplates()
    expect(resourceTemplates).toEqual([
      expect.objectContaining({ uriTemplate: "reference://items/{id}", name: "item", mimeType: "application/json" })
    ])
  })

  it("resources/read: text, blob and template", async () => {
    const info = await client.readResource({ uri: "reference://info" })
    expect(info.contents).toHaveLength(1)
    expect(info.contents[0]).toMatchObject({ uri: "reference://info", mimeType: "text/plain" })
    expect((info.contents[0] as { text: string }).text).toContain("effect-mcp-server reference server")

    const logo = await client.readResource({ uri: "reference://logo.png" })
    expect(logo.contents).toHaveLength(1)
    expect(logo.contents[0]).toMatchObject({ uri: "reference://logo.png", mimeType: "image/png", blob: PNG_BASE64 })
    expect(logo.contents[0]).not.toHaveProperty("text")

    const item = await client.readResource({ uri: "reference://items/7" })
    expect(item.contents).toHaveLength(1)
    expect(item.contents[0]).toMatchObject({ uri: "reference://items/7", mimeType: "application/json" })
    expect(JSON.parse((item.contents[0] as { text: string }).text)).toEqual({ id: 7, name: "Item 7", price: 17.5 })
  })

  it("resources/read of an unknown URI: -32002 in the legacy era", async () => {
    await expectMcpError(client.readResource({ uri: "reference://nope" }), -32002)
    // A URI the template matches but whose id is out of range is not found either.
    await expectMcpError(client.readResource({ uri: "reference://items/999" }), -32002)
  })

  it("prompts/list and prompts/get", async () => {
    const { prompts } = await client.listPrompts()
    expect(prompts.map((p) => p.name)).toEqual(expect.arrayContaining(["greeting", "code_review"]))
    const greeting = prompts.find((p) => p.name === "greeting")!
    expect(greeting.arguments).toEqual(expect.arrayContaining([
      expect.objectContaining({ name: "name", required: true }),
      expect.objectContaining({ name: "style" })
    ]))
    expect(greeting.arguments?.find((a) => a.name === "style")?.required).not.toBe(true)

    const got = await client.getPrompt({ name: "greeting", arguments: { name: "Ada", style: "pirate" } })
    expect(got.messages).toEqual([{ role: "user", content: { type: "text", text: "Write a pirate greeting for Ada." } }])

    const review = await client.getPrompt({
      name: "code_review",
      arguments: { code: "const x = 1", language: "typescript" }
    })
    expect(review.messages).toHaveLength(2)
    expect(review.messages[0]).toEqual({
      role: "user",
      content: { type: "text", text: "Please review this typescript code:" }
    })
    expect(review.messages[1]).toEqual({ role: "user", content: { type: "text", text: "const x = 1" } })
  })

  it("prompts/get with a missing required argument: -32602", async () => {
    await expectMcpError(client.getPrompt({ name: "greeting", arguments: { style: "formal" } }), -32602)
    await expectMcpError(client.getPrompt({ name: "code_review", arguments: { code: "x" } }), -32602)
  })

  it("completion/complete: a prompt argument and a template variable", async () => {
    const style = await client.complete({
      ref: { type: "ref/prompt", name: "greeting" },
      argument: { name: "style", value: "p" }
    })
    expect(style.completion.values).toEqual(["pirate"])
    const allStyles = await client.complete({
      ref: { type: "ref/prompt", name: "greeting" },
      argument: { name: "style", value: "" }
    })
    expect(allStyles.completion.values).toEqual(["formal", "casual", "pirate"])

    const ids = await client.complete({
      ref: { type: "ref/resource", uri: "reference://items/{id}" },
      argument: { name: "id", value: "1" }
    })
    expect(ids.completion.values).toEqual(["1", "10", "11", "12", "13", "14", "15", "16", "17", "18", "19"])
    expect(ids.completion.hasMore).toBeFalsy()
    if (ids.completion.total !== undefined) expect(ids.completion.total).toBe(11)
  })

  it("logging: setLevel warning lets error through and filters info", async () => {
    await client.setLoggingLevel("warning")
    const before = logMessages.length

    const loud = await client.callTool({ name: "log", arguments: { level: "error", message: "interop-loud" } })
    expect(loud.isError).toBeFalsy()
    // The server sends a request's log messages before its response, so the message is here by now.
    const afterLoud = logMessages.slice(before)
    expect(afterLoud).toHaveLength(1)
    expect(afterLoud[0]).toMatchObject({ level: "error", logger: "reference", data: { message: "interop-loud" } })

    const quiet = await client.callTool({ name: "log", arguments: { level: "info", message: "interop-quiet" } })
    expect(quiet.isError).toBeFalsy()
    expect(textOf(quiet.content)).toContain("interop-quiet")
    const afterQuiet = logMessages.slice(before)
    expect(afterQuiet).toHaveLength(1)
    expect(JSON.stringify(afterQuiet)).not.toContain("interop-quiet")
  })

  it("progress: three increasing notifications with total 3, all before the response", async () => {
    const start = received.length
    const progress: Array<Progress> = []
    const result = await client.callTool(
      { name: "long_running_operation", arguments: { steps: 3, stepMs: 20 } },
      undefined,
      { onprogress: (p) => progress.push(p) }
    )
    expect(result.isError).toBeFalsy()
    expect(textOf(result.content)).toBe("Finished 3 steps")

    // On the wire: exactly 3 notifications for this request's token, strictly increasing, total 3, then the response.
    const call = sent.filter((m) => "method" in m && m.method === "tools/call").at(-1) as {
      id: number
      params: { _meta?: { progressToken?: number | string } }
    }
    const token = call.params._meta?.progressToken
    expect(token).toBeDefined()
    const after = received.slice(start)
    const wire = after.flatMap((m, index) =>
      "method" in m && m.method === "notifications/progress" && m.params?.progressToken === token
        ? [{ index, params: m.params as unknown as Progress }]
        : []
    )
    const responseIndex = after.findIndex((m) => "id" in m && m.id === call.id)
    expect(responseIndex).toBeGreaterThanOrEqual(0)
    expect(wire.map((w) => w.params.progress)).toEqual([1, 2, 3])
    for (const w of wire) {
      expect(w.params.total).toBe(3)
      expect(w.index).toBeLessThan(responseIndex)
    }

    // Through the SDK's onprogress. SDK 1.x dispatches notifications a microtask late but responses at once, so a
    // progress notification read in the same chunk as the response finds its handler already gone and is reported
    // through onerror as an "unknown token" (modelcontextprotocol/typescript-sdk#2580, a client-side race the
    // server cannot avoid). What onprogress did get must be the wire's notifications in order; any it missed must
    // be accounted for by that SDK error.
    expect(progress.length).toBeGreaterThanOrEqual(1)
    expect(progress).toEqual(wire.slice(0, progress.length).map((w) => {
      const { progressToken: _, ...rest } = w.params as Progress & { progressToken?: unknown }
      return rest
    }))
    for (let i = 1; i < progress.length; i++) expect(progress[i]!.progress).toBeGreaterThan(progress[i - 1]!.progress)
    for (const p of progress) expect(p.total).toBe(3)
    const missed = wire.slice(progress.length)
    for (const m of missed) {
      expect(clientErrors.some((e) => isLateProgressError(e, token!, m.params.progress))).toBe(true)
    }
  })

  it("cancellation: aborting interrupts the handler (its finalizer runs) and the connection still works", async () => {
    const controller = new AbortController()
    let notifications = 0
    const call = client.callTool(
      { name: "long_running_operation", arguments: { steps: 100, stepMs: 100 } },
      undefined,
      {
        signal: controller.signal,
        onprogress: () => {
          notifications += 1
          if (notifications === 1) controller.abort("test cancelled")
        }
      }
    )
    const error = await rejectionOf(call)
    expect(error).toBeDefined()
    expect(notifications).toBeGreaterThanOrEqual(1)

    const interrupted = () =>
      parseLogLines(stderrText).some((line) =>
        typeof line === "object" && line.annotations?.event === "long_running_operation.interrupted"
      )
    await waitFor(stderr, interrupted, "the long_running_operation.interrupted log line")
    expect(interrupted()).toBe(true)

    // The SDK told the server, and the server did not answer the cancelled request (checked after a later round trip).
    const request = sent.filter((m) => "method" in m && m.method === "tools/call").at(-1) as { id: number }
    expect(sent).toContainEqual(expect.objectContaining({
      method: "notifications/cancelled",
      params: expect.objectContaining({ requestId: request.id })
    }))
    await expect(client.ping()).resolves.toEqual({})
    expect(received.some((m) => "id" in m && m.id === request.id)).toBe(false)
    const echo = await client.callTool({ name: "echo", arguments: { text: "still here" } })
    expect(echo.content).toEqual([{ type: "text", text: "still here" }])
  })

  it("stderr carries JSON logs only; the SDK client reported no errors (beyond the known late-progress race)", () => {
    expect(clientErrors.filter((e) => !isLateProgressError(e)).map((e) => e.message)).toEqual([])
    const lines = parseLogLines(stderrText)
    expect(lines.length).toBeGreaterThan(0)
    for (const line of lines) expect(typeof line, String(line)).toBe("object")
    expect(lines.some((line) => typeof line === "object" && line.message === "Serving MCP over stdio")).toBe(true)
  })
})

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
    await waitFor(arrivals, () => responses.has(id), `the response to ${method} (id ${id})`)
    return responses.get(id)!
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
