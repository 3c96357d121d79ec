/**
 * The command line of `node dist/main.js`: flags, their environment variables, help, logging. Every flag maps onto
 * the `effect/Config` name its layer reads, and each also has an environment variable of that name; a flag wins
 * over the environment.
 *
 * @since 0.1.0
 */
import { Cause, ConfigProvider, Console, Effect, Layer, Logger, LogLevel } from "effect"
import * as HttpServer from "./http/HttpServer.js"
import * as Interceptor from "./server/Interceptor.js"
import type { McpServer } from "./server/McpServer.js"
import * as Stdio from "./transport/Stdio.js"
import { VERSION } from "./Version.js"

/** @since 0.1.0 @category models */
export interface Flag {
  readonly name: string
  readonly env: string
  readonly value: string | undefined
  readonly default: string
  readonly description: string
}

/**
 * Every flag. `value` is the placeholder shown in help; flags without one are switches.
 *
 * @since 0.1.0 @category constants
 */
export const flags: ReadonlyArray<Flag> = [
  {
    name: "transport",
    env: "MCP_TRANSPORT",
    value: "TRANSPORT",
    default: "http",
    description: "http (Streamable HTTP on --host/--port) or stdio (newline-delimited JSON on stdin/stdout)."
  },
  {
    name: "stdio",
    env: "MCP_STDIO",
    value: undefined,
    default: "off",
    description: "Shorthand for --transport stdio."
  },
  {
    name: "host",
    env: "MCP_HOST",
    value: "HOST",
    default: "127.0.0.1",
    description: "Address to listen on. On a loopback address, foreign Host headers are refused (DNS rebinding)."
  },
  { name: "port", env: "MCP_PORT", value: "N", default: "3000", description: "Port to listen on; 0 picks a free one." },
  {
    name: "no-legacy-sse",
    env: "MCP_NO_LEGACY_SSE",
    value: undefined,
    default: "off",
    description: "Do not serve the deprecated HTTP+SSE transport (GET /sse, POST /messages) for 2024-11-05 clients."
  },
  {
    name: "no-websocket",
    env: "MCP_NO_WEBSOCKET",
    value: undefined,
    default: "off",
    description: "Do not serve MCP over WebSocket (GET /ws, subprotocol mcp)."
  },
  {
    name: "max-body-bytes",
    env: "MCP_MAX_BODY_BYTES",
    value: "N",
    default: "4194304",
    description: "Largest accepted HTTP request body; larger is 413."
  },
  {
    name: "allowed-hosts",
    env: "MCP_ALLOWED_HOSTS",
    value: "LIST",
    default: "none",
    description: "Comma-separated extra hostnames accepted in Host and Origin headers (for deployments behind a name)."
  },
  {
    name: "allowed-origins",
    env: "MCP_ALLOWED_ORIGINS",
    value: "LIST",
    default: "none",
    description: "Comma-separated extra origins (scheme://host:port) accepted in the Origin header; * accepts any."
  },
  {
    name: "max-sessions",
    env: "MCP_MAX_SESSIONS",
    value: "N",
    default: "10000",
    description: "Most legacy sessions at once; initialize past it is refused with 503."
  },
  {
    name: "session-idle-timeout-ms",
    env: "MCP_SESSION_IDLE_TIMEOUT_MS",
    value: "MS",
    default: "1800000",
    description: "A session with no request and no open stream for this long ends (0: never)."
  },
  {
    name: "max-in-flight-per-session",
    env: "MCP_MAX_IN_FLIGHT_PER_SESSION",
    value: "N",
    default: "1000",
    description: "Most requests in flight per session, WebSocket, old SSE stream or stdio; past it, 503 with Retry-After over HTTP, else a -32000 error at once."
  },
  {
    name: "max-queued-bytes",
    env: "MCP_MAX_QUEUED_BYTES",
    value: "N",
    default: "8388608",
    description: "Most bytes queued for a peer that does not read (WebSocket, old SSE, stdio) and of old-SSE POSTs waiting; past it the peer is cut off (POSTs: 503)."
  },
  {
    name: "max-streams",
    env: "MCP_MAX_STREAMS",
    value: "N",
    default: "10000",
    description: "Most open SSE streams and WebSockets across the server; past it, 503 with Retry-After."
  },
  {
    name: "max-streams-per-session",
    env: "MCP_MAX_STREAMS_PER_SESSION",
    value: "N",
    default: "8",
    description: "Most resumed SSE streams (GET with Last-Event-ID of a request's stream) per session; a session's own GET stream is one at most, a new one replaces it."
  },
  {
    name: "keepalive-ms",
    env: "MCP_KEEPALIVE_MS",
    value: "MS",
    default: "15000",
    description: "Interval of SSE keep-alive comments (0: none)."
  },
  {
    name: "shutdown-timeout-ms",
    env: "MCP_SHUTDOWN_TIMEOUT_MS",
    value: "MS",
    default: "5000",
    description: "On SIGTERM/SIGINT: the whole graceful shutdown, from signal to closed sockets (stdio too). A second signal ends it at once, still answering requests in flight."
  },
  {
    name: "headers-timeout-ms",
    env: "MCP_HEADERS_TIMEOUT_MS",
    value: "MS",
    default: "10000",
    description: "Time a client has to send its request headers (slowloris protection)."
  },
  {
    name: "request-read-timeout-ms",
    env: "MCP_REQUEST_READ_TIMEOUT_MS",
    value: "MS",
    default: "30000",
    description: "Time a client has to send a whole request, headers and body (not the response); past it, 408."
  },
  {
    name: "log-level",
    env: "MCP_LOG_LEVEL",
    value: "LEVEL",
    default: "info",
    description: "Server log level: all, trace, debug, info, warning, error, fatal, none. Logs go to stderr."
  },
  {
    name: "log-format",
    env: "MCP_LOG_FORMAT",
    value: "FORMAT",
    default: "json (pretty on a terminal)",
    description: "Server log format: json, logfmt or pretty."
  },
  {
    name: "max-message-bytes",
    env: "MCP_MAX_MESSAGE_BYTES",
    value: "N",
    default: "4194304",
    description: "stdio: largest accepted message. A larger one is discarded and answered with -32600 (id null)."
  },
  {
    name: "request-timeout-ms",
    env: "MCP_REQUEST_TIMEOUT_MS",
    value: "MS",
    default: "60000",
    description: "A request still running after this long is interrupted and answered with -32001. 0 disables."
  },
  {
    name: "drain-timeout-ms",
    env: "MCP_DRAIN_TIMEOUT_MS",
    value: "MS",
    default: "2000",
    description: "stdio: after stdin closes, how long in-flight requests may finish before they are interrupted."
  },
  {
    name: "page-size",
    env: "MCP_PAGE_SIZE",
    value: "N",
    default: "100",
    description: "Items per page of tools/list, resources/list, resources/templates/list and prompts/list."
  },
  {
    name: "cache-ttl-ms",
    env: "MCP_CACHE_TTL_MS",
    value: "MS",
    default: "60000",
    description: "Modern-era ttlMs on cacheable results (lists, server/discover)."
  },
  {
    name: "client-request-timeout-ms",
    env: "MCP_CLIENT_REQUEST_TIMEOUT_MS",
    value: "MS",
    default: "300000",
    description: "How long a question to the client (sampling, elicitation, roots) waits for its answer. 0 waits forever."
  },
  {
    name: "request-state-key",
    env: "MCP_REQUEST_STATE_KEY",
    value: "KEY",
    default: "random per process",
    description: "HMAC key for modern requestState (multi round-trip requests); set it to share states across replicas."
  },
  {
    name: "log-messages",
    env: "MCP_LOG_MESSAGES",
    value: undefined,
    default: "off",
    description: "Log every inbound and outbound JSON-RPC message (method, id, direction; no bodies)."
  },
  {
    name: "allow-methods",
    env: "MCP_ALLOW_METHODS",
    value: "LIST",
    default: "all",
    description: "Comma-separated methods clients may call; others get -32601 (initialize and ping are always allowed)."
  },
  {
    name: "deny-methods",
    env: "MCP_DENY_METHODS",
    value: "LIST",
    default: "none",
    description: "Comma-separated methods clients may not call (-32601)."
  },
  { name: "help", env: "", value: undefined, default: "", description: "Print this help and exit." },
  { name: "version", env: "", value: undefined, default: "", description: "Print the version and exit." }
]

/** @since 0.1.0 @category models */
export type Parsed =
  | { readonly _tag: "Help" }
  | { readonly _tag: "Version" }
  | { readonly _tag: "Invalid"; readonly message: string }
  | { readonly _tag: "Serve"; readonly config: ReadonlyMap<string, string> }

/**
 * Parses `--flag value`, `--flag=value` and switches into Config entries keyed by the environment names.
 *
 * @since 0.1.0 @category parsing
 */
export const parse = (argv: ReadonlyArray<string>): Parsed => {
  const config = new Map<string, string>()
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (!arg.startsWith("--")) return { _tag: "Invalid", message: `Unexpected argument: ${arg}` }
    const eq = arg.indexOf("=")
    const name = arg.slice(2, eq === -1 ? undefined : eq)
    const flag = flags.find((f) => f.name === name)
    if (flag === undefined) return { _tag: "Invalid", message: `Unknown flag: --${name} (see --help)` }
    if (flag.name === "help") return { _tag: "Help" }
    if (flag.name === "version") return { _tag: "Version" }
    if (flag.value === undefined) {
      if (eq !== -1) return { _tag: "Invalid", message: `--${name} takes no value` }
      config.set(flag.env, "true")
      continue
    }
    const value = eq !== -1 ? arg.slice(eq + 1) : argv[++i]
    if (value === undefined) return { _tag: "Invalid", message: `--${name} needs a value (${flag.value})` }
    if ((flag.value === "N" || flag.value === "MS") && !/^\d+$/.test(value)) {
      return { _tag: "Invalid", message: `--${name} needs a non-negative integer (${flag.value}), got: ${value}` }
    }
    config.set(flag.env, value)
  }
  return { _tag: "Serve", config }
}

/** @since 0.1.0 @category help */
export const help = (): string => {
  const rows = flags.map((flag) => {
    const left = `  --${flag.name}${flag.value === undefined ? "" : ` ${flag.value}`}`
    const env = flag.env === "" ? "" : ` [env ${flag.env}; default ${flag.default}]`
    return `${left.padEnd(30)} ${flag.description}${env}`
  })
  return [
    `effect-mcp-server ${VERSION}: a Model Context Protocol server runtime built on Effect.`,
    "",
    "Usage: node dist/main.js [flags]",
    "",
    "Serves the built-in reference server, by default over Streamable HTTP at http://127.0.0.1:3000/mcp",
    "(also GET /health and GET /ready). Both protocol eras are served: 2026-07-28 (stateless) and",
    "2024-11-05 to 2025-11-25 (initialize handshake). Logs go to stderr; with --stdio, stdout carries only MCP.",
    "",
    "Flags:",
    ...rows,
    ""
  ].join("\n")
}

const logLevels: Record<string, LogLevel.LogLevel> = {
  all: LogLevel.All,
  trace: LogLevel.Trace,
  debug: LogLevel.Debug,
  info: LogLevel.Info,
  warning: LogLevel.Warning,
  warn: LogLevel.Warning,
  error: LogLevel.Error,
  fatal: LogLevel.Fatal,
  none: LogLevel.None
}

const lookup = (config: ReadonlyMap<string, string>, key: string): string | undefined =>
  config.get(key) ?? process.env[key]

const listOf = (value: string | undefined): ReadonlyArray<string> | undefined =>
  value === undefined ? undefined : value.split(",").map((m) => m.trim()).filter((m) => m !== "")

/** The interceptors the flags ask for, registered on the server in a fixed order: logger, then method lists. */
const withInterceptors = (config: ReadonlyMap<string, string>, server: Layer.Layer<McpServer>): Layer.Layer<McpServer> => {
  const chain: Array<Interceptor.Interceptor> = []
  if (lookup(config, "MCP_LOG_MESSAGES") === "true") chain.push(Interceptor.logger())
  const allow = listOf(lookup(config, "MCP_ALLOW_METHODS"))
  if (allow !== undefined) {
    chain.push(Interceptor.methods({ allow: [...allow, "initialize", "notifications/initialized", "ping"] }))
  }
  const deny = listOf(lookup(config, "MCP_DENY_METHODS"))
  if (deny !== undefined) chain.push(Interceptor.methods({ deny }))
  return chain.length === 0 ? server : Interceptor.layer(...chain).pipe(Layer.provideMerge(server))
}

/**
 * The first SIGTERM/SIGINT is the graceful shutdown (the runtime interrupts the main fiber). A second one, while
 * that shutdown runs, ends the process at once on purpose (exit 130 for SIGINT, 143 for SIGTERM): the operator's
 * way out of a shutdown that takes too long. The listener also keeps Node from dying of the signal's default
 * action mid-shutdown.
 */
const secondSignalExits = Effect.acquireRelease(
  Effect.sync(() => {
    let received = 0
    const onSignal = (signal: NodeJS.Signals) => {
      if (++received < 2) return
      process.stderr.write(`${JSON.stringify({ message: `Second ${signal} during shutdown: exiting at once`, logLevel: "WARN" })}\n`)
      process.exit(signal === "SIGINT" ? 130 : 143)
    }
    process.on("SIGINT", onSignal)
    process.on("SIGTERM", onSignal)
    return onSignal
  }),
  (onSignal) =>
    Effect.sync(() => {
      process.removeListener("SIGINT", onSignal)
      process.removeListener("SIGTERM", onSignal)
    })
)

/**
 * Runs the CLI: help, version, or serve `server` over stdio with logs on stderr.
 *
 * @since 0.1.0 @category running
 */
export const run = (argv: ReadonlyArray<string>, server: Layer.Layer<McpServer>): Effect.Effect<void> =>
  Effect.suspend(() => {
    const parsed = parse(argv)
    switch (parsed._tag) {
      case "Help":
        return Console.log(help())
      case "Version":
        return Console.log(VERSION)
      case "Invalid":
        return Effect.zipRight(Console.error(`${parsed.message}`), Effect.sync(() => (process.exitCode = 2)))
      case "Serve": {
        const levelName = (lookup(parsed.config, "MCP_LOG_LEVEL") ?? "info").toLowerCase()
        const level = logLevels[levelName]
        if (level === undefined) {
          return Effect.zipRight(
            Console.error(`Unknown log level: ${levelName}`),
            Effect.sync(() => (process.exitCode = 2))
          )
        }
        const format = lookup(parsed.config, "MCP_LOG_FORMAT") ?? (process.stderr.isTTY ? "pretty" : "json")
        const logger = format === "pretty"
          ? Logger.prettyLogger({ stderr: true })
          : format === "logfmt"
          ? Logger.withConsoleError(Logger.logfmtLogger)
          : Logger.withConsoleError(Logger.jsonLogger)
        const provider = ConfigProvider.fromMap(new Map(parsed.config)).pipe(
          ConfigProvider.orElse(() => ConfigProvider.fromEnv())
        )
        const transport = lookup(parsed.config, "MCP_STDIO") === "true"
          ? "stdio"
          : (lookup(parsed.config, "MCP_TRANSPORT") ?? "http").toLowerCase()
        if (transport !== "stdio" && transport !== "http") {
          return Effect.zipRight(
            Console.error(`Unknown transport: ${transport} (http or stdio)`),
            Effect.sync(() => (process.exitCode = 2))
          )
        }
        const serverWithInterceptors = withInterceptors(parsed.config, server)
        const serve = transport === "stdio"
          ? Effect.logInfo("Serving MCP over stdio").pipe(
            Effect.annotateLogs({ version: VERSION, pid: process.pid }),
            Effect.zipRight(Stdio.serveConfig),
            Effect.zipRight(Effect.logInfo("stdin closed; exiting")),
            Effect.provide(serverWithInterceptors)
          )
          : Layer.launch(HttpServer.layerConfig.pipe(Layer.provide(serverWithInterceptors))).pipe(
            Effect.annotateLogs({ version: VERSION, pid: process.pid }),
            Effect.catchAll((error) =>
              Effect.zipRight(
                Effect.logError("Cannot serve HTTP").pipe(Effect.annotateLogs({ error: String(error) })),
                Effect.sync(() => (process.exitCode = 1))
              )
            )
          )
        return serve.pipe(
          // Reported here, through the server's logger (stderr): never on stdout, which stdio keeps for MCP.
          Effect.catchAllCause((cause) =>
            Cause.isInterruptedOnly(cause) ? Effect.void : Effect.zipRight(
              Effect.logError("The server failed").pipe(Effect.annotateLogs({ cause: Cause.pretty(cause) })),
              Effect.sync(() => (process.exitCode = 1))
            )
          ),
          (effect) => Effect.scoped(Effect.zipRight(secondSignalExits, effect)),
          Effect.withConfigProvider(provider),
          Effect.provide(Logger.replace(Logger.defaultLogger, logger)),
          Logger.withMinimumLogLevel(level)
        )
      }
    }
  })
