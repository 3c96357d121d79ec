/**
 * How McpHttpServer answers node:http's events (`request`, `checkContinue`, `upgrade`): each request's route (its path
 * and method) has an ordered list of guards (`Guards.Guard`: origin and host, readiness, method, Accept,
 * Content-Type, body size), applied by `Guards.check` before any fiber starts or the body is read; the first
 * refusal is the answer, and only a request none refuses reaches the route's handler. With authorization on (see
 * Auth), a route that serves MCP then authenticates the request (asynchronously when its token was not seen before:
 * a JWKS fetch, a signature check), still before its body is read; the route's handler gets the principal.
 *
 * @since 0.1.0
 */
import { Context, Effect, Either, FiberRef, HashMap } from "effect"
import * as Http from "node:http"
import type { Duplex } from "node:stream"
import * as JsonRpc from "../protocol/JsonRpc.js"
import type { McpServer } from "../server/McpServer.js"
import type * as Peer from "../server/Peer.js"
import type * as Auth from "./Auth.js"
import * as Guards from "./Guards.js"
import type * as LegacySse from "./LegacySse.js"
import * as Response from "./Response.js"
import type * as StreamableHttp from "./StreamableHttp.js"
import type * as WebSocket from "./WebSocket.js"

/**
 * The principal's subject on every log line of the fiber: set once at its start, not restored after, since each
 * request (and each WebSocket) is a fiber of its own (`Effect.annotateLogs` would cost a scoped FiberRef change).
 */
const annotatePrincipal = (principal: Peer.Principal) =>
  FiberRef.update(FiberRef.currentLogAnnotations, HashMap.set("principal", principal.subject as unknown))

/** A refused body is read and discarded up to this many bytes (or twice the limit) before the connection is cut. */
const LINGER_BYTES = 16 * 1024 * 1024

/**
 * What serves a path and method: its guards, in order, then (`authenticated`, with authorization on) the request's
 * token, then `serve` for a request none of them refused.
 */
interface Route {
  readonly guards: ReadonlyArray<Guards.Guard>
  /** Whether the route serves MCP and so needs a valid token when authorization is on. */
  readonly authenticated?: boolean
  /** `pathname`: the URL without its query; `principal`: who the token names (authenticated routes). */
  readonly serve: (
    req: Http.IncomingMessage,
    res: Http.ServerResponse,
    pathname: string,
    principal: Peer.Principal | undefined
  ) => void
}

const upgradeNotFound = Guards.refusal(404, -32000, "Not Found")

/** Refuses a WebSocket upgrade: the status line, the refusal's headers (WWW-Authenticate, ...) and its JSON body. */
const refuseUpgrade = (socket: Duplex, refused: Guards.Refusal): void => {
  let headers = ""
  if (refused.headers !== undefined) {
    for (const [name, value] of Object.entries(refused.headers)) headers += `${name}: ${value}\r\n`
  }
  socket.end(
    `HTTP/1.1 ${refused.status} ${Http.STATUS_CODES[refused.status]}\r\nconnection: close\r\n${headers}` +
      `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(refused.body)}\r\n\r\n${refused.body}`
  )
}

const jsonError = (
  res: Http.ServerResponse,
  status: number,
  code: number,
  message: string,
  headers?: Record<string, string>
) => Response.sendJson(res, status, Response.errorBody(code, message), headers)

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The MCP endpoint. */
  readonly path: string
  readonly maxBodyBytes: number
  readonly policy: Guards.OriginPolicy
  /** Whether new requests are served (false once shutdown began). */
  readonly ready: () => boolean
  readonly mcp: StreamableHttp.StreamableHttp
  /** The HTTP+SSE transport, when served. */
  readonly legacySse: LegacySse.LegacySse | undefined
  /** WebSocket upgrades on `/ws`, when served. */
  readonly websocket: WebSocket.WebSocket | undefined
  /** Forks one fiber for a request or WebSocket (into the server's FiberSet). */
  readonly run: (effect: Effect.Effect<void, never, McpServer>) => unknown
  /** Serve `GET /health` and `GET /ready` (a server of its own: yes; mounted in an app: the app's choice). */
  readonly probes: boolean
  /** The OAuth resource server: every MCP request authenticated, metadata served. Undefined: off. */
  readonly auth?: Auth.Authorizer | undefined
  /** Scopes beyond the required ones that the metadata lists (those tools, prompts and resources ask for). */
  readonly scopesSupported?: (() => ReadonlyArray<string>) | undefined
  /** More to say on `GET /ready` (a gateway's upstream states); see `Readiness`. */
  readonly readiness?: Readiness["Type"]
}

/**
 * What `GET /ready` adds to its body (a gateway: each upstream's state). Nothing by default.
 *
 * @since 0.2.0
 * @category models
 */
export class Readiness extends Context.Reference<Readiness>()("effect-mcp-server/Readiness", {
  defaultValue: (): { readonly detail: (() => Record<string, unknown>) | undefined } => ({ detail: undefined })
}) {}

/**
 * The handlers of node:http's `request`, `checkContinue` and `upgrade` events.
 *
 * @since 0.1.0
 * @category models
 */
export interface Handlers {
  /**
   * A request: served when its path is one of ours; any other path goes to `next` when given (Express and Connect
   * middleware), else is answered 404.
   */
  readonly request: (req: Http.IncomingMessage, res: Http.ServerResponse, next?: (error?: unknown) => void) => void
  readonly checkContinue: (req: Http.IncomingMessage, res: Http.ServerResponse) => void
  /** An upgrade: true when it was ours (`/ws`: accepted or refused), false when the socket was left untouched. */
  readonly upgrade: (req: Http.IncomingMessage, socket: Duplex, head: Buffer) => boolean
}

/**
 * Refuses an upgrade nothing serves: 404 as a bare status line.
 *
 * @since 0.1.0
 * @category handlers
 */
export const refuseUnknownUpgrade = (socket: Duplex): void => refuseUpgrade(socket, upgradeNotFound)

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options): Handlers => {
  const { auth, legacySse, maxBodyBytes, mcp, path, ready, run, websocket } = options

  // -- guards ---------------------------------------------------------------------------------------------------------

  const shuttingDown = Guards.refusal(503, -32000, "Server shutting down", { "retry-after": "1" })
  const readiness: Guards.Guard = () => (ready() ? undefined : shuttingDown)
  const bodyWithin = Guards.bodyWithin(maxBodyBytes)
  const tooLarge = Guards.tooLarge(maxBodyBytes)
  /**
   * What every MCP transport's endpoint checks first (Streamable HTTP, HTTP+SSE, WebSocket upgrades): Host and
   * Origin against DNS rebinding, then readiness. A synchronous check every MCP request must pass is one more
   * guard here; authorization, which may have to wait (a JWKS fetch, a signature check), comes after the guards
   * (`admitted`), and rate limits are the engine's (they know the tool).
   */
  const admission: ReadonlyArray<Guards.Guard> = [Guards.origin(options.policy), readiness]
  /** `Expect: 100-continue`: checked before the client is told to send the body (see `checkContinue`). */
  const beforeContinue: ReadonlyArray<Guards.Guard> = [bodyWithin]

  // Closing while the client still uploads makes the kernel answer with a reset, and the client never reads the
  // 413; closing after the upload races a keep-alive client reusing the socket. So the rest of the body is read
  // and discarded (up to a byte bound: past it the socket is cut) and the connection stays usable. A client
  // that stops sending mid-body is cut by the request read timeout (408), as any slow request.
  const discardBody = (req: Http.IncomingMessage) => {
    const lingerBytes = Math.max(LINGER_BYTES, 2 * maxBodyBytes)
    let discarded = 0
    req.on("data", (chunk: Buffer) => {
      discarded += chunk.length
      if (discarded > lingerBytes) req.socket.destroy()
    })
    req.resume()
  }

  /** Answers a refusal. A 413's body may still be arriving: it is read and discarded (see `discardBody`). */
  const refuse = (req: Http.IncomingMessage, res: Http.ServerResponse, refusal: Guards.Refusal): void => {
    if (refusal.status === 413) discardBody(req)
    Response.sendJson(res, refusal.status, refusal.body, refusal.headers)
  }

  // -- routes: each path and method with its guards -------------------------------------------------------------------

  /**
   * POST /mcp: the body is read and parsed with node callbacks, and only then is the request's one fiber started,
   * with the parsed message: no fiber waits on the socket.
   */
  const post = (req: Http.IncomingMessage, res: Http.ServerResponse, principal: Peer.Principal | undefined): void => {
    // Mounted behind a body parser (e.g. `express.json()`), the body was read already: take what it parsed.
    const parsedBefore = (req as { readonly body?: unknown }).body
    if (parsedBefore !== undefined && req.readableEnded) return postParsed(req, res, parsedBefore, principal)
    Guards.readBodyWith(req, maxBodyBytes, (body) => {
      if (Either.isLeft(body)) {
        if (body.left._tag === "TooLarge") refuse(req, res, tooLarge)
        return
      }
      postText(req, res, body.right, principal)
    })
  }

  /** A body as text: parsed with the depth check (400 with the JSON-RPC error), then `postJson`. */
  const postText = (
    req: Http.IncomingMessage,
    res: Http.ServerResponse,
    text: string,
    principal: Peer.Principal | undefined
  ): void => {
    const parsed = JsonRpc.parse(text)
    if (Either.isRight(parsed)) return postJson(req, res, parsed.right, principal)
    const { error, id } = parsed.left
    Response.sendJson(res, 400, Response.errorBody(error.code, error.message, id, error.data))
  }

  /** A parsed message: its one fiber starts here. */
  const postJson = (
    req: Http.IncomingMessage,
    res: Http.ServerResponse,
    json: unknown,
    principal: Peer.Principal | undefined
  ): void => {
    // Shutdown may have begun while the body arrived.
    if (!ready()) return refuse(req, res, shuttingDown)
    // Suspended: whatever the request's checks throw becomes a 500 for this request, never a crash of the process.
    run(guarded(req, res, Effect.suspend(() => mcp.post(req, res, json, principal)), principal))
  }

  /** A body a framework's parser read first: a string or bytes are parsed here, a value is checked for depth. */
  const postParsed = (
    req: Http.IncomingMessage,
    res: Http.ServerResponse,
    body: unknown,
    principal: Peer.Principal | undefined
  ): void => {
    if (typeof body === "string" || Buffer.isBuffer(body)) return postText(req, res, body.toString(), principal)
    if (JsonRpc.withinDepth(body)) return postJson(req, res, body, principal)
    Response.sendJson(
      res,
      400,
      Response.errorBody(JsonRpc.INVALID_REQUEST, `Invalid Request: nested deeper than ${JsonRpc.MAX_DEPTH} levels`)
    )
  }

  /** Never called: the route's last guard refuses every request that reaches it. */
  const refusedByGuards = (_req: Http.IncomingMessage, res: Http.ServerResponse): void =>
    jsonError(res, 500, JsonRpc.INTERNAL_ERROR, "Internal error")

  /** A method its path does not serve: the path's admission, then 405. */
  const methodNotAllowed = (allow: string): Route => ({
    guards: [...admission, Guards.allowMethods(allow)],
    serve: refusedByGuards
  })

  const mcpPost: Route = {
    authenticated: true,
    guards: [
      ...admission,
      Guards.accepting("application/json", "text/event-stream"),
      Guards.jsonContentType,
      bodyWithin
    ],
    serve: (req, res, _pathname, principal) => post(req, res, principal)
  }
  const mcpGet: Route = {
    authenticated: true,
    guards: [...admission, Guards.accepting("text/event-stream")],
    serve: (req, res, _pathname, principal) => {
      run(guarded(req, res, Effect.suspend(() => mcp.get(req, res, principal)), principal))
    }
  }
  const mcpDelete: Route = {
    authenticated: true,
    guards: admission,
    serve: (req, res, _pathname, principal) => {
      run(guarded(req, res, Effect.suspend(() => mcp.delete(req, res, principal)), principal))
    }
  }
  const mcpOther = methodNotAllowed("GET, POST, DELETE")

  /** GET /sse and POST /messages: the deprecated HTTP+SSE transport. */
  const legacyRoutes = (sse: LegacySse.LegacySse) => ({
    stream: {
      authenticated: true,
      guards: admission,
      serve: (req, res, _pathname, principal) => {
        run(guarded(req, res, Effect.suspend(() => sse.stream(req, res, "/messages", principal)), principal))
      }
    } satisfies Route,
    streamOther: methodNotAllowed("GET"),
    /** The body goes to the stream's connection. */
    message: {
      authenticated: true,
      guards: [...admission, Guards.jsonContentType, bodyWithin],
      serve: (req, res, _pathname, principal) => {
        run(guarded(
          req,
          res,
          Effect.flatMap(Guards.readBody(req, maxBodyBytes), (body) =>
            Effect.sync(() => {
              if (Either.isLeft(body)) {
                if (body.left._tag === "TooLarge") refuse(req, res, tooLarge)
                return
              }
              const url = req.url ?? "/"
              sse.message(
                new URLSearchParams(url.slice(url.indexOf("?") + 1)).get("sessionId"),
                body.right,
                res,
                principal
              )
            })),
          principal
        ))
      }
    } satisfies Route,
    messageOther: methodNotAllowed("POST")
  })
  const legacy = legacySse === undefined ? undefined : legacyRoutes(legacySse)

  const wsPlain: Route = {
    guards: [],
    serve: (req, res) =>
      // HTTP/2 has no Upgrade (and forbids the connection headers): the client must come back over HTTP/1.1.
      req.httpVersionMajor === 2
        ? jsonError(res, 426, -32000, "Upgrade Required: /ws speaks WebSocket over HTTP/1.1 (subprotocol mcp)")
        : jsonError(res, 426, -32000, "Upgrade Required: /ws speaks WebSocket (subprotocol mcp)", {
          upgrade: "websocket",
          connection: "Upgrade"
        })
  }
  const health: Route = { guards: [], serve: (_req, res) => Response.sendJson(res, 200, "{\"status\":\"ok\"}") }
  const readyRoute: Route = {
    guards: [],
    serve: (_req, res) => {
      const isReady = ready()
      const detail = options.readiness?.detail?.()
      Response.sendJson(
        res,
        isReady ? 200 : 503,
        JSON.stringify({ ready: isReady, sessions: mcp.sessions(), ...detail })
      )
    }
  }
  const notFound: Route = {
    guards: [],
    serve: (_req, res, pathname) => jsonError(res, 404, -32000, `Not Found: ${pathname}`)
  }

  /**
   * Protected Resource Metadata (RFC 9728), with authorization on: public, so no Host/Origin check and CORS open
   * (a browser client reads it cross-origin before it has any token).
   */
  const cors = {
    "access-control-allow-origin": "*",
    "access-control-allow-methods": "GET, OPTIONS",
    "access-control-allow-headers": "mcp-protocol-version, authorization",
    "access-control-max-age": "86400"
  }
  const metadataRoute = (authorizer: Auth.Authorizer): Route => ({
    guards: [],
    serve: (_req, res) =>
      Response.sendJson(res, 200, authorizer.metadata(options.scopesSupported?.() ?? []), {
        ...cors,
        "cache-control": "public, max-age=300"
      })
  })
  const metadataPreflight: Route = {
    guards: [],
    serve: (_req, res) => {
      res.writeHead(204, cors)
      res.end()
    }
  }
  const metadata = auth === undefined ? undefined : {
    get: metadataRoute(auth),
    other: methodNotAllowed("GET, OPTIONS"),
    /** The root document, the endpoint path's (the path-aware URI), and the public URL path's (behind a proxy). */
    paths: new Set([
      "/.well-known/oauth-protected-resource",
      `/.well-known/oauth-protected-resource${path}`,
      auth.metadataPath
    ])
  }

  const routeOf = (pathname: string, method: string | undefined): Route => {
    if (pathname === path) {
      return method === "POST" ? mcpPost : method === "GET" ? mcpGet : method === "DELETE" ? mcpDelete : mcpOther
    }
    if (legacy !== undefined) {
      if (pathname === "/sse") return method === "GET" ? legacy.stream : legacy.streamOther
      if (pathname === "/messages") return method === "POST" ? legacy.message : legacy.messageOther
    }
    if (websocket !== undefined && pathname === "/ws") return wsPlain
    if (metadata !== undefined && metadata.paths.has(pathname)) {
      return method === "GET" || method === "HEAD"
        ? metadata.get
        : method === "OPTIONS"
        ? metadataPreflight
        : metadata.other
    }
    if (options.probes) {
      if (pathname === "/health" && method === "GET") return health
      if (pathname === "/ready" && method === "GET") return readyRoute
    }
    return notFound
  }

  // -- node:http's events ---------------------------------------------------------------------------------------------

  const failed = (res: Http.ServerResponse) => {
    if (!res.headersSent) jsonError(res, 500, JsonRpc.INTERNAL_ERROR, "Internal error")
    else if (!res.writableEnded) res.end()
  }
  const logFailure = (req: Http.IncomingMessage, cause: unknown) =>
    Effect.logError("HTTP request failed").pipe(
      Effect.annotateLogs({ url: req.url, method: req.method, cause: String(cause) })
    )
  /** A request's effect: a failure answered 500 and logged; with a principal, its subject on every log line. */
  const guarded = <R>(
    req: Http.IncomingMessage,
    res: Http.ServerResponse,
    effect: Effect.Effect<void, never, R>,
    principal?: Peer.Principal | undefined
  ) => {
    const served = effect.pipe(
      Effect.catchAllCause((cause) => Effect.zipRight(logFailure(req, cause), Effect.sync(() => failed(res))))
    )
    return principal === undefined ? served : Effect.zipRight(annotatePrincipal(principal), served)
  }

  /**
   * An admitted request: with authorization on, a route serving MCP gets the request's principal first (at once for
   * a token seen before, else once it is verified), or answers the refusal; the body is still unread either way.
   */
  const admitted = (route: Route, req: Http.IncomingMessage, res: Http.ServerResponse, pathname: string): void => {
    if (auth === undefined || route.authenticated !== true) return route.serve(req, res, pathname, undefined)
    const result = auth.authenticate(req)
    if (!(result instanceof Promise)) return authenticated(route, req, res, pathname, result)
    result.then(
      (settled) => {
        try {
          // Shutdown may have begun while the token was checked.
          if (!ready()) return refuse(req, res, shuttingDown)
          authenticated(route, req, res, pathname, settled)
        } catch (cause) {
          run(logFailure(req, cause))
          failed(res)
        }
      },
      (cause) => {
        run(logFailure(req, cause))
        failed(res)
      }
    )
  }
  const authenticated = (
    route: Route,
    req: Http.IncomingMessage,
    res: Http.ServerResponse,
    pathname: string,
    result: Auth.Result
  ): void =>
    result._tag === "Refused"
      ? refuse(req, res, result.refusal)
      : route.serve(req, res, pathname, result.principal)

  /**
   * Every request: its route's guards, in order, with no fiber yet; the first refusal is the answer. An admitted
   * request is served (POST /mcp reads its body before its fiber starts; most other routes fork one at once).
   */
  const request = (
    req: Http.IncomingMessage,
    res: Http.ServerResponse,
    next?: (error?: unknown) => void
  ): void => {
    try {
      const url = req.url ?? "/"
      const query = url.indexOf("?")
      const pathname = query === -1 ? url : url.slice(0, query)
      const route = routeOf(pathname, req.method)
      if (route === notFound && next !== undefined) return next()
      const refused = Guards.check(route.guards, req)
      if (refused === undefined) admitted(route, req, res, pathname)
      else refuse(req, res, refused)
    } catch (cause) {
      run(logFailure(req, cause))
      failed(res)
    }
  }

  // `Expect: 100-continue` with a Content-Length over the limit: 413 at once, and the body is never sent.
  const checkContinue = (req: Http.IncomingMessage, res: Http.ServerResponse): void => {
    const refused = req.method === "POST" ? Guards.check(beforeContinue, req) : undefined
    if (refused !== undefined) {
      // HTTP/2 has no `connection` header: the stream ends, the connection stays.
      const headers = req.httpVersionMajor === 2 ? refused.headers : { ...refused.headers, connection: "close" }
      return Response.sendJson(res, refused.status, refused.body, headers)
    }
    res.writeContinue()
    request(req, res)
  }

  /**
   * A WebSocket upgrade on /ws: the admission guards, then (authorization on) the token, which authenticates the
   * whole connection; a refusal is an HTTP response (its headers, WWW-Authenticate included, and JSON body).
   */
  const upgrade = (req: Http.IncomingMessage, socket: Duplex, head: Buffer): boolean => {
    const url = req.url ?? "/"
    const query = url.indexOf("?")
    const pathname = query === -1 ? url : url.slice(0, query)
    if (websocket === undefined || pathname !== "/ws") return false
    const refused = Guards.check(admission, req)
    if (refused !== undefined) {
      refuseUpgrade(socket, refused)
      return true
    }
    const accept = (principal: Peer.Principal | undefined) => {
      const connection = websocket.upgrade(req, socket, head, principal).pipe(
        Effect.catchAllCause((cause) =>
          Effect.logError("WebSocket connection failed").pipe(Effect.annotateLogs({ cause: String(cause) }))
        )
      )
      run(principal === undefined ? connection : Effect.zipRight(annotatePrincipal(principal), connection))
    }
    if (auth === undefined) {
      accept(undefined)
      return true
    }
    const settle = (result: Auth.Result) => {
      if (result._tag === "Refused") refuseUpgrade(socket, result.refusal)
      else if (!ready()) refuseUpgrade(socket, shuttingDown)
      else accept(result.principal)
    }
    const result = auth.authenticate(req)
    if (result instanceof Promise) {
      result.then(settle, (cause) => {
        run(logFailure(req, cause))
        socket.destroy()
      })
    } else settle(result)
    return true
  }

  return { request, checkContinue, upgrade }
}
