/**
 * The one abstraction every transport shares: a connection is an inbound source of text frames plus an outbound
 * writer, served by exactly one fiber whose Scope is the connection's lifetime.
 *
 * The connection fiber owns one bounded mailbox holding both directions. Inbound frames are put there by the
 * transport's callbacks (no fiber of their own); when it is full the transport is paused and the frames wait
 * until the fiber makes room. Outbound frames from request fibers are offered to the same mailbox and suspend
 * while it is full, so a slow peer slows its own handlers and nothing grows without bound. The fiber takes one
 * item at a time: an inbound frame is dispatched (a request forks its one child fiber), an outbound frame is
 * written. An idle connection is therefore this single fiber, parked on `Queue.take`.
 *
 * @since 0.1.0
 */
import type { Scope } from "effect"
import { Clock, Duration, Effect, Equal, FiberSet, Option, Queue } from "effect"
import * as JsonRpc from "../protocol/JsonRpc.js"
import * as Dispatcher from "../server/Dispatcher.js"
import type { McpServer } from "../server/McpServer.js"

/**
 * The inbound callbacks a transport calls. They run outside any fiber (node event callbacks) and never block.
 *
 * @since 0.1.0 @category models
 */
export interface Inbound {
  /**
   * One complete message frame. False when the connection is this far behind and refuses it (a transport that
   * cannot pause its peer, such as HTTP POSTs, answers 503); a transport that paused on `pause()` never sees false.
   */
  readonly frame: (text: string) => boolean
  /** A frame was larger than the limit and was discarded. */
  readonly oversized: (limit: number) => void
  /** The peer is gone (`drain: false`) or has stopped sending but still reads (`drain: true`, e.g. stdin EOF). */
  readonly end: (options: { readonly drain: boolean }) => void
}

/** @since 0.1.0 @category models */
export interface Transport {
  /** Registers the inbound callbacks for the connection's lifetime (removed when the Scope closes). */
  readonly start: (inbound: Inbound) => Effect.Effect<void, never, Scope.Scope>
  /** Writes one frame; suspends while the peer applies backpressure. */
  readonly write: (frame: string) => Effect.Effect<void>
  /** Flow control: stop and restart delivering inbound frames. */
  readonly pause: () => void
  readonly resume: () => void
}

/** @since 0.1.0 @category models */
export interface Options {
  /** Capacity of the connection's mailbox (inbound and outbound frames together). Default 256. */
  readonly mailboxCapacity?: number
  /** After `end({ drain: true })`, how long in-flight requests may still finish. Default 2 s. */
  readonly drainTimeout?: Duration.DurationInput
  /** The transport's name, for interceptors and logs. */
  readonly transport?: string
}

type Item =
  | { readonly _tag: "In"; readonly text: string }
  | { readonly _tag: "Out"; readonly frame: string }
  | { readonly _tag: "Oversized"; readonly limit: number }
  | { readonly _tag: "End"; readonly drain: boolean }
  | { readonly _tag: "Wake" }
  | { readonly _tag: "Push" }

const wake: Item = { _tag: "Wake" }
const push: Item = { _tag: "Push" }

/**
 * Serves one connection until the peer ends it, or until the fiber running it is interrupted. The connection's
 * Scope is this effect's run: when it ends, every in-flight request is interrupted (their finalizers run) and the
 * transport's listeners are removed.
 *
 * @since 0.1.0 @category constructors
 */
export const serve = (
  transport: Transport,
  options: Options = {}
): Effect.Effect<void, never, McpServer> =>
  Effect.scoped(Effect.gen(function*() {
    const mailbox = yield* Effect.acquireRelease(
      Queue.bounded<Item>(options.mailboxCapacity ?? 256),
      Queue.shutdown
    )
    const fibers = yield* FiberSet.make<unknown, unknown>()
    const self = yield* Effect.fiberId
    const drainMillis = Duration.toMillis(Duration.decode(options.drainTimeout ?? "2 seconds"))

    // Frames that arrived while the mailbox was full, in order; the transport is paused while any wait here.
    const waiting: Array<Item> = []
    const capacity = options.mailboxCapacity ?? 256
    const put = (item: Item): boolean => {
      if (waiting.length === 0 && Queue.unsafeOffer(mailbox, item)) return true
      // Frames past a full mailbox wait here while the transport is paused; a peer that cannot be paused and
      // keeps sending is refused once as many wait as the mailbox holds. End-of-stream is never refused.
      if (waiting.length >= capacity && item._tag !== "End") return false
      if (waiting.length === 0) transport.pause()
      waiting.push(item)
      return true
    }
    const refill = () => {
      if (waiting.length === 0) return
      while (waiting.length > 0 && Queue.unsafeOffer(mailbox, waiting[0]!)) waiting.shift()
      if (waiting.length === 0) transport.resume()
    }

    // The connection fiber writes its own replies directly: offering to the mailbox it alone drains could block
    // it on itself. Every other fiber goes through the bounded mailbox.
    const send = (frame: string) =>
      Effect.fiberIdWith((id) =>
        Equal.equals(id, self) ? transport.write(frame) : Queue.offer(mailbox, { _tag: "Out", frame })
      )
    const sink: Dispatcher.Sink = { notify: send, respond: send }

    let draining = false
    // Unsolicited notifications (list_changed, resources/updated) stay coalesced in the session's subscriber; one
    // Push item in the mailbox tells this fiber to take them. If the mailbox is full no item is queued, and the
    // check after every item picks them up instead: nothing is lost and nothing grows.
    let pushQueued = false
    const dispatcher = yield* Dispatcher.make({
      send: sink,
      fibers,
      onSettled: () => {
        if (draining) Queue.unsafeOffer(mailbox, wake)
      },
      onPush: () => {
        if (!pushQueued) pushQueued = Queue.unsafeOffer(mailbox, push)
      },
      ...(options.transport !== undefined ? { transport: options.transport } : {})
    })
    const deliverPushed = Effect.suspend(() => {
      pushQueued = false
      return Effect.flatMap(dispatcher.takePushed, (frames) => Effect.forEach(frames, transport.write, { discard: true }))
    })

    yield* transport.start({
      frame: (text) => put({ _tag: "In", text }),
      oversized: (limit) => {
        put({ _tag: "Oversized", limit })
      },
      end: ({ drain }) => {
        put({ _tag: "End", drain })
      }
    })

    let drainDeadline = 0
    while (true) {
      let item: Item
      if (draining) {
        const remaining = drainDeadline - (yield* Clock.currentTimeMillis)
        const next = remaining > 0 ? yield* Effect.timeoutOption(Queue.take(mailbox), remaining) : Option.none()
        if (Option.isNone(next)) {
          yield* Effect.logWarning("In-flight requests did not finish in time after the peer closed; interrupting")
            .pipe(Effect.annotateLogs({ inFlight: dispatcher.inFlight() }))
          return
        }
        item = next.value
      } else {
        item = yield* Queue.take(mailbox)
      }
      refill()
      switch (item._tag) {
        case "In": {
          yield* dispatcher.handleText(item.text)
          break
        }
        case "Out": {
          yield* transport.write(item.frame)
          break
        }
        case "Oversized": {
          yield* transport.write(JsonRpc.encodeError(null, {
            code: JsonRpc.INVALID_REQUEST,
            message: `Invalid Request: the message exceeds the maximum size of ${item.limit} bytes and was discarded`,
            data: { maxBytes: item.limit }
          }))
          break
        }
        case "End": {
          if (!item.drain) return
          draining = true
          drainDeadline = (yield* Clock.currentTimeMillis) + drainMillis
          break
        }
        case "Wake":
          break
        case "Push": {
          yield* deliverPushed
          break
        }
      }
      if (!pushQueued && dispatcher.hasPushed()) yield* deliverPushed
      if (draining && dispatcher.inFlight() === 0 && (yield* Queue.size(mailbox)) === 0) return
    }
  }))
