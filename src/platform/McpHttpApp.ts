/**
 * The MCP endpoints in an `@effect/platform` app served by `@effect/platform-node`'s `NodeHttpServer`: an `HttpApp`
 * (and an `HttpRouter` with `/mcp`, `/sse` and `/messages`) that hands each request's node objects to
 * `McpHttpServer.handler`, so every guard, limit and stream of the standalone server applies.
 *
 * This is the slower path: the platform wraps each request and response and runs a fiber of its own per request
 * before the handler's; a `tools/call` costs more here than through `McpHttpServer.layer` (see the README for the
 * measured figures). It needs `@effect/platform` and `@effect/platform-node` (optional peer dependencies); the rest
 * of the library does not. Import it by its path: `effect-mcp-server/platform/McpHttpApp`.
 *
 * How the platform is kept from answering: the handler writes the node response itself; this app waits until that
 * response has ended (or the client went away: the response is then marked ended), and only then returns. The platform's node
 * server writes nothing for a response that has already ended (its `handleResponse` returns at once when
 * `writableEnded`), so nothing is written twice. The `HttpServerResponse` returned carries the status the handler
 * sent, for the platform's logger and tracer.
 *
 * Not served: WebSocket (`/ws`). The platform's node server runs upgrades through the app without handing out the
 * socket and its first bytes, so `websocket` is always off here.
 *
 * @since 0.1.0
 */
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import type { Scope } from "effect"
import { Effect } from "effect"
import * as Http from "node:http"
import * as McpHttpServer from "../http/McpHttpServer.js"
import type * as Routes from "../http/Routes.js"
import type { McpServer } from "../server/McpServer.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface McpHttpApp {
  /** Every request it is given goes to the handler (paths it does not serve are answered 404 by the handler). */
  readonly app: HttpRouter.Route.Handler<never, never>
  /**
   * The MCP paths, to add to your router with `HttpRouter.concat`: the endpoint (all methods), `GET /sse` and
   * `POST /messages` unless `legacySse: false` (other methods there are answered 405 by the handler), and the
   * probes when `probes: true`.
   */
  readonly router: HttpRouter.HttpRouter<never, never>
  /** The node handler underneath: readiness, counters, `shutdown`. */
  readonly handler: McpHttpServer.Handler
}

/**
 * Waits until the response has ended. One the client closed first is marked ended (its `writableEnded` only): the
 * platform then leaves it alone (its `writeHead` would throw on headers already sent), while the handler may still
 * write to it as to any closed response (calling `end()` here would send headers, and a late `writeHead` of the
 * handler would throw).
 */
const ended = (res: Http.ServerResponse): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    if (res.writableEnded) return resume(Effect.void)
    const done = () => {
      res.off("finish", done)
      res.off("close", done)
      if (!res.writableEnded) Object.defineProperty(res, "writableEnded", { value: true, configurable: true })
      resume(Effect.void)
    }
    res.on("finish", done)
    res.on("close", done)
    return Effect.sync(() => {
      res.off("finish", done)
      res.off("close", done)
    })
  })

const notNode = HttpServerResponse.text(
  "effect-mcp-server/platform/McpHttpApp serves requests of @effect/platform-node's NodeHttpServer only",
  { status: 500 }
)

/**
 * An `HttpApp` (also a route handler) that serves each request with a node-style handler: the node request and
 * response of `@effect/platform-node`'s server are handed over as they are, and the app returns once the handler
 * has ended the response. The handler sees the request's full URL: mount it at the paths it serves (not under a
 * prefix that `HttpRouter.mount` strips) and before anything reads the body.
 *
 * @since 0.1.0
 * @category constructors
 */
export const toHttpApp = (handler: Pick<Routes.Handlers, "request">): HttpRouter.Route.Handler<never, never> =>
  Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
    const req = NodeHttpServerRequest.toIncomingMessage(request)
    if (!(req instanceof Http.IncomingMessage)) return notNode
    const res = NodeHttpServerRequest.toServerResponse(request)
    handler.request(req, res)
    return Effect.as(ended(res), HttpServerResponse.empty({ status: res.statusCode }))
  })

/**
 * Builds `McpHttpServer.handler(options)` (WebSocket off) and its app and router. The Scope's end is the handler's
 * graceful shutdown: build it in a Layer that the platform's server Layer is provided to, so that it ends (streams
 * ended, requests given the grace, sessions closed) before the server closes.
 *
 * ```ts
 * const HttpLive = Layer.unwrapScoped(Effect.gen(function*() {
 *   const mcp = yield* McpHttpApp.make({ path: "/mcp" })
 *   return HttpRouter.empty.pipe(
 *     HttpRouter.get("/hello", HttpServerResponse.text("hello")),
 *     HttpRouter.concat(mcp.router),
 *     HttpServer.serve()
 *   )
 * })).pipe(Layer.provide(NodeHttpServer.layer(Http.createServer, { port: 3000 })), Layer.provide(MyServer))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Omit<McpHttpServer.HandlerOptions, "websocket"> = {}
): Effect.Effect<McpHttpApp, never, McpServer | Scope.Scope> =>
  Effect.map(McpHttpServer.handler({ ...options, websocket: false }), (handler) => {
    const app = toHttpApp(handler)
    let router = HttpRouter.all(HttpRouter.empty, (options.path ?? "/mcp") as HttpRouter.PathInput, app)
    if (options.legacySse !== false) {
      router = router.pipe(HttpRouter.all("/sse", app), HttpRouter.all("/messages", app))
    }
    if (options.probes === true) router = router.pipe(HttpRouter.get("/health", app), HttpRouter.get("/ready", app))
    return { app, router, handler }
  })
