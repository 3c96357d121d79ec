/**
 * A legacy (2024-11-05 to 2025-11-25) POST into a Streamable HTTP session. Its request runs inline on the POST's
 * fiber but sits in the session's in-flight table (so `notifications/cancelled` on another POST interrupts it); a
 * client disconnect is not a cancellation (the spec says so). The answer is JSON, or SSE on this response whose
 * events are logged under the POST's channel, so a client that disconnects resumes them with `Last-Event-ID`.
 *
 * @since 0.1.0
 */
import { Effect, Exit, Option, Predicate } from "effect"
import type { ServerResponse } from "node:http"
import * as JsonRpc from "../protocol/JsonRpc.js"
import * as ProtocolVersion from "../protocol/ProtocolVersion.js"
import type * as Dispatcher from "../server/Dispatcher.js"
import * as Auth from "./Auth.js"
import { errorBody, requestIdOf, sendJson } from "./Response.js"
import * as ResumableStream from "./ResumableStream.js"
import * as Sse from "./Sse.js"

/**
 * What a legacy POST reads of the endpoint.
 *
 * @since 0.1.0
 * @category models
 */
export interface Context extends ResumableStream.Context {
  /** The SSE `retry` hint sent to 2025-11-25 clients. */
  readonly retryMillis: number
  /** The OAuth resource server, when authorization is on (the challenge of a 403 names its metadata). */
  readonly auth?: Auth.Authorizer | undefined
}

/**
 * A legacy session as its POSTs see it.
 *
 * @since 0.1.0
 * @category models
 */
export interface HttpSession {
  readonly id: string
  readonly context: Context
  readonly dispatcher: Dispatcher.Dispatcher
  readonly inFlight: Effect.Semaphore
  readonly addChannel: (channel: ResumableStream.Channel) => void
  readonly removeChannel: (id: string) => void
  /** POSTs whose request is still running (a busy session does not expire). */
  posts: number
  /** The number of the last POST channel made (`<session>/<n>`). */
  nextChannel: number
  /** Deleted by its client (`DELETE`): requests it cuts short say so, rather than that the server is going away. */
  deleted: boolean
}

/** The error of a request cut short by its session's end: the client's DELETE, or the server's shutdown. */
const interruptedBody = (session: HttpSession, id: JsonRpc.RequestId | null): string =>
  session.deleted
    ? errorBody(-32000, "Session deleted: the request was interrupted", id)
    : errorBody(-32000, "Server shutting down: the request was interrupted", id)

/**
 * The status of a legacy answer sent as JSON: 429 for a call over a rate limit, 403 for a call lacking the scopes of
 * its tool, prompt or resource, 400 for a message refused as
 * unparseable or invalid, else 200.
 *
 * @since 0.1.0
 * @category status
 */
export const legacyStatus = (outcome: Dispatcher.Outcome): number =>
  outcome.retryAfterMs !== undefined
    ? 429
    : outcome.insufficientScope !== undefined
    ? 403
    : outcome.rejected && (outcome.code === JsonRpc.PARSE_ERROR || outcome.code === JsonRpc.INVALID_REQUEST)
    ? 400
    : 200

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

/**
 * One legacy POST's answer. Its request runs inline on the POST's fiber and writes here directly: the answer as
 * JSON if it comes first, else an SSE stream on this response whose events are also logged under the POST's
 * channel, so a client that disconnects resumes them with Last-Event-ID (a GET, whose own pump then takes over).
 * A client gone before the stream started has no event id to resume from: nothing is logged for it.
 *
 * @since 0.1.0
 * @category sinks
 */
export class LegacyPost implements Dispatcher.Sink {
  state: "pending" | "json" | "sse" | "gone" = "pending"
  removeStream: (() => void) | undefined = undefined
  /** The POST's logical stream, made when first needed: an answer sent as plain JSON never needs one. */
  private ch: ResumableStream.Channel | undefined = undefined

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

  /** The headers of an answer cut short: "retry later" when the server is going away, not for a deleted session. */
  private get retryHeaders(): Record<string, string> {
    return this.session.deleted ? this.headers : { ...this.headers, "retry-after": "1" }
  }

  get channel(): ResumableStream.Channel {
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
    const context = this.session.context
    this.state = "sse"
    this.session.addChannel(this.channel)
    Sse.open(res, this.headers)
    if (ProtocolVersion.primesStreams(this.version)) {
      res.write(Sse.priming(`${this.channel.id}#0`, context.retryMillis))
    }
    const liveness: Sse.Liveness = { pending: -1 }
    this.removeStream = context.streams.unsafeAdd({
      tick: () => Sse.keepAlive(res, liveness),
      // A request's stream ends with its answer; at shutdown the request gets the grace period to give one.
      close: () => {}
    })
  }

  /** Logs an event on the channel and writes it here while this response carries the stream. */
  log(frame: string, final: boolean): Effect.Effect<void> {
    return Effect.flatMap(this.session.context.store.append(this.channel.id, frame), (eventId) => {
      const channel = this.channel
      if (final) {
        channel.closed = true
        this.session.removeChannel(channel.id)
      }
      ResumableStream.poke(channel)
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
      sendJson(
        this.res,
        legacyStatus(outcome),
        frame,
        Auth.outcomeHeaders(this.session.context.auth, outcome, this.headers)
      )
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
      const frame = interruptedBody(this.session, this.id)
      if (this.state === "pending") {
        this.state = "json"
        sendJson(this.res, this.session.deleted ? 404 : 503, frame, this.retryHeaders)
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
      ResumableStream.poke(this.channel)
    })
  }

  /** The POST's fiber is done: whatever was not answered gets an answer, and the keep-alive stops. */
  close(interrupted: boolean): void {
    this.removeStream?.()
    if (this.state === "pending") {
      this.state = "json"
      if (interrupted) {
        sendJson(this.res, this.session.deleted ? 404 : 503, interruptedBody(this.session, this.id), this.retryHeaders)
      } else {
        sendJson(this.res, 202, undefined, this.headers)
      }
    }
  }
}

/**
 * Hands a POST's body to its session's dispatcher. A body with no request (notifications, answers to our
 * questions) is answered 202, or with the refusal's status; a body with a request takes a permit of the session's
 * in-flight Semaphore (503 when full) and runs inline on this fiber, answered through a `LegacyPost`.
 *
 * @since 0.1.0
 * @category handlers
 */
export const postToSession = (
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
      // The POST grants its request SEP-1699 polling: `closeStream` ends this response, the request goes on.
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
