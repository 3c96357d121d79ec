/**
 * Outbound HTTP for the remote upstreams, on undici's `Pool` (one per origin, shared, keep-alive, no pipelining)
 * driven through its `dispatch` handler: one request as an Effect whose interruption aborts it, a body read whole
 * and bounded in the same wait as the head, an event stream as a Readable the pool feeds (read with SseReader).
 * Measured against node:http with a keep-alive Agent, in-process against a raw JSON upstream under the same load: about 15-25% less CPU per call
 * and 14 KB less allocated per proxied request (84.6 -> 70.5 KB).
 *
 * @since 0.2.0
 */
import { Effect, Exit } from "effect"
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
          // A request refused before it is sent (a header value that cannot go on the wire, say) comes back through
          // onResponseError too: undici's dispatch throws nothing but for a handler that is not an object.
          dispatcher.dispatch({ path: target.pathname + target.search, method, headers, body: body ?? null }, handler)
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
