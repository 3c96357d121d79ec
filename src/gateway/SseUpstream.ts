/**
 * An upstream on the deprecated HTTP+SSE transport of 2024-11-05: a GET of the URL opens an event stream whose first
 * `endpoint` event names where to POST messages (same origin only: the config's headers, credentials included, never
 * go elsewhere); every answer, notification and request of the upstream comes back on that stream. The legacy
 * handshake follows. Nothing on the stream says which request a message relates to, so the upstream's requests go
 * to the oldest request in flight with a `request` hook (`ClientCore`). When the stream ends, every request in flight
 * fails (closed) and the upstream is reconnected after a backoff.
 *
 * @since 0.2.0
 */
import { Deferred, Effect, FiberId } from "effect"
import type { Scope } from "effect"
import * as JsonRpc from "../protocol/JsonRpc.js"
import * as Stdio from "../transport/Stdio.js"
import * as ClientCore from "./ClientCore.js"
import * as HttpRequest from "./HttpRequest.js"
import * as Lifecycle from "./Lifecycle.js"
import * as SseReader from "./SseReader.js"
import * as Upstream from "./Upstream.js"

/**
 * @since 0.2.0
 * @category models
 */
export interface Options extends Lifecycle.RestartOptions {
  /** Largest event or response body accepted. Default 4 MiB. */
  readonly maxMessageBytes?: number
}

interface Connection {
  readonly core: ClientCore.Core
  readonly write: (frame: string) => Effect.Effect<void, Upstream.UpstreamError>
}

/**
 * The upstream of an HTTP+SSE config, supervised in the Scope.
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = (
  config: Upstream.SseConfig,
  events: Upstream.Events,
  options: Options = {}
): Effect.Effect<Upstream.Upstream, never, Scope.Scope> =>
  Effect.gen(function*() {
    const upstream = config.name
    const maxBytes = options.maxMessageBytes ?? Stdio.DEFAULT_MAX_MESSAGE_BYTES
    const url = new URL(config.url)
    const client = yield* HttpRequest.make(url, upstream, maxBytes)
    const postHeaders = { ...config.headers, "content-type": "application/json" }

    const protocolError = (message: string) =>
      new Upstream.UpstreamError({ upstream, reason: "protocol", message: `Upstream ${upstream}: ${message}` })

    const connect: Lifecycle.Connect<Connection> = (up) =>
      Effect.gen(function*() {
        const endpoint = Deferred.unsafeMake<URL, Upstream.UpstreamError>(FiberId.none)
        const ended = Deferred.unsafeMake<string>(FiberId.none)

        const write = (frame: string): Effect.Effect<void, Upstream.UpstreamError> =>
          Effect.flatMap(Deferred.await(endpoint), (target) =>
            client.send("POST", postHeaders, frame, ({ body, status }) =>
              status >= 300
                ? Effect.fail(protocolError(`a message was refused with HTTP ${status}: ${(body ?? "").slice(0, 200)}`))
                : Effect.void, { url: target }))

        const core = yield* ClientCore.make({
          upstream,
          events,
          write,
          cancelByNotification: true,
          maxPending: config.maxInFlight + 16
        })

        const stream = client.send(
          "GET",
          { ...config.headers, accept: "text/event-stream" },
          undefined,
          ({ body, res, status }) => {
            if (status !== 200 || body !== undefined) {
              return Effect.fail(protocolError(`GET answered HTTP ${status} without an event stream`))
            }
            return SseReader.readSse(res, maxBytes, upstream, (event) => {
              if (event.event === "endpoint") {
                let target: URL
                try {
                  target = new URL(event.data.trim(), url)
                } catch {
                  return Effect.as(Deferred.fail(endpoint, protocolError("the endpoint event is not a URL")), false)
                }
                if (target.origin !== url.origin) {
                  return Effect.as(
                    Deferred.fail(endpoint, protocolError("the endpoint event names another origin")),
                    false
                  )
                }
                return Effect.as(Deferred.succeed(endpoint, target), true)
              }
              if (event.event !== "message" || event.data === "") return Effect.succeed(true)
              return Effect.as(core.receive(event.data), true)
            })
          },
          { longLived: true }
        ).pipe(
          Effect.as("the event stream ended"),
          Effect.catchAll((error) =>
            Effect.succeed(error.message)
          ),
          Effect.flatMap((reason) =>
            Effect.sync(() => {
              core.close(`Upstream ${upstream}: ${reason}`)
              Deferred.unsafeDone(endpoint, Effect.fail(protocolError(reason)))
              Deferred.unsafeDone(ended, Effect.succeed(reason))
            })
          )
        )
        yield* Effect.forkScoped(stream)

        const declared = yield* ClientCore.initialize(
          upstream,
          (params) => core.request("initialize", params, undefined, write),
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
          })
        )
        yield* up(declared, { core, write })
        return yield* Deferred.await(ended)
      })

    const supervised = yield* Lifecycle.supervise(config, events, connect, options)

    return yield* Lifecycle.upstream(config, supervised, {
      request: (c, method, params, hooks) => c.core.request(method, params, hooks, c.write),
      notify: (c, method, params) => c.write(JsonRpc.encodeNotification(method, params))
    })
  })
