/**
 * Questions of an upstream to a modern (2026-07-28) front client. A modern client is asked by ending the round:
 * the front request is answered `input_required` and the client retries it with the answer. The upstream request
 * must not be cancelled meanwhile (it may have done half its work, and a tool run twice is not a tool run once), so
 * it runs on a fiber of the gateway's own, parked: the round ends with the parked request's id carried in the signed
 * `requestState` (`McpContext.carry`), and the retry finds it there (`McpContext.carried`: verified with the state,
 * so bound to the request, the principal and an expiry, and accepted once), hands it the answer and waits again.
 *
 * A parked request waits for its client at most `ttlMillis` (then it is interrupted, which cancels it upstream); at
 * most `max` are parked at once (past it, the upstream's question is answered with an error); a front request
 * cancelled or closed while it waits for the upstream cancels it. Only requests that asked something are parked.
 *
 * @since 0.2.0
 */
import type { Scope } from "effect"
import { Deferred, Effect, Exit, FiberId, FiberSet } from "effect"
import type { Fiber } from "effect"
import { randomBytes } from "node:crypto"
import * as JsonRpc from "../protocol/JsonRpc.js"
import type { McpContext } from "../server/McpContext.js"
import * as RoundTrip from "../server/RoundTrip.js"
import type * as Upstream from "./Upstream.js"
import { UpstreamError } from "./Upstream.js"

type Mcp = McpContext["Type"]
type Outcome = Exit.Exit<Upstream.Json, Upstream.UpstreamError | Upstream.UpstreamRpcError>

interface Question {
  readonly method: string
  readonly params: Upstream.Json
  readonly answer: Deferred.Deferred<Upstream.Json, JsonRpc.ErrorObject>
}

/**
 * An upstream request of a modern front request, on a fiber of the gateway's.
 *
 * @since 0.2.0
 * @category models
 */
export interface Parked {
  /** Made when it first asks something (only then can it be parked). */
  id: string | undefined
  /** Every question it asked, in order; `next` is the first not yet put to a front request. */
  readonly questions: Array<Question>
  next: number
  /** Its outcome, once its fiber is done. */
  exit: Outcome | undefined
  /** The front request waiting for its next question or its outcome, woken by either. */
  wake: Deferred.Deferred<void> | undefined
  fiber: Fiber.RuntimeFiber<void> | undefined
  /** The front request that waits for it now (progress and log messages go there), if one does. */
  mcp: Mcp | undefined
  /** While it waits for its client: the fiber that ends it at the TTL. */
  timer: Fiber.RuntimeFiber<void> | undefined
}

/**
 * @since 0.2.0
 * @category models
 */
export interface Parking {
  readonly byId: Map<string, Parked>
  readonly ttlMillis: number
  readonly max: number
  readonly fork: (effect: Effect.Effect<void>) => Fiber.RuntimeFiber<void>
}

/**
 * A parking in the Scope (its fibers are interrupted when it closes).
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = (options: { readonly ttlMillis: number; readonly max: number }): Effect.Effect<
  Parking,
  never,
  Scope.Scope
> =>
  Effect.map(Effect.flatMap(FiberSet.make<void>(), (set) => FiberSet.runtime(set)<never>()), (run) => ({
    byId: new Map(),
    ttlMillis: options.ttlMillis,
    max: options.max,
    fork: (effect) => run(effect)
  }))

const PREFIX = "gw.park:"

/** Questions of one parked request not yet put to its client, at most (past it, a question is refused). */
const MAX_WAITING = 16

/**
 * The hooks of a front request (`Relay`): its progress, its log messages, its questions (asked with `McpContext.ask`,
 * the failure as the error object the upstream gets).
 */
type Relayed = (mcp: Mcp) => Upstream.Hooks

const signal = (parked: Parked) => {
  const wake = parked.wake
  parked.wake = undefined
  if (wake !== undefined) Deferred.unsafeDone(wake, Effect.void)
}

const hooksOf = (parking: Parking, parked: Parked, relayed: Relayed, progress: boolean): Upstream.Hooks => ({
  // Progress and log messages go to the front request waiting now; while none waits they are dropped.
  ...(progress
    ? { progress: (p) => (parked.mcp === undefined ? undefined : relayed(parked.mcp).progress?.(p)) ?? Effect.void }
    : {}),
  notification: (method, params) =>
    parked.mcp === undefined ? Effect.void : relayed(parked.mcp).notification!(method, params),
  request: (method, params) =>
    Effect.suspend(() => {
      if (parked.id === undefined) {
        if (parking.byId.size >= parking.max) {
          return Effect.fail({
            code: JsonRpc.SERVER_ERROR,
            message: `The gateway holds ${parking.max} requests waiting for their clients already; ${method} refused`
          })
        }
        parked.id = randomBytes(16).toString("base64url")
        parking.byId.set(parked.id, parked)
      }
      if (parked.questions.length - parked.next >= MAX_WAITING) {
        return Effect.fail({
          code: JsonRpc.SERVER_ERROR,
          message: `The upstream asked ${MAX_WAITING} questions its client has not seen yet; ${method} refused`
        })
      }
      const answer = Deferred.unsafeMake<Upstream.Json, JsonRpc.ErrorObject>(FiberId.none)
      parked.questions.push({ method, params: params ?? {}, answer })
      signal(parked)
      return Deferred.await(answer)
    })
})

/** Puts the question to the front client: the answer goes to the upstream, or the round ends (`input_required`). */
const answer = (parked: Parked, index: number, mcp: Mcp, relayed: Relayed): Effect.Effect<void> => {
  const question = parked.questions[index]!
  // The round may end here: the retry finds the request by the id carried in its state.
  return Effect.zipRight(
    mcp.carry(PREFIX + parked.id),
    // An `input_required` (a defect) ends the round here; an answer or the client's refusal goes to the upstream.
    Effect.flatMap(
      Effect.either(relayed(mcp).request!(question.method, question.params)),
      (answered) => Deferred.complete(question.answer, answered)
    )
  )
}

/** The front request waits for its parked request: questions are put to the client, the outcome is returned. */
const follow = (
  parked: Parked,
  mcp: Mcp,
  relayed: Relayed
): Effect.Effect<Upstream.Json, Upstream.UpstreamError | Upstream.UpstreamRpcError> =>
  Effect.suspend(() => {
    parked.mcp = mcp
    if (parked.next < parked.questions.length) {
      return Effect.zipRight(answer(parked, parked.next++, mcp, relayed), follow(parked, mcp, relayed))
    }
    if (parked.exit !== undefined) return parked.exit
    const wake = Deferred.unsafeMake<void>(FiberId.none)
    parked.wake = wake
    return Effect.zipRight(Deferred.await(wake), follow(parked, mcp, relayed))
  })

/**
 * Runs one request on an upstream instance for a modern front request, parking it when the upstream asks the client
 * something (see the module's doc). A retry whose parked request is gone (expired, ended, or parked on another
 * node) fails with an error that says to send the request again without its `requestState`.
 *
 * @since 0.2.0
 * @category relaying
 */
export const relay = (
  parking: Parking,
  upstream: string,
  call: (hooks: Upstream.Hooks) => Effect.Effect<Upstream.Json, Upstream.UpstreamError | Upstream.UpstreamRpcError>,
  mcp: Mcp,
  relayed: Relayed,
  progress: boolean
): Effect.Effect<Upstream.Json, Upstream.UpstreamError | Upstream.UpstreamRpcError> =>
  Effect.suspend(() => {
    const carried = mcp.carried
    if (carried !== undefined && carried.startsWith(PREFIX)) {
      const parked = parking.byId.get(carried.slice(PREFIX.length))
      if (parked === undefined) {
        return Effect.fail(
          new UpstreamError({
            upstream,
            reason: "closed",
            message: `The request upstream "${upstream}" was asking the client about is gone (it waited too long, ` +
              `or ended); send the request again without its requestState`
          })
        )
      }
      const timer = parked.timer
      parked.timer = undefined
      timer?.unsafeInterruptAsFork(FiberId.none)
      // The questions answered in earlier rounds are asked again (their answers are in the state, so this only
      // moves the round's question counter on), then the last one put to the client, whose answer this retry
      // brings.
      const resumed = Effect.gen(function*() {
        const pending = parked.next - 1
        for (let index = 0; index < pending; index++) {
          const question = parked.questions[index]!
          yield* Effect.ignore(relayed(mcp).request!(question.method, question.params))
        }
        yield* answer(parked, pending, mcp, relayed)
      })
      return Effect.zipRight(resumed, follow(parked, mcp, relayed)).pipe(
        Effect.onExit((exit) => settle(parking, parked, exit))
      )
    }
    const parked: Parked = {
      id: undefined,
      questions: [],
      next: 0,
      exit: undefined,
      wake: undefined,
      fiber: undefined,
      mcp: undefined,
      timer: undefined
    }
    parked.fiber = parking.fork(
      Effect.flatMap(Effect.exit(call(hooksOf(parking, parked, relayed, progress))), (exit) =>
        Effect.sync(() => {
          parked.exit = exit
          signal(parked)
        }))
    )
    return follow(parked, mcp, relayed).pipe(Effect.onExit((exit) => settle(parking, parked, exit)))
  })

/**
 * After the front request: a round that ended asking the client leaves the request parked (until its client comes
 * back, or the TTL); anything else ends it (interrupted, which cancels it upstream, unless it is done).
 */
const settle = (parking: Parking, parked: Parked, exit: Exit.Exit<unknown, unknown>): Effect.Effect<void> =>
  Effect.suspend(() => {
    parked.mcp = undefined
    if (Exit.isFailure(exit) && RoundTrip.inputRequiredOf(exit.cause) !== undefined) {
      parked.timer = parking.fork(Effect.zipRight(Effect.sleep(parking.ttlMillis), end(parking, parked)))
      return Effect.void
    }
    return end(parking, parked)
  })

const end = (parking: Parking, parked: Parked): Effect.Effect<void> =>
  Effect.sync(() => {
    if (parked.id !== undefined) parking.byId.delete(parked.id)
    // Interrupting a request still running cancels it upstream; a done one has nothing to stop.
    if (parked.exit === undefined) parked.fiber?.unsafeInterruptAsFork(FiberId.none)
  })
