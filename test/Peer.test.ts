// Who is asking reaches handlers (McpContext.peer) and interceptors (Context.peer) on every transport: the
// transport's name, the legacy session id where there is one, the remote address, no principal without auth.
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import { WebSocketClientTransport } from "@modelcontextprotocol/sdk/client/websocket.js"
import { Effect, Layer, ManagedRuntime, Schema } from "effect"
import { afterEach, assert, describe, it } from "vitest"
import WebSocket from "ws"
import { Interceptor, McpContext, McpHttpServer, McpServer, McpTest, Tool } from "../src/index.js"
import type { Peer } from "../src/server/Peer.js"
import { JSON_AND_SSE, modernHeaders, modernMeta } from "./support/Messages.js"
;(globalThis as { WebSocket?: unknown }).WebSocket = WebSocket

const WhoAmI = Tool.make({
  name: "whoami",
  parameters: Schema.Struct({}),
  handler: () => Effect.map(McpContext.peer, (peer) => JSON.stringify(peer))
})

const seen: Array<Peer> = []
const recordPeers: Interceptor.Interceptor = {
  name: "record-peers",
  inbound: (_message, context) =>
    Effect.sync(() => {
      seen.push(context.peer)
      return Interceptor.Continue
    })
}

const server = Interceptor.layer(recordPeers).pipe(
  Layer.provideMerge(McpServer.tool(WhoAmI)),
  Layer.provideMerge(McpServer.layer({ name: "peer", version: "1" }))
)

const runtimes: Array<ManagedRuntime.ManagedRuntime<McpHttpServer.McpHttpServer, unknown>> = []
afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((runtime) => runtime.dispose()))
  seen.length = 0
})

const start = async () => {
  const runtime = ManagedRuntime.make(
    McpHttpServer.layer({ port: 0, shutdownTimeout: "1 second" }).pipe(Layer.provide(server))
  )
  runtimes.push(runtime)
  return (await runtime.runPromise(McpHttpServer.McpHttpServer)).port
}

// As JSON: fields that are undefined (no principal without auth) are absent.
const whoami = async (client: Client): Promise<Partial<Peer>> => {
  const result = await client.callTool({ name: "whoami", arguments: {} })
  return JSON.parse((result.content as Array<{ text: string }>)[0]!.text)
}

describe("Peer", () => {
  it("legacy Streamable HTTP: transport http, the session id, the remote address", async () => {
    const port = await start()
    const transport = new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`))
    const client = new Client({ name: "peer", version: "1" })
    await client.connect(transport)
    const peer = await whoami(client)
    assert.deepStrictEqual(peer, { transport: "http", sessionId: transport.sessionId, remoteAddress: "127.0.0.1" })
    assert.isTrue(seen.some((p) => p.sessionId === transport.sessionId && p.transport === "http"))
    await client.close()
  })

  it("modern Streamable HTTP: transport http, no session", async () => {
    const port = await start()
    const res = await fetch(`http://127.0.0.1:${port}/mcp`, {
      method: "POST",
      headers: { ...JSON_AND_SSE, ...modernHeaders("tools/call", "whoami") },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "tools/call",
        params: { name: "whoami", arguments: {}, _meta: modernMeta }
      })
    })
    const body = (await res.json()) as { result: { content: Array<{ text: string }> } }
    assert.deepStrictEqual(JSON.parse(body.result.content[0]!.text), { transport: "http", remoteAddress: "127.0.0.1" })
    assert.deepStrictEqual(seen.map((p) => p.transport), ["http"])
  })

  it("WebSocket and the old HTTP+SSE transport", async () => {
    const port = await start()
    const ws = new Client({ name: "peer", version: "1" })
    await ws.connect(new WebSocketClientTransport(new URL(`ws://127.0.0.1:${port}/ws`)))
    assert.deepStrictEqual(await whoami(ws), { transport: "websocket", remoteAddress: "127.0.0.1" })
    await ws.close()
    const sse = new Client({ name: "peer", version: "1" })
    const sseTransport = new SSEClientTransport(new URL(`http://127.0.0.1:${port}/sse`))
    await sse.connect(sseTransport)
    const peer = await whoami(sse)
    assert.strictEqual(peer.transport, "sse")
    assert.strictEqual(peer.remoteAddress, "127.0.0.1")
    assert.match(peer.sessionId ?? "", /^[0-9a-f-]{36}$/)
    await sse.close()
  })

  it("McpTest: transport memory", () =>
    Effect.runPromise(
      Effect.scoped(Effect.gen(function*() {
        const client = yield* McpTest.connect()
        const result = yield* client.callTool("whoami", {})
        assert.deepStrictEqual(JSON.parse((result.content[0] as { text: string }).text), { transport: "memory" })
      })).pipe(Effect.provide(server))
    ))
})
