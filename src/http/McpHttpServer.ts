/**
 * The HTTP face: a thin adapter over `node:http`, not @effect/platform's HttpServer (whose request and response
 * wrapping cost more per request than this whole path: measured when the project began). The server is created and closed in this Layer's Scope; each request is one
 * fiber forked into a FiberSet from a prebuilt runtime; no routing, tracing or logging framework sits on the path.
 *
 * Routes: `/mcp` (Streamable HTTP, both eras), `GET /sse` and `POST /messages` (the HTTP+SSE transport), `/ws`
 * (WebSocket), `GET /health` (liveness), `GET /ready` (readiness; false while shutting down), and with
 * authorization (`auth`, see Auth) `/.well-known/oauth-protected-resource[/mcp]`. Routes.ts answers node:http's
 * events: each route's guards, in order, then (authorization on) the request's token, then the route's handler.
 *
 * Shutdown (invariant 5): readiness goes false and the server stops accepting; every open stream gets its final
 * event and ends; requests in flight get the rest of the shutdown deadline to finish; then whatever is left is
 * interrupted (a request cut short is answered with an error, not dropped), sessions end, and idle keep-alive
 * sockets are closed.
 *
 * @since 0.1.0
 */
import type { Scope } from "effect"
import { Clock, Config, ConfigError, Context, Duration, Effect, Either, FiberSet, Layer, Option } from "effect"
import * as Fs from "node:fs"
import * as Http from "node:http"
import * as Http2 from "node:http2"
import type { AddressInfo, Socket } from "node:net"
import * as JsonRpc from "../protocol/JsonRpc.js"
import { McpServer } from "../server/McpServer.js"
import * as RateLimit from "../server/RateLimit.js"
import * as Settings from "../Settings.js"
import * as Auth from "./Auth.js"
import * as Guards from "./Guards.js"
import * as H2 from "./Http2.js"
import * as LegacySse from "./LegacySse.js"
import * as Response from "./Response.js"
import * as Routes from "./Routes.js"
import * as StreamableHttp from "./StreamableHttp.js"
import * as Streams from "./Streams.js"
import * as WebSocket from "./WebSocket.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options extends StreamableHttp.Options {
  /** Default 127.0.0.1. */
  readonly host?: string
  /** Default 3000; 0 picks a free port. */
  readonly port?: number
  /** The MCP endpoint. Default "/mcp". */
  readonly path?: string
  /** Largest accepted request body. Default 4 MiB. */
  readonly maxBodyBytes?: number
  /** Extra hostnames accepted in Host (and Origin) headers, for deployments behind a name. */
  readonly allowedHosts?: ReadonlyArray<string>
  /** Extra origins accepted in the Origin header ("*" for any). */
  readonly allowedOrigins?: ReadonlyArray<string>
  /** Most long-lived streams (SSE, WebSocket) across the server; past it, 503. Default 10,000. */
  readonly maxStreams?: number
  /** Interval of SSE keep-alive comments. Default 15 s. */
  readonly keepAlive?: Duration.DurationInput
  /** The whole graceful shutdown, from signal to closed sockets. Default 5 s. */
  readonly shutdownTimeout?: Duration.DurationInput
  /** Slowloris protection: time allowed to receive the request headers. Default 10 s. */
  readonly headersTimeout?: Duration.DurationInput
  /** Time allowed to receive a whole request (headers and body; not the response). Default 30 s. */
  readonly requestTimeout?: Duration.DurationInput
  /** Idle keep-alive sockets close after this. Default 5 s. */
  readonly keepAliveTimeout?: Duration.DurationInput
  /** Serve the deprecated HTTP+SSE transport (`GET /sse`, `POST /messages`). Default true. */
  readonly legacySse?: boolean
  /** Serve WebSocket upgrades on `/ws`. Default true. */
  readonly websocket?: boolean
  /**
   * Most bytes queued for one peer that does not read (a WebSocket, an old SSE stream) and of its POSTs waiting
   * (old SSE); past it the peer is cut off, or its POST refused with 503. Default 8 MiB.
   */
  readonly maxQueuedBytes?: number
  /**
   * Serve HTTPS with this certificate (chain) and private key, PEM (strings or Buffers; the CLI's `--tls-cert` and
   * `--tls-key` read them from files): HTTP/2 and HTTP/1.1 on the same port, chosen by ALPN (`h2`, `http/1.1`), every
   * endpoint on both; many SSE streams of one client share one HTTP/2 connection. WebSocket (`/ws`) is served over
   * HTTP/1.1 only (a client offering only `h2` gets 426 on /ws). Graceful shutdown sends each HTTP/2 connection a
   * GOAWAY and lets its open streams end. Default: none (plain HTTP/1.1).
   */
  readonly tls?: { readonly cert: string | Buffer; readonly key: string | Buffer }
  /**
   * Without `tls`: also serve cleartext HTTP/2 (h2c) on the same port beside HTTP/1.1, for a reverse proxy that
   * speaks HTTP/2 to its upstreams. Prior knowledge only: Node has no h2c Upgrade from HTTP/1.1. Default false.
   */
  readonly h2c?: boolean
  /**
   * Require OAuth 2.1 bearer tokens (the MCP authorization spec; see Auth): every MCP request over HTTP authenticated
   * against this authorization server, Protected Resource Metadata served. Default: the `Auth.Authorization` in
   * context (`Auth.layer`, `Auth.layerConfig`), else none (anonymous).
   */
  readonly auth?: Auth.Options | undefined
}

/**
 * @since 0.1.0
 * @category tags
 */
export class McpHttpServer extends Context.Tag("effect-mcp-server/McpHttpServer")<McpHttpServer, {
  readonly host: string
  readonly port: number
  /** The MCP endpoint's URL. */
  readonly url: string
  readonly ready: () => boolean
  readonly sessions: () => number
  readonly openStreams: () => number
  /** Fibers of HTTP requests and connections (POSTs in flight, open streams, WebSockets) still running. */
  readonly activeRequests: Effect.Effect<number>
}>() {}

const millis = (input: Duration.DurationInput) => Duration.toMillis(Duration.decode(input))

/**
 * The options of a handler mounted in a server of your own: those of `make` that do not concern the listening socket.
 *
 * @since 0.1.0
 * @category models
 */
export interface HandlerOptions
  extends Omit<Options, "host" | "port" | "headersTimeout" | "requestTimeout" | "keepAliveTimeout">
{
  /**
   * Host names the server is reached by, for the DNS-rebinding check of Host and Origin. Default: loopback names
   * only (as a server listening on 127.0.0.1); add your public names (or use `allowedHosts`).
   */
  readonly loopback?: boolean
  /** Serve `GET /health` and `GET /ready`. Default false (an app has its own). */
  readonly probes?: boolean
}

/**
 * The MCP endpoints as node:http handlers, to mount in a server or framework of your own (node:http, Express,
 * Connect, Fastify's raw handlers, Hono's node adapter): every guard, limit and stream of `make`, and its graceful
 * shutdown when the Scope closes (readiness false, streams ended, requests given the grace, sessions closed).
 *
 * ```ts
 * const mcp = yield* McpHttpServer.handler({ path: "/mcp" })
 * app.use(mcp.request)                    // Express: serves /mcp, /sse, /messages; other paths go to next()
 * server.on("upgrade", (req, socket, head) => mcp.upgrade(req, socket, head) || socket.destroy())
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Handler extends Routes.Handlers {
  readonly ready: () => boolean
  readonly sessions: () => number
  readonly openStreams: () => number
  /** Fibers of HTTP requests and connections still running. */
  readonly activeRequests: Effect.Effect<number>
  /**
   * Stops taking requests (new ones get 503), ends every stream, gives requests in flight until the shutdown
   * deadline, then interrupts the rest and closes every session. Runs once; the Scope's end runs it too.
   */
  readonly shutdown: Effect.Effect<void>
}

/** The scopes the registry's tools, prompts, resources and templates declare (listed in the resource's metadata). */
const declaredScopes = (registry: ReturnType<McpServer["Type"]["currentRegistry"]>): ReadonlyArray<string> => {
  const scopes = new Set<string>()
  const add = (declared: ReadonlyArray<string> | undefined) => declared?.forEach((scope) => scopes.add(scope))
  for (const tool of registry.tools.values()) add(tool.scopes)
  for (const prompt of registry.prompts.values()) add(prompt.scopes)
  for (const resource of registry.resources.values()) add(resource.scopes)
  for (const template of registry.templates) add(template.scopes)
  return [...scopes]
}

/**
 * Builds the MCP endpoints' handlers; the Scope's end is their graceful shutdown.
 *
 * @since 0.1.0
 * @category constructors
 */
export const handler = (
  options: HandlerOptions = {}
): Effect.Effect<Handler, never, McpServer | Scope.Scope> =>
  Effect.gen(function*() {
    const path = options.path ?? "/mcp"
    const maxBodyBytes = options.maxBodyBytes ?? Settings.maxBodyBytes.default
    const policy: Guards.OriginPolicy = {
      loopback: options.loopback ?? true,
      allowedHosts: options.allowedHosts ?? [],
      allowedOrigins: options.allowedOrigins ?? []
    }
    const requests = yield* FiberSet.make<unknown, unknown>()
    const streams = yield* Streams.make({ keepAlive: options.keepAlive ?? Settings.keepaliveMs.default })
    const streamPermits = yield* Effect.makeSemaphore(options.maxStreams ?? Settings.maxStreams.default)
    const auth = options.auth !== undefined ? Auth.make(options.auth) : yield* Auth.Authorization
    const mcp = yield* StreamableHttp.make(options, { streams, streamPermits, auth })
    // Every connection transport gets the same per-connection limits as a Streamable HTTP session.
    const connection = {
      maxInFlight: options.maxInFlightPerSession ?? Settings.maxInFlightPerSession.default,
      ...(options.maxQueuedBytes === undefined ? {} : { maxQueuedBytes: options.maxQueuedBytes })
    }
    const legacySse = options.legacySse === false ? undefined : LegacySse.make({ streams, streamPermits, connection })
    const websocket = options.websocket === false
      ? undefined
      : WebSocket.make({ maxMessageBytes: maxBodyBytes, streams, streamPermits, connection })
    if (websocket !== undefined) yield* Effect.addFinalizer(() => Effect.sync(websocket.close))
    let ready = true
    const mcpServer = yield* McpServer
    const routes = Routes.make({
      path,
      maxBodyBytes,
      policy,
      ready: () => ready,
      mcp,
      legacySse,
      websocket,
      run: yield* FiberSet.runtime(requests)<McpServer>(),
      probes: options.probes ?? false,
      auth,
      scopesSupported: () => declaredScopes(mcpServer.currentRegistry()),
      readiness: yield* Routes.Readiness
    })

    let shutdownStarted = false
    const shutdown = Effect.suspend(() => {
      if (shutdownStarted) return Effect.void
      shutdownStarted = true
      ready = false
      return Effect.gen(function*() {
        const deadline = millis(options.shutdownTimeout ?? Settings.shutdownTimeoutMs.default)
        const started = yield* Clock.currentTimeMillis
        // Requests in flight get most of the deadline; a margin is kept for interrupting and closing.
        // Under load the timers fire late and interrupting takes time, so the margins grow with the deadline.
        const grace = Math.max(0, deadline - Math.max(500, deadline / 10))
        // Connections (WebSocket, old SSE) interrupt and answer what is still in flight a little before the grace
        // ends, so their error answers go out before whatever is left is cut.
        yield* streams.closeAll(started + Math.max(0, grace - Math.max(300, deadline / 10)))
        // Modern subscriptions/listen streams end gracefully: their final result, then the stream closes.
        mcpServer.notifications.endAll()
        const stage = (name: string) =>
          Effect.flatMap(
            Clock.currentTimeMillis,
            (now) => Effect.logDebug(`Shutdown: ${name}`).pipe(Effect.annotateLogs({ millis: now - started }))
          )
        yield* stage("streams told to end")
        // Finalizers run uninterruptibly: the waiting must be made interruptible, or the timeout could not stop it.
        const settled = yield* Effect.timeoutOption(Effect.interruptible(FiberSet.awaitEmpty(requests)), grace)
        if (Option.isNone(settled)) {
          yield* Effect.logWarning("Requests still in flight at the shutdown deadline; interrupting them").pipe(
            Effect.annotateLogs({ inFlight: yield* FiberSet.size(requests) })
          )
        }
        yield* stage("requests settled")
        yield* FiberSet.clear(requests)
        yield* stage("requests interrupted")
        yield* mcp.closeSessions
        yield* stage("sessions closed")
      })
    })
    yield* Effect.addFinalizer(() => shutdown)

    return {
      ...routes,
      ready: () => ready,
      sessions: mcp.sessions,
      openStreams: streams.size,
      activeRequests: FiberSet.size(requests),
      shutdown
    }
  })

/**
 * Builds the server and listens; the Scope's end is the graceful shutdown.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}) =>
  Effect.gen(function*() {
    const host = options.host ?? Settings.host.default
    const path = options.path ?? "/mcp"
    const headersTimeout = millis(options.headersTimeout ?? Settings.headersTimeoutMs.default)
    const requestTimeout = millis(options.requestTimeout ?? Settings.requestReadTimeoutMs.default)
    // Node checks those timeouts on this interval (30 s by default): check often enough to honour them.
    const connectionsCheckingInterval = Math.max(
      100,
      Math.min(1000, Math.floor(Math.min(headersTimeout, requestTimeout) / 2))
    )
    const keepAliveTimeout = millis(options.keepAliveTimeout ?? "5 seconds")
    const http1 = () =>
      Http.createServer({ noDelay: true, headersTimeout, requestTimeout, connectionsCheckingInterval })
    let server: Http.Server | Http2.Http2SecureServer
    /** HTTP/2 (with `tls` or `h2c`): its sessions (closed with GOAWAY at shutdown) and every socket. */
    let h2c: Http2.Http2Server | undefined
    let h2: { readonly sessions: Set<Http2.ServerHttp2Session>; readonly sockets: Set<Socket> } | undefined
    if (options.tls === undefined && options.h2c !== true) {
      server = http1()
    } else {
      const sessions = new Set<Http2.ServerHttp2Session>()
      const sockets = new Set<Socket>()
      h2 = { sessions, sockets }
      const onSession = (session: Http2.ServerHttp2Session) => {
        sessions.add(session)
        session.once("close", () => sessions.delete(session))
      }
      const onSocket = (socket: Socket) => {
        sockets.add(socket)
        socket.once("close", () => sockets.delete(socket))
      }
      if (options.tls !== undefined) {
        const secure = Http2.createSecureServer({
          cert: options.tls.cert,
          key: options.tls.key,
          allowHTTP1: true,
          noDelay: true,
          Http2ServerResponse: H2.CompatResponse
        })
        // The HTTP/1.1 side of the secure server reads node:http's timeouts from these.
        Object.assign(secure, { headersTimeout, requestTimeout, connectionsCheckingInterval, keepAliveTimeout })
        secure.on("session", onSession)
        secure.on("connection", onSocket)
        server = secure
      } else {
        const plain = http1()
        const cleartext = Http2.createServer({ Http2ServerResponse: H2.CompatResponse })
        H2.splitCleartext(plain, cleartext, headersTimeout)
        cleartext.on("session", onSession)
        plain.on("connection", onSocket)
        server = plain
        h2c = cleartext
      }
    }
    if (server instanceof Http.Server) server.keepAliveTimeout = keepAliveTimeout
    // Finalizers run last-added first: this one (idle keep-alive sockets closed) runs after the handler's.
    let closing = 0
    yield* Effect.addFinalizer(() =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        if (h2 === undefined) (server as Http.Server).closeAllConnections()
        else {
          // HTTP/2 sessions and sockets still open at the deadline: their streams had the grace to end.
          for (const session of h2.sessions) session.destroy()
          for (const socket of h2.sockets) socket.destroy()
        }
        return Effect.logInfo("HTTP server closed").pipe(Effect.annotateLogs({ millis: now - closing }))
      })
    )
    const mcp = yield* handler({ ...options, loopback: Guards.isLoopbackHost(host), probes: true })
    const events = server as Http.Server
    events.on("request", mcp.request)
    events.on("checkContinue", mcp.checkContinue)
    if (h2c !== undefined) {
      // The compatibility API's objects stand in for node:http's (see Http2.ts for what they lack).
      h2c.on("request", mcp.request as never)
      h2c.on("checkContinue", mcp.checkContinue as never)
    }
    // WebSocket: upgrades come from HTTP/1.1 connections only (with `tls`, the ALPN `http/1.1` side).
    events.on("upgrade", (req, socket, head) => {
      if (!mcp.upgrade(req, socket, head)) Routes.refuseUnknownUpgrade(socket)
    })
    events.on("clientError", (error: NodeJS.ErrnoException, socket) => {
      if (!socket.writable) return socket.destroy()
      const [status, message] = error.code === "ERR_HTTP_REQUEST_TIMEOUT"
        ? ["408 Request Timeout", "Request Timeout: the request did not arrive in time"]
        : error.code === "HPE_HEADER_OVERFLOW"
        ? ["431 Request Header Fields Too Large", "Request Header Fields Too Large"]
        : ["400 Bad Request", "Bad Request: the request is not valid HTTP/1.1"]
      const body = Response.errorBody(JsonRpc.INVALID_REQUEST, message)
      socket.end(
        `HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: ${
          Buffer.byteLength(body)
        }\r\n\r\n${body}`
      )
    })

    const address = yield* Effect.async<AddressInfo, Error>((resume) => {
      const onError = (error: Error) => resume(Effect.fail(error))
      server.once("error", onError)
      server.listen(options.port ?? Settings.port.default, host, () => {
        server.removeListener("error", onError)
        resume(Effect.succeed(server.address() as AddressInfo))
      })
    })
    const port = address.port
    const shownHost = host.includes(":") ? `[${host}]` : host
    const url = `${options.tls === undefined ? "http" : "https"}://${shownHost}:${port}${path}`
    yield* Effect.logInfo("Serving MCP over HTTP").pipe(
      Effect.annotateLogs(
        h2 === undefined ? { url } : { url, protocols: options.tls === undefined ? "h2c, http/1.1" : "h2, http/1.1" }
      )
    )
    // Runs first at the end: stop accepting, then the handler's graceful shutdown.
    yield* Effect.addFinalizer(() =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        closing = now
        server.close()
        // GOAWAY: each HTTP/2 connection takes no new stream; its open ones end as the handler's shutdown ends them.
        if (h2 !== undefined) { for (const session of h2.sessions) session.close() }
        return mcp.shutdown
      })
    )

    return McpHttpServer.of({
      host,
      port,
      url,
      ready: mcp.ready,
      sessions: mcp.sessions,
      openStreams: mcp.openStreams,
      activeRequests: mcp.activeRequests
    })
  })

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<McpHttpServer, Error, McpServer> =>
  Layer.scoped(McpHttpServer, make(options))

/** `--tls-cert` and `--tls-key` (both or neither), their files read. */
const tlsConfig: Config.Config<Option.Option<{ readonly cert: Buffer; readonly key: Buffer }>> = Config.mapOrFail(
  Config.all([Settings.tlsCert.config, Settings.tlsKey.config]),
  ([cert, key]) => {
    if (Option.isNone(cert) && Option.isNone(key)) return Either.right(Option.none())
    if (Option.isNone(cert) || Option.isNone(key)) {
      return Either.left(ConfigError.InvalidData(
        [],
        `${Settings.tlsCert.env} (--${Settings.tlsCert.name}) and ${Settings.tlsKey.env} (--${Settings.tlsKey.name}) go together: ${
          Option.isNone(cert) ? `--${Settings.tlsCert.name}` : `--${Settings.tlsKey.name}`
        } is missing`
      ))
    }
    const read = (env: string, file: string) => {
      try {
        return Either.right(Fs.readFileSync(file))
      } catch (error) {
        return Either.left(ConfigError.InvalidData([], `${env}: cannot read ${file}: ${(error as Error).message}`))
      }
    }
    return Either.flatMap(
      read(Settings.tlsCert.env, cert.value),
      (certPem) =>
        Either.map(read(Settings.tlsKey.env, key.value), (keyPem) => Option.some({ cert: certPem, key: keyPem }))
    )
  }
)

/**
 * The options read from `effect/Config` (the CLI's flags and environment variables; see Settings).
 *
 * @since 0.1.0
 * @category config
 */
export const options: Config.Config<Options> = Config.all({
  host: Settings.host.config,
  port: Settings.port.config,
  maxBodyBytes: Settings.maxBodyBytes.config,
  allowedHosts: Settings.allowedHosts.config,
  allowedOrigins: Settings.allowedOrigins.config,
  maxSessions: Settings.maxSessions.config,
  sessionIdleTimeout: Settings.sessionIdleTimeoutMs.config,
  maxInFlightPerSession: Settings.maxInFlightPerSession.config,
  maxStreams: Settings.maxStreams.config,
  maxStreamsPerSession: Settings.maxStreamsPerSession.config,
  maxQueuedBytes: Settings.maxQueuedBytes.config,
  keepAlive: Settings.keepaliveMs.config,
  shutdownTimeout: Settings.shutdownTimeoutMs.config,
  headersTimeout: Settings.headersTimeoutMs.config,
  requestReadTimeout: Settings.requestReadTimeoutMs.config,
  noLegacySse: Settings.orDefault(Settings.noLegacySse),
  noWebsocket: Settings.orDefault(Settings.noWebsocket),
  tls: tlsConfig,
  h2c: Settings.orDefault(Settings.h2c)
}).pipe(Config.map((c): Options => ({
  ...Settings.optional("host", c.host),
  ...Settings.optional("port", c.port),
  ...Settings.optional("maxBodyBytes", c.maxBodyBytes),
  ...Settings.optional("allowedHosts", c.allowedHosts),
  ...Settings.optional("allowedOrigins", c.allowedOrigins),
  ...Settings.optional("maxSessions", c.maxSessions),
  ...Settings.optionalWith("sessionIdleTimeout", c.sessionIdleTimeout, Duration.millis),
  ...Settings.optional("maxInFlightPerSession", c.maxInFlightPerSession),
  ...Settings.optional("maxStreams", c.maxStreams),
  ...Settings.optional("maxStreamsPerSession", c.maxStreamsPerSession),
  ...Settings.optional("maxQueuedBytes", c.maxQueuedBytes),
  ...Settings.optionalWith("keepAlive", c.keepAlive, Duration.millis),
  ...Settings.optionalWith("shutdownTimeout", c.shutdownTimeout, Duration.millis),
  ...Settings.optionalWith("headersTimeout", c.headersTimeout, Duration.millis),
  ...Settings.optionalWith("requestTimeout", c.requestReadTimeout, Duration.millis),
  legacySse: !c.noLegacySse,
  websocket: !c.noWebsocket,
  ...(Option.isSome(c.tls) ? { tls: c.tls.value } : {}),
  ...(c.h2c ? { h2c: true } : {})
})))

/** The rate limits the settings give; when they give none, those already in context (`RateLimit.layer`). */
const rateLimitConfig: Layer.Layer<RateLimit.RateLimiter, ConfigError.ConfigError> = Layer.effect(
  RateLimit.RateLimiter,
  Effect.flatMap(RateLimit.options, (configured) => {
    const limiter = RateLimit.make(configured)
    return RateLimit.isActive(limiter) ? Effect.succeed(limiter) : RateLimit.RateLimiter
  })
)

/**
 * The server with its options read from Config: the HTTP settings, the rate limits (`--rate-limit-*`) and
 * authorization (`--auth-issuer`, `--public-url`, ...). Limits or authorization the settings leave unset are those
 * already in context (`RateLimit.layer`, `Auth.layer`), if any.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig: Layer.Layer<McpHttpServer, Error | ConfigError.ConfigError, McpServer> = Layer
  .scoped(McpHttpServer, Effect.flatMap(options, make))
  .pipe(Layer.provide(Layer.merge(Auth.layerConfig, rateLimitConfig)))
