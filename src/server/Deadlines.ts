/**
 * Every deadline of the server (request timeouts, questions to the client) on one fiber.
 *
 * Deadlines of one kind all have the same length, so each kind's queue is in deadline order simply by arrival: an
 * insertion-ordered Map, whose first entry is the next to expire and where a settled item is removed in O(1). The
 * fiber sleeps until the earliest head, and is woken only when an item arrives earlier than the time it sleeps until
 * (in practice: when it was idle). Under steady load that is about one wake-up per timeout period, however many
 * requests pass, and no fiber is forked per request or per connection.
 *
 * Expiring an item must not block the timer (a stalled peer would stall every deadline): `expire` is synchronous and
 * should only signal (interrupt a fiber, complete a Deferred); the signalled fiber does the rest itself.
 *
 * @since 0.1.0
 */
import { Clock, Effect, Queue } from "effect"
import type { Scope } from "effect"

/**
 * Something with a deadline: the timer writes `deadline` when it is added and calls `expire` when it passes. A
 * request's own bookkeeping object is its item, so scheduling one allocates nothing.
 *
 * @since 0.1.0
 * @category models
 */
export interface Item {
  deadline: number
  readonly expire: () => void
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Deadlines {
  /** Schedules `item.expire` after `millis` (0 or less: never). Returns the deadline (epoch ms), Infinity when none. */
  readonly add: (item: Item, millis: number) => Effect.Effect<number>
  /** `add` with the current time given (read from the fiber's Clock by the caller), in one synchronous step. */
  readonly unsafeAdd: (item: Item, millis: number, now: number) => number
  /** Cancels a scheduled expiry (the item settled first). */
  readonly remove: (item: Item, millis: number) => void
  /** Items scheduled, for tests and metrics. */
  readonly size: () => number
}

/**
 * Starts the timer fiber in the current Scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<Deadlines, never, Scope.Scope> = Effect.gen(function*() {
  // One queue per length of deadline, each in deadline order (a Set keeps insertion order).
  const queues = new Map<number, Set<Item>>()
  /** The last deadline given for each length: the ones after it are never earlier. */
  const tails = new Map<number, number>()
  const wake = yield* Queue.dropping<void>(1)
  /** When the fiber will next look by itself (Infinity: it waits to be woken). */
  let scheduledAt = Infinity

  const loop: Effect.Effect<never> = Effect.gen(function*() {
    while (true) {
      const now = yield* Clock.currentTimeMillis
      let next = Infinity
      // An expiry that throws must not stop the one timer every deadline of the server depends on.
      let thrown: unknown = undefined
      for (const queue of queues.values()) {
        for (const item of queue) {
          if (item.deadline > now) {
            if (item.deadline < next) next = item.deadline
            break
          }
          queue.delete(item)
          try {
            item.expire()
          } catch (error) {
            thrown = error
          }
        }
      }
      if (thrown !== undefined) {
        yield* Effect.logError("A deadline's expiry threw; the timer goes on").pipe(
          Effect.annotateLogs({ error: String(thrown) })
        )
      }
      // Woken for a deadline whose item has settled since (under load: nearly always, as requests finish in the
      // step that registered them): sleep until that deadline anyway. Later items of the same length expire
      // later, so they need no wake-up: one wake-up per timeout period, not one per request.
      if (next === Infinity && scheduledAt > now && scheduledAt !== Infinity) next = scheduledAt
      scheduledAt = next
      if (next === Infinity) yield* Queue.take(wake)
      else yield* Effect.asVoid(Effect.timeoutOption(Queue.take(wake), next - now))
    }
  })
  yield* Effect.forkScoped(loop)

  const unsafeAdd = (item: Item, millis: number, now: number): number => {
    if (millis <= 0 || !Number.isFinite(millis)) return Infinity
    let queue = queues.get(millis)
    if (queue === undefined) {
      queue = new Set()
      queues.set(millis, queue)
    }
    // The Set must stay in deadline order: an item re-added moves to the end, and a deadline earlier than the last
    // one of its length (a caller whose Clock lags the others') waits for that one, never jumping the queue.
    queue.delete(item)
    const deadline = Math.max(now + millis, tails.get(millis) ?? -Infinity)
    tails.set(millis, deadline)
    item.deadline = deadline
    queue.add(item)
    if (deadline < scheduledAt) {
      scheduledAt = deadline
      Queue.unsafeOffer(wake, undefined)
    }
    return deadline
  }

  return {
    add: (item, millis) =>
      millis <= 0 || !Number.isFinite(millis)
        ? Effect.succeed(Infinity)
        : Effect.map(Clock.currentTimeMillis, (now) => unsafeAdd(item, millis, now)),
    unsafeAdd,
    remove: (item, millis) => {
      queues.get(millis)?.delete(item)
    },
    size: () => {
      let n = 0
      for (const queue of queues.values()) n += queue.size
      return n
    }
  }
})
