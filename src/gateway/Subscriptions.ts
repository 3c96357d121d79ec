/**
 * The resource subscriptions of a modern (2026-07-28) upstream connection. A modern server has no
 * `resources/subscribe`: a bounded set of URIs rides on the connection's `subscriptions/listen` stream
 * (`notifications.resourceSubscriptions`). A change re-opens the stream with the new set (HttpUpstream's listen
 * loop); the stream it replaces is closed once the new one is acknowledged (no gap; an update may come twice
 * meanwhile). `resources/subscribe` waits for an acknowledgement that names its URI (else fails, and the URI leaves
 * the set: not honoured, or the stream refused); `resources/unsubscribe` answers at once.
 *
 * @since 0.2.0
 */
import { Deferred, Effect, FiberId, Queue } from "effect"
import * as Upstream from "./Upstream.js"

/** A resource subscription waiting for a listen stream's acknowledgement (of `version` or later). */
interface Waiter {
  readonly uri: string
  readonly version: number
  readonly done: Deferred.Deferred<void, Upstream.UpstreamError>
}

/**
 * The subscriptions of one modern connection (they outlive the connection: a reconnected upstream's stream carries
 * them again).
 *
 * @since 0.2.0
 * @category models
 */
export interface Subscriptions {
  readonly uris: ReadonlySet<string>
  readonly changed: Queue.Queue<void>
  readonly version: number
  /** What the serving stream's acknowledgement honoured. */
  honoured: Set<string>
  /** A stream carrying `version` was acknowledged with `honoured` (the URIs it takes). */
  readonly acknowledged: (version: number, honoured: ReadonlyArray<string>) => void
  /** A stream carrying `version` ended before its acknowledgement: its new subscriptions are dropped. */
  readonly refused: (version: number, why: string) => void
  readonly subscribe: (params: Upstream.Json | undefined) => Effect.Effect<Upstream.Json, Upstream.UpstreamError>
  readonly unsubscribe: (params: Upstream.Json | undefined) => Effect.Effect<Upstream.Json>
}

/**
 * Most resource subscriptions one modern upstream connection carries (what this library's server honours).
 *
 * @since 0.2.0
 * @category constants
 */
export const MAX_SUBSCRIPTIONS = 1_000

/**
 * The subscriptions of `upstream`'s modern connection.
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = (upstream: string): Effect.Effect<Subscriptions> =>
  Effect.gen(function*() {
    const protocolError = (message: string) =>
      new Upstream.UpstreamError({ upstream, reason: "protocol", message: `Upstream ${upstream}: ${message}` })
    const uris = new Set<string>()
    const waiting = new Set<Waiter>()
    const changed = yield* Queue.dropping<void>(1)
    const state = {
      uris,
      changed,
      version: 0,
      /** What the serving stream's acknowledgement honoured. */
      honoured: new Set<string>(),
      /** A stream carrying `version` was acknowledged with `honoured` (the URIs it takes). */
      acknowledged: (version: number, honoured: ReadonlyArray<string>) => {
        state.honoured = new Set(honoured)
        for (const waiter of waiting) {
          if (waiter.version > version) continue
          waiting.delete(waiter)
          if (state.honoured.has(waiter.uri)) {
            Deferred.unsafeDone(waiter.done, Effect.void)
          } else {
            uris.delete(waiter.uri)
            Deferred.unsafeDone(
              waiter.done,
              Effect.fail(protocolError(`the listen stream did not take the subscription to ${waiter.uri}`))
            )
          }
        }
      },
      /** A stream carrying `version` ended before its acknowledgement: its new subscriptions are dropped. */
      refused: (version: number, why: string) => {
        for (const waiter of waiting) {
          if (waiter.version > version) continue
          waiting.delete(waiter)
          uris.delete(waiter.uri)
          Deferred.unsafeDone(
            waiter.done,
            Effect.fail(protocolError(`subscriptions/listen for ${waiter.uri} was refused: ${why}`))
          )
        }
      },
      subscribe: (params: Upstream.Json | undefined): Effect.Effect<Upstream.Json, Upstream.UpstreamError> =>
        Effect.suspend(() => {
          const uri = params?.uri
          if (typeof uri !== "string") return Effect.fail(protocolError("resources/subscribe without a uri"))
          if (!uris.has(uri)) {
            if (uris.size >= MAX_SUBSCRIPTIONS) {
              return Effect.fail(
                new Upstream.UpstreamError({
                  upstream,
                  reason: "busy",
                  message: `Upstream ${upstream}: ${MAX_SUBSCRIPTIONS} resource subscriptions already`
                })
              )
            }
            uris.add(uri)
            state.version++
            Queue.unsafeOffer(changed, undefined)
          } else if (state.honoured.has(uri)) {
            return Effect.succeed({})
          }
          const waiter: Waiter = { uri, version: state.version, done: Deferred.unsafeMake(FiberId.none) }
          waiting.add(waiter)
          return Effect.ensuring(
            Effect.as(Deferred.await(waiter.done), {}),
            Effect.sync(() => waiting.delete(waiter))
          )
        }),
      unsubscribe: (params: Upstream.Json | undefined): Effect.Effect<Upstream.Json> =>
        Effect.sync(() => {
          const uri = params?.uri
          if (typeof uri !== "string" || !uris.delete(uri)) return {}
          state.honoured.delete(uri)
          state.version++
          Queue.unsafeOffer(changed, undefined)
          // A subscription still waiting for its acknowledgement is superseded.
          for (const waiter of waiting) {
            if (waiter.uri !== uri) continue
            waiting.delete(waiter)
            Deferred.unsafeDone(waiter.done, Effect.void)
          }
          return {}
        })
    }
    return state
  })
