// WebSocket and the deprecated HTTP+SSE transport, served in-process on 127.0.0.1 by McpHttpServer.layer: the official
// SDK client over both, and the WebSocket close codes (1001 at shutdown, 1009 oversized, 1013 refused).
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js"
import { WebSocketClientTransport } from "@modelcontextprotocol/sdk/client/websocket.js"
import { Layer, ManagedRuntime } from "effect"
import { afterEach, assert, describe, it } from "vitest"
import WebSocket from "ws"
import { McpHttpServer, ReferenceServer } from "../src/index.js"
import { initialize as initializeRequest } from "./support/Messages.js"
import { until } from "./support/Wait.js"
import { openWebSocket as open } from "./support/WebSocket.js" // Node 20 has no global WebSocket; the SDK's transport uses the global one.
;(globalThis as { WebSocket?: unknown }).WebSocket = WebSocket

const runtimes: Array<ManagedRuntime.ManagedRuntime<McpHttpServer.McpHttpServer, unknown>> = []

const start = async (options: McpHttpServer.Options = {}) => {
  const runtime = ManagedRuntime.make(
    McpHttpServer.layer({ port: 0, shutdownTimeout: "2 seconds", ...options }).pipe(
      Layer.provide(ReferenceServer.layer)
    )
  )
  runtimes.push(runtime)
  const server = await runtime.runPromise(McpHttpServer.McpHttpServer)
  return { runtime, base: `http://127.0.0.1:${server.port}`, ws: `ws://127.0.0.1:${server.port}/ws` }
}

afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((runtime) => runtime.dispose()))
})

const closed = (socket: WebSocket) =>
  new Promise<{ code: number; reason: string }>((resolve) =>
    socket.once("close", (code, reason) => resolve({ code, reason: reason.toString() }))
  )

const nextMessage = (socket: WebSocket) =>
  new Promise<any>((resolve) => socket.once("message", (data) => resolve(JSON.parse(data.toString()))))

const initialize = initializeRequest("2025-06-18")

describe("WebSocket", () => {
  it("the official SDK client: initialize, tools, structured output, progress", async () => {
    const { ws } = await start()
    const client = new Client({ name: "ws-test", version: "1.0.0" })
    await client.connect(new WebSocketClientTransport(new URL(ws)))
    assert.strictEqual(client.getServerVersion()?.name, "effect-mcp-server-reference")
    assert.strictEqual((await client.listTools()).tools.length, 15)
    const add = await client.callTool({ name: "add", arguments: { a: 2, b: 40 } })
    assert.deepStrictEqual(add.structuredContent, { sum: 42 })
    const progress: Array<number> = []
    const long = await client.callTool(
      { name: "long_running_operation", arguments: { steps: 3, stepMs: 5 } },
      undefined,
      { onprogress: (p) => progress.push(p.progress) }
    )
    assert.deepStrictEqual(long.content, [{ type: "text", text: "Finished 3 steps" }])
    assert.isAtLeast(progress.length, 1)
    await client.close()
  })

  it("negotiates the mcp subprotocol, and messages are handled in order", async () => {
    const { ws } = await start()
    const socket = await open(ws)
    assert.strictEqual(socket.protocol, "mcp")
    const replies: Array<any> = []
    socket.on("message", (data) => replies.push(JSON.parse(data.toString())))
    socket.send(JSON.stringify(initialize))
    // Sent back to back: initialize must be handled before the requests that follow it.
    for (let id = 2; id <= 6; id++) socket.send(JSON.stringify({ jsonrpc: "2.0", id, method: "ping" }))
    socket.send("{not json")
    await until(() => replies.length >= 7, "seven replies")
    assert.strictEqual(replies[0].id, 1)
    assert.strictEqual(replies[0].result.protocolVersion, "2025-06-18")
    // Requests run concurrently, so their answers may come in any order; each comes exactly once.
    assert.deepStrictEqual(replies.slice(1).map((r) => r.id).sort(), [2, 3, 4, 5, 6, null].sort())
    assert.deepStrictEqual(replies.find((r) => r.id === null), {
      jsonrpc: "2.0",
      id: null,
      error: { code: -32700, message: "Parse error: the message is not valid JSON" }
    })
    socket.close()
  })

  it("a frame over the size limit closes with 1009; the server keeps serving others", async () => {
    const { ws } = await start({ maxBodyBytes: 1000 })
    const socket = await open(ws)
    const end = closed(socket)
    socket.send("x".repeat(2000))
    assert.strictEqual((await end).code, 1009)
    const other = await open(ws)
    other.send(JSON.stringify(initialize))
    assert.strictEqual((await nextMessage(other)).id, 1)
    other.close()
  })

  it("admission: past maxStreams a WebSocket is closed with 1013 at once", async () => {
    const { ws } = await start({ maxStreams: 2 })
    const refusals: Array<number> = []
    const sockets = await Promise.all(Array.from({ length: 10 }, async () => {
      const socket = await open(ws)
      socket.once("close", (code) => refusals.push(code))
      return socket
    }))
    await until(() => refusals.length >= 8, "eight refusals", 500)
    assert.deepStrictEqual(refusals, Array(8).fill(1013))
    const admitted = sockets.filter((socket) => socket.readyState === WebSocket.OPEN)
    assert.strictEqual(admitted.length, 2)
    // The two still open are served, not merely not closed yet; and nobody else was refused meanwhile.
    for (const socket of admitted) {
      const answer = nextMessage(socket)
      socket.send(JSON.stringify(initialize))
      assert.strictEqual((await answer).id, 1)
    }
    assert.strictEqual(refusals.length, 8)
    for (const socket of admitted) socket.close()
  })

  it("keep-alive: the server pings; a peer that never answers pongs is dropped", async () => {
    const { ws } = await start({ keepAlive: "100 millis" })
    const healthy = await open(ws)
    const pinged = new Promise<void>((resolve) => healthy.once("ping", () => resolve()))
    await pinged
    const silent = await open(ws, { autoPong: false })
    const { code } = await closed(silent)
    assert.strictEqual(code, 1006, "terminated without a close frame")
    assert.strictEqual(healthy.readyState, WebSocket.OPEN, "the peer that answers pongs stays")
    healthy.close()
  })

  it("shutdown: requests in flight answer, then the socket closes with 1001", async () => {
    const { runtime, ws } = await start()
    const socket = await open(ws)
    const messages: Array<any> = []
    socket.on("message", (data) => messages.push(JSON.parse(data.toString())))
    socket.send(JSON.stringify(initialize))
    socket.send(
      JSON.stringify({
        jsonrpc: "2.0",
        id: 2,
        method: "tools/call",
        params: { name: "long_running_operation", arguments: { steps: 2, stepMs: 100 } }
      })
    )
    await until(() => messages.length >= 1, "the initialize answer")
    const end = closed(socket)
    await runtime.dispose()
    const { code } = await end
    assert.strictEqual(code, 1001)
    const answer = messages.find((m) => m.id === 2)
    assert.deepStrictEqual(answer?.result?.content, [{ type: "text", text: "Finished 2 steps" }])
  })
})

describe("deprecated HTTP+SSE transport", () => {
  it("the official SDK client over GET /sse + POST /messages", async () => {
    const { base } = await start()
    const client = new Client({ name: "sse-test", version: "1.0.0" })
    await client.connect(new SSEClientTransport(new URL(`${base}/sse`)))
    assert.strictEqual(client.getServerVersion()?.name, "effect-mcp-server-reference")
    const echo = await client.callTool({ name: "echo", arguments: { text: "over sse" } })
    assert.deepStrictEqual(echo.content, [{ type: "text", text: "over sse" }])
    const resource = await client.readResource({ uri: "reference://info" })
    assert.strictEqual(resource.contents[0]?.uri, "reference://info")
    await client.close()
  })

  it("POST /messages: unknown session 404, wrong content type 415; turned off with legacySse: false", async () => {
    const { base } = await start()
    const unknown = await fetch(`${base}/messages?sessionId=nope`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}"
    })
    assert.strictEqual(unknown.status, 404)
    assert.strictEqual(((await unknown.json()) as { error: { code: number } }).error.code, -32001)
    const text = await fetch(`${base}/messages?sessionId=nope`, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: "{}"
    })
    assert.strictEqual(text.status, 415)
    const off = await start({ legacySse: false })
    const gone = await fetch(`${off.base}/sse`, { headers: { accept: "text/event-stream" } })
    assert.strictEqual(gone.status, 404)
    await gone.body?.cancel()
  })
})
