/**
 * The upstream connections of one configured upstream, by isolation: a `shared` instance (made at start; it also
 * keeps the catalog and serves front clients that have no session of their own), and with `per-session`
 * isolation one more instance per front key (a legacy front session, or a modern client's principal), made on
 * first use, at most `maxSessions` at once, closed when its key ends. Each instance lives in a Scope forked from
 * the gateway's, so shutdown closes whatever is left. Calls are admitted by the instance's in-flight permits
 * (`maxInFlight`, refused at once past it) and bounded by `timeoutMillis`; interrupting a call interrupts the
 * upstream request, which cancels it upstream.
 *
 * @since 0.2.0
 */
import type { Scope } from "effect"
import { Deferred, Effect, ExecutionStrategy, Exit, Fiber, FiberId, Option, Scope as ScopeModule } from "effect"
import type * as Deadlines from "../server/Deadlines.js"
import * as Upstream from "./Upstream.js"

/**
 * Connects to an upstream: `Upstreams.make` in the bin, a fake or a tape in tests.
 *
 * @since 0.2.0
 * @category models
 */
export type Connect = (
  config: Upstream.Config,
  events: Upstream.Events
) => Effect.Effect<Upstream.Upstream, never, Scope.Scope>

/**
 * One connection to an upstream, for one key.
 *
 * @since 0.2.0
 * @category models
 */
export interface Instance {
  readonly key: string
  readonly upstream: Upstream.Upstream
  readonly scope: Scope.CloseableScope
  readonly permits: Effect.Semaphore
  readonly timing: Timing | undefined
  /** A use counter's value at the last call (least recently used principal instances are reaped first). */
  lastUsed: number
}

/**
 * How an instance times its requests: on the front server's one timer (no timer per call), and not at all when the
 * front request's own timeout comes first. Without it, `Effect.timeoutFail`.
 *
 * @since 0.2.0
 * @category models
 */
export interface Timing {
  readonly deadlines: Deadlines.Deadlines
  /** The front server's request timeout (0: none). */
  readonly frontTimeoutMillis: number
}

/**
 * The instances of one configured upstream.
 *
 * @since 0.2.0
 * @category models
 */
export interface Pool {
  readonly config: Upstream.Config
  readonly shared: Instance
  /** Per-session instances by key (being made, or made). */
  readonly sessions: Map<string, Deferred.Deferred<Instance>>
  /** Makes an instance for a key, in a Scope of its own under the gateway's. */
  readonly open: (key: string) => Effect.Effect<Instance>
}

let uses = 0

/**
 * Opens an instance: a Scope forked from `parent`, the connection made in it.
 *
 * @since 0.2.0
 * @category constructors
 */
export const open = (
  config: Upstream.Config,
  key: string,
  connect: Connect,
  events: Upstream.Events,
  parent: Scope.Scope,
  timing?: Timing
): Effect.Effect<Instance> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.gen(function*() {
      const scope = yield* ScopeModule.fork(parent, ExecutionStrategy.sequential)
      // The connector runs interruptibly (a fiber it forks inherits the region it was forked in: an uninterruptible
      // reader or supervisor could never be timed out or stopped); the scope it extends is ours either way.
      const upstream = yield* ScopeModule.extend(restore(connect(config, events)), scope)
      const permits = yield* Effect.makeSemaphore(config.maxInFlight)
      return { key, upstream, scope, permits, timing, lastUsed: uses++ }
    })
  )

const busy = (config: Upstream.Config, what: string) =>
  new Upstream.UpstreamError({ upstream: config.name, reason: "busy", message: `Upstream "${config.name}" ${what}` })

/**
 * The instance that serves `key` (undefined: no session of its own, so the shared one). A per-session upstream at
 * its cap first reaps its least recently used idle principal instance (legacy sessions end on their own), else
 * refuses. `onCreate` runs when a new instance is made for the key (the caller registers its end there).
 *
 * @since 0.2.0
 * @category instances
 */
export const instanceFor = (
  pool: Pool,
  key: string | undefined,
  onCreate: () => void
): Effect.Effect<Instance, Upstream.UpstreamError> =>
  Effect.suspend(() => {
    if (key === undefined || pool.config.isolation === "shared") return Effect.succeed(pool.shared)
    const existing = pool.sessions.get(key)
    if (existing !== undefined) return Deferred.await(existing)
    return Effect.gen(function*() {
      if (pool.sessions.size >= pool.config.maxSessions) {
        const victim = yield* idlePrincipal(pool)
        if (victim === undefined) {
          return yield* busy(pool.config, `has ${pool.config.maxSessions} per-session instances open (maxSessions)`)
        }
        yield* close(pool, victim)
      }
      // Raced by another request of the same key meanwhile? Take that one.
      const raced = pool.sessions.get(key)
      if (raced !== undefined) return yield* Deferred.await(raced)
      // Made without a break: an interruption between the entry and its instance would leave others waiting.
      return yield* Effect.uninterruptible(Effect.gen(function*() {
        const deferred = yield* Deferred.make<Instance>()
        pool.sessions.set(key, deferred)
        onCreate()
        const instance = yield* pool.open(key)
        yield* Deferred.succeed(deferred, instance)
        return instance
      }))
    })
  })

const idlePrincipal = (pool: Pool): Effect.Effect<string | undefined> =>
  Effect.gen(function*() {
    let best: Instance | undefined = undefined
    for (const [key, deferred] of pool.sessions) {
      if (!key.startsWith("principal:")) continue
      const made = yield* Deferred.poll(deferred)
      if (made === undefined || Option.isNone(made)) continue
      const instance = yield* Effect.orDie(made.value)
      if (instance.upstream.inFlight() > 0) continue
      if (best === undefined || instance.lastUsed < best.lastUsed) best = instance
    }
    return best?.key
  })

/**
 * The instances that serve `key` now, made or not: the shared one, or the key's own if it has one (so forwarding
 * something to "this session's upstream" never makes an instance).
 *
 * @since 0.2.0
 * @category instances
 */
export const existing = (pool: Pool, key: string | undefined): Effect.Effect<Instance | undefined> =>
  Effect.suspend(() => {
    if (key === undefined || pool.config.isolation === "shared") return Effect.succeed(pool.shared)
    const deferred = pool.sessions.get(key)
    return deferred === undefined ? Effect.succeed(undefined) : Deferred.await(deferred)
  })

/**
 * Closes and forgets the instance of `key` (its front session ended).
 *
 * @since 0.2.0
 * @category instances
 */
export const close = (pool: Pool, key: string): Effect.Effect<void> =>
  Effect.suspend(() => {
    const deferred = pool.sessions.get(key)
    if (deferred === undefined) return Effect.void
    pool.sessions.delete(key)
    return Effect.flatMap(Deferred.await(deferred), (instance) => ScopeModule.close(instance.scope, Exit.void))
  })

/**
 * One request on an instance: refused at once when the upstream is Down or its in-flight limit is reached, failed
 * with a timeout past `timeoutMillis`. Interrupting it cancels the upstream request.
 *
 * @since 0.2.0
 * @category calling
 */
export const call = (
  instance: Instance,
  method: string,
  params: Upstream.Json | undefined,
  hooks?: Upstream.Hooks
): Effect.Effect<Upstream.Json, Upstream.UpstreamError | Upstream.UpstreamRpcError> =>
  Effect.suspend(() => {
    const upstream = instance.upstream
    const config = upstream.config
    const state = upstream.state()
    if (state._tag === "Down") {
      return Effect.fail(
        new Upstream.UpstreamError({
          upstream: config.name,
          reason: "unavailable",
          message: `Upstream "${config.name}" is down: ${state.reason}`
        })
      )
    }
    instance.lastUsed = uses++
    const request = timed(
      instance.timing,
      config.timeoutMillis,
      upstream.request(method, params, hooks),
      () =>
        new Upstream.UpstreamError({
          upstream: config.name,
          reason: "timeout",
          message: `Upstream "${config.name}" did not answer ${method} within ${config.timeoutMillis} ms`
        })
    )
    return Effect.flatMap(
      instance.permits.withPermitsIfAvailable(1)(request),
      Option.match({
        onNone: () => Effect.fail(busy(config, `has ${config.maxInFlight} requests in flight (maxInFlight)`)),
        onSome: Effect.succeed
      })
    )
  })

/**
 * `effect` failed with `onTimeout()` (and interrupted) past `millis`. On the server's timer the request runs in a
 * child fiber that the timer interrupts; a race with `Effect.sleep` would cost two fibers and a timer per call.
 */
const timed = <A, E>(
  timing: Timing | undefined,
  millis: number,
  effect: Effect.Effect<A, E>,
  onTimeout: () => E
): Effect.Effect<A, E> => {
  if (timing === undefined) return Effect.timeoutFail(effect, { duration: millis, onTimeout })
  // The front request is interrupted first (and the upstream request with it): no timer of our own.
  if (timing.frontTimeoutMillis > 0 && timing.frontTimeoutMillis <= millis) return effect
  return Effect.flatMap(Effect.fork(effect), (fiber) => {
    let expired = false
    const item: Deadlines.Item = {
      deadline: 0,
      expire: () => {
        expired = true
        fiber.unsafeInterruptAsFork(FiberId.none)
      }
    }
    return Effect.zipRight(
      timing.deadlines.add(item, millis),
      Effect.flatMap(
        Fiber.await(fiber),
        (exit): Effect.Effect<A, E> => Exit.isSuccess(exit) || !expired ? exit : Effect.fail(onTimeout())
      )
    ).pipe(Effect.ensuring(Effect.sync(() => timing.deadlines.remove(item, millis))))
  })
}
