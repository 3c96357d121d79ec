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
import { Clock, Duration, Effect, Either, Equal, FiberSet, LogLevel, Option, Queue } from "effect"
import * as JsonRpc from "../protocol/JsonRpc.js"
import * as Dispatcher from "../server/Dispatcher.js"
import * as Execution from "../server/Execution.js"
import type { McpServer } from "../server/McpServer.js"
import type * as Peer from "../server/Peer.js"
import * as Settings from "../Settings.js"

/**
 * The inbound callbacks a transport calls. They run outside any fiber (node event callbacks) and never block.
 *
 * @since 0.1.0
 * @category models
 */
export interface Inbound {
  /**
   * One complete message frame. A transport that can pause its peer (`pausable`) is never refused: frames that
   * arrive while the mailbox is full wait, the transport is paused, and what waits is bounded by what the transport
   * had already read. A transport that cannot pause its peer (one HTTP POST per frame) gets false when the frames
   * waiting here reach `maxQueuedBytes` or the mailbox's capacity, and answers the POST itself (503).
   */
  readonly frame: (text: string) => boolean
  /** A frame was larger than the limit and was discarded. */
  readonly oversized: (limit: number) => void
  /**
   * The peer is gone (`drain: false`), or has stopped sending but still reads (`drain: true`: stdin EOF, or the
   * server shutting down). While draining, requests in flight may finish until `deadline` (the Clock's time in
   * ms; default: the connection's `drainTimeout` from when the end is seen); then they are interrupted, each is
   * answered with an error, and the connection ends. A deadline, not a duration: a busy server sees the end
   * late, and must not give its requests more time than the caller has.
   */
  readonly end: (options: { readonly drain: boolean; readonly deadline?: number; readonly shutdown?: boolean }) => void
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Transport {
  /** Registers the inbound callbacks for the connection's lifetime (removed when the Scope closes). */
  readonly start: (inbound: Inbound) => Effect.Effect<void, never, Scope.Scope>
  /** Writes one frame; suspends while the peer applies backpressure, resumes at once once the peer is gone. */
  readonly write: (frame: string) => Effect.Effect<void>
  /** Flow control: stop and restart delivering inbound frames. */
  readonly pause: () => void
  readonly resume: () => void
  /** Whether `pause` stops the peer (a socket or pipe); false for transports of one POST per frame. */
  readonly pausable: boolean
  /** Cuts the peer off at once (it stopped reading): pending writes resume, and the transport reports its end. */
  readonly destroy: () => void
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Capacity of the connection's mailbox (inbound and outbound frames together). Default 256. */
  readonly mailboxCapacity?: number
  /** After `end({ drain: true })` without a grace of its own, how long in-flight requests may still finish. Default 2 s. */
  readonly drainTimeout?: Duration.DurationInput
  /** Most requests in flight at once; past it a request is answered at once with -32000. Default 1,000. */
  readonly maxInFlight?: number
  /**
   * Most bytes (UTF-16 code units) of frames queued for a peer that does not read, and of frames waiting for a
   * transport that cannot be paused. Past it the peer is cut off (outbound) or refused (inbound). One frame larger
   * than this still goes out when nothing else is queued. Default 8 MiB.
   */
  readonly maxQueuedBytes?: number
  /** The transport's name, for interceptors and logs (see Peer). */
  readonly transport?: string
  /** The peer's remote address, where the transport has one (see Peer). */
  readonly remoteAddress?: string | undefined
  /** The legacy session id, where the transport has one (the old HTTP+SSE transport). */
  readonly sessionId?: string | undefined
  /** The principal that authenticated the connection (at the WebSocket upgrade, the old SSE GET), if any. */
  readonly principal?: Peer.Principal | undefined
}

type Item =
  | { readonly _tag: "In"; readonly text: string }
  | { readonly _tag: "Out"; readonly frame: string }
  | { readonly _tag: "Oversized"; readonly limit: number }
  | { readonly _tag: "End"; readonly drain: boolean; readonly deadline: number | undefined; readonly shutdown: boolean }
  | { readonly _tag: "Wake" }
  | { readonly _tag: "Push" }

const wake: Item = { _tag: "Wake" }
const push: Item = { _tag: "Push" }

const shuttingDown = new JsonRpc.ServerError({
  message: "Server shutting down: the request was interrupted"
})
const closing = new JsonRpc.ServerError({
  message: "The connection is closing: the request did not finish in time and was interrupted"
})

/**
 * Serves one connection until the peer ends it, or until the fiber running it is interrupted. The connection's
 * Scope is this effect's run: when it ends, every in-flight request is interrupted (their finalizers run) and the
 * transport's listeners are removed.
 *
 * @since 0.1.0
 * @category constructors
 */
export const serve = (
  transport: Transport,
  options: Options = {}
): Effect.Effect<void, never, McpServer> =>
  Effect.scoped(Effect.gen(function*() {
    const capacity = options.mailboxCapacity ?? 256
    const maxQueuedBytes = options.maxQueuedBytes ?? Settings.maxQueuedBytes.default
    const mailbox = yield* Effect.acquireRelease(Queue.bounded<Item>(capacity), Queue.shutdown)
    const fibers = yield* FiberSet.make<unknown, unknown>()
    const self = yield* Effect.fiberId
    const drainMillis = Duration.toMillis(Duration.decode(options.drainTimeout ?? Settings.drainTimeoutMs.default))

    // Frames that arrived while the mailbox was full, in order; the transport is paused while any wait here.
    const waiting: Array<Item> = []
    // Bytes of inbound frames in the mailbox (frames also wait once these reach the bound, so a peer's frames
    // cost a bounded number of bytes, not a bounded number of frames of any size), and of outbound frames
    // offered and not yet written.
    let inboundBytes = 0
    let waitingBytes = 0
    let outboundBytes = 0
    const admit = (item: Item): boolean => {
      if (item._tag !== "In") return Queue.unsafeOffer(mailbox, item)
      const size = item.text.length
      if (inboundBytes > 0 && inboundBytes + size > maxQueuedBytes) return false
      if (!Queue.unsafeOffer(mailbox, item)) return false
      inboundBytes += size
      return true
    }
    const put = (item: Item): boolean => {
      if (waiting.length === 0 && admit(item)) return true
      // A transport that cannot be paused is refused once as many frames wait as the mailbox holds. End is never
      // refused; a paused transport's frames wait (at most what it had already read when it was paused).
      if (item._tag === "In") {
        const size = item.text.length
        if (
          !transport.pausable &&
          (waiting.length >= capacity || (waitingBytes > 0 && waitingBytes + size > maxQueuedBytes))
        ) return false
        waitingBytes += size
      }
      if (waiting.length === 0) transport.pause()
      waiting.push(item)
      return true
    }
    const refill = () => {
      if (waiting.length === 0) return
      while (waiting.length > 0 && admit(waiting[0]!)) {
        const item = waiting.shift()!
        if (item._tag === "In") waitingBytes -= item.text.length
      }
      if (waiting.length === 0) transport.resume()
    }

    // The peer stopped reading and the bytes queued for it passed the bound: cut it off. Its pending write
    // resumes, the loop sees `cutOff` and ends; the requests still in flight are interrupted with the Scope.
    let cutOff = false
    const cut = Effect.suspend(() => {
      if (cutOff) return Effect.void
      cutOff = true
      transport.destroy()
      put({ _tag: "End", drain: false, deadline: undefined, shutdown: false })
      return Effect.logWarning("The peer is not reading its messages; disconnecting it").pipe(
        Effect.annotateLogs({ transport: options.transport, queuedBytes: outboundBytes, maxQueuedBytes })
      )
    })

    // The connection fiber writes its own replies directly: offering to the mailbox it alone drains could block
    // it on itself. Every other fiber goes through the bounded mailbox, counted in bytes.
    const send = (frame: string) =>
      Effect.fiberIdWith((id) => {
        if (Equal.equals(id, self)) return transport.write(frame)
        if (cutOff) return Effect.void
        if (outboundBytes > 0 && outboundBytes + frame.length > maxQueuedBytes) return cut
        outboundBytes += frame.length
        return Queue.offer(mailbox, { _tag: "Out", frame })
      })
    const sink: Dispatcher.Sink = { notify: send, respond: send }

    let draining = false
    let drainError: JsonRpc.JsonRpcError = closing
    // Unsolicited notifications (list_changed, resources/updated) stay coalesced in the session's subscriber; one
    // Push item in the mailbox tells this fiber to take them. If the mailbox is full no item is queued, and the
    // check after every item picks them up instead: nothing is lost and nothing grows.
    let pushQueued = false
    const dispatcher = yield* Dispatcher.make({
      send: sink,
      execution: Execution.forked(fibers, options.maxInFlight ?? Settings.maxInFlightPerSession.default),
      onSettled: () => {
        if (draining) Queue.unsafeOffer(mailbox, wake)
      },
      onPush: () => {
        if (!pushQueued) pushQueued = Queue.unsafeOffer(mailbox, push)
      },
      ...(options.transport !== undefined ? { transport: options.transport } : {}),
      ...(options.sessionId !== undefined ? { sessionId: options.sessionId } : {}),
      ...(options.principal !== undefined ? { principal: options.principal } : {}),
      remoteAddress: options.remoteAddress
    })
    const deliverPushed = Effect.suspend(() => {
      pushQueued = false
      return Effect.flatMap(
        dispatcher.takePushed,
        (frames) => Effect.forEach(frames, transport.write, { discard: true })
      )
    })

    yield* transport.start({
      frame: (text) => put({ _tag: "In", text }),
      oversized: (limit) => {
        put({ _tag: "Oversized", limit })
      },
      end: ({ deadline, drain, shutdown }) => {
        put({ _tag: "End", drain, deadline, shutdown: shutdown === true })
      }
    })

    let drainDeadline = 0
    // Once the drain's time is up: requests still in flight are interrupted and answered with `drainError`; the
    // connection then only waits for those answers (briefly) to go out.
    let aborted = false
    while (!cutOff) {
      let item: Item
      if (draining) {
        const remaining = drainDeadline - (yield* Clock.currentTimeMillis)
        const next = remaining > 0 ? yield* Effect.timeoutOption(Queue.take(mailbox), remaining) : Option.none()
        if (Option.isNone(next)) {
          if (aborted) {
            yield* Effect.logWarning("Requests did not settle after they were interrupted; closing anyway").pipe(
              Effect.annotateLogs({ inFlight: dispatcher.inFlight() })
            )
            return
          }
          // At shutdown the server logs once for all connections; a peer's own drain is worth a warning.
          yield* Effect.logWithLevel(
            drainError === shuttingDown ? LogLevel.Debug : LogLevel.Warning,
            "Requests still in flight when the connection closes; interrupting them"
          ).pipe(Effect.annotateLogs({ inFlight: dispatcher.inFlight(), transport: options.transport }))
          aborted = true
          drainDeadline = (yield* Clock.currentTimeMillis) + ABORT_MILLIS
          yield* dispatcher.abortInFlight(drainError)
          continue
        }
        item = next.value
      } else {
        item = yield* Queue.take(mailbox)
      }
      refill()
      switch (item._tag) {
        case "In": {
          inboundBytes -= item.text.length
          // A draining connection takes no new work: its peer said it is done, or the server is shutting down.
          if (draining) yield* whileDraining(item.text, drainError, dispatcher, transport)
          else yield* dispatcher.handleText(item.text)
          break
        }
        case "Out": {
          outboundBytes -= item.frame.length
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
          const deadline = item.deadline ?? (yield* Clock.currentTimeMillis) + drainMillis
          if (item.shutdown) drainError = shuttingDown
          // A second end (shutdown after stdin EOF) can only bring the deadline closer.
          drainDeadline = draining ? Math.min(drainDeadline, deadline) : deadline
          draining = true
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

/** After in-flight requests are interrupted, how long their error answers may take to go out. */
const ABORT_MILLIS = 250

/**
 * While draining, the peer's notifications (a cancellation) and responses (answers to our questions) still go to
 * the dispatcher: requests in flight may depend on them. New requests are answered with the drain's error.
 */
const whileDraining = (
  text: string,
  error: JsonRpc.JsonRpcError,
  dispatcher: Dispatcher.Dispatcher,
  transport: Transport
): Effect.Effect<void> => {
  const parsed = JsonRpc.parse(text)
  if (Either.isLeft(parsed)) return dispatcher.handleText(text)
  const refuse = (json: unknown): string | undefined => {
    const message = JsonRpc.decode(json)
    return message._tag === "Request" ? JsonRpc.encodeError(message.id, JsonRpc.toErrorObject(error)) : undefined
  }
  if (!Array.isArray(parsed.right)) {
    const refused = refuse(parsed.right)
    return refused === undefined ? dispatcher.handleJson(parsed.right) : transport.write(refused)
  }
  const refused: Array<string> = []
  const others: Array<unknown> = []
  for (const item of parsed.right) {
    const frame = refuse(item)
    if (frame === undefined) others.push(item)
    else refused.push(frame)
  }
  return Effect.zipRight(
    Effect.forEach(others, (item) => dispatcher.handleJson(item), { discard: true }),
    refused.length === 0 ? Effect.void : transport.write(JsonRpc.encodeBatch(refused))
  )
}
