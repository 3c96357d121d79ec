/**
 * The MCP endpoints mounted in apps of their own (`McpHttpServer.handler`): a real Express 5 app and a real Hono app
 * (`@hono/node-server`), each with routes of its own beside `/mcp`, spoken to by the official SDK client. The
 * guards, the legacy session's GET stream, WebSocket upgrades and the graceful shutdown come with the handler.
 */
import { serve as serveHono } from "@hono/node-server"
import { RESPONSE_ALREADY_SENT } from "@hono/node-server/utils/response"
import { ToolListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js"
import { Effect, Exit, Layer, Scope } from "effect"
import express from "express"
import { Hono } from "hono"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { afterEach, assert, describe, it } from "vitest"
import WebSocket from "ws"
import { McpHttpServer, McpServer, Tool } from "../src/index.js"
import { sessionStream } from "./fixtures/Http.js"
import * as TestServer from "./fixtures/TestServer.js"
import { initialize, JSON_AND_SSE } from "./support/Messages.js"
import * as Sdk from "./support/Sdk.js"
import { until } from "./support/Wait.js"

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** The handler and the server it serves, alive until the scope closes. */
const mount = async (options: McpHttpServer.HandlerOptions = {}) => {
  const scope = await Effect.runPromise(Scope.make())
  const context = await Effect.runPromise(Layer.buildWithScope(TestServer.layer({ pageSize: 100 }), scope))
  const mcp = await Effect.runPromise(
    McpHttpServer.handler({ shutdownTimeout: "2 seconds", ...options }).pipe(
      Effect.provide(context),
      Scope.extend(scope)
    )
  )
  let closed = false
  const close = async () => {
    if (closed) return
    closed = true
    await Effect.runPromise(Scope.close(scope, Exit.void))
  }
  cleanups.push(close)
  const run = <A>(effect: Effect.Effect<A, never, McpServer.McpServer>) =>
    Effect.runPromise(Effect.provide(effect, context))
  return { mcp, close, run }
}

const listen = async (server: Http.Server) => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  cleanups.push(() =>
    new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  )
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

const connectSdk = async (url: string) => {
  const client = await Sdk.connectSdk(url, "mount-test")
  cleanups.push(() => client.close())
  return client
}

describe("Express 5", () => {
  it("app.use(mcp.request): the SDK client calls tools on /mcp; the app's own routes and 404s are the app's", async () => {
    const { mcp } = await mount()
    const app = express()
    app.get("/hello", (_req, res) => {
      res.json({ hello: "from express" })
    })
    app.use(mcp.request)
    app.use((_req, res) => {
      res.status(404).json({ express: "not found" })
    })
    const base = await listen(Http.createServer(app))
    const client = await connectSdk(`${base}/mcp`)
    assert.strictEqual(client.getServerVersion()?.name, "test-server")
    const tools = await client.listTools()
    assert.include(tools.tools.map((t) => t.name), "echo")
    assert.strictEqual(
      Sdk.resultText(await client.callTool({ name: "echo", arguments: { text: "via express" } })),
      "via express"
    )
    assert.deepStrictEqual(await (await fetch(`${base}/hello`)).json(), { hello: "from express" })
    const missing = await fetch(`${base}/nothing-here`)
    assert.strictEqual(missing.status, 404)
    assert.deepStrictEqual(await missing.json(), { express: "not found" })
    // Probes are the app's unless asked for.
    assert.strictEqual((await fetch(`${base}/health`)).status, 404)
  })

  it("behind express.json(): the parsed body is taken as it is, the guards still apply", async () => {
    const { mcp } = await mount()
    const app = express()
    app.use(express.json({ limit: "10mb" }))
    app.use(mcp.request)
    const base = await listen(Http.createServer(app))
    const client = await connectSdk(`${base}/mcp`)
    assert.strictEqual(
      Sdk.resultText(await client.callTool({ name: "echo", arguments: { text: "parsed first" } })),
      "parsed first"
    )
    // DNS rebinding: a foreign Host is refused before anything runs.
    const rebound = await new Promise<number>((resolve, reject) => {
      const req = Http.request(`${base}/mcp`, {
        method: "POST",
        headers: { ...JSON_AND_SSE, host: "evil.example" }
      }, (res) => {
        res.resume()
        resolve(res.statusCode ?? 0)
      })
      req.on("error", reject)
      req.end(JSON.stringify(initialize("2025-06-18")))
    })
    assert.strictEqual(rebound, 403)
    // Nesting past the bound, already parsed by express.json(): refused, not recursed into.
    let deep: unknown = 1
    for (let i = 0; i < 200; i++) deep = [deep]
    const nested = await fetch(`${base}/mcp`, {
      method: "POST",
      headers: JSON_AND_SSE,
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping", params: { deep } })
    })
    assert.strictEqual(nested.status, 400)
    assert.strictEqual(((await nested.json()) as { error: { code: number } }).error.code, -32600)
  })

  it("WebSocket upgrades on /ws go to mcp.upgrade; other upgrades are the app's", async () => {
    const { mcp } = await mount()
    const app = express()
    app.use(mcp.request)
    const server = Http.createServer(app)
    let others = 0
    server.on("upgrade", (req, socket, head) => {
      if (mcp.upgrade(req, socket, head)) return
      others++
      socket.destroy()
    })
    const base = await listen(server)
    const ws = new WebSocket(`${base.replace("http", "ws")}/ws`, "mcp")
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve())
      ws.once("error", reject)
    })
    const answer = new Promise<unknown>((resolve) => ws.once("message", (data) => resolve(JSON.parse(String(data)))))
    ws.send(JSON.stringify(initialize("2025-06-18")))
    const init = (await answer) as { result: { serverInfo: { name: string } } }
    assert.strictEqual(init.result.serverInfo.name, "test-server")
    ws.close()
    const other = new WebSocket(`${base.replace("http", "ws")}/elsewhere`)
    await new Promise<void>((resolve) => {
      other.once("error", () => resolve())
      other.once("close", () => resolve())
    })
    assert.strictEqual(others, 1)
  })
})

describe("Hono (@hono/node-server)", () => {
  it("app.all('/mcp') hands the node request to mcp.request: SDK client, list_changed on the GET stream", async () => {
    const { mcp, run } = await mount()
    const app = new Hono<{ Bindings: { incoming: Http.IncomingMessage; outgoing: Http.ServerResponse } }>()
    app.get("/hello", (c) => c.json({ hello: "from hono" }))
    app.all("/mcp", (c) => {
      mcp.request(c.env.incoming, c.env.outgoing)
      return RESPONSE_ALREADY_SENT
    })
    const server = serveHono({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }) as Http.Server
    await new Promise<void>((resolve) => server.once("listening", () => resolve()))
    cleanups.push(() =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
    )
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    assert.deepStrictEqual(await (await fetch(`${base}/hello`)).json(), { hello: "from hono" })
    const client = await connectSdk(`${base}/mcp`)
    let changed = 0
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      changed++
    })
    assert.strictEqual(
      Sdk.resultText(await client.callTool({ name: "echo", arguments: { text: "via hono" } })),
      "via hono"
    )
    // The SDK opens the session's GET stream after initialization; a tool added while serving reaches it.
    await until(() => mcp.openStreams() === 1, "the SDK client's GET stream is open")
    await run(McpServer.putTool(Tool.make({ name: "late", handler: () => Effect.succeed("late") })))
    await until(() => changed === 1, "list_changed arrived on the GET stream")
    assert.include((await client.listTools()).tools.map((t) => t.name), "late")
  })
})

describe("graceful shutdown of a mounted handler", () => {
  it("closing its Scope ends the open streams with their final event and answers new requests 503", async () => {
    const { mcp, close } = await mount()
    const server = Http.createServer((req, res) => mcp.request(req, res))
    const base = await listen(server)
    const { untilShutdown: events } = await sessionStream(`${base}/mcp`)
    await until(() => mcp.openStreams() === 1, "the GET stream is open")
    const closing = close()
    const read = await events
    assert.strictEqual(read.events.at(-1)?.event, "shutdown")
    await closing
    assert.isFalse(mcp.ready())
    const late = await fetch(`${base}/mcp`, {
      method: "POST",
      headers: JSON_AND_SSE,
      body: JSON.stringify(initialize("2025-06-18"))
    })
    assert.strictEqual(late.status, 503)
    assert.strictEqual(await Effect.runPromise(mcp.activeRequests), 0)
  })
})
