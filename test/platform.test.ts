/**
 * The MCP endpoints in an @effect/platform app (`effect-mcp-server/platform/McpHttpApp`): a real
 * @effect/platform-node NodeHttpServer with an HttpRouter of its own (`GET /hello`) and the MCP router concatenated,
 * spoken to by the official SDK client. The platform writes nothing for a request the handler answered (one response
 * per request on the wire), no error is logged for a request or for a client that goes away, and disposing the
 * runtime is the handler's graceful shutdown, before the server closes.
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServer from "@effect/platform/HttpServer"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { ToolListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js"
import { Effect, Layer, Logger, LogLevel, ManagedRuntime } from "effect"
import * as Http from "node:http"
import * as Net from "node:net"
import { afterEach, assert, describe, it } from "vitest"
import type { McpHttpServer } from "../src/index.js"
import { McpServer, Tool } from "../src/index.js"
import * as McpHttpApp from "../src/platform/McpHttpApp.js"
import { sessionStream } from "./fixtures/Http.js"
import * as TestServer from "./fixtures/TestServer.js"
import { initialize, JSON_AND_SSE } from "./support/Messages.js"
import * as Sdk from "./support/Sdk.js"
import { until } from "./support/Wait.js"

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

interface Logged {
  readonly level: string
  readonly message: string
  readonly cause: string
}

let lateWrites = 0
const writesLate = (_req: Http.IncomingMessage, res: Http.ServerResponse) => {
  res.once("close", () =>
    setTimeout(() => {
      res.writeHead(200, { "content-type": "text/event-stream" })
      res.end("data: late\n\n")
      lateWrites++
    }, 20))
}

/** The app: the platform's node server, its own route, the MCP router; every log line is kept. */
const start = async () => {
  const logs: Array<Logged> = []
  const capture = Logger.replace(
    Logger.defaultLogger,
    Logger.make(({ cause, logLevel, message }) => {
      const text = Array.isArray(message) ? message.join(" ") : String(message)
      logs.push({ level: logLevel.label, message: text, cause: String(cause) })
    })
  )
  let handler: McpHttpServer.Handler | undefined
  const HttpLive = Layer.unwrapScoped(Effect.gen(function*() {
    const mcp = yield* McpHttpApp.make({ path: "/mcp", shutdownTimeout: "2 seconds" })
    handler = mcp.handler
    return HttpRouter.empty.pipe(
      HttpRouter.get("/hello", HttpServerResponse.unsafeJson({ hello: "from platform" })),
      HttpRouter.concat(mcp.router),
      // A handler that writes after its client went away (as the MCP handler may: a stream opened late).
      HttpRouter.get("/late", McpHttpApp.toHttpApp({ request: writesLate })),
      HttpServer.serve()
    )
  })).pipe(
    Layer.provideMerge(NodeHttpServer.layer(() => Http.createServer(), { port: 0, host: "127.0.0.1" })),
    Layer.provideMerge(TestServer.layer({ pageSize: 100 })),
    Layer.provide(Layer.merge(capture, Logger.minimumLogLevel(LogLevel.All)))
  )
  const runtime = ManagedRuntime.make(HttpLive)
  let disposed = false
  const dispose = async () => {
    if (disposed) return
    disposed = true
    await runtime.dispose()
  }
  cleanups.push(dispose)
  const address = await runtime.runPromise(HttpServer.HttpServer.pipe(Effect.map((server) => server.address)))
  assert.strictEqual(address._tag, "TcpAddress")
  const port = address._tag === "TcpAddress" ? address.port : 0
  const run = <A>(effect: Effect.Effect<A, never, McpServer.McpServer>) => runtime.runPromise(effect)
  return { base: `http://127.0.0.1:${port}`, port, handler: handler!, logs, dispose, run }
}

const connectSdk = async (url: string) => {
  const client = await Sdk.connectSdk(url, "platform-test")
  cleanups.push(() => client.close())
  return client
}

/**
 * Log lines at warning or above, or an unhandled fiber failure (logged at debug by the runtime). The platform's own
 * 404 (its router's `RouteNotFound`, for a path the app does not route) is logged so for every such request: that
 * one is the app's, not the MCP handler's, and is left out.
 */
const problems = (logs: ReadonlyArray<Logged>) =>
  logs.filter((l) =>
    (l.level === "WARN" || l.level === "ERROR" || l.level === "FATAL" || /unhandled|Fiber terminated/i.test(l.message))
    && !/^RouteNotFound/.test(l.cause)
  )

/** Writes raw bytes on one socket and reads until the server closes it. */
const rawExchange = (port: number, payload: string) =>
  new Promise<string>((resolve, reject) => {
    const socket = Net.connect(port, "127.0.0.1")
    let data = ""
    socket.setEncoding("utf8")
    socket.on("data", (chunk: string) => (data += chunk))
    socket.on("end", () => resolve(data))
    socket.on("error", reject)
    socket.write(payload)
    setTimeout(() => {
      socket.destroy()
      resolve(data)
    }, 3_000).unref()
  })

describe("McpHttpApp in a NodeHttpServer app", () => {
  it("the SDK client initializes, lists and calls tools; the app's own route and 404s are the app's; no errors logged", async () => {
    const { base, handler, logs, run } = await start()
    const client = await connectSdk(`${base}/mcp`)
    assert.strictEqual(client.getServerVersion()?.name, "test-server")
    assert.include((await client.listTools()).tools.map((t) => t.name), "echo")
    assert.strictEqual(
      Sdk.resultText(await client.callTool({ name: "echo", arguments: { text: "via platform" } })),
      "via platform"
    )
    const hello = await fetch(`${base}/hello`)
    assert.strictEqual(hello.status, 200)
    assert.deepStrictEqual(await hello.json(), { hello: "from platform" })
    assert.strictEqual((await fetch(`${base}/nothing-here`)).status, 404)
    // Probes are the app's unless asked for.
    assert.strictEqual((await fetch(`${base}/health`)).status, 404)

    // The legacy session's GET stream: a tool added while serving reaches the client as list_changed.
    let changed = 0
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      changed++
    })
    await until(() => handler.openStreams() === 1, "the SDK client's GET stream is open")
    await run(McpServer.putTool(Tool.make({ name: "late", handler: () => Effect.succeed("late") })))
    await until(() => changed === 1, "list_changed arrived on the GET stream")
    assert.include((await client.listTools()).tools.map((t) => t.name), "late")

    // The client goes away with its stream open: the platform is not left to answer a closed response.
    await client.close()
    await until(() => handler.openStreams() === 0, "the GET stream ended with the client")
    await new Promise((resolve) => setTimeout(resolve, 50))
    assert.deepStrictEqual(problems(logs), [])
  })

  it("one response per request on the wire: refusals, errors and answers are written once, by the handler", async () => {
    const { logs, port } = await start()
    const init = JSON.stringify(initialize("2025-06-18"))
    const request = (headers: Record<string, string>, body = init) =>
      `POST /mcp HTTP/1.1\r\n${
        Object.entries({
          host: `127.0.0.1:${port}`,
          ...JSON_AND_SSE,
          "content-length": String(Buffer.byteLength(body)),
          ...headers
        })
          .map(([k, v]) => `${k}: ${v}\r\n`).join("")
      }\r\n${body}`
    const wire = await rawExchange(
      port,
      // Refused synchronously (403, DNS rebinding), a parse error (400), an answer (200), then a 405 that closes.
      request({ host: "evil.example" }) +
        request({}, "{not json") +
        request({}) +
        `PUT /mcp HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`
    )
    const statuses = [...wire.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]))
    assert.deepStrictEqual(statuses, [403, 400, 200, 405], wire)
    assert.deepStrictEqual(problems(logs), [])
  })

  it("a client that goes away first: the platform writes nothing, the handler may still write late", async () => {
    const { logs, port } = await start()
    const before = lateWrites
    const socket = Net.connect(port, "127.0.0.1")
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()))
    socket.write(`GET /late HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\n\r\n`)
    await new Promise((resolve) => setTimeout(resolve, 50))
    socket.destroy()
    await until(() => lateWrites === before + 1, "the late write")
    await new Promise((resolve) => setTimeout(resolve, 50))
    assert.deepStrictEqual(problems(logs), [])
  })

  it("disposing the runtime ends open streams with their final event, then the server closes", async () => {
    const { base, dispose, handler, logs } = await start()
    const { untilShutdown: events } = await sessionStream(`${base}/mcp`)
    await until(() => handler.openStreams() === 1, "the GET stream is open")
    const started = Date.now()
    const disposing = dispose()
    const read = await events
    assert.strictEqual(read.events.at(-1)?.event, "shutdown")
    await disposing
    assert.isBelow(Date.now() - started, 2_000, "shutdown did not wait for the deadline")
    assert.isFalse(handler.ready())
    assert.strictEqual(await Effect.runPromise(handler.activeRequests), 0)
    assert.strictEqual(handler.sessions(), 0)
    // The server is closed: nothing listens any more.
    const refused = await fetch(`${base}/hello`).then(() => "answered", (error: Error) => String(error.cause ?? error))
    assert.match(refused, /ECONNREFUSED/)
    assert.deepStrictEqual(problems(logs), [])
  })
})
