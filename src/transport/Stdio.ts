/**
 * MCP over stdio: newline-delimited JSON on stdin/stdout. Nothing but MCP messages goes to stdout (logs belong on
 * stderr). The first message pins the era. stdin EOF lets in-flight requests finish (bounded by the drain
 * timeout) and then ends the connection, so the process exits 0; a signal interrupts everything at once.
 *
 * Messages larger than `maxMessageBytes` (default 4 MiB) are not buffered past the limit: the rest of the line is
 * skipped, the client gets -32600 with id null (the id cannot be known without reading the message), and the
 * next line is served normally.
 *
 * @since 0.1.0
 */
import type { Duration } from "effect"
import { Config, Effect, Layer, Option } from "effect"
import type { McpServer } from "../server/McpServer.js"
import * as Connection from "./Connection.js"

/** @since 0.1.0 @category models */
export interface Options {
  readonly stdin?: NodeJS.ReadableStream
  readonly stdout?: NodeJS.WritableStream
  /** Largest accepted message in bytes. Default 4 MiB. */
  readonly maxMessageBytes?: number
  /** How long in-flight requests may finish after stdin closes. Default 2 s. */
  readonly drainTimeout?: Duration.DurationInput
}

/** @since 0.1.0 @category constants */
export const DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024

const NEWLINE = 10

/**
 * A stdio-framed transport over any pair of byte streams (also usable for TCP or Unix sockets, which the spec
 * says should reuse stdio framing).
 *
 * @since 0.1.0 @category constructors
 */
export const transport = (
  stdin: NodeJS.ReadableStream,
  stdout: NodeJS.WritableStream,
  maxMessageBytes: number = DEFAULT_MAX_MESSAGE_BYTES
): Connection.Transport => ({
  start: (inbound) =>
    Effect.acquireRelease(
      Effect.sync(() => {
        let parts: Array<Buffer> = []
        let size = 0
        let skipping = false
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
            inbound.oversized(maxMessageBytes)
            return
          }
          if (size === 0) return
          const text = (parts.length === 1 ? parts[0]! : Buffer.concat(parts, size)).toString("utf8")
          parts = []
          size = 0
          const line = text.endsWith("\r") ? text.slice(0, -1) : text
          if (line.trim() !== "") inbound.frame(line)
        }
        const onData = (chunk: Buffer | string) => {
          const buffer = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk
          let start = 0
          while (start <= buffer.length) {
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
        const onEnd = () => {
          emit()
          inbound.end({ drain: true })
        }
        const onError = () => inbound.end({ drain: false })
        stdin.on("data", onData)
        stdin.on("end", onEnd)
        stdin.on("error", onError)
        stdout.on("error", onError)
        stdin.resume()
        return { onData, onEnd, onError }
      }),
      ({ onData, onEnd, onError }) =>
        Effect.sync(() => {
          stdin.removeListener("data", onData)
          stdin.removeListener("end", onEnd)
          stdin.removeListener("error", onError)
          stdout.removeListener("error", onError)
          stdin.pause()
        })
    ),
  write: (frame) =>
    Effect.async<void>((resume) => {
      if (stdout.write(frame + "\n")) resume(Effect.void)
      else stdout.once("drain", () => resume(Effect.void))
    }),
  pause: () => {
    stdin.pause()
  },
  resume: () => {
    stdin.resume()
  }
})

/**
 * Serves MCP on the process's stdin/stdout until stdin closes.
 *
 * @since 0.1.0 @category constructors
 */
export const serve = (options: Options = {}): Effect.Effect<void, never, McpServer> =>
  Connection.serve(
    transport(options.stdin ?? process.stdin, options.stdout ?? process.stdout, options.maxMessageBytes),
    { transport: "stdio", ...(options.drainTimeout === undefined ? {} : { drainTimeout: options.drainTimeout }) }
  )

/**
 * `serve` with its options read from `effect/Config`: `MCP_MAX_MESSAGE_BYTES`, `MCP_DRAIN_TIMEOUT_MS`.
 *
 * @since 0.1.0 @category constructors
 */
export const serveConfig: Effect.Effect<void, never, McpServer> = Effect.gen(function*() {
  const maxMessageBytes = yield* Config.option(Config.integer("MCP_MAX_MESSAGE_BYTES"))
  const drain = yield* Config.option(Config.integer("MCP_DRAIN_TIMEOUT_MS"))
  yield* serve({
    ...Option.match(maxMessageBytes, { onNone: () => ({}), onSome: (maxMessageBytes) => ({ maxMessageBytes }) }),
    ...Option.match(drain, { onNone: () => ({}), onSome: (ms) => ({ drainTimeout: `${ms} millis` as const }) })
  })
}).pipe(Effect.orDie)

/**
 * Serves stdio for as long as the layer lives (for apps composed with `Layer.launch`).
 *
 * @since 0.1.0 @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<never, never, McpServer> =>
  Layer.scopedDiscard(Effect.forkScoped(serve(options)))
