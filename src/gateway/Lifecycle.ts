/**
 * The life of one upstream connection, whatever its transport: Starting, Ready (with what the upstream declared),
 * Down (with why, and since when), reconnected after a backoff from an Effect `Schedule` (exponential, capped,
 * jittered). Every change goes to `Events.state`. One fiber in the upstream's Scope runs it; an upstream that
 * crashes, refuses or times out only changes the state: the gateway's own fibers never fail for it.
 *
 * @since 0.2.0
 */
import { Cause, Clock, Deferred, Duration, Effect, FiberId, Schedule } from "effect"
import type { Scope } from "effect"
import * as ClientCore from "./ClientCore.js"
import * as Upstream from "./Upstream.js"

/**
 * How a supervised upstream is reconnected.
 *
 * @since 0.2.0
 * @category models
 */
export interface RestartOptions {
  /** First delay before reconnecting. Default 250 ms. */
  readonly restartBaseMillis?: number
  /** Longest delay between attempts. Default 30 s. */
  readonly restartMaxMillis?: number
  /** A connection Ready at least this long resets the backoff. Default 10 s. */
  readonly restartResetMillis?: number
}

/**
 * The backoff between reconnections: exponential from `base`, capped at `max`, jittered.
 *
 * @since 0.2.0
 * @category constructors
 */
export const backoff = (options: RestartOptions = {}): Schedule.Schedule<unknown> =>
  Schedule.exponential(Duration.millis(options.restartBaseMillis ?? 250), 2).pipe(
    Schedule.union(Schedule.spaced(Duration.millis(options.restartMaxMillis ?? 30_000))),
    Schedule.jittered
  )

/**
 * A supervised upstream: its state, and the connection of type `C` while Ready.
 *
 * @since 0.2.0
 * @category models
 */
export interface Supervised<C> {
  readonly state: () => Upstream.State
  readonly ready: Effect.Effect<Upstream.Declared, Upstream.UpstreamError>
  /** Runs `f` on the connection once Ready (waits while Starting; fails at once when Down). */
  readonly withConnection: <A, E>(
    f: (connection: C) => Effect.Effect<A, E>
  ) => Effect.Effect<A, E | Upstream.UpstreamError>
  /** The connection now, if Ready. */
  readonly current: () => C | undefined
}

/**
 * One connection's lifetime: it calls `up` once its handshake is done, and ends (succeeds) with the reason it
 * ended (a failure is a reason too). Its Scope closes when it ends (the process killed, the streams closed).
 *
 * @since 0.2.0
 * @category models
 */
export type Connect<C> = (
  up: (declared: Upstream.Declared, connection: C) => Effect.Effect<void>
) => Effect.Effect<string, unknown, Scope.Scope>

const reasonOf = (cause: Cause.Cause<unknown>): string => {
  const failure = Cause.failureOption(cause)
  if (failure._tag === "Some") {
    const error = failure.value as { readonly message?: unknown; readonly error?: { readonly message?: unknown } }
    if (typeof error.message === "string" && error.message !== "") return error.message
    if (typeof error.error?.message === "string") return `the upstream answered: ${error.error.message}`
  }
  return Cause.pretty(cause).split("\n")[0] ?? "failed"
}

/**
 * Runs `connect` again and again in a fiber of the Scope, with the backoff between attempts, until the Scope closes.
 *
 * @since 0.2.0
 * @category constructors
 */
export const supervise = <C>(
  config: Upstream.Config,
  events: Upstream.Events,
  connect: Connect<C>,
  options: RestartOptions = {}
): Effect.Effect<Supervised<C>, never, Scope.Scope> =>
  Effect.gen(function*() {
    const upstream = config.name
    let state: Upstream.State = { _tag: "Starting" }
    let connection: C | undefined
    let latch = Deferred.unsafeMake<Upstream.Declared, Upstream.UpstreamError>(FiberId.none)
    const setState = (next: Upstream.State) =>
      Effect.suspend(() => {
        state = next
        return Effect.catchAllCause(events.state(next), () => Effect.void)
      })

    const unavailable = (reason: string) =>
      new Upstream.UpstreamError({
        upstream,
        reason: "unavailable",
        message: `Upstream ${upstream} is down: ${reason}`
      })

    const ready: Effect.Effect<Upstream.Declared, Upstream.UpstreamError> = Effect.suspend(() => {
      const now = state
      if (now._tag === "Ready") return Effect.succeed(now.declared)
      if (now._tag === "Down") return Effect.fail(unavailable(now.reason))
      return Deferred.await(latch).pipe(
        Effect.timeoutFail({
          duration: config.timeoutMillis,
          onTimeout: () =>
            new Upstream.UpstreamError({
              upstream,
              reason: "timeout",
              message: `Upstream ${upstream} was not ready within ${config.timeoutMillis} ms`
            })
        })
      )
    })

    const withConnection = <A, E>(f: (connection: C) => Effect.Effect<A, E>) =>
      Effect.suspend((): Effect.Effect<A, E | Upstream.UpstreamError> => {
        if (connection !== undefined) return f(connection)
        return Effect.flatMap(
          ready,
          () =>
            Effect.suspend((): Effect.Effect<A, E | Upstream.UpstreamError> =>
              connection !== undefined ? f(connection) : Effect.fail(unavailable("the connection ended"))
            )
        )
      })

    const restartReset = options.restartResetMillis ?? 10_000
    const driver = yield* Schedule.driver(backoff(options))

    const once = Effect.gen(function*() {
      let readyAt: number | undefined
      const up = (declared: Upstream.Declared, c: C) =>
        Effect.gen(function*() {
          readyAt = yield* Clock.currentTimeMillis
          connection = c
          Deferred.unsafeDone(latch, Effect.succeed(declared))
          yield* setState({ _tag: "Ready", declared })
        })
      const reason = yield* Effect.scoped(connect(up)).pipe(
        Effect.catchAllCause((cause) => Effect.succeed(reasonOf(cause)))
      )
      connection = undefined
      const now = yield* Clock.currentTimeMillis
      Deferred.unsafeDone(latch, Effect.fail(unavailable(reason)))
      yield* setState({ _tag: "Down", reason, since: now })
      yield* Effect.logWarning("Upstream down").pipe(Effect.annotateLogs({ upstream, reason }))
      if (readyAt !== undefined && now - readyAt >= restartReset) yield* driver.reset
      yield* Effect.ignore(driver.next(undefined))
      latch = Deferred.unsafeMake(FiberId.none)
      yield* setState({ _tag: "Starting" })
    })

    yield* Effect.forkScoped(Effect.forever(once))

    return {
      state: () => state,
      ready,
      withConnection,
      current: () => connection
    } satisfies Supervised<C>
  })

/**
 * The `Upstream` of a supervised connection, whatever its transport: requests and notifications run on the current
 * connection (waiting while Starting, refused while Down), counted while in flight.
 *
 * @since 0.2.0
 * @category constructors
 */
export const upstream = <C>(
  config: Upstream.Config,
  supervised: Supervised<C>,
  calls: {
    readonly request: (
      connection: C,
      method: string,
      params: Upstream.Json | undefined,
      hooks: Upstream.Hooks | undefined
    ) => Effect.Effect<Upstream.Json, Upstream.UpstreamError | Upstream.UpstreamRpcError>
    readonly notify: (
      connection: C,
      method: string,
      params: Upstream.Json | undefined
    ) => Effect.Effect<void, Upstream.UpstreamError>
  }
): Effect.Effect<Upstream.Upstream> =>
  Effect.map(ClientCore.limits(), (limits) => ({
    name: config.name,
    config,
    state: supervised.state,
    ready: supervised.ready,
    request: (method, params, hooks) =>
      limits.run(supervised.withConnection((c) => calls.request(c, method, params, hooks))),
    notify: (method, params) => supervised.withConnection((c) => calls.notify(c, method, params)),
    inFlight: limits.inFlight
  }))
