/**
 * Streamable HTTP on one endpoint, both eras.
 *
 * - Modern (2026-07-28): stateless POSTs. The headers must agree with the body (`MCP-Protocol-Version`,
 *   `Mcp-Method`, `Mcp-Name`; -32020 otherwise). The request runs inline on the POST's own fiber: closing the
 *   response before the answer interrupts that fiber, which cancels the request (nothing more is sent).
 * - Legacy (2024-11-05 to 2025-11-25): `initialize` creates a session with a cryptographically secure
 *   `Mcp-Session-Id`. A session has no fiber or Scope of its own: its requests run inline on the fibers of the
 *   POSTs that carry them, and it ends on DELETE, on idle expiry or at shutdown (interrupting those requests). A
 *   client disconnect is not a cancellation (the spec says so). `GET` opens the session's stream for messages
 *   unrelated to a request; a new GET replaces the old stream.
 *
 * A POST carrying a request is answered with JSON, or with an SSE stream on that POST's response when something
 * related to the request (progress, a log message, a question to the client) has to go out before the answer.
 *
 * @since 0.1.0
 */
import { Duration, Effect, Exit, FiberId, Option, Predicate, Scope } from "effect"
import type { Fiber } from "effect"
import { randomUUID } from "node:crypto"
import type { IncomingMessage, ServerResponse } from "node:http"
import * as JsonRpc from "../protocol/JsonRpc.js"
import * as McpMethod from "../protocol/McpMethod.js"
import * as ProtocolVersion from "../protocol/ProtocolVersion.js"
import * as Dispatcher from "../server/Dispatcher.js"
import * as Execution from "../server/Execution.js"
import type { McpServer } from "../server/McpServer.js"
import * as RequestContext from "../server/RequestContext.js"
import * as Session from "../server/Session.js"
import * as Settings from "../Settings.js"
import * as EventStore from "./EventStore.js"
import { decodeHeaderValue, errorBody, header, sendJson } from "./Response.js"
import * as Sse from "./Sse.js"
import type * as Streams from "./Streams.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Most sessions at once; `initialize` past it is refused with 503. Default 10,000. */
  readonly maxSessions?: number
  /** A session with no request and no open stream for this long ends. Default 30 minutes. */
  readonly sessionIdleTimeout?: Duration.DurationInput
  /** Most requests in flight per session (and per WebSocket, old SSE stream); past it, 503. Default 1,000. */
  readonly maxInFlightPerSession?: number
  /**
   * Most resumed request streams (GETs with the Last-Event-ID of a POST's stream) open per session; past it, 503.
   * Default 8. The session's own GET stream is not counted: it is one at most (a new GET replaces it).
   */
  readonly maxStreamsPerSession?: number
  /** The SSE `retry` hint sent to 2025-11-25 clients. Default 1000 ms. */
  readonly retryMillis?: number
  /**
   * The log behind resumable streams (`Last-Event-ID`). Default: the `EventStore` in context (a shared store's
   * layer), else one in memory (1,000 events per stream).
   */
  readonly eventStore?: EventStore.EventStore["Type"]
}

/**
 * @since 0.1.0
 * @category models
 */
export interface StreamableHttp {
  readonly post: (req: IncomingMessage, res: ServerResponse, body: unknown) => Effect.Effect<void>
  readonly get: (req: IncomingMessage, res: ServerResponse) => Effect.Effect<void>
  readonly delete: (req: IncomingMessage, res: ServerResponse) => Effect.Effect<void>
  readonly sessions: () => number
  /** Ends every session (shutdown): their in-flight requests are interrupted. */
  readonly closeSessions: Effect.Effect<void>
}

/**
 * A legacy session's logical SSE stream: the events of one POST's answer, or the session's standalone GET stream.
 * Its events are appended to the EventStore; whichever HTTP response carries the stream now (the POST itself, or
 * a GET that resumed it with `Last-Event-ID`) is fed by a pump that reads the log from its last event on. So a
 * client that disconnects, or falls behind, loses nothing within the store's retention: it reconnects and resumes.
 */
interface Channel {
  readonly id: string
  /** No more events come: the answer was logged, or the request was cancelled. */
  closed: boolean
  /** The pump feeding the current carrier. */
  pump: Pump | undefined
}

/** What the rest of the endpoint sees of the pump feeding a channel's current carrier. */
interface Pump {
  readonly fiber: Fiber.RuntimeFiber<unknown, unknown>
  readonly res: ServerResponse
  /** The id of the last event written to `res`. */
  last: string
  /** Parked with everything logged so far written, and nobody has poked it since. */
  readonly parked: boolean
  /** Wakes it: something was logged, or the stream should end. */
  readonly poke: () => void
}

interface HttpSession extends Session.Managed {
  readonly id: string
  readonly dispatcher: Dispatcher.Dispatcher
  readonly inFlight: Effect.Semaphore
  /** Admission of this session's SSE streams (created with the first GET). */
  readonly streamPermits: Effect.Semaphore
  readonly standalone: Channel
  /** A live channel by id: the standalone GET stream, or a POST's stream whose answer is not logged yet. */
  readonly channel: (id: string) => Channel | undefined
  readonly addChannel: (channel: Channel) => void
  readonly removeChannel: (id: string) => void
  posts: number
  nextChannel: number
}

// ---------------------------------------------------------------------------------------------------------------------
// Small HTTP helpers
// ---------------------------------------------------------------------------------------------------------------------

const modernStatus = (outcome: Dispatcher.Outcome): number =>
  outcome.code === JsonRpc.MISSING_REQUIRED_CLIENT_CAPABILITY
    ? 400
    : outcome.rejected
    ? outcome.code === JsonRpc.METHOD_NOT_FOUND ? 404 : 400
    : 200

const legacyStatus = (outcome: Dispatcher.Outcome): number =>
  outcome.rejected && (outcome.code === JsonRpc.PARSE_ERROR || outcome.code === JsonRpc.INVALID_REQUEST) ? 400 : 200

const containsRequest = (json: unknown): boolean => {
  // The usual single request, recognised without decoding it twice (the dispatcher decodes it next).
  if (
    Predicate.isRecord(json) && typeof json.method === "string" &&
    (typeof json.id === "string" || typeof json.id === "number")
  ) {
    return true
  }
  return Array.isArray(json)
    ? json.some((item) => JsonRpc.decode(item)._tag === "Request")
    : JsonRpc.decode(json)._tag === "Request"
}

const isInitialize = (json: unknown): boolean =>
  Predicate.isRecord(json) && json.method === McpMethod.initialize.name && json.id !== undefined

const requestIdOf = (json: unknown): JsonRpc.RequestId | null =>
  Predicate.isRecord(json) && (typeof json.id === "string" || typeof json.id === "number") ? json.id : null

// ---------------------------------------------------------------------------------------------------------------------
// The answer to one POST: JSON, or SSE once something must go out before the answer
// ---------------------------------------------------------------------------------------------------------------------

/**
 * The answer to one modern POST, written by the POST's own fiber (its request runs inline): JSON, or SSE once
 * something must go out before the answer. Closing the response before the answer interrupts that fiber, which is
 * the request's cancellation.
 */
class ModernPost implements Dispatcher.Sink {
  state: "pending" | "sse" | "ended" = "pending"
  removeStream: (() => void) | undefined = undefined

  constructor(
    readonly res: ServerResponse,
    readonly streams: Streams.Streams,
    fiber: Fiber.RuntimeFiber<unknown, unknown>
  ) {
    res.once("close", () => {
      if (this.state === "ended") return
      this.finish()
      fiber.unsafeInterruptAsFork(FiberId.none)
    })
  }

  finish(): void {
    this.state = "ended"
    this.removeStream?.()
  }

  openSse(): void {
    const res = this.res
    this.state = "sse"
    Sse.open(res)
    const liveness: Sse.Liveness = { pending: -1 }
    this.removeStream = this.streams.unsafeAdd({
      tick: () => Sse.keepAlive(res, liveness),
      // A request's stream ends with its answer; at shutdown the request gets the grace period to give one.
      close: () => {}
    })
  }

  notify(frame: string): Effect.Effect<void> {
    if (this.state === "ended") return Effect.void
    if (this.state === "pending") this.openSse()
    return Sse.write(this.res, Sse.message(frame))
  }

  respond(frame: string, outcome: Dispatcher.Outcome): Effect.Effect<void> {
    if (this.state === "ended") return Effect.void
    if (this.state === "pending") {
      sendJson(this.res, modernStatus(outcome), frame)
      this.finish()
      return Effect.void
    }
    return Effect.map(Sse.write(this.res, Sse.message(frame)), () => {
      this.res.end()
      this.finish()
    })
  }

  /**
   * The request is over: with no answer written, a notification gets 202, a request cut short by shutdown an
   * error (503) rather than nothing, one that ended unanswered (dropped by an interceptor) an empty 202.
   */
  close(interruptedId: JsonRpc.RequestId | null | undefined): void {
    if (this.state === "ended") return
    if (this.state === "sse") {
      this.res.end(
        interruptedId === undefined
          ? undefined
          : Sse.message(errorBody(-32000, "Server shutting down: the request was interrupted", interruptedId))
      )
    } else if (interruptedId !== undefined) {
      sendJson(
        this.res,
        503,
        errorBody(-32000, "Server shutting down: the request was interrupted", interruptedId),
        { "retry-after": "1" }
      )
    } else {
      sendJson(this.res, 202, undefined)
    }
    this.finish()
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// The endpoint
// ---------------------------------------------------------------------------------------------------------------------

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options,
  shared: {
    readonly streams: Streams.Streams
    /** Admission for long-lived streams across the server. */
    readonly streamPermits: Effect.Semaphore
  }
): Effect.Effect<StreamableHttp, never, McpServer | Scope.Scope> =>
  Effect.gen(function*() {
    const registry = yield* Session.makeRegistry<HttpSession>({
      maxSessions: options.maxSessions ?? Settings.maxSessions.default,
      idleTimeoutMillis: Duration.toMillis(
        Duration.decode(options.sessionIdleTimeout ?? Settings.sessionIdleTimeoutMs.default)
      )
    })
    const retryMillis = options.retryMillis ?? 1000
    // The store given in the options, else the one in context (a shared store's layer), else one in memory.
    const store = options.eventStore ??
      Option.getOrElse(yield* Effect.serviceOption(EventStore.EventStore), () => EventStore.makeMemory())
    const env = yield* Dispatcher.environment
    // Modern requests keep no session state: every modern POST's dispatcher shares this one.
    const modernSession = yield* Session.make

    // -- channels and pumps ---------------------------------------------------------------------------------------

    const poke = (channel: Channel) => {
      channel.pump?.poke()
    }

    /**
     * A session's pending notifications, delivered in the broadcaster's own step when its GET stream's pump is
     * parked and caught up: logged (so resumption still has them) and written at once, without waking the pump's
     * fiber. Otherwise (no stream, a stream behind or applying backpressure, an async store, interceptors) the
     * pump is poked and takes them itself.
     */
    const pushTo = (session: HttpSession) => {
      const channel = session.standalone
      const pump = channel.pump
      const append = store.unsafeAppend
      if (
        pump !== undefined && pump.parked && append !== undefined && !pump.res.writableNeedDrain && !pump.res.destroyed
      ) {
        const frames = session.dispatcher.takePushedSync()
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
    const endPump = (channel: Channel) => {
      const pump = channel.pump
      if (pump !== undefined) pump.fiber.unsafeInterruptAsFork(pump.fiber.id())
    }
    const appendTo = (channel: Channel, frame: string, final: boolean): Effect.Effect<string> =>
      Effect.map(store.append(channel.id, frame), (eventId) => {
        if (final) channel.closed = true
        poke(channel)
        return eventId
      })

    /**
     * Feeds `res` with the channel's events after `lastEventId`, until the final event, the client leaves, or
     * shutdown (the standalone stream then ends with its final event). A newer pump on the same channel (a client
     * that reconnected) replaces this one. Runs on the fiber of the HTTP request that carries the stream, as a loop
     * of plain Effects (no generator, no Queue): a parked stream holds this object, its fiber and one pending
     * `Effect.async`, which `poke` resumes.
     */
    class StreamPump implements Pump, Streams.Stream {
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
          return Effect.flatMap(pushed.takePushed, (frames) =>
            Effect.zipRight(
              Effect.forEach(frames, (frame) => store.append(this.channel.id, frame), { discard: true }),
              this.replay()
            ))
        }
        return this.replay()
      }

      replay(): Effect.Effect<void> {
        return Effect.flatMap(store.after(this.last), (replay) => {
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
        shared.streams.unsafeRemove(this)
        if (this.channel.pump === this) this.channel.pump = undefined
        if (!this.res.writableEnded && !this.res.destroyed) this.res.end()
      }
    }

    /** Starts a pump on the current fiber (the HTTP request's): it ends with the fiber. */
    const pump = (
      channel: Channel,
      res: ServerResponse,
      lastEventId: string,
      live: boolean,
      pushed?: Dispatcher.Dispatcher
    ): Effect.Effect<void> =>
      Effect.withFiberRuntime<void>((fiber) => {
        const state = new StreamPump(channel, res, fiber, lastEventId, live, pushed)
        if (live) {
          endPump(channel)
          channel.pump = state
        }
        res.once("close", () => {
          state.gone = true
          state.poke()
        })
        shared.streams.unsafeAdd(state)
        // Cleanup by the fiber's exit observer rather than a finalizer: registering finalizers costs a FiberRefs
        // diff each, which adds up when thousands of streams end at once (shutdown).
        fiber.addObserver(() => state.cleanup())
        return state.loop
      })

    /**
     * One legacy POST's answer. Its request runs inline on the POST's fiber and writes here directly: the answer as
     * JSON if it comes first, else an SSE stream on this response whose events are also logged under the POST's
     * channel, so a client that disconnects resumes them with Last-Event-ID (a GET, whose own pump then takes over).
     * A client gone before the stream started has no event id to resume from: nothing is logged for it.
     */
    class LegacyPost implements Dispatcher.Sink {
      state: "pending" | "json" | "sse" | "gone" = "pending"
      removeStream: (() => void) | undefined = undefined
      /** The POST's logical stream, made when first needed: an answer sent as plain JSON never needs one. */
      private ch: Channel | undefined = undefined

      constructor(
        readonly session: HttpSession,
        readonly res: ServerResponse,
        readonly headers: Record<string, string>,
        readonly version: string | undefined,
        readonly id: JsonRpc.RequestId | null
      ) {
        res.once("close", () => {
          if (this.state === "pending") this.state = "gone"
        })
      }

      get channel(): Channel {
        if (this.ch === undefined) {
          this.ch = { id: `${this.session.id}/${++this.session.nextChannel}`, closed: false, pump: undefined }
        }
        return this.ch
      }

      /** No more events come on this POST's stream. */
      get closed(): boolean {
        return this.ch !== undefined && this.ch.closed
      }

      /** Whether this response still carries the stream: not ended, and not taken over by a resumed GET. */
      get carrying(): boolean {
        return this.state === "sse" && !this.res.writableEnded && !this.res.destroyed && this.channel.pump === undefined
      }

      openSse(): void {
        const res = this.res
        this.state = "sse"
        this.session.addChannel(this.channel)
        Sse.open(res, this.headers)
        if (ProtocolVersion.primesStreams(this.version)) res.write(Sse.priming(`${this.channel.id}#0`, retryMillis))
        const liveness: Sse.Liveness = { pending: -1 }
        this.removeStream = shared.streams.unsafeAdd({
          tick: () => Sse.keepAlive(res, liveness),
          // A request's stream ends with its answer; at shutdown the request gets the grace period to give one.
          close: () => {}
        })
      }

      /** Logs an event on the channel and writes it here while this response carries the stream. */
      log(frame: string, final: boolean): Effect.Effect<void> {
        return Effect.flatMap(store.append(this.channel.id, frame), (eventId) => {
          const channel = this.channel
          if (final) {
            channel.closed = true
            this.session.removeChannel(channel.id)
          }
          poke(channel)
          if (!this.carrying) {
            if (this.state === "sse" && !this.res.writableEnded) this.res.end()
            return Effect.void
          }
          const write = Sse.write(this.res, Sse.message(frame, eventId))
          return final ? Effect.map(write, () => this.res.end()) : write
        })
      }

      notify(frame: string): Effect.Effect<void> {
        if (this.closed || this.state === "gone") return Effect.void
        if (this.state === "pending") this.openSse()
        return this.log(frame, false)
      }

      respond(frame: string, outcome: Dispatcher.Outcome): Effect.Effect<void> {
        if (this.closed || this.state === "gone" || this.state === "json") return Effect.void
        if (this.state === "pending") {
          this.state = "json"
          sendJson(this.res, legacyStatus(outcome), frame, this.headers)
          return Effect.void
        }
        return this.log(frame, true)
      }

      /** SEP-1699: only a 2025-11-25 stream starts with a priming event id the client can resume from. */
      closeStream(): Effect.Effect<void> {
        return Effect.sync(() => {
          if (
            !ProtocolVersion.primesStreams(this.version) || this.closed || this.state === "gone" ||
            this.state === "json"
          ) {
            return
          }
          if (this.state === "pending") this.openSse()
          if (!this.res.writableEnded) this.res.end()
        })
      }

      /** No answer will come: cancelled by the client, or (interrupted) cut short by shutdown or the session's end. */
      end(interrupted: boolean): Effect.Effect<void> {
        if (interrupted && !this.closed && this.state !== "gone") {
          const frame = errorBody(-32000, "Server shutting down: the request was interrupted", this.id)
          if (this.state === "pending") {
            this.state = "json"
            sendJson(this.res, 503, frame, { ...this.headers, "retry-after": "1" })
            return Effect.void
          }
          return this.log(frame, true)
        }
        return Effect.sync(() => {
          if (this.state === "pending") {
            this.state = "json"
            sendJson(this.res, 202, undefined, this.headers)
          } else if (this.state === "sse" && !this.res.writableEnded) {
            this.res.end()
          }
          this.channel.closed = true
          this.session.removeChannel(this.channel.id)
          poke(this.channel)
        })
      }

      /** The POST's fiber is done: whatever was not answered gets an answer, and the keep-alive stops. */
      close(interrupted: boolean): void {
        this.removeStream?.()
        if (this.state === "pending") {
          this.state = "json"
          if (interrupted) {
            sendJson(this.res, 503, errorBody(-32000, "Server shutting down: the request was interrupted", this.id), {
              ...this.headers,
              "retry-after": "1"
            })
          } else {
            sendJson(this.res, 202, undefined, this.headers)
          }
        }
      }
    }

    /**
     * A legacy session: no fiber, no Scope. Idle, it is this object, its dispatcher (an object and its tables), the
     * in-flight Semaphore and the hub's entry; stream admission and the map of POST streams come with first use.
     */
    class LegacySession implements HttpSession {
      readonly standalone: Channel
      readonly dispatcher: Dispatcher.Dispatcher
      readonly inFlight = Effect.unsafeMakeSemaphore(
        options.maxInFlightPerSession ?? Settings.maxInFlightPerSession.default
      )
      posts = 0
      nextChannel = 0
      private channels: Map<string, Channel> | undefined = undefined
      private permits: Effect.Semaphore | undefined = undefined

      constructor(readonly id: string, state: Session.Session, remoteAddress: string | undefined) {
        this.standalone = { id: `${id}/get`, closed: false, pump: undefined }
        this.dispatcher = Dispatcher.unsafeMake(
          env,
          {
            era: "legacy",
            execution: Execution.inline,
            session: state,
            // Messages unrelated to any request go on the standalone stream (this object is that sink; logged even
            // while no GET is open, so a client that opens one with Last-Event-ID gets them). No FiberSet: each
            // request runs inline on the fiber of the POST that carries it.
            send: this,
            // Pending list_changed / resources/updated wait (coalesced) until the standalone stream takes them.
            onPush: () => pushTo(this),
            transport: "http",
            sessionId: id,
            remoteAddress
          }
        )
      }

      get streamPermits(): Effect.Semaphore {
        if (this.permits === undefined) {
          this.permits = Effect.unsafeMakeSemaphore(
            options.maxStreamsPerSession ?? Settings.maxStreamsPerSession.default
          )
        }
        return this.permits
      }

      notify(frame: string): Effect.Effect<void> {
        return Effect.asVoid(appendTo(this.standalone, frame, false))
      }

      respond(frame: string): Effect.Effect<void> {
        return Effect.asVoid(appendTo(this.standalone, frame, false))
      }

      channel(id: string): Channel | undefined {
        return id === this.standalone.id ? this.standalone : this.channels?.get(id)
      }

      addChannel(channel: Channel): void {
        if (this.channels === undefined) this.channels = new Map()
        this.channels.set(channel.id, channel)
      }

      removeChannel(id: string): void {
        this.channels?.delete(id)
      }

      busy(): boolean {
        return this.standalone.pump !== undefined || this.posts > 0
      }

      get close(): Effect.Effect<void> {
        return Effect.suspend(() => {
          endPump(this.standalone)
          if (this.channels !== undefined) { for (const channel of this.channels.values()) endPump(channel) }
          // Every stream the session logged goes with it: its GET stream, and each POST's (ids 1..nextChannel),
          // whose logs outlive the POST so that its client can resume, but not the session.
          const posts = this.nextChannel
          const id = this.id
          return Effect.zipRight(
            this.dispatcher.close,
            Effect.zipRight(
              store.drop(this.standalone.id),
              Effect.forEach(Array.from({ length: posts }, (_, i) => `${id}/${i + 1}`), store.drop, { discard: true })
            )
          )
        })
      }
    }

    const createSession = (remoteAddress: string | undefined) =>
      Effect.map(Session.make, (state) => new LegacySession(randomUUID(), state, remoteAddress))

    // -- POST, legacy ----------------------------------------------------------------------------------------------

    const postToSession = (
      session: HttpSession,
      res: ServerResponse,
      json: unknown,
      headers: Record<string, string>
    ): Effect.Effect<void> => {
      if (!containsRequest(json)) {
        // Notifications and responses only: 202, unless the message itself was refused.
        let refused: { frame: string; outcome: Dispatcher.Outcome } | undefined
        return Effect.map(
          session.dispatcher.handleJson(json, {
            notify: () => Effect.void,
            respond: (frame, outcome) =>
              Effect.sync(() => {
                refused = { frame, outcome }
              })
          }),
          () => {
            if (refused !== undefined) sendJson(res, legacyStatus(refused.outcome), refused.frame, headers)
            else sendJson(res, 202, undefined, headers)
          }
        )
      }
      const version = session.dispatcher.session.negotiated?.protocolVersion
      const admitted = session.inFlight.withPermitsIfAvailable(1)(
        Effect.withFiberRuntime<void>((fiber) => {
          const answer = new LegacyPost(session, res, headers, version, requestIdOf(json))
          session.posts++
          // The request runs inline, on this POST's fiber; the fiber's exit observer answers whatever was left
          // unanswered (no wrapper Effect per POST).
          fiber.addObserver((exit) => {
            session.posts--
            answer.close(Exit.isInterrupted(exit))
          })
          return session.dispatcher.handleJson(json, answer, { control: answer })
        })
      )
      return Effect.map(admitted, (admitted) => {
        if (Option.isNone(admitted)) {
          sendJson(
            res,
            503,
            errorBody(-32000, "Too many requests in flight for this session; retry shortly", requestIdOf(json)),
            { ...headers, "retry-after": "1" }
          )
        }
      })
    }

    const initializeSession = (res: ServerResponse, json: unknown) =>
      Effect.gen(function*() {
        const session = yield* createSession(res.socket?.remoteAddress)
        if (!(yield* registry.add(session.id, session))) {
          yield* session.close
          return sendJson(res, 503, errorBody(-32000, "Too many sessions; retry later", requestIdOf(json)), {
            "retry-after": "5"
          })
        }
        yield* postToSession(session, res, json, { "mcp-session-id": session.id })
        if (session.dispatcher.session.negotiated === undefined) {
          // initialize was refused (e.g. invalid params): no session came into being.
          yield* registry.remove(session.id)
        }
      })

    // -- POST, modern ----------------------------------------------------------------------------------------------

    const headerMismatch = (res: ServerResponse, json: unknown, message: string) =>
      sendJson(res, 400, errorBody(JsonRpc.HEADER_MISMATCH, `Header mismatch: ${message}`, requestIdOf(json)))

    /** Checks the headers against the body, then runs the request inline on this POST's fiber (no generator: hot path). */
    const postModern = (
      req: IncomingMessage,
      res: ServerResponse,
      json: unknown,
      head: RequestContext.Head,
      version: string
    ): Effect.Effect<void> => {
      if (!Predicate.isRecord(json)) return Effect.void
      const versionHeader = header(req, "mcp-protocol-version")
      if (versionHeader === undefined || decodeHeaderValue(versionHeader) !== version) {
        return Effect.sync(() =>
          headerMismatch(res, json, `MCP-Protocol-Version must equal _meta protocolVersion (${version})`)
        )
      }
      // Headers are compared with what the body says only where the body says it with a string: a body whose
      // method or name is not one is refused by the dispatcher (-32600, -32602), and untrusted values are never
      // turned into strings here (an object's toString may be anything).
      const method = json.method
      const methodHeader = header(req, "mcp-method")
      if (typeof method === "string" && (methodHeader === undefined || decodeHeaderValue(methodHeader) !== method)) {
        return Effect.sync(() => headerMismatch(res, json, `Mcp-Method must equal the body's method (${method})`))
      }
      const nameParam = McpMethod.nameParamOf(method)
      const named = nameParam !== undefined && Predicate.isRecord(json.params) ? json.params[nameParam] : undefined
      if (typeof named === "string") {
        const nameHeader = header(req, "mcp-name")
        if (nameHeader === undefined || decodeHeaderValue(nameHeader) !== named) {
          return Effect.sync(() => headerMismatch(res, json, `Mcp-Name must equal the body's ${nameParam}`))
        }
      }
      // The request runs inline on this fiber: no Scope, FiberSet or fiber of its own per POST. Whatever was left
      // unanswered when the fiber ends is answered by the fiber's exit observer (no wrapper Effect per POST).
      return Effect.withFiberRuntime<void>((fiber) => {
        const answer = new ModernPost(res, shared.streams, fiber)
        fiber.addObserver((exit) => answer.close(Exit.isInterrupted(exit) ? requestIdOf(json) : undefined))
        return Dispatcher.unsafeMake(env, {
          era: "modern",
          send: answer,
          execution: Execution.oneShot,
          session: modernSession,
          transport: "http",
          remoteAddress: req.socket.remoteAddress
        }).handleJson(json, answer, { head })
      })
    }

    const post = (req: IncomingMessage, res: ServerResponse, json: unknown): Effect.Effect<void> => {
      // The era decides the route; the dispatcher is handed the `_meta` read here and does not read it again.
      const head = RequestContext.headOf(json)
      const modern = RequestContext.modernVersion(head)
      if (modern !== undefined) return Array.isArray(json) ? Effect.void : postModern(req, res, json, head, modern)
      return postLegacy(req, res, json)
    }

    const postLegacy = (req: IncomingMessage, res: ServerResponse, json: unknown): Effect.Effect<void> => {
      if (Array.isArray(json) && json.some(isInitialize)) {
        return Effect.sync(() =>
          sendJson(
            res,
            400,
            errorBody(JsonRpc.INVALID_REQUEST, "Invalid Request: initialize must not be part of a batch")
          )
        )
      }
      const sessionId = header(req, "mcp-session-id")
      if (sessionId === undefined) {
        if (isInitialize(json)) return initializeSession(res, json)
        return Effect.sync(() =>
          Array.isArray(json)
            ? sendJson(
              res,
              400,
              errorBody(JsonRpc.INVALID_REQUEST, "Invalid Request: JSON-RPC batches need a 2025-03-26 session")
            )
            : sendJson(
              res,
              400,
              errorBody(
                -32000,
                "Bad Request: Mcp-Session-Id header is required (or send modern _meta)",
                requestIdOf(json)
              )
            )
        )
      }
      return Effect.flatMap(registry.touch(sessionId), (session) => {
        if (session === undefined) {
          sendJson(res, 404, errorBody(-32001, "Session not found", requestIdOf(json)))
          return Effect.void
        }
        const versionHeader = header(req, "mcp-protocol-version")
        if (versionHeader !== undefined && !ProtocolVersion.isLegacy(versionHeader)) {
          sendJson(
            res,
            400,
            errorBody(-32000, `Bad Request: Unsupported protocol version: ${versionHeader}`, requestIdOf(json), {
              supported: ProtocolVersion.LEGACY
            })
          )
          return Effect.void
        }
        return postToSession(session, res, json, { "mcp-session-id": session.id })
      })
    }

    // -- GET: the session's stream ----------------------------------------------------------------------------------

    const get = (req: IncomingMessage, res: ServerResponse): Effect.Effect<void> => {
      const sessionId = header(req, "mcp-session-id")
      if (sessionId === undefined) {
        return Effect.sync(() =>
          sendJson(res, 400, errorBody(-32000, "Bad Request: Mcp-Session-Id header is required"))
        )
      }
      return Effect.flatMap(registry.touch(sessionId), (session) => {
        if (session === undefined) {
          sendJson(res, 404, errorBody(-32001, "Session not found"))
          return Effect.void
        }
        const version = session.dispatcher.session.negotiated?.protocolVersion
        const lastEventId = header(req, "last-event-id")
        let channel = session.standalone
        let live = true
        if (lastEventId !== undefined) {
          // Resumption: only this session's streams, and only the stream the id names.
          const streamId = EventStore.streamOf(lastEventId)
          if (streamId === undefined || !streamId.startsWith(`${session.id}/`)) {
            sendJson(res, 400, errorBody(-32000, "Bad Request: Last-Event-ID is not an event of this session"))
            return Effect.void
          }
          const found = session.channel(streamId)
          // A stream whose answer was already logged is replayed and then ends.
          channel = found ?? { id: streamId, closed: true, pump: undefined }
          live = found !== undefined
        }
        let served = false
        const serve = Effect.suspend(() => {
          served = true
          Sse.open(res, { "mcp-session-id": session.id })
          const from = lastEventId ?? `${channel.id}#0`
          if (lastEventId === undefined && ProtocolVersion.primesStreams(version)) {
            res.write(Sse.priming(from, retryMillis))
          }
          // A reconnecting client replaces its old stream (the old pump ends): no 409 loops.
          return pump(channel, res, from, live, channel === session.standalone ? session.dispatcher : undefined)
        })
        // Every stream takes a permit of the server's stream Semaphore. A session's standalone stream is one at
        // most by construction (a new GET replaces it), so only the streams of resumed POST answers take a permit
        // of the session's own Semaphore: a parked standalone stream then holds one admission, not two (each
        // holds its continuation frames for the stream's life, ~2 KiB, and the session's Semaphore ~1 KiB more).
        // A refusal is answered when the fiber ends (its exit observer), so no frame waits for the stream's end.
        return Effect.withFiberRuntime<void>((fiber) => {
          fiber.addObserver(() => {
            if (!served) {
              sendJson(res, 503, errorBody(-32000, "Too many open streams; retry shortly"), { "retry-after": "1" })
            }
          })
          return Effect.asVoid(
            shared.streamPermits.withPermitsIfAvailable(1)(
              channel === session.standalone ? serve : session.streamPermits.withPermitsIfAvailable(1)(serve)
            )
          )
        })
      })
    }

    // -- DELETE ---------------------------------------------------------------------------------------------------

    const del = (req: IncomingMessage, res: ServerResponse): Effect.Effect<void> =>
      Effect.gen(function*() {
        const sessionId = header(req, "mcp-session-id")
        if (sessionId === undefined) {
          return sendJson(res, 400, errorBody(-32000, "Bad Request: Mcp-Session-Id header is required"))
        }
        if (yield* registry.remove(sessionId)) return sendJson(res, 200, undefined)
        sendJson(res, 404, errorBody(-32001, "Session not found"))
      })

    return {
      post,
      get,
      delete: del,
      sessions: registry.size,
      closeSessions: registry.closeAll
    }
  })
