/**
 * Outbound HTTP for the remote upstreams, on undici's `Pool` (one per origin, shared, keep-alive, no pipelining)
 * driven through its `dispatch` handler: one request as an Effect whose interruption aborts it, a body read whole
 * and bounded in the same wait as the head, and a Server-Sent Events reader that hands events one at a time to an
 * Effect (the stream is paused while they wait, so a fast upstream never fills memory). Measured against node:http
 * with a keep-alive Agent, in-process against a raw JSON upstream under the same load: about 15-25% less CPU per call
 * and 14 KB less allocated per proxied request (84.6 -> 70.5 KB).
 *
 * @since 0.2.0
 */
import { Deferred, Effect, Exit, FiberId } from "effect"
import type { Scope } from "effect"
import { Readable } from "node:stream"
import { Client as UndiciClient, Pool } from "undici"
import type { Dispatcher } from "undici"
import * as Upstream from "./Upstream.js"

const UNREACHED = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ETIMEDOUT",
  "UND_ERR_CONNECT_TIMEOUT"
])

/**
 * A response's headers (names in lower case).
 *
 * @since 0.2.0
 * @category models
 */
export type Headers = Readonly<Record<string, string | ReadonlyArray<string> | undefined>>

/**
 * An event stream's body: a Readable the pool feeds (paused while the reader is behind); destroying it before its
 * end aborts the exchange.
 *
 * @since 0.2.0
 * @category models
 */
export class EventStream extends Readable {
  /** Read to its end (the connection went back to the pool). */
  complete = false
  constructor(
    readonly headers: Headers,
    private readonly controller: Dispatcher.DispatchController
  ) {
    super()
  }
  override _read() {
    this.controller.resume()
  }
  override _destroy(error: Error | null, callback: (error?: Error | null) => void) {
    if (!this.complete) this.controller.abort(error ?? new Error("the response was released before its end"))
    callback(error)
  }
}

/**
 * A response as `use` gets it: a body that is not an event stream is already read whole (bounded), in the same
 * wait as the head, and its connection is back in the pool; an event stream is `body` undefined, read from `res`.
 *
 * @since 0.2.0
 * @category models
 */
export type Response =
  | { readonly status: number; readonly headers: Headers; readonly body: string; readonly res?: undefined }
  | { readonly status: number; readonly headers: Headers; readonly body: undefined; readonly res: EventStream }

/**
 * One endpoint's connection pool.
 *
 * @since 0.2.0
 * @category models
 */
export interface Client {
  readonly url: URL
  readonly upstream: string
  /**
   * Sends a request and gives its response to `use`. An event stream is released when `use` ends (kept when it was
   * read to the end; else destroyed, which aborts it). `beforeAbort` runs first when an interruption aborts the
   * exchange. `url` must be of the pool's origin. `longLived` (a GET stream, a `subscriptions/listen` stream): the
   * exchange gets a connection of its own, closed with it, so the shared pool only ever holds the connections of
   * short exchanges (it keeps a client per connection it ever had at once, and looks through them on every request).
   */
  readonly send: <A, E>(
    method: "GET" | "POST" | "DELETE",
    headers: Record<string, string>,
    body: string | undefined,
    use: (response: Response) => Effect.Effect<A, E>,
    options?: {
      readonly url?: URL
      readonly beforeAbort?: Effect.Effect<void>
      readonly longLived?: boolean
    }
  ) => Effect.Effect<A, E | Upstream.UpstreamError>
}

const dispatcherOptions = { pipelining: 1, headersTimeout: 0, bodyTimeout: 0 } as const

/**
 * The connection pools, one per origin, shared by every client of that origin (the per-session instances of one
 * upstream are many clients of one origin: an undici `Pool` costs about 18 KiB before its first connection, which
 * made a per-session upstream 40 KiB heavier than with an http.Agent each). A session is its `Mcp-Session-Id`
 * header, never its connection, so sharing connections is safe. A pool is closed when its last client's Scope closes;
 * each client aborts its own exchanges when interrupted (the pool's end is not needed for that).
 */
const pools = new Map<string, { readonly origin: string; readonly pool: Pool; users: number }>()

const acquirePool = (origin: string): Effect.Effect<Pool, never, Scope.Scope> =>
  Effect.map(
    Effect.acquireRelease(
      Effect.sync(() => {
        let shared = pools.get(origin)
        if (shared === undefined) {
          // No limit of its own on connections (each instance's `maxInFlight` bounds its requests, `maxSessions` the
          // instances; a long-lived event stream holds one connection); no timeouts of its own either (undici's
          // default would cut an idle event stream after 300 s): the gateway bounds requests itself.
          shared = { origin, pool: new Pool(origin, dispatcherOptions), users: 0 }
          pools.set(origin, shared)
        }
        shared.users++
        return shared
      }),
      (shared) =>
        Effect.suspend(() => {
          if (--shared.users > 0) return Effect.void
          pools.delete(shared.origin)
          return Effect.ignore(Effect.tryPromise(() => shared.pool.destroy()))
        })
    ),
    (shared) => shared.pool
  )

/**
 * A client of `url`'s origin's pool (see `pools`), released with the Scope. Bodies (not event streams) over
 * `maxBytes` fail the exchange.
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = (
  url: URL,
  upstream: string,
  maxBytes: number
): Effect.Effect<Client, never, Scope.Scope> =>
  Effect.map(
    acquirePool(url.origin),
    (pool) => {
      const exchange = (
        dispatcher: Dispatcher,
        method: "GET" | "POST" | "DELETE",
        headers: Record<string, string>,
        body: string | undefined,
        target: URL,
        beforeAbort: Effect.Effect<void>
      ) =>
        // One wait for the head and, unless it is an event stream, the whole body: the common JSON answer costs
        // the fiber one suspension.
        Effect.async<Response, Upstream.UpstreamError>((resume) => {
          let settled = false
          let aborted = false
          let controller: Dispatcher.DispatchController | undefined
          let stream: EventStream | undefined
          let status = 0
          let received: Headers = {}
          const parts: Array<Buffer> = []
          let size = 0
          const done = (effect: Effect.Effect<Response, Upstream.UpstreamError>) => {
            if (settled) return
            settled = true
            resume(effect)
          }
          const failed = (reason: Upstream.UpstreamError["reason"], message: string) =>
            done(Effect.fail(new Upstream.UpstreamError({ upstream, reason, message })))
          if (target.origin !== url.origin) {
            failed("protocol", `Upstream ${upstream}: ${target.origin} is not the upstream's origin`)
            return
          }
          const handler: Dispatcher.DispatchHandler = {
            onRequestStart: (c) => {
              controller = c
              if (aborted) c.abort(new Error("interrupted"))
            },
            onResponseStart: (c, statusCode, responseHeaders) => {
              status = statusCode
              received = responseHeaders as Headers
              if (isEventStream({ headers: received })) {
                stream = new EventStream(received, c)
                done(Effect.succeed({ status, headers: received, body: undefined, res: stream }))
              }
            },
            onResponseData: (c, chunk) => {
              if (stream !== undefined) {
                if (!stream.push(chunk)) c.pause()
                return
              }
              size += chunk.length
              if (size > maxBytes) {
                failed("protocol", `Upstream ${upstream} sent a response over ${maxBytes} bytes`)
                return c.abort(new Error("the response is over the size limit"))
              }
              parts.push(chunk)
            },
            onResponseEnd: () => {
              if (stream !== undefined) {
                stream.complete = true
                stream.push(null)
                return
              }
              done(Effect.succeed({
                status,
                headers: received,
                body: parts.length === 1 ? parts[0]!.toString("utf8") : Buffer.concat(parts).toString("utf8")
              }))
            },
            onResponseError: (_c, error: Error & { code?: string }) => {
              if (stream !== undefined) {
                stream.destroy(error)
                return
              }
              // Not reached at all, or gone while the request was on its way.
              failed(
                UNREACHED.has(error.code ?? "") ? "unavailable" : "closed",
                `Upstream ${upstream}: ${method} ${target.pathname} failed: ${error.message}`
              )
            }
          }
          try {
            dispatcher.dispatch({ path: target.pathname + target.search, method, headers, body: body ?? null }, handler)
          } catch (error) {
            // Refused before it was sent (a header value the HTTP client will not put on the wire, say).
            failed(
              "protocol",
              `Upstream ${upstream}: ${method} ${target.pathname} refused: ${(error as Error).message}`
            )
          }
          return Effect.zipRight(
            beforeAbort,
            Effect.sync(() => {
              aborted = true
              controller?.abort(new Error("interrupted"))
            })
          )
        })
      const send: Client["send"] = (method, headers, body, use, options) => {
        const beforeAbort = options?.beforeAbort ?? Effect.void
        if (options?.longLived === true) {
          // A connection of its own, closed (destroyed: nothing else uses it) when the exchange is over.
          return Effect.suspend(() => {
            const own = new UndiciClient(url.origin, dispatcherOptions)
            return Effect.ensuring(
              exchanged(own, method, headers, body, use, options.url ?? url, beforeAbort),
              Effect.ignore(Effect.tryPromise(() => own.destroy()))
            )
          })
        }
        return exchanged(pool, method, headers, body, use, options?.url ?? url, beforeAbort)
      }
      const exchanged = <A, E>(
        dispatcher: Dispatcher,
        method: "GET" | "POST" | "DELETE",
        headers: Record<string, string>,
        body: string | undefined,
        use: (response: Response) => Effect.Effect<A, E>,
        target: URL,
        beforeAbort: Effect.Effect<void>
      ): Effect.Effect<A, E | Upstream.UpstreamError> =>
        // Not `acquireUseRelease`: its acquire is uninterruptible, and an upstream that never sends the response's
        // head must not hold up a timeout or a cancellation. The wait and `use` are as interruptible as the caller
        // (so a request sent by a finalizer, `notifications/cancelled` for one, still goes out); an event stream's
        // release always runs.
        Effect.uninterruptibleMask((restore) =>
          Effect.flatMap(
            restore(exchange(dispatcher, method, headers, body, target, beforeAbort)),
            (response) =>
              response.body !== undefined
                ? restore(use(response))
                : Effect.onExit(restore(Effect.suspend(() => use(response))), (exit) =>
                  response.res.complete
                    ? Effect.sync(() => response.res.resume())
                    : Effect.zipRight(
                      Exit.isInterrupted(exit) ? beforeAbort : Effect.void,
                      Effect.sync(() => response.res.destroy())
                    ))
          )
        )
      return { url, upstream, send }
    }
  )

/**
 * A response's header (the first value).
 *
 * @since 0.2.0
 * @category helpers
 */
export const header = (response: { readonly headers: Headers }, name: string): string | undefined => {
  const value = response.headers[name]
  return typeof value === "string" ? value : value?.[0]
}

/**
 * Whether a response is an event stream.
 *
 * @since 0.2.0
 * @category helpers
 */
export const isEventStream = (response: { readonly headers: Headers }): boolean =>
  (header(response, "content-type") ?? "").toLowerCase().startsWith("text/event-stream")

/**
 * One Server-Sent Event.
 *
 * @since 0.2.0
 * @category models
 */
export interface SseEvent {
  readonly event: string
  readonly data: string
  /** The stream's last event id so far (this event's, or an earlier one's). */
  readonly id: string | undefined
  /** The reconnection time the stream last set, in milliseconds. */
  readonly retry: number | undefined
}

/**
 * An incremental SSE parser (WHATWG rules: fields per line, `\n`, `\r\n` or `\r` line ends, comments, `data` lines
 * joined with newlines). An event whose data grows past `maxBytes` is skipped, and `oversized` is called. `id` is the
 * stream's last event id and `retry` its last reconnection time (both kept from one event to the next, as WHATWG
 * keeps them); a block with no `data` that sets either is given as an event of type `""` with empty data, so a reader
 * that resumes streams sees every id (readers skip empty data).
 *
 * @since 0.2.0
 * @category parsing
 */
export const parser = (
  maxBytes: number,
  emit: (event: SseEvent) => void,
  oversized: () => void
): { readonly push: (chunk: string) => void; readonly end: () => void } => {
  let line = ""
  let data: Array<string> = []
  let size = 0
  let event = ""
  let id: string | undefined
  let retry: number | undefined
  // An `id` or `retry` field in the block being read.
  let meta = false
  let skipping = false
  let lastWasCr = false
  const dispatch = () => {
    if (skipping) {
      skipping = false
      oversized()
    } else if (data.length > 0) {
      emit({ event: event === "" ? "message" : event, data: data.join("\n"), id, retry })
    } else if (meta) {
      emit({ event: "", data: "", id, retry })
    }
    data = []
    size = 0
    event = ""
    meta = false
  }
  const field = (text: string) => {
    if (text === "") return dispatch()
    if (text.charCodeAt(0) === 58) return // ":" comment
    const colon = text.indexOf(":")
    const name = colon === -1 ? text : text.slice(0, colon)
    let value = colon === -1 ? "" : text.slice(colon + 1)
    if (value.charCodeAt(0) === 32) value = value.slice(1)
    switch (name) {
      case "data":
        if (skipping) return
        size += value.length + 1
        if (size > maxBytes) {
          skipping = true
          data = []
          return
        }
        data.push(value)
        return
      case "event":
        event = value
        return
      case "id":
        if (!value.includes("\0")) {
          id = value
          meta = true
        }
        return
      case "retry":
        if (/^\d+$/.test(value)) {
          retry = Number(value)
          meta = true
        }
        return
    }
  }
  return {
    push: (chunk) => {
      let start = 0
      for (let i = 0; i < chunk.length; i++) {
        const c = chunk.charCodeAt(i)
        if (c === 10 && lastWasCr) {
          lastWasCr = false
          start = i + 1
          continue
        }
        lastWasCr = false
        if (c === 10 || c === 13) {
          lastWasCr = c === 13
          const text = line + chunk.slice(start, i)
          line = ""
          start = i + 1
          field(text)
        }
      }
      if (start < chunk.length) {
        line += chunk.slice(start)
        // A line with no end is as big as an event can be.
        if (line.length > maxBytes + 16) {
          line = ""
          skipping = true
        }
      }
    },
    end: () => {
      if (line !== "") field(line)
      line = ""
    }
  }
}

const HIGH_WATER = 64

/**
 * A reason to stop reading that comes from elsewhere (a request's answer that arrived by another way): `done` is
 * checked before each event, and `onDone` is given the reader's wake-up (undefined when it stops waiting).
 *
 * @since 0.2.0
 * @category models
 */
export interface Stop {
  readonly done: () => boolean
  readonly onDone: (wake: (() => void) | undefined) => void
}

/**
 * Reads an event stream to its end, giving each event to `onEvent` in order (`onEvent` returning false, or `stop`
 * done, ends the reading early: the response is then released by the caller). Fails when the stream breaks before
 * its end.
 *
 * @since 0.2.0
 * @category reading
 */
export const readSse = (
  res: Readable,
  maxBytes: number,
  upstream: string,
  onEvent: (event: SseEvent) => Effect.Effect<boolean>,
  stop?: Stop
): Effect.Effect<void, Upstream.UpstreamError> =>
  Effect.suspend(() => {
    // `null`: an event skipped for its size (logged in order, from the reading fiber).
    const buffer: Array<SseEvent | null> = []
    let ended = false
    let broken: string | undefined
    let paused = false
    let wake: Deferred.Deferred<void> | undefined
    const signal = () => {
      const w = wake
      wake = undefined
      if (w !== undefined) Deferred.unsafeDone(w, Effect.void)
    }
    const parse = parser(maxBytes, (event) => buffer.push(event), () => buffer.push(null))
    res.setEncoding("utf8")
    const onData = (chunk: string) => {
      parse.push(chunk)
      if (buffer.length >= HIGH_WATER && !paused) {
        paused = true
        res.pause()
      }
      signal()
    }
    const onEnd = () => {
      parse.end()
      ended = true
      signal()
    }
    const onBroken = () => {
      if (!ended) broken ??= "the stream was cut off"
      signal()
    }
    res.on("data", onData)
    res.once("end", onEnd)
    res.once("error", onBroken)
    res.once("aborted", onBroken)
    res.once("close", onBroken)
    stop?.onDone(signal)
    const cleanup = Effect.sync(() => {
      stop?.onDone(undefined)
      res.removeListener("data", onData)
      res.removeListener("end", onEnd)
      res.removeListener("error", onBroken)
      res.removeListener("aborted", onBroken)
      res.removeListener("close", onBroken)
    })
    const loop: Effect.Effect<void, Upstream.UpstreamError> = Effect.suspend(() => {
      if (stop?.done() === true) return Effect.void
      if (buffer.length > 0) {
        const next = buffer.shift()!
        if (paused && buffer.length < HIGH_WATER / 2) {
          paused = false
          res.resume()
        }
        if (next === null) {
          return Effect.zipRight(
            Effect.logWarning("Upstream sent an event over the size limit: skipped").pipe(
              Effect.annotateLogs({ upstream, maxBytes })
            ),
            loop
          )
        }
        return Effect.flatMap(onEvent(next), (more) => (more ? loop : Effect.void))
      }
      if (ended) return Effect.void
      if (broken !== undefined) {
        return Effect.fail(
          new Upstream.UpstreamError({ upstream, reason: "closed", message: `Upstream ${upstream}: ${broken}` })
        )
      }
      const w = Deferred.unsafeMake<void>(FiberId.none)
      wake = w
      return Effect.zipRight(Deferred.await(w), loop)
    })
    return Effect.ensuring(loop, cleanup)
  })
