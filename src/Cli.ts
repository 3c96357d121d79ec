/**
 * The command line of a server: flags, their environment variables, help, logging, signals. `node dist/main.js`
 * is `Cli.main(ReferenceServer.layer)`; a server of your own gets the same in one call:
 *
 * ```ts
 * Cli.main(MyServer, { name: "my-server" }) // my-server --stdio, my-server --port 8080, my-server --help
 * ```
 *
 * Every flag maps onto the `effect/Config` name its layer reads, and each also has an environment variable of that
 * name; a flag wins over the environment.
 *
 * @since 0.1.0
 */
import type { ConfigError } from "effect"
import { Cause, ConfigProvider, Console, Effect, Either, Exit, FiberId, Layer, Logger, LogLevel } from "effect"
import * as Gateway from "./gateway/Gateway.js"
import * as GatewayConfig from "./gateway/GatewayConfig.js"
import * as Tape from "./gateway/Tape.js"
import * as McpHttpServer from "./http/McpHttpServer.js"
import * as McpMethod from "./protocol/McpMethod.js"
import * as Interceptor from "./server/Interceptor.js"
import type { McpServer } from "./server/McpServer.js"
import * as RateLimit from "./server/RateLimit.js"
import * as Settings from "./Settings.js"
import * as Stdio from "./transport/Stdio.js"
import { VERSION } from "./Version.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Flag {
  readonly name: string
  readonly env: string
  readonly value: string | undefined
  readonly default: string
  readonly description: string
}

/**
 * Every flag: the settings (see Settings), then help and version. `value` is the placeholder shown in help;
 * flags without one are switches.
 *
 * @since 0.1.0
 * @category constants
 */
export const flags: ReadonlyArray<Flag> = [
  ...Settings.all.map((setting): Flag => ({
    name: setting.name,
    env: setting.env,
    value: setting.placeholder,
    default: setting.shown,
    description: setting.description
  })),
  { name: "help", env: "", value: undefined, default: "", description: "Print this help and exit." },
  { name: "version", env: "", value: undefined, default: "", description: "Print the version and exit." }
]

/**
 * @since 0.1.0
 * @category models
 */
export type Parsed =
  | { readonly _tag: "Help" }
  | { readonly _tag: "Version" }
  | { readonly _tag: "Invalid"; readonly message: string }
  | {
    readonly _tag: "Serve"
    readonly config: ReadonlyMap<string, string>
    /** Gateway mode's one stdio upstream: everything after `--`. */
    readonly command?: ReadonlyArray<string>
  }

/**
 * Parses `--flag value`, `--flag=value` and switches into Config entries keyed by the environment names; after
 * `--`, the rest is the command of gateway mode's one stdio upstream.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse = (argv: ReadonlyArray<string>): Parsed => {
  const config = new Map<string, string>()
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === "--") {
      const command = argv.slice(i + 1)
      if (command.length === 0) return { _tag: "Invalid", message: "-- needs a command after it (gateway mode)" }
      return { _tag: "Serve", config, command }
    }
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

/**
 * @since 0.1.0
 * @category help
 */
export const help = (options: HelpOptions = {}): string => {
  const rows = flags.map((flag) => {
    const left = `  --${flag.name}${flag.value === undefined ? "" : ` ${flag.value}`}`
    const env = flag.env === "" ? "" : ` [env ${flag.env}; default ${flag.default}]`
    return `${left.padEnd(30)} ${flag.description}${env}`
  })
  return [
    options.title ?? `effect-mcp-server ${VERSION}: a Model Context Protocol server runtime built on Effect.`,
    "",
    `Usage: ${options.name ?? "node dist/main.js"} [flags]`,
    `       ${options.name ?? "node dist/main.js"} [flags] --gateway FILE | -- COMMAND [ARGS...]   (gateway mode)`,
    "",
    options.serves ?? "Serves the built-in reference server.",
    "By default over Streamable HTTP at http://127.0.0.1:3000/mcp (also GET /health and GET /ready). Both protocol",
    "eras are served: 2026-07-28 (stateless) and 2024-11-05 to 2025-11-25 (initialize handshake). Logs go to",
    "stderr; with --stdio, stdout carries only MCP.",
    "",
    "Flags:",
    ...rows,
    ""
  ].join("\n")
}

/**
 * What `--help` says of the program.
 *
 * @since 0.1.0
 * @category help
 */
export interface HelpOptions {
  /** The command line that starts it (default `node dist/main.js`). */
  readonly name?: string
  /** The first line (default: this package and version). */
  readonly title?: string
  /** What it serves, in a sentence. */
  readonly serves?: string
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

/**
 * The interceptors the flags ask for, in a fixed order (logger, then method lists), after those the server's layer
 * provides.
 */
const withInterceptors = <A, E>(
  config: ReadonlyMap<string, string>,
  server: Layer.Layer<A, E>
): Layer.Layer<A | Interceptor.Interceptors | RateLimit.RateLimiter, E | ConfigError.ConfigError> => {
  const chain: Array<Interceptor.Interceptor> = []
  if (lookup(config, Settings.logMessages.env) === "true") chain.push(Interceptor.logger())
  const allow = listOf(lookup(config, Settings.allowMethods.env))
  if (allow !== undefined) {
    chain.push(Interceptor.methods({
      allow: [...allow, McpMethod.initialize.name, "notifications/initialized", McpMethod.ping.name]
    }))
  }
  const deny = listOf(lookup(config, Settings.denyMethods.env))
  if (deny !== undefined) chain.push(Interceptor.methods({ deny }))
  // The rate limits the flags ask for (none by default) ride along with the server the engines are built from.
  return Interceptor.layer(...chain).pipe(Layer.provideMerge(server), Layer.merge(RateLimit.layerConfig))
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
      process.stderr.write(
        `${JSON.stringify({ message: `Second ${signal} during shutdown: exiting at once`, logLevel: "WARN" })}\n`
      )
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
 * What `run` and `main` take besides help texts.
 *
 * @since 0.2.0
 * @category running
 */
export interface RunOptions extends HelpOptions {
  /**
   * Gateway mode's connector to upstream servers (the bin gives `Upstreams.make`). Without it, `--gateway` and
   * `--` are refused; `--replay` needs none.
   */
  readonly gatewayConnect?: Gateway.Connect
}

/**
 * Gateway mode's server when the flags ask for it (`--gateway`, `--replay`, `--`): the layer, or the message that
 * refuses the command line. Upstream configs are read when the layer is built, where a bad file fails the start.
 */
const gatewayServer = (
  config: ReadonlyMap<string, string>,
  command: ReadonlyArray<string> | undefined,
  options: RunOptions
): Either.Either<Layer.Layer<McpServer, unknown>, string> | undefined => {
  const file = lookup(config, Settings.gateway.env)
  const replay = lookup(config, Settings.replay.env)
  const record = lookup(config, Settings.record.env)
  if (file === undefined && replay === undefined && command === undefined) {
    return record === undefined ? undefined : Either.left("--record needs gateway mode (--gateway FILE or -- COMMAND)")
  }
  if (file !== undefined && command !== undefined) return Either.left("Give --gateway FILE or -- COMMAND, not both")
  if (replay === undefined && options.gatewayConnect === undefined) {
    return Either.left("Gateway mode is not available in this program (it was given no upstream connector)")
  }
  const server = { name: options.name ?? "effect-mcp-server-gateway", version: VERSION }
  return Either.right(Layer.unwrapEffect(Effect.gen(function*() {
    const tape = replay === undefined ? undefined : yield* Tape.replay(replay)
    const upstreams = file !== undefined
      ? yield* GatewayConfig.load(file)
      : command !== undefined
      ? yield* GatewayConfig.fromCommand(command)
      : tape!.upstreams
    const connect = tape?.connect ?? options.gatewayConnect!
    return Gateway.layerConfig({ upstreams, connect, server, ...(record === undefined ? {} : { record }) })
  })))
}

/**
 * Runs the CLI: help, version, or serve `server` over stdio with logs on stderr.
 *
 * @since 0.1.0
 * @category running
 */
export const run = <E>(
  argv: ReadonlyArray<string>,
  server: Layer.Layer<McpServer, E>,
  options: RunOptions = {}
): Effect.Effect<void> =>
  Effect.suspend(() => {
    const parsed = parse(argv)
    switch (parsed._tag) {
      case "Help":
        return Console.log(help(options))
      case "Version":
        return Console.log(VERSION)
      case "Invalid":
        return Effect.zipRight(Console.error(`${parsed.message}`), Effect.sync(() => (process.exitCode = 2)))
      case "Serve": {
        const levelName = (lookup(parsed.config, Settings.logLevel.env) ?? Settings.logLevel.default).toLowerCase()
        const level = logLevels[levelName]
        if (level === undefined) {
          return Effect.zipRight(
            Console.error(`Unknown log level: ${levelName}`),
            Effect.sync(() => (process.exitCode = 2))
          )
        }
        const format = lookup(parsed.config, Settings.logFormat.env) ?? (process.stderr.isTTY ? "pretty" : "json")
        const logger = format === "pretty"
          ? Logger.prettyLogger({ stderr: true })
          : format === "logfmt"
          ? Logger.withConsoleError(Logger.logfmtLogger)
          : Logger.withConsoleError(Logger.jsonLogger)
        const provider = ConfigProvider.fromMap(new Map(parsed.config)).pipe(
          ConfigProvider.orElse(() => ConfigProvider.fromEnv())
        )
        const transport = lookup(parsed.config, Settings.stdio.env) === "true"
          ? "stdio"
          : (lookup(parsed.config, Settings.transport.env) ?? Settings.transport.default).toLowerCase()
        if (transport !== "stdio" && transport !== "http") {
          return Effect.zipRight(
            Console.error(`Unknown transport: ${transport} (http or stdio)`),
            Effect.sync(() => (process.exitCode = 2))
          )
        }
        const gatewayed = gatewayServer(parsed.config, parsed.command, options)
        if (gatewayed !== undefined && Either.isLeft(gatewayed)) {
          return Effect.zipRight(Console.error(gatewayed.left), Effect.sync(() => (process.exitCode = 2)))
        }
        const serverWithInterceptors = withInterceptors(
          parsed.config,
          gatewayed === undefined ? server : gatewayed.right as Layer.Layer<McpServer, E | Gateway.GatewayError>
        )
        const serve = transport === "stdio"
          ? Effect.logInfo("Serving MCP over stdio").pipe(
            Effect.annotateLogs({ version: VERSION, pid: process.pid }),
            Effect.zipRight(Stdio.serveConfig),
            Effect.zipRight(Effect.logInfo("stdin closed; exiting")),
            Effect.provide(serverWithInterceptors)
          )
          : Layer.launch(McpHttpServer.layerConfig.pipe(Layer.provide(serverWithInterceptors))).pipe(
            Effect.annotateLogs({ version: VERSION, pid: process.pid }),
            Effect.catchAll((error) =>
              Effect.zipRight(
                Effect.logError("Cannot serve HTTP").pipe(Effect.annotateLogs({ error: String(error) })),
                Effect.sync(() => (process.exitCode = 1))
              )
            )
          )
        return (gatewayed === undefined ? serve : Effect.zipRight(Effect.logInfo("Gateway mode"), serve)).pipe(
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

/**
 * Runs an Effect as the program's main fiber: the first SIGINT or SIGTERM interrupts it (so every Scope closes:
 * graceful shutdown), and the process exits when it ends: with `process.exitCode` if one was set, else 0 after
 * success or interruption, 1 after a failure (reported on stderr, never on stdout). A light stand-in for
 * `NodeRuntime.runMain` with no dependency beyond `effect`.
 *
 * @since 0.1.0
 * @category running
 */
export const runMain = <E, A>(effect: Effect.Effect<A, E>): void => {
  const fiber = Effect.runFork(effect)
  // The process stays alive while the fiber runs, even when nothing else holds the event loop.
  const keepAlive = setInterval(() => {}, 2 ** 31 - 1)
  const onSignal = () => {
    fiber.unsafeInterruptAsFork(FiberId.none)
  }
  process.once("SIGINT", onSignal)
  process.once("SIGTERM", onSignal)
  fiber.addObserver((exit) => {
    clearInterval(keepAlive)
    process.removeListener("SIGINT", onSignal)
    process.removeListener("SIGTERM", onSignal)
    if (Exit.isFailure(exit) && !Cause.isInterruptedOnly(exit.cause)) {
      process.stderr.write(`${Cause.pretty(exit.cause)}\n`)
      if (process.exitCode === undefined || process.exitCode === 0) process.exitCode = 1
    }
    process.exit()
  })
}

/**
 * The whole command line for a server: parses `process.argv`, serves `server` over Streamable HTTP (and the old
 * HTTP+SSE and WebSocket transports) or stdio as the flags say, with `--help`, `--version`, every flag and its
 * environment variable, the log format and level on stderr, and graceful shutdown on SIGINT/SIGTERM (a second
 * signal exits at once).
 *
 * @since 0.1.0
 * @category running
 */
export const main = <E>(
  server: Layer.Layer<McpServer, E>,
  options: RunOptions & { readonly argv?: ReadonlyArray<string> } = {}
): void => runMain(run(options.argv ?? process.argv.slice(2), server, options))
