/**
 * Server-Sent Events framing and writing onto a node `ServerResponse`, with backpressure: a write that the socket
 * cannot take suspends the writer until `drain` (or until the peer goes away).
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import type { ServerResponse } from "node:http"

/**
 * Headers of every SSE response: no caching, no proxy buffering.
 *
 * @since 0.1.0
 * @category constants
 */
export const headers: Readonly<Record<string, string>> = {
  "content-type": "text/event-stream",
  "cache-control": "no-cache, no-transform",
  "x-accel-buffering": "no"
}

/**
 * One `message` event carrying a JSON-RPC frame.
 *
 * @since 0.1.0
 * @category framing
 */
export const message = (data: string, id?: string): string =>
  id === undefined ? `event: message\ndata: ${data}\n\n` : `id: ${id}\nevent: message\ndata: ${data}\n\n`

/**
 * A named event.
 *
 * @since 0.1.0
 * @category framing
 */
export const event = (name: string, data: string, id?: string): string =>
  id === undefined ? `event: ${name}\ndata: ${data}\n\n` : `id: ${id}\nevent: ${name}\ndata: ${data}\n\n`

/**
 * The SEP-1699 priming event: an id and empty data, so the client has an id to resume from.
 *
 * @since 0.1.0
 */
export const priming = (id: string, retryMillis: number): string => `id: ${id}\nretry: ${retryMillis}\ndata: \n\n`

/**
 * A comment line: keeps intermediaries from timing the stream out.
 *
 * @since 0.1.0
 * @category framing
 */
export const comment = (text: string): string => `: ${text}\n\n`

/**
 * Writes a chunk, suspending while the socket applies backpressure; resumes at once if the response is closed.
 *
 * @since 0.1.0
 * @category writing
 */
export const write = (res: ServerResponse, chunk: string): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    if (res.writableEnded || res.destroyed) return resume(Effect.void)
    if (res.write(chunk)) return resume(Effect.void)
    const done = () => {
      res.removeListener("drain", done)
      res.removeListener("close", done)
      resume(Effect.void)
    }
    res.on("drain", done)
    res.on("close", done)
    return Effect.sync(() => {
      res.removeListener("drain", done)
      res.removeListener("close", done)
    })
  })

/**
 * Starts an SSE response.
 *
 * @since 0.1.0
 * @category writing
 */
export const open = (res: ServerResponse, extraHeaders: Record<string, string> = {}): void => {
  res.writeHead(200, { ...headers, ...extraHeaders })
  res.flushHeaders()
}

/** What a stream's keep-alive remembers between ticks: the bytes it was waiting to drain, or -1. */
export interface Liveness {
  pending: number
}

/**
 * The keep-alive tick of an SSE response: a comment when the socket takes it; a response still waiting to drain
 * exactly the bytes it waited on at the previous tick has a reader that stopped reading, and is destroyed (so it
 * is cut within two keep-alive intervals; where the stream is resumable the client resumes with Last-Event-ID).
 *
 * @since 0.1.0
 * @category writing
 */
export const keepAlive = (res: ServerResponse, liveness: Liveness): void => {
  if (res.writableEnded || res.destroyed) return
  if (!res.writableNeedDrain) {
    liveness.pending = -1
    res.write(comment("keepalive"))
    return
  }
  const pending = res.writableLength
  if (pending === liveness.pending) return void res.destroy()
  liveness.pending = pending
}
