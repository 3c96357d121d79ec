/**
 * How the request engine runs an accepted request: the one thing its three users differ in, given to it as a value.
 *
 * - `forked(fibers, maxInFlight)`: a connection (stdio, WebSocket, old SSE stream). Each request is one fiber of the
 *   connection's FiberSet, admitted by a Semaphore of `maxInFlight` permits (past it: answered at once with -32000,
 *   `data.maxInFlight`); the connection's Scope ends them.
 * - `inline`: a legacy HTTP session. The request runs on the fiber of the POST that carries it, and is kept in the
 *   session's in-flight table so a `notifications/cancelled` on another POST finds it; ending the session interrupts
 *   those fibers.
 * - `oneShot`: one modern POST. Inline, with no table: nothing else can name the request.
 *
 * `Entry` is a request in flight; it is also its own item in the server's Deadlines.
 *
 * @since 0.1.0
 */
import type { Fiber } from "effect"
import { Clock, Context, Effect, FiberId, FiberSet, Option } from "effect"
import type * as JsonRpc from "../protocol/JsonRpc.js"
import type * as Deadlines from "./Deadlines.js"
import type { Outcome } from "./Sink.js"

/**
 * @since 0.1.0
 * @category models
 */
export type Reply = (frame: string | undefined, outcome: Outcome) => Effect.Effect<void>

/**
 * A request in flight.
 *
 * @since 0.1.0
 * @category models
 */
export class Entry implements Deadlines.Item {
  deadline = 0
  /** Set by the timer before it interrupts the request: the interruption then answers -32001. */
  timedOut = false
  /** Set before a `notifications/cancelled` interrupts it. */
  cancelled = false
  /** Set before `abortInFlight` interrupts it: the interruption then answers with this error. */
  aborted: JsonRpc.JsonRpcError | undefined = undefined
  fiber: Fiber.RuntimeFiber<unknown, unknown> | undefined = undefined
  settled = false
  /** Modern multi round-trip: how many questions were asked this round. */
  asked = 0
  /** Modern multi round-trip: what the handler carried from its last round (verified with the requestState). */
  carried: string | undefined = undefined
  /** Modern multi round-trip: what the handler keeps for its next round, signed into the requestState. */
  carry: string | undefined = undefined

  constructor(
    readonly key: string,
    readonly id: JsonRpc.RequestId,
    /** Its timeout, in ms (0: none), as registered with the server's Deadlines. */
    readonly timeout: number,
    readonly reply: Reply,
    /** Modern multi round-trip: the answers known this round, by input key. */
    readonly answers: Record<string, unknown> | undefined
  ) {}

  /** The timer only signals: the interrupted request answers -32001 itself. */
  expire(): void {
    if (this.settled || this.fiber === undefined) return
    this.timedOut = true
    this.fiber.unsafeInterruptAsFork(FiberId.none)
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Execution {
  /** Kept in the in-flight table, so `notifications/cancelled` and the duplicate-id check find it. */
  readonly tracked: boolean
  /** The most requests in flight at once (undefined: no limit of its own). */
  readonly maxInFlight: number | undefined
  /**
   * Runs an accepted request: `handled` runs its handler and settles it, `interrupted` settles it after an
   * interruption, `refused` answers it when it was not admitted. Registers its deadline.
   */
  readonly run: (
    entry: Entry,
    handled: Effect.Effect<void>,
    interrupted: Effect.Effect<void>,
    refused: Effect.Effect<void>,
    deadlines: Deadlines.Deadlines
  ) => Effect.Effect<void>
  /** The owner ended: interrupt the requests that run on fibers it does not own (inline ones). */
  readonly close: (entries: Iterable<Entry>) => void
}

/** Inline: the carrying fiber is the request's; its deadline is registered in the same step, with its Clock. */
class Inline implements Execution {
  readonly maxInFlight = undefined
  constructor(readonly tracked: boolean) {}
  run(
    entry: Entry,
    handled: Effect.Effect<void>,
    interrupted: Effect.Effect<void>,
    _refused: Effect.Effect<void>,
    deadlines: Deadlines.Deadlines
  ): Effect.Effect<void> {
    return Effect.withFiberRuntime<void>((fiber) => {
      entry.fiber = fiber
      const now = Context.get(fiber.currentDefaultServices, Clock.Clock).unsafeCurrentTimeMillis()
      deadlines.unsafeAdd(entry, entry.timeout, now)
      return Effect.onInterrupt(handled, () => interrupted)
    })
  }
  close(entries: Iterable<Entry>): void {
    for (const entry of entries) entry.fiber?.unsafeInterruptAsFork(FiberId.none)
  }
}

/** Forked: one fiber per request in the connection's FiberSet, admitted by a Semaphore. */
class Forked implements Execution {
  readonly tracked = true
  readonly permits: Effect.Semaphore
  constructor(readonly fibers: FiberSet.FiberSet<unknown, unknown>, readonly maxInFlight: number) {
    this.permits = Effect.unsafeMakeSemaphore(maxInFlight)
  }
  run(
    entry: Entry,
    handled: Effect.Effect<void>,
    interrupted: Effect.Effect<void>,
    refused: Effect.Effect<void>,
    deadlines: Deadlines.Deadlines
  ): Effect.Effect<void> {
    // The fiber starts uninterruptible just long enough to install its interruption handler, then runs the
    // handler interruptibly: a cancellation that arrives before the fiber has taken its first step (e.g. in the
    // same stdin chunk as the request) still settles the request instead of leaving it in the table.
    const run = Effect.flatMap(
      this.permits.withPermitsIfAvailable(1)(
        Effect.interruptible(handled).pipe(Effect.onInterrupt(() => interrupted))
      ),
      (admitted) => (Option.isSome(admitted) ? Effect.void : refused)
    )
    return Effect.zipRight(
      deadlines.add(entry, entry.timeout),
      Effect.map(Effect.uninterruptible(FiberSet.run(this.fibers, run)), (fiber) => {
        entry.fiber = fiber
      })
    )
  }
  close(): void {
    // The fibers belong to the connection's FiberSet: its Scope interrupts them.
  }
}

/**
 * A connection's requests: each in a fiber of `fibers`, at most `maxInFlight` at once.
 *
 * @since 0.1.0
 * @category constructors
 */
export const forked = (fibers: FiberSet.FiberSet<unknown, unknown>, maxInFlight = Number.MAX_SAFE_INTEGER): Execution =>
  new Forked(fibers, maxInFlight)

/**
 * A legacy HTTP session's requests: inline on their POSTs' fibers, in the session's in-flight table.
 *
 * @since 0.1.0
 * @category constructors
 */
export const inline: Execution = new Inline(true)

/**
 * One modern POST's request: inline, no table.
 *
 * @since 0.1.0
 * @category constructors
 */
export const oneShot: Execution = new Inline(false)
