/**
 * An upstream that is a child process speaking MCP on stdin/stdout (newline-delimited JSON, the framing of
 * `transport/Stdio.ts`), reached with the legacy handshake (`initialize` at the latest legacy version).
 *
 * The child leads its own process group (`detached`), with only a safe set of the gateway's environment (the
 * official SDK's default: HOME, LOGNAME, PATH, SHELL, TERM, USER) plus the config's `env`, so it never inherits
 * secrets it was not given. Its stderr lines go to the Effect log, annotated with the upstream's name. It is
 * supervised (`Lifecycle`): when it exits, every request in flight fails at once with `UpstreamError` ("closed"),
 * the state goes Down, and it is started again after a backoff. Closing the Scope sends SIGTERM to the whole process
 * group, then SIGKILL after a short grace: nothing it started survives.
 *
 * @since 0.2.0
 */
import { Deferred, Duration, Effect, FiberId, Queue, Runtime } from "effect"
import type { Scope } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import * as JsonRpc from "../protocol/JsonRpc.js"
import * as Stdio from "../transport/Stdio.js"
import * as ClientCore from "./ClientCore.js"
import * as Lifecycle from "./Lifecycle.js"
import * as Upstream from "./Upstream.js"

/**
 * @since 0.2.0
 * @category models
 */
export interface Options extends Lifecycle.RestartOptions {
  /** Largest message accepted from the child; longer lines are skipped (and logged). Default 4 MiB. */
  readonly maxMessageBytes?: number
  /** Longest stderr line logged (the rest is cut). Default 4,096 characters. */
  readonly maxStderrLine?: number
  /** After SIGTERM, how long the process group has before SIGKILL. Default 2 s. */
  readonly killGraceMillis?: number
}

/**
 * The variables a child inherits from the gateway's environment (the official SDK's `getDefaultEnvironment`).
 *
 * @since 0.2.0
 * @category constants
 */
export const INHERITED_ENV: ReadonlyArray<string> = process.platform === "win32"
  ? [
    "APPDATA",
    "HOMEDRIVE",
    "HOMEPATH",
    "LOCALAPPDATA",
    "PATH",
    "PROCESSOR_ARCHITECTURE",
    "SYSTEMDRIVE",
    "SYSTEMROOT",
    "TEMP",
    "USERNAME",
    "USERPROFILE",
    "PROGRAMFILES"
  ]
  : ["HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER"]

/**
 * The child's environment: the inherited set (values that look like shell functions left out) plus `env`.
 *
 * @since 0.2.0
 * @category helpers
 */
export const environment = (env: Readonly<Record<string, string>>): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const key of INHERITED_ENV) {
    const value = process.env[key]
    if (value !== undefined && !value.startsWith("()")) out[key] = value
  }
  return { ...out, ...env }
}

const MAILBOX = 64
const STDERR_QUEUE = 256

/** Sends `signal` to the process group led by `pid`; false when there is none left. */
const signalGroup = (pid: number, signal: NodeJS.Signals | 0): boolean => {
  try {
    process.kill(-pid, signal)
    return true
  } catch {
    return false
  }
}

interface Child {
  readonly process: ChildProcess
  /** Completed when the process exits (or could not start), with why. */
  readonly exited: Deferred.Deferred<string>
}

/** Spawns the child in the Scope; the Scope's end kills its process group (SIGTERM, then SIGKILL). */
const spawnChild = (config: Upstream.StdioConfig, graceMillis: number): Effect.Effect<Child, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const exited = Deferred.unsafeMake<string>(FiberId.none)
      const child = spawn(config.command, [...config.args], {
        env: environment(config.env),
        ...(config.cwd === undefined ? {} : { cwd: config.cwd }),
        stdio: ["pipe", "pipe", "pipe"],
        detached: true,
        windowsHide: true
      })
      child.once("error", (error) => Deferred.unsafeDone(exited, Effect.succeed(`could not run: ${error.message}`)))
      child.once("exit", (code, signal) =>
        Deferred.unsafeDone(
          exited,
          Effect.succeed(signal === null ? `exited with code ${code}` : `killed by ${signal}`)
        ))
      // A pipe whose peer is gone reports EPIPE: the exit says what happened.
      child.stdin!.on("error", () => {})
      child.stdout!.on("error", () => {})
      child.stderr!.on("error", () => {})
      return { process: child, exited }
    }),
    ({ exited, process: child }) =>
      Effect.gen(function*() {
        const pid = child.pid
        child.stdin?.end()
        if (pid === undefined) return
        // The whole group, even when its leader already exited: what it started must not outlive it.
        if (!signalGroup(pid, "SIGTERM")) return
        yield* Effect.timeoutOption(Deferred.await(exited), Duration.millis(graceMillis))
        if (signalGroup(pid, 0)) signalGroup(pid, "SIGKILL")
      })
  )

/** Splits the child's stderr into lines (each cut at `max`) onto a dropping queue. */
const stderrLines = (child: ChildProcess, queue: Queue.Queue<string>, max: number) => {
  let buffer = ""
  let cut = false
  child.stderr!.setEncoding("utf8")
  child.stderr!.on("data", (chunk: string) => {
    let start = 0
    while (start < chunk.length) {
      const nl = chunk.indexOf("\n", start)
      const part = chunk.slice(start, nl === -1 ? chunk.length : nl)
      if (!cut) {
        buffer += part
        if (buffer.length > max) {
          buffer = buffer.slice(0, max) + "…"
          cut = true
        }
      }
      if (nl === -1) return
      const line = buffer.endsWith("\r") ? buffer.slice(0, -1) : buffer
      if (line.trim() !== "") Queue.unsafeOffer(queue, line)
      buffer = ""
      cut = false
      start = nl + 1
    }
  })
}

/**
 * The upstream of a stdio config, supervised in the Scope.
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = (
  config: Upstream.StdioConfig,
  events: Upstream.Events,
  options: Options = {}
): Effect.Effect<Upstream.Upstream, never, Scope.Scope> =>
  Effect.gen(function*() {
    const upstream = config.name
    const maxMessageBytes = options.maxMessageBytes ?? Stdio.DEFAULT_MAX_MESSAGE_BYTES

    interface Connection {
      readonly core: ClientCore.Core
      readonly write: (frame: string) => Effect.Effect<void, Upstream.UpstreamError>
    }

    const connect: Lifecycle.Connect<Connection> = (up) =>
      Effect.gen(function*() {
        const child = yield* spawnChild(config, options.killGraceMillis ?? 2_000)
        const proc = child.process

        // stderr: into the log, annotated with the upstream's name; a flood is dropped, not buffered.
        const stderr = yield* Queue.dropping<string>(STDERR_QUEUE)
        stderrLines(proc, stderr, options.maxStderrLine ?? 4_096)
        yield* Effect.forkScoped(Effect.forever(Effect.flatMap(Queue.take(stderr), (line) =>
          Effect.logInfo(line).pipe(
            Effect.annotateLogs({ upstream, stream: "stderr", pid: proc.pid ?? 0 })
          ))))

        const runFork = Runtime.runFork(yield* Effect.runtime<never>())
        const transport = Stdio.transport(proc.stdout!, proc.stdin!, maxMessageBytes, { coalesce: true })
        const write = (frame: string): Effect.Effect<void, Upstream.UpstreamError> => transport.write(frame)
        const core = yield* ClientCore.make({
          upstream,
          events,
          write,
          cancelByNotification: true,
          maxPending: Math.max(1, config.maxInFlight) + 16
        })

        // stdout: an answer with nothing queued before it is settled at once (no fiber woken for it); anything else
        // goes into a bounded mailbox read by one fiber in order; a full mailbox pauses the pipe.
        const mailbox = yield* Queue.bounded<Effect.Effect<void>>(MAILBOX)
        let queued = 0
        // Frames taken from the mailbox whose work has not finished yet, plus those still in it.
        let unfinished = 0
        let paused = false
        yield* transport.start({
          frame: (text) => {
            const work = unfinished === 0 ? core.receiveNow(text) : Effect.suspend(() => core.receive(text))
            if (work === undefined) return true
            unfinished++
            Queue.unsafeOffer(mailbox, work)
            if (++queued >= MAILBOX) {
              paused = true
              transport.pause()
            }
            return true
          },
          oversized: (limit) => {
            runFork(
              Effect.logWarning("Upstream sent a message over the size limit: skipped").pipe(
                Effect.annotateLogs({ upstream, maxMessageBytes: limit })
              )
            )
          },
          end: () => {}
        })
        yield* Effect.forkScoped(Effect.forever(Effect.flatMap(Queue.take(mailbox), (work) => {
          if (--queued <= MAILBOX / 2 && paused) {
            paused = false
            transport.resume()
          }
          return Effect.ensuring(
            work,
            Effect.sync(() => {
              unfinished--
            })
          )
        })))

        // The exit fails every request in flight at once, whatever the handshake or the requests are doing.
        yield* Effect.forkScoped(Effect.flatMap(Deferred.await(child.exited), (reason) =>
          Effect.sync(() => core.close(`Upstream ${upstream} ${reason}`))))

        const send = (frame: string) =>
          write(frame)
        const declared = yield* ClientCore.initialize(
          upstream,
          (params) =>
            core.request("initialize", params, undefined, send),
          write(JsonRpc.encodeNotification("notifications/initialized", undefined))
        ).pipe(
          Effect.timeoutFail({
            duration: config.timeoutMillis,
            onTimeout: () =>
              new Upstream.UpstreamError({
                upstream,
                reason: "timeout",
                message: `Upstream ${upstream} did not answer initialize within ${config.timeoutMillis} ms`
              })
          }),
          Effect.raceFirst(
            Effect.flatMap(Deferred.await(child.exited), (reason) =>
              Effect.fail(
                new Upstream.UpstreamError({ upstream, reason: "closed", message: `${reason} before initialize` })
              ))
          )
        )
        yield* up(declared, { core, write })
        return yield* Deferred.await(child.exited)
      })

    const supervised = yield* Lifecycle.supervise(config, events, connect, options)

    return yield* Lifecycle.upstream(config, supervised, {
      request: (c, method, params, hooks) => c.core.request(method, params, hooks, c.write),
      notify: (c, method, params) => c.write(JsonRpc.encodeNotification(method, params))
    })
  })
