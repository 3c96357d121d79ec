/**
 * The resumable streams of legacy Streamable HTTP sessions: a `Channel` is one logical SSE stream (a POST's answer,
 * or a session's standalone GET stream) whose events are appended to the EventStore; a `StreamPump` feeds whichever
 * HTTP response carries the channel now from that log, so a client that disconnects or falls behind resumes with
 * `Last-Event-ID` and loses nothing within the store's retention.
 *
 * @since 0.1.0
 */
import { Effect, Option } from "effect"
import type { Fiber } from "effect"
import type { ServerResponse } from "node:http"
import type * as Dispatcher from "../server/Dispatcher.js"
import type * as EventStore from "./EventStore.js"
import * as Sse from "./Sse.js"
import type * as Streams from "./Streams.js"

/**
 * What the streams share with the rest of the endpoint: the log, and the registry of open streams.
 *
 * @since 0.1.0
 * @category models
 */
export interface Context {
  readonly store: EventStore.EventStore["Type"]
  readonly streams: Streams.Streams
}

/**
 * A legacy session's logical SSE stream: the events of one POST's answer, or the session's standalone GET stream.
 * Its events are appended to the EventStore; whichever HTTP response carries the stream now (the POST itself, or
 * a GET that resumed it with `Last-Event-ID`) is fed by a pump that reads the log from its last event on. So a
 * client that disconnects, or falls behind, loses nothing within the store's retention: it reconnects and resumes.
 *
 * @since 0.1.0
 * @category models
 */
export interface Channel {
  readonly id: string
  /** No more events come: the answer was logged, or the request was cancelled. */
  closed: boolean
  /** The pump feeding the current carrier. */
  pump: Pump | undefined
}

/**
 * What the rest of the endpoint sees of the pump feeding a channel's current carrier.
 *
 * @since 0.1.0
 * @category models
 */
export interface Pump {
  readonly fiber: Fiber.RuntimeFiber<unknown, unknown>
  readonly res: ServerResponse
  /** The id of the last event written to `res`. */
  last: string
  /** Parked with everything logged so far written, and nobody has poked it since. */
  readonly parked: boolean
  /** Wakes it: something was logged, or the stream should end. */
  readonly poke: () => void
}

/**
 * Wakes the pump on the channel, if any: something was logged, or the stream should end.
 *
 * @since 0.1.0
 * @category streams
 */
export const poke = (channel: Channel): void => {
  channel.pump?.poke()
}

/**
 * Ends the pump on the channel, if any (its fiber is interrupted; its exit observer cleans up).
 *
 * @since 0.1.0
 * @category streams
 */
export const endPump = (channel: Channel): void => {
  const pump = channel.pump
  if (pump !== undefined) pump.fiber.unsafeInterruptAsFork(pump.fiber.id())
}

/**
 * Logs an event on the channel and wakes its pump; returns the event's id.
 *
 * @since 0.1.0
 * @category streams
 */
export const appendTo = (
  store: EventStore.EventStore["Type"],
  channel: Channel,
  frame: string,
  final: boolean
): Effect.Effect<string> =>
  Effect.map(store.append(channel.id, frame), (eventId) => {
    if (final) channel.closed = true
    poke(channel)
    return eventId
  })

/**
 * A session's pending notifications, delivered in the broadcaster's own step when its GET stream's pump is parked
 * and caught up: logged (so resumption still has them) and written at once, without waking the pump's fiber.
 * Otherwise (no stream, a stream behind or applying backpressure, an async store, interceptors) the pump is poked
 * and takes them itself.
 *
 * @since 0.1.0
 * @category streams
 */
export const pushTo = (
  store: EventStore.EventStore["Type"],
  channel: Channel,
  dispatcher: Dispatcher.Dispatcher
): void => {
  const pump = channel.pump
  const append = store.unsafeAppend
  if (
    pump !== undefined && pump.parked && append !== undefined && !pump.res.writableNeedDrain && !pump.res.destroyed
  ) {
    const frames = dispatcher.takePushedSync()
    if (frames !== undefined) {
      let chunk = ""
      for (const frame of frames) {
        const id = append(channel.id, frame)
        chunk += Sse.message(frame, id)
        pump.last = id
      }
      if (chunk !== "") pump.res.write(chunk)
      return
    }
  }
  poke(channel)
}

/**
 * Feeds `res` with the channel's events after `lastEventId`, until the final event, the client leaves, or
 * shutdown (the standalone stream then ends with its final event). A newer pump on the same channel (a client
 * that reconnected) replaces this one. Runs on the fiber of the HTTP request that carries the stream, as a loop
 * of plain Effects (no generator, no Queue): a parked stream holds this object, its fiber and one pending
 * `Effect.async`, which `poke` resumes.
 *
 * @since 0.1.0
 * @category streams
 */
export class StreamPump implements Pump, Streams.Stream {
  /** Parked on `wait` with everything logged so far written, and nobody has poked it since. */
  parked = false
  gone = false
  shutdown = false
  private poked = false
  private waiting: ((effect: Effect.Effect<void>) => void) | undefined = undefined
  private readonly wait: Effect.Effect<void>
  readonly loop: Effect.Effect<void>
  private readonly next: Effect.Effect<void>

  constructor(
    readonly context: Context,
    readonly channel: Channel,
    readonly res: ServerResponse,
    readonly fiber: Fiber.RuntimeFiber<unknown, unknown>,
    /** The id of the last event written to `res`. */
    public last: string,
    readonly live: boolean,
    /** The session whose unsolicited notifications join this (standalone) stream. */
    readonly pushed: Dispatcher.Dispatcher | undefined
  ) {
    this.wait = Effect.async<void>((resume) => {
      if (this.poked) {
        this.poked = false
        resume(Effect.void)
      } else {
        this.waiting = resume
      }
    })
    this.loop = Effect.suspend(() => this.step())
    this.next = Effect.suspend(() => this.afterWrite())
  }

  /** Something was logged, or the stream should end: wake the loop (a poke while it runs is kept). */
  poke(): void {
    this.parked = false
    const resume = this.waiting
    if (resume === undefined) {
      this.poked = true
      return
    }
    this.waiting = undefined
    resume(Effect.void)
  }

  /** Bytes waiting to drain at the last keep-alive tick (see Sse.keepAlive). */
  pending = -1

  tick(): void {
    Sse.keepAlive(this.res, this)
  }

  /** Shutdown: the standalone stream ends now; an answer's stream waits (within the grace) for its answer. */
  close(): void {
    if (this.channel.closed || this.channel.id.endsWith("/get")) {
      this.shutdown = true
      this.poke()
    }
  }

  step(): Effect.Effect<void> {
    const pushed = this.pushed
    // The session's coalesced unsolicited notifications join its standalone stream's log here, so a client
    // that reconnects with Last-Event-ID gets them too.
    if (pushed !== undefined && pushed.hasPushed()) {
      const store = this.context.store
      return Effect.flatMap(pushed.takePushed, (frames) =>
        Effect.zipRight(
          Effect.forEach(frames, (frame) => store.append(this.channel.id, frame), { discard: true }),
          this.replay()
        ))
    }
    return this.replay()
  }

  replay(): Effect.Effect<void> {
    return Effect.flatMap(this.context.store.after(this.last), (replay) => {
      if (Option.isNone(replay)) return this.next
      const warn = replay.value.truncated
        ? Effect.logWarning("A resumed stream lost events evicted from the event store").pipe(
          Effect.annotateLogs({ stream: this.channel.id, lastEventId: this.last })
        )
        : undefined
      // Everything logged since the last write goes out as one chunk: one syscall per wake-up, not per event.
      const events = replay.value.events
      let write: Effect.Effect<void> | undefined
      if (events.length > 0) {
        if (this.gone) return Effect.void
        let chunk = ""
        for (const event of events) chunk += Sse.message(event.frame, event.id)
        this.last = events[events.length - 1]!.id
        write = Sse.write(this.res, chunk)
      }
      const then = write === undefined ? this.next : Effect.zipRight(write, this.next)
      return warn === undefined ? then : Effect.zipRight(warn, then)
    })
  }

  afterWrite(): Effect.Effect<void> {
    if (this.gone) return Effect.void
    // Everything logged so far is written: a stream that gets no more events ends here.
    if (!this.live || this.channel.closed) {
      this.res.end()
      return Effect.void
    }
    if (this.shutdown) {
      this.res.end(Sse.event("shutdown", "{}"))
      return Effect.void
    }
    this.parked = true
    return Effect.zipRight(this.wait, this.loop)
  }

  /** The fiber ended (the stream is over, or was interrupted): plain cleanup, no Scope or finalizer. */
  cleanup(): void {
    this.context.streams.unsafeRemove(this)
    if (this.channel.pump === this) this.channel.pump = undefined
    if (!this.res.writableEnded && !this.res.destroyed) this.res.end()
  }
}

/**
 * Starts a pump on the current fiber (the HTTP request's): it ends with the fiber.
 *
 * @since 0.1.0
 * @category streams
 */
export const pump = (
  context: Context,
  channel: Channel,
  res: ServerResponse,
  lastEventId: string,
  live: boolean,
  pushed?: Dispatcher.Dispatcher
): Effect.Effect<void> =>
  Effect.withFiberRuntime<void>((fiber) => {
    const state = new StreamPump(context, channel, res, fiber, lastEventId, live, pushed)
    if (live) {
      endPump(channel)
      channel.pump = state
    }
    res.once("close", () => {
      state.gone = true
      state.poke()
    })
    context.streams.unsafeAdd(state)
    // Cleanup by the fiber's exit observer rather than a finalizer: registering finalizers costs a FiberRefs
    // diff each, which adds up when thousands of streams end at once (shutdown).
    fiber.addObserver(() => state.cleanup())
    return state.loop
  })
