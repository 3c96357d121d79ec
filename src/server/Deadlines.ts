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

/** @since 0.1.0 @category models */
export interface Deadlines {
  /** Schedules `expire` after `millis` (0 or less: never). Returns the deadline (epoch ms), Infinity when none. */
  readonly add: (key: object, millis: number, expire: () => void) => Effect.Effect<number>
  /** Cancels a scheduled expiry (the item settled first). */
  readonly remove: (key: object, millis: number) => void
  /** Items scheduled, for tests and metrics. */
  readonly size: () => number
}

interface Item {
  readonly deadline: number
  readonly expire: () => void
}

/**
 * Starts the timer fiber in the current Scope.
 *
 * @since 0.1.0 @category constructors
 */
export const make: Effect.Effect<Deadlines, never, Scope.Scope> = Effect.gen(function*() {
  // One queue per length of deadline, each in deadline order.
  const queues = new Map<number, Map<object, Item>>()
  const wake = yield* Queue.dropping<void>(1)
  /** When the fiber will next look by itself (Infinity: it waits to be woken). */
  let scheduledAt = Infinity

  const loop: Effect.Effect<never> = Effect.gen(function*() {
    while (true) {
      const now = yield* Clock.currentTimeMillis
      let next = Infinity
      for (const queue of queues.values()) {
        for (const [key, item] of queue) {
          if (item.deadline > now) {
            if (item.deadline < next) next = item.deadline
            break
          }
          queue.delete(key)
          item.expire()
        }
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

  return {
    add: (key, millis, expire) =>
      millis <= 0 || !Number.isFinite(millis)
        ? Effect.succeed(Infinity)
        : Effect.map(Clock.currentTimeMillis, (now) => {
          const deadline = now + millis
          let queue = queues.get(millis)
          if (queue === undefined) {
            queue = new Map()
            queues.set(millis, queue)
          }
          queue.set(key, { deadline, expire })
          if (deadline < scheduledAt) {
            scheduledAt = deadline
            Queue.unsafeOffer(wake, undefined)
          }
          return deadline
        }),
    remove: (key, millis) => {
      queues.get(millis)?.delete(key)
    },
    size: () => {
      let n = 0
      for (const queue of queues.values()) n += queue.size
      return n
    }
  }
})
