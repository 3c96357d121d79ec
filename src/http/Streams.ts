/**
 * The registry of open long-lived responses (SSE streams, WebSockets) of one server: one heartbeat fiber ticks
 * them all (keep-alive comments, WebSocket pings), and shutdown closes them all with their final event. A stream
 * costs no fiber of its own for either.
 *
 * @since 0.1.0
 */
import type { Scope } from "effect"
import { Duration, Effect } from "effect"

/**
 * @since 0.1.0
 * @category models
 */
export interface Stream {
  /** Keep-alive: called every interval; must not block. */
  readonly tick: () => void
  /**
   * Shutdown: send the final event and end; must not block. `deadline` (the Clock's time in ms) is when
   * requests in flight on the stream are interrupted and answered with an error, if they have not answered.
   */
  readonly close: (deadline: number) => void
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Streams {
  /** Registers a stream for the life of the current Scope. */
  readonly register: (stream: Stream) => Effect.Effect<void, never, Scope.Scope>
  /** Registers a stream from a callback; returns its removal. */
  readonly unsafeAdd: (stream: Stream) => () => void
  /** Removes a stream registered with `unsafeAdd` (for callers that keep the stream object, not a closure). */
  readonly unsafeRemove: (stream: Stream) => void
  /** Closes every open stream (requests in flight on them may answer until `deadline`) and refuses new ones. */
  readonly closeAll: (deadline: number) => Effect.Effect<void>
  readonly size: () => number
  readonly closing: () => boolean
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: { readonly keepAlive: Duration.DurationInput }
): Effect.Effect<Streams, never, Scope.Scope> =>
  Effect.gen(function*() {
    const open = new Set<Stream>()
    let closing = false
    let deadline = 0
    const interval = Duration.decode(options.keepAlive)
    if (Duration.toMillis(interval) > 0) {
      yield* Effect.forkScoped(Effect.forever(Effect.zipRight(
        Effect.sleep(interval),
        Effect.sync(() => {
          for (const stream of open) stream.tick()
        })
      )))
    }
    return {
      register: (stream) =>
        Effect.acquireRelease(
          Effect.sync(() => {
            if (closing) stream.close(deadline)
            else open.add(stream)
          }),
          () => Effect.sync(() => open.delete(stream))
        ),
      unsafeAdd: (stream) => {
        if (closing) {
          stream.close(deadline)
          return () => {}
        }
        open.add(stream)
        return () => {
          open.delete(stream)
        }
      },
      unsafeRemove: (stream) => {
        open.delete(stream)
      },
      closeAll: (until) =>
        Effect.sync(() => {
          closing = true
          deadline = until
          for (const stream of [...open]) stream.close(until)
        }),
      size: () => open.size,
      closing: () => closing
    }
  })
