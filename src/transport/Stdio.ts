/**
 * MCP over stdio: newline-delimited JSON on stdin/stdout. Nothing but MCP messages goes to stdout: while `serve`
 * serves the process's stdout, the console's stdout methods write to stderr (`guardStdout`), so Effect's loggers
 * and a `console.log` anywhere in the app land on stderr. The first message pins the era. stdin EOF lets in-flight
 * requests finish (bounded by the drain timeout) and then ends the connection, so the process exits 0; a signal
 * interrupts everything at once.
 *
 * Messages larger than `maxMessageBytes` (default 4 MiB) are not buffered past the limit: the rest of the line is
 * skipped, the client gets -32600 with id null (the id cannot be known without reading the message), and the
 * next line is served normally.
 *
 * @since 0.1.0
 */
import { Clock, Config, Duration, Effect, Fiber, Layer } from "effect"
import { Console } from "node:console"
import type { Readable, Writable } from "node:stream"
import type { McpServer } from "../server/McpServer.js"
import * as Settings from "../Settings.js"
import * as Connection from "./Connection.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly stdin?: NodeJS.ReadableStream
  readonly stdout?: NodeJS.WritableStream
  /** Largest accepted message in bytes. Default 4 MiB. */
  readonly maxMessageBytes?: number
  /** How long in-flight requests may finish after stdin closes. Default 2 s. */
  readonly drainTimeout?: Duration.DurationInput
  /** When interrupted (SIGTERM): the whole graceful end, requests in flight included. Default 5 s. */
  readonly shutdownTimeout?: Duration.DurationInput
  /** Most requests in flight at once; past it, -32000 at once. Default 1,000. */
  readonly maxInFlight?: number
  /** Most bytes queued for a client that does not read stdout; past it the connection ends. Default 8 MiB. */
  readonly maxQueuedBytes?: number
}

/**
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_MAX_MESSAGE_BYTES: number = Settings.maxMessageBytes.default

const NEWLINE = 10

/**
 * A stdio-framed transport over any pair of byte streams (also usable for TCP or Unix sockets, which the spec
 * says should reuse stdio framing). Pausing stops the line splitting at once: the rest of a chunk already read
 * waits (at most one chunk) until the connection resumes, so a burst is never parsed ahead of the mailbox.
 *
 * `coalesce`: frames written in one tick go out in one write (the stream is corked and uncorked on the next tick).
 * A write to a child's stdin is a system call that also wakes the child, the largest cost of a small message, so
 * the gateway's stdio upstreams coalesce. A server's own stdout does not: a pipe or file there is written
 * synchronously, and a frame held for the next tick would be lost to a `process.exit` in this one.
 *
 * @since 0.1.0
 * @category constructors
 */
export const transport = (
  stdin: NodeJS.ReadableStream,
  stdout: NodeJS.WritableStream,
  maxMessageBytes: number = DEFAULT_MAX_MESSAGE_BYTES,
  options: { readonly coalesce?: boolean } = {}
): Connection.Transport => {
  let inbound: Connection.Inbound | undefined
  let parts: Array<Buffer> = []
  let size = 0
  let skipping = false
  let paused = false
  // The unsplit rest of a chunk, held while paused; and an EOF that came while it was held.
  let rest: Buffer | undefined
  let ended = false
  // With `coalesce`, frames written in one tick are flushed together (see `write`).
  const corkable: Partial<Pick<Writable, "cork" | "uncork">> = options.coalesce === true ? stdout as Writable : {}
  let corked = false
  const uncork = () => {
    corked = false
    corkable.uncork?.()
  }
  const append = (part: Buffer) => {
    if (skipping || part.length === 0) return
    if (size + part.length > maxMessageBytes) {
      skipping = true
      parts = []
      size = 0
      return
    }
    parts.push(part)
    size += part.length
  }
  const emit = () => {
    if (skipping) {
      skipping = false
      inbound?.oversized(maxMessageBytes)
      return
    }
    if (size === 0) return
    const text = (parts.length === 1 ? parts[0]! : Buffer.concat(parts, size)).toString("utf8")
    parts = []
    size = 0
    const line = text.endsWith("\r") ? text.slice(0, -1) : text
    if (line.trim() !== "") inbound?.frame(line)
  }
  const scan = (buffer: Buffer) => {
    let start = 0
    while (start < buffer.length) {
      if (paused) {
        rest = buffer.subarray(start)
        return
      }
      const newline = buffer.indexOf(NEWLINE, start)
      if (newline === -1) {
        append(buffer.subarray(start))
        return
      }
      append(buffer.subarray(start, newline))
      emit()
      start = newline + 1
    }
  }
  const finish = () => {
    emit()
    inbound?.end({ drain: true })
  }
  const onData = (chunk: Buffer | string) => scan(typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk)
  const onEnd = () => {
    if (rest !== undefined) ended = true
    else finish()
  }
  const onError = () => inbound?.end({ drain: false })
  return {
    start: (callbacks) =>
      Effect.acquireRelease(
        Effect.sync(() => {
          inbound = callbacks
          stdin.on("data", onData)
          stdin.on("end", onEnd)
          stdin.on("error", onError)
          stdout.on("error", onError)
          stdin.resume()
        }),
        () =>
          Effect.sync(() => {
            stdin.removeListener("data", onData)
            stdin.removeListener("end", onEnd)
            stdin.removeListener("error", onError)
            stdout.removeListener("error", onError)
            stdin.pause()
            inbound = undefined
          })
      ),
    write: (frame) =>
      Effect.async<void>((resume) => {
        // `coalesce`: frames written in one tick go out in one write (writev, on the next tick).
        if (!corked && corkable.cork !== undefined) {
          corked = true
          corkable.cork()
          process.nextTick(uncork)
        }
        if (stdout.write(frame + "\n")) return resume(Effect.void)
        // A reader that went away never drains: its close or error ends the wait too.
        const done = () => {
          stdout.removeListener("drain", done)
          stdout.removeListener("close", done)
          stdout.removeListener("error", done)
          resume(Effect.void)
        }
        stdout.on("drain", done)
        stdout.on("close", done)
        stdout.on("error", done)
        return Effect.sync(() => {
          stdout.removeListener("drain", done)
          stdout.removeListener("close", done)
          stdout.removeListener("error", done)
        })
      }),
    pause: () => {
      paused = true
      stdin.pause()
    },
    resume: () => {
      paused = false
      if (rest !== undefined) {
        const held = rest
        rest = undefined
        scan(held)
      }
      if (paused) return
      if (ended && rest === undefined) {
        ended = false
        finish()
      }
      stdin.resume()
    },
    pausable: true,
    destroy: () => {
      ;(stdout as Partial<Writable>).destroy?.()
      ;(stdin as Partial<Readable>).destroy?.()
      inbound?.end({ drain: false })
    }
  }
}

/** The console's methods that write to stdout themselves (`table`, `count`, `group`, `timeLog` call `log`). */
const STDOUT_METHODS = ["log", "info", "debug", "dir", "dirxml"] as const

type StdoutMethod = typeof STDOUT_METHODS[number]

/** The console as it was before the first guard, the replacements, and how many guards are in place. */
let guards = 0
let saved: Pick<globalThis.Console, StdoutMethod> | undefined
let replacements: Pick<globalThis.Console, StdoutMethod> | undefined

const redirectConsole = (): void => {
  if (guards++ > 0) return
  // A console whose "stdout" is stderr: each method keeps its own formatting (inspect options, colours of stderr).
  const onStderr = new Console({ stdout: process.stderr, stderr: process.stderr })
  saved = { log: console.log, info: console.info, debug: console.debug, dir: console.dir, dirxml: console.dirxml }
  replacements = {
    log: onStderr.log.bind(onStderr),
    info: onStderr.info.bind(onStderr),
    debug: onStderr.debug.bind(onStderr),
    dir: onStderr.dir.bind(onStderr),
    dirxml: onStderr.dirxml.bind(onStderr)
  }
  Object.assign(console, replacements)
}

const restoreConsole = (): void => {
  if (--guards > 0 || saved === undefined || replacements === undefined) return
  for (const method of STDOUT_METHODS) {
    // A method someone replaced while the guard was in place is theirs now: left as they set it.
    if (console[method] === replacements[method]) {
      ;(console as Pick<globalThis.Console, StdoutMethod>)[method] = saved[method]
    }
  }
  saved = undefined
  replacements = undefined
}

/**
 * Keeps the process's stdout for protocol messages while `self` runs: the global console's methods that write to
 * stdout (`log`, `info`, `debug`, `dir`, `dirxml`, and through `log` also `table`, `count`, `group`, `timeLog`,
 * `timeEnd`) write to stderr instead, and are put back when `self` ends, however it ends (success, failure,
 * interruption). Effect's loggers write through that console (the default logger, the pretty logger that
 * `NodeRuntime.runMain` installs, `Logger.logfmtLogger` or `jsonLogger` with `Logger.withConsoleLog`, and
 * `Console.log`), so `Effect.log` anywhere in the program, in every fiber, lands on stderr too; their format is
 * unchanged. Guards nest and overlap: the console is put back when the last one ends.
 *
 * `serve` (and so `layer` and `serveConfig`) applies it while it serves the process's stdout. Wrap the whole
 * program in it when its layers log while they are built, before serving starts. Not redirected: writes straight to
 * `process.stdout`, and an app's own Console service (`Effect.withConsole`) that writes to stdout.
 *
 * @since 0.1.0
 * @category combinators
 */
export const guardStdout = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.acquireUseRelease(Effect.sync(redirectConsole), () => self, () => Effect.sync(restoreConsole))

/**
 * Serves MCP on the process's stdin/stdout until stdin closes (in-flight requests may finish for `drainTimeout`),
 * or until interrupted (a signal): then, for `shutdownTimeout`, no new request is taken and those in flight may
 * finish; what is still running is interrupted and answered with an error before the connection ends.
 *
 * Serving the process's stdout (the default), it keeps stdout for protocol messages from start to end with
 * `guardStdout`: console output and Effect's logs go to stderr meanwhile.
 *
 * @since 0.1.0
 * @category constructors
 */
export const serve = (options: Options = {}): Effect.Effect<void, never, McpServer> => {
  const stdout = options.stdout ?? process.stdout
  const serving = Effect.scoped(Effect.uninterruptibleMask((restore) =>
    Effect.gen(function*() {
      const base = transport(options.stdin ?? process.stdin, stdout, options.maxMessageBytes)
      let inbound: Connection.Inbound | undefined
      // Forked in this call's Scope, not as a child: interrupting a fiber signals its children at once, and the
      // connection must outlive the signal to drain. The Scope's end interrupts it on every way out.
      const connection = yield* Effect.forkScoped(restore(Connection.serve(
        {
          ...base,
          start: (callbacks) => Effect.zipRight(Effect.sync(() => (inbound = callbacks)), base.start(callbacks))
        },
        {
          transport: "stdio",
          ...(options.drainTimeout === undefined ? {} : { drainTimeout: options.drainTimeout }),
          ...(options.maxInFlight === undefined ? {} : { maxInFlight: options.maxInFlight }),
          ...(options.maxQueuedBytes === undefined ? {} : { maxQueuedBytes: options.maxQueuedBytes })
        }
      )))
      const grace = Duration.toMillis(Duration.decode(options.shutdownTimeout ?? Settings.shutdownTimeoutMs.default))
      // Interrupted (SIGTERM): the graceful end, bounded by the grace (and a margin for the last answers).
      const graceful = Effect.flatMap(Clock.currentTimeMillis, (now) => {
        inbound?.end({ drain: true, deadline: now + Math.max(0, grace - 500), shutdown: true })
        // This runs as a finalizer, uninterruptibly: the wait must be made interruptible for the timeout to end it.
        return Effect.timeoutOption(Effect.interruptible(Fiber.await(connection)), grace)
      })
      yield* restore(Fiber.join(connection)).pipe(Effect.onInterrupt(() => graceful))
    })
  ))
  return stdout === process.stdout ? guardStdout(serving) : serving
}

/**
 * `serve` with its options read from `effect/Config` (see Settings): `MCP_MAX_MESSAGE_BYTES`,
 * `MCP_DRAIN_TIMEOUT_MS`, `MCP_SHUTDOWN_TIMEOUT_MS`, `MCP_MAX_IN_FLIGHT_PER_SESSION`, `MCP_MAX_QUEUED_BYTES`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const serveConfig: Effect.Effect<void, never, McpServer> = Effect.gen(function*() {
  const c = yield* Config.all({
    maxMessageBytes: Settings.maxMessageBytes.config,
    drainTimeout: Settings.drainTimeoutMs.config,
    shutdownTimeout: Settings.shutdownTimeoutMs.config,
    maxInFlight: Settings.maxInFlightPerSession.config,
    maxQueuedBytes: Settings.maxQueuedBytes.config
  })
  yield* serve({
    ...Settings.optional("maxMessageBytes", c.maxMessageBytes),
    ...Settings.optionalWith("drainTimeout", c.drainTimeout, Duration.millis),
    ...Settings.optionalWith("shutdownTimeout", c.shutdownTimeout, Duration.millis),
    ...Settings.optional("maxInFlight", c.maxInFlight),
    ...Settings.optional("maxQueuedBytes", c.maxQueuedBytes)
  })
}).pipe(Effect.orDie)

/**
 * Serves stdio for as long as the layer lives (for apps composed with `Layer.launch`), or until stdin closes: `serve`
 * in a fiber of the layer's Scope, stdout guarded the same way. The layer does not end when stdin closes (under
 * `Layer.launch` the process stays up): a program that should exit at EOF uses `serve`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<never, never, McpServer> =>
  Layer.scopedDiscard(Effect.forkScoped(serve(options)))
