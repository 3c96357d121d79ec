/**
 * Every setting of the server, declared once: its flag, its environment variable, its default (the value the
 * layers use when the setting is absent), its description, and the `effect/Config` that reads it. The CLI's flags
 * and `--help`, the layers' `layerConfig`/`serveConfig`, and the README's flag table (checked by a test) all read
 * these declarations; nothing else spells a setting's name or default.
 *
 * @since 0.1.0
 */
import type { Redacted } from "effect"
import { Config, Option } from "effect"
import type { Setting } from "./Setting.js"
import { bounded, count, list, MAX_MILLIS, millis, parsed, setting, text, toggle } from "./Setting.js"

export type {
  /**
   * @since 0.1.0
   * @category models
   */
  Setting
} from "./Setting.js"

/**
 * @since 0.1.0
 * @category settings
 */
export const transport = text(
  "transport",
  "MCP_TRANSPORT",
  "TRANSPORT",
  "http",
  "http",
  "http (Streamable HTTP on --host/--port) or stdio (newline-delimited JSON on stdin/stdout)."
)
/**
 * @since 0.1.0
 * @category settings
 */
export const stdio = toggle("stdio", "MCP_STDIO", "Shorthand for --transport stdio.")
/**
 * @since 0.1.0
 * @category settings
 */
export const host = text(
  "host",
  "MCP_HOST",
  "HOST",
  "127.0.0.1",
  "127.0.0.1",
  "Address to listen on. On a loopback address, foreign Host headers are refused (DNS rebinding)."
)
/**
 * @since 0.1.0
 * @category settings
 */
export const port = setting(
  "port",
  "MCP_PORT",
  "N",
  3000,
  "3000",
  "Port to listen on; 0 picks a free one.",
  bounded("MCP_PORT", 0, 65535, "an integer from 0 to 65535")
)
/**
 * @since 0.1.0
 * @category settings
 */
export const noLegacySse = toggle(
  "no-legacy-sse",
  "MCP_NO_LEGACY_SSE",
  "Do not serve the deprecated HTTP+SSE transport (GET /sse, POST /messages) for 2024-11-05 clients."
)
/**
 * @since 0.1.0
 * @category settings
 */
export const noWebsocket = toggle(
  "no-websocket",
  "MCP_NO_WEBSOCKET",
  "Do not serve MCP over WebSocket (GET /ws, subprotocol mcp)."
)
/**
 * @since 0.1.0
 * @category settings
 */
export const maxBodyBytes = count(
  "max-body-bytes",
  "MCP_MAX_BODY_BYTES",
  4 * 1024 * 1024,
  "Largest accepted HTTP request body; larger is 413.",
  1
)
/**
 * @since 0.1.0
 * @category settings
 */
export const allowedHosts = list(
  "allowed-hosts",
  "MCP_ALLOWED_HOSTS",
  "none",
  "Comma-separated extra hostnames accepted in Host and Origin headers (for deployments behind a name)."
)
/**
 * @since 0.1.0
 * @category settings
 */
export const allowedOrigins = list(
  "allowed-origins",
  "MCP_ALLOWED_ORIGINS",
  "none",
  "Comma-separated extra origins (scheme://host:port) accepted in the Origin header; * accepts any."
)
/**
 * @since 0.1.0
 * @category settings
 */
export const maxSessions = count(
  "max-sessions",
  "MCP_MAX_SESSIONS",
  10_000,
  "Most legacy sessions at once; initialize past it is refused with 503."
)
/**
 * @since 0.1.0
 * @category settings
 */
export const sessionIdleTimeoutMs = millis(
  "session-idle-timeout-ms",
  "MCP_SESSION_IDLE_TIMEOUT_MS",
  30 * 60 * 1000,
  "A session with no request and no open stream for this long ends (0: never)."
)
/**
 * @since 0.1.0
 * @category settings
 */
export const maxInFlightPerSession = count(
  "max-in-flight-per-session",
  "MCP_MAX_IN_FLIGHT_PER_SESSION",
  1000,
  "Most requests in flight per session, WebSocket, old SSE stream or stdio; past it, 503 with Retry-After over HTTP, else a -32000 error at once.",
  1
)
/**
 * @since 0.1.0
 * @category settings
 */
export const maxQueuedBytes = count(
  "max-queued-bytes",
  "MCP_MAX_QUEUED_BYTES",
  8 * 1024 * 1024,
  "Most bytes queued for a peer that does not read (WebSocket, old SSE, stdio) and of old-SSE POSTs waiting; past it the peer is cut off (POSTs: 503).",
  1
)
/**
 * @since 0.1.0
 * @category settings
 */
export const maxStreams = count(
  "max-streams",
  "MCP_MAX_STREAMS",
  10_000,
  "Most open SSE streams and WebSockets across the server; past it, 503 with Retry-After."
)
/**
 * @since 0.1.0
 * @category settings
 */
export const maxStreamsPerSession = count(
  "max-streams-per-session",
  "MCP_MAX_STREAMS_PER_SESSION",
  8,
  "Most resumed SSE streams (GET with Last-Event-ID of a request's stream) per session; a session's own GET stream is one at most, a new one replaces it."
)
/**
 * @since 0.1.0
 * @category settings
 */
export const keepaliveMs = millis(
  "keepalive-ms",
  "MCP_KEEPALIVE_MS",
  15_000,
  "Interval of SSE keep-alive comments (0: none)."
)
/**
 * @since 0.1.0
 * @category settings
 */
export const shutdownTimeoutMs = millis(
  "shutdown-timeout-ms",
  "MCP_SHUTDOWN_TIMEOUT_MS",
  5000,
  "On SIGTERM/SIGINT: the whole graceful shutdown, from signal to closed sockets (stdio too). A second signal ends it at once, still answering requests in flight."
)
/**
 * @since 0.1.0
 * @category settings
 */
export const headersTimeoutMs = millis(
  "headers-timeout-ms",
  "MCP_HEADERS_TIMEOUT_MS",
  10_000,
  "Time a client has to send its request headers (slowloris protection)."
)
/**
 * @since 0.1.0
 * @category settings
 */
export const requestReadTimeoutMs = millis(
  "request-read-timeout-ms",
  "MCP_REQUEST_READ_TIMEOUT_MS",
  30_000,
  "Time a client has to send a whole request, headers and body (not the response); past it, 408."
)
/**
 * @since 0.1.0
 * @category settings
 */
export const tlsCert = text(
  "tls-cert",
  "MCP_TLS_CERT",
  "FILE",
  undefined,
  "none",
  "Serve HTTPS with this PEM certificate (chain): HTTP/2 and HTTP/1.1 by ALPN (WebSocket over HTTP/1.1). Needs --tls-key."
)
/**
 * @since 0.1.0
 * @category settings
 */
export const tlsKey = text("tls-key", "MCP_TLS_KEY", "FILE", undefined, "none", "The PEM private key of --tls-cert.")
/**
 * @since 0.1.0
 * @category settings
 */
export const h2c = toggle(
  "h2c",
  "MCP_H2C",
  "Without TLS: serve cleartext HTTP/2 (prior knowledge; no Upgrade) beside HTTP/1.1 on the same port, for use behind a proxy."
)
/**
 * @since 0.1.0
 * @category settings
 */
export const logLevel = text(
  "log-level",
  "MCP_LOG_LEVEL",
  "LEVEL",
  "info",
  "info",
  "Server log level: all, trace, debug, info, warning, error, fatal, none. Logs go to stderr."
)
/**
 * @since 0.1.0
 * @category settings
 */
export const logFormat = text(
  "log-format",
  "MCP_LOG_FORMAT",
  "FORMAT",
  undefined,
  "json (pretty on a terminal)",
  "Server log format: json, logfmt or pretty."
)
/**
 * @since 0.1.0
 * @category settings
 */
export const maxMessageBytes = count(
  "max-message-bytes",
  "MCP_MAX_MESSAGE_BYTES",
  4 * 1024 * 1024,
  "stdio: largest accepted message. A larger one is discarded and answered with -32600 (id null).",
  1
)
/**
 * @since 0.1.0
 * @category settings
 */
export const requestTimeoutMs = millis(
  "request-timeout-ms",
  "MCP_REQUEST_TIMEOUT_MS",
  60_000,
  "A request still running after this long is interrupted and answered with -32001. 0 disables."
)
/**
 * @since 0.1.0
 * @category settings
 */
export const drainTimeoutMs = millis(
  "drain-timeout-ms",
  "MCP_DRAIN_TIMEOUT_MS",
  2000,
  "stdio: after stdin closes, how long in-flight requests may finish before they are interrupted."
)
/**
 * @since 0.1.0
 * @category settings
 */
export const pageSize = count(
  "page-size",
  "MCP_PAGE_SIZE",
  100,
  "Items per page of tools/list, resources/list, resources/templates/list and prompts/list.",
  1
)
/**
 * @since 0.1.0
 * @category settings
 */
export const cacheTtlMs = millis(
  "cache-ttl-ms",
  "MCP_CACHE_TTL_MS",
  60_000,
  "Modern-era ttlMs on cacheable results (lists, server/discover)."
)
/**
 * @since 0.1.0
 * @category settings
 */
export const clientRequestTimeoutMs = millis(
  "client-request-timeout-ms",
  "MCP_CLIENT_REQUEST_TIMEOUT_MS",
  5 * 60 * 1000,
  "How long a question to the client (sampling, elicitation, roots) waits for its answer. 0 waits forever."
)
/**
 * @since 0.1.0
 * @category settings
 */
export const requestStateKey: Setting<Redacted.Redacted, undefined> = setting(
  "request-state-key",
  "MCP_REQUEST_STATE_KEY",
  "KEY",
  undefined,
  "random per process",
  "HMAC key for modern requestState (multi round-trip requests); set it to share states across replicas.",
  Config.redacted("MCP_REQUEST_STATE_KEY")
)
/**
 * @since 0.1.0
 * @category settings
 */
export const rateLimitCalls = count(
  "rate-limit-calls",
  "MCP_RATE_LIMIT_CALLS",
  0,
  "Most tools/call per caller (principal, else remote address; stdio is one caller) per --rate-limit-window-ms, as a token bucket; past it, 429 with Retry-After over HTTP, else -32000 with retryAfterMs. 0: no limit."
)
/**
 * @since 0.1.0
 * @category settings
 */
export const rateLimitToolCalls = count(
  "rate-limit-tool-calls",
  "MCP_RATE_LIMIT_TOOL_CALLS",
  0,
  "Most calls of each tool, across callers, per --rate-limit-window-ms (a token bucket per tool name). 0: no limit."
)
/**
 * @since 0.1.0
 * @category settings
 */
export const rateLimitWindowMs: Setting<number, number> = setting(
  "rate-limit-window-ms",
  "MCP_RATE_LIMIT_WINDOW_MS",
  "MS",
  60_000,
  "60000",
  "The window of the rate limits: a bucket refills fully in this long.",
  bounded("MCP_RATE_LIMIT_WINDOW_MS", 1, MAX_MILLIS, `a number of milliseconds, an integer from 1 to ${MAX_MILLIS}`)
)
// -- authorization (OAuth 2.1 resource server; see http/Auth.ts) ---------------------------------------------------

const url = (env: string): Config.Config<string> =>
  parsed(env, "an absolute http(s) URL", (text) => {
    try {
      const parsedUrl = new URL(text)
      return parsedUrl.protocol === "https:" || parsedUrl.protocol === "http:" ? text : undefined
    } catch {
      return undefined
    }
  })

/**
 * @since 0.1.0
 * @category settings
 */
export const authIssuer: Setting<string, undefined> = setting(
  "auth-issuer",
  "MCP_AUTH_ISSUER",
  "URL",
  undefined,
  "none (no authorization)",
  "Require OAuth 2.1 bearer tokens from this authorization server: its metadata from /.well-known/oauth-authorization-server (else /.well-known/openid-configuration), JWT access tokens checked against its jwks_uri. Needs --public-url.",
  url("MCP_AUTH_ISSUER")
)
/**
 * @since 0.1.0
 * @category settings
 */
export const authJwksUrl: Setting<string, undefined> = setting(
  "auth-jwks-url",
  "MCP_AUTH_JWKS_URL",
  "URL",
  undefined,
  "the issuer's jwks_uri",
  "The JSON Web Key Set that signs access tokens, instead of the one the issuer's metadata names. Needs --auth-issuer.",
  url("MCP_AUTH_JWKS_URL")
)
/**
 * @since 0.1.0
 * @category settings
 */
export const publicUrl: Setting<string, undefined> = setting(
  "public-url",
  "MCP_PUBLIC_URL",
  "URL",
  undefined,
  "none",
  "This server's canonical URL as clients reach it (e.g. https://mcp.example.com/mcp): the audience access tokens must name (RFC 8707) and the resource of /.well-known/oauth-protected-resource.",
  url("MCP_PUBLIC_URL")
)
/**
 * @since 0.1.0
 * @category settings
 */
export const authScopes: Setting<ReadonlyArray<string>, undefined> = setting(
  "auth-scopes",
  "MCP_AUTH_SCOPES",
  "SCOPES",
  undefined,
  "none",
  "Space-separated scopes every request's token needs (403 insufficient_scope otherwise).",
  Config.map(Config.string("MCP_AUTH_SCOPES"), (value) => value.split(/\s+/).filter((s) => s !== ""))
)
/**
 * @since 0.1.0
 * @category settings
 */
export const authIntrospectionUrl: Setting<string, undefined> = setting(
  "auth-introspection-url",
  "MCP_AUTH_INTROSPECTION_URL",
  "URL",
  undefined,
  "none",
  "Check opaque (non-JWT) access tokens by RFC 7662 introspection at this URL, as --auth-client-id (HTTP Basic). Results cached up to 60 s.",
  url("MCP_AUTH_INTROSPECTION_URL")
)
/**
 * @since 0.1.0
 * @category settings
 */
export const authClientId = text(
  "auth-client-id",
  "MCP_AUTH_CLIENT_ID",
  "ID",
  undefined,
  "none",
  "This server's client id at the authorization server, for introspection."
)
/**
 * @since 0.1.0
 * @category settings
 */
export const authClientSecret: Setting<Redacted.Redacted, undefined> = setting(
  "auth-client-secret",
  "MCP_AUTH_CLIENT_SECRET",
  "SECRET",
  undefined,
  "none",
  "The client secret that goes with --auth-client-id.",
  Config.redacted("MCP_AUTH_CLIENT_SECRET")
)
/**
 * @since 0.1.0
 * @category settings
 */
export const authClockSkewMs = millis(
  "auth-clock-skew-ms",
  "MCP_AUTH_CLOCK_SKEW_MS",
  30_000,
  "Clock skew allowed when checking a token's exp and nbf."
)
/**
 * @since 0.1.0
 * @category settings
 */
export const logMessages = toggle(
  "log-messages",
  "MCP_LOG_MESSAGES",
  "Log every inbound and outbound JSON-RPC message (method, id, direction; no bodies)."
)
/**
 * @since 0.1.0
 * @category settings
 */
export const allowMethods = list(
  "allow-methods",
  "MCP_ALLOW_METHODS",
  "all",
  "Comma-separated methods clients may call; others get -32601 (initialize and ping are always allowed)."
)
/**
 * @since 0.1.0
 * @category settings
 */
export const denyMethods = list(
  "deny-methods",
  "MCP_DENY_METHODS",
  "none",
  "Comma-separated methods clients may not call (-32601)."
)

// -- gateway ----------------------------------------------------------------------------------------------------------

/**
 * @since 0.2.0
 * @category settings
 */
export const gateway = text(
  "gateway",
  "MCP_GATEWAY",
  "FILE",
  undefined,
  "none",
  "Gateway mode: front the MCP servers of FILE, an mcpServers JSON file as Claude Desktop, Cursor and VS Code use (also: -- COMMAND ARGS... for one stdio server)."
)
/**
 * @since 0.2.0
 * @category settings
 */
export const record = text(
  "record",
  "MCP_GATEWAY_RECORD",
  "FILE",
  undefined,
  "none",
  "Gateway mode: write every message to and from the upstreams to FILE as JSON lines (a tape)."
)
/**
 * @since 0.2.0
 * @category settings
 */
export const replay = text(
  "replay",
  "MCP_GATEWAY_REPLAY",
  "FILE",
  undefined,
  "none",
  "Gateway mode: answer from the tape FILE (made with --record) instead of running the upstreams."
)

/**
 * Every setting, in the order `--help` and the README list them.
 *
 * @since 0.1.0
 * @category settings
 */
export const all: ReadonlyArray<Setting<unknown>> = [
  transport,
  stdio,
  host,
  port,
  noLegacySse,
  noWebsocket,
  maxBodyBytes,
  allowedHosts,
  allowedOrigins,
  maxSessions,
  sessionIdleTimeoutMs,
  maxInFlightPerSession,
  maxQueuedBytes,
  maxStreams,
  maxStreamsPerSession,
  keepaliveMs,
  shutdownTimeoutMs,
  headersTimeoutMs,
  requestReadTimeoutMs,
  tlsCert,
  tlsKey,
  h2c,
  logLevel,
  logFormat,
  maxMessageBytes,
  requestTimeoutMs,
  drainTimeoutMs,
  pageSize,
  cacheTtlMs,
  clientRequestTimeoutMs,
  requestStateKey,
  rateLimitCalls,
  rateLimitToolCalls,
  rateLimitWindowMs,
  authIssuer,
  authJwksUrl,
  publicUrl,
  authScopes,
  authIntrospectionUrl,
  authClientId,
  authClientSecret,
  authClockSkewMs,
  logMessages,
  allowMethods,
  denyMethods,
  gateway,
  record,
  replay
] as ReadonlyArray<Setting<unknown>>

/**
 * `{ [key]: value }` when the setting is present, `{}` otherwise: for spreading into a layer's options, which
 * then apply their own defaults (this module's).
 *
 * @since 0.1.0
 * @category config
 */
export const optional = <A, K extends string>(key: K, value: Option.Option<A>): { [P in K]?: A } =>
  (Option.isSome(value) ? { [key]: value.value } : {}) as { [P in K]?: A }

/**
 * `optional` with the value mapped (milliseconds to a Duration, say).
 *
 * @since 0.1.0
 * @category config
 */
export const optionalWith = <A, B, K extends string>(
  key: K,
  value: Option.Option<A>,
  f: (a: A) => B
): { [P in K]?: B } => optional(key, Option.map(value, f))

/**
 * A setting's value, or its default. For settings that have one.
 *
 * @since 0.1.0
 * @category config
 */
export const orDefault = <A>(setting: Setting<A, A>): Config.Config<A> =>
  Config.map(setting.config, Option.getOrElse(() => setting.default))
