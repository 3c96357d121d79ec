/**
 * Legacy (2024-11-05 to 2025-11-25) Streamable HTTP sessions: `initialize` creates one with a cryptographically
 * secure `Mcp-Session-Id`; POSTs carry its messages (see LegacyPost), `GET` opens its standalone stream for messages
 * unrelated to a request or resumes a POST's stream after `Last-Event-ID`, `DELETE` ends it. A session has no fiber
 * or Scope of its own: its requests run inline on the fibers of the POSTs that carry them, and it ends on DELETE, on
 * idle expiry or at shutdown (interrupting those requests).
 *
 * @since 0.1.0
 */
import { Effect, Predicate } from "effect"
import { randomUUID } from "node:crypto"
import type { IncomingMessage, ServerResponse } from "node:http"
import * as JsonRpc from "../protocol/JsonRpc.js"
import * as McpMethod from "../protocol/McpMethod.js"
import * as ProtocolVersion from "../protocol/ProtocolVersion.js"
import * as Dispatcher from "../server/Dispatcher.js"
import * as Execution from "../server/Execution.js"
import * as Peer from "../server/Peer.js"
import * as Session from "../server/Session.js"
import * as EventStore from "./EventStore.js"
import * as LegacyPost from "./LegacyPost.js"
import { errorBody, header, requestIdOf, sendJson } from "./Response.js"
import * as ResumableStream from "./ResumableStream.js"
import * as Sse from "./Sse.js"

/**
 * What the legacy sessions read of the endpoint.
 *
 * @since 0.1.0
 * @category models
 */
export interface Context extends LegacyPost.Context {
  /** What every engine of the server shares (the server, interceptors, handler table). */
  readonly env: Dispatcher.Environment
  readonly registry: Session.Registry<LegacySession>
  /** Admission for long-lived streams across the server. */
  readonly streamPermits: Effect.Semaphore
  readonly maxInFlightPerSession: number
  readonly maxStreamsPerSession: number
}

/**
 * A legacy session: no fiber, no Scope. Idle, it is this object, its dispatcher (an object and its tables), the
 * in-flight Semaphore and the hub's entry; stream admission and the map of POST streams come with first use.
 *
 * @since 0.1.0
 * @category models
 */
export class LegacySession implements LegacyPost.HttpSession, Session.Managed, Dispatcher.Sink {
  readonly standalone: ResumableStream.Channel
  readonly dispatcher: Dispatcher.Dispatcher
  readonly inFlight: Effect.Semaphore
  posts = 0
  nextChannel = 0
  deleted = false
  private channels: Map<string, ResumableStream.Channel> | undefined = undefined
  private permits: Effect.Semaphore | undefined = undefined

  constructor(
    readonly context: Context,
    readonly id: string,
    state: Session.Session,
    remoteAddress: string | undefined,
    /** The principal that created the session: the only one it answers (anonymous stays anonymous). */
    readonly principal: Peer.Principal | undefined
  ) {
    this.inFlight = Effect.unsafeMakeSemaphore(context.maxInFlightPerSession)
    this.standalone = { id: `${id}/get`, closed: false, pump: undefined }
    this.dispatcher = Dispatcher.unsafeMake(
      context.env,
      {
        era: "legacy",
        execution: Execution.inline,
        session: state,
        // Messages unrelated to any request go on the standalone stream (this object is that sink; logged even
        // while no GET is open, so a client that opens one with Last-Event-ID gets them). No FiberSet: each
        // request runs inline on the fiber of the POST that carries it.
        send: this,
        // Pending list_changed / resources/updated wait (coalesced) until the standalone stream takes them.
        onPush: () => ResumableStream.pushTo(context.store, this.standalone, this.dispatcher),
        transport: "http",
        sessionId: id,
        remoteAddress,
        principal
      }
    )
  }

  /** Admission of this session's resumed POST streams (created with the first GET that needs it). */
  get streamPermits(): Effect.Semaphore {
    if (this.permits === undefined) this.permits = Effect.unsafeMakeSemaphore(this.context.maxStreamsPerSession)
    return this.permits
  }

  notify(frame: string): Effect.Effect<void> {
    return Effect.asVoid(ResumableStream.appendTo(this.context.store, this.standalone, frame, false))
  }

  respond(frame: string): Effect.Effect<void> {
    return Effect.asVoid(ResumableStream.appendTo(this.context.store, this.standalone, frame, false))
  }

  /** A live channel by id: the standalone GET stream, or a POST's stream whose answer is not logged yet. */
  channel(id: string): ResumableStream.Channel | undefined {
    return id === this.standalone.id ? this.standalone : this.channels?.get(id)
  }

  addChannel(channel: ResumableStream.Channel): void {
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
      ResumableStream.endPump(this.standalone)
      if (this.channels !== undefined) {
        for (const channel of this.channels.values()) ResumableStream.endPump(channel)
      }
      // Every stream the session logged goes with it: its GET stream, and each POST's (ids 1..nextChannel),
      // whose logs outlive the POST so that its client can resume, but not the session.
      const posts = this.nextChannel
      const id = this.id
      const store = this.context.store
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

/**
 * The session `sessionId` names, if the principal is the one that created it: another principal (another subject
 * or issuer; an anonymous request for an authenticated session, or the reverse) finds nothing, as if the session did
 * not exist (the registry's lookup still counts as activity: the session's idle clock restarts).
 */
const sessionOf = (
  context: Context,
  sessionId: string,
  principal: Peer.Principal | undefined
): Effect.Effect<LegacySession | undefined> =>
  Effect.map(
    context.registry.touch(sessionId),
    (session) => session === undefined || Peer.samePrincipal(session.principal, principal) ? session : undefined
  )

const isInitialize = (json: unknown): boolean =>
  Predicate.isRecord(json) && json.method === McpMethod.initialize.name && json.id !== undefined

const initialize = (
  context: Context,
  res: ServerResponse,
  json: unknown,
  principal: Peer.Principal | undefined
) =>
  Effect.gen(function*() {
    const state = yield* Session.make
    const session = new LegacySession(context, randomUUID(), state, res.socket?.remoteAddress, principal)
    if (!(yield* context.registry.add(session.id, session))) {
      yield* session.close
      return sendJson(res, 503, errorBody(-32000, "Too many sessions; retry later", requestIdOf(json)), {
        "retry-after": "5"
      })
    }
    yield* LegacyPost.postToSession(session, res, json, { "mcp-session-id": session.id })
    if (session.dispatcher.session.negotiated === undefined) {
      // initialize was refused (e.g. invalid params): no session came into being.
      yield* context.registry.remove(session.id)
    }
  })

/**
 * A legacy POST: `initialize` without a session id creates a session; anything else goes to the session its
 * `Mcp-Session-Id` names (404 when unknown).
 *
 * @since 0.1.0
 * @category handlers
 */
export const post = (
  context: Context,
  req: IncomingMessage,
  res: ServerResponse,
  json: unknown,
  principal?: Peer.Principal | undefined
): Effect.Effect<void> => {
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
    if (isInitialize(json)) return initialize(context, res, json, principal)
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
          errorBody(-32000, "Bad Request: Mcp-Session-Id header is required (or send modern _meta)", requestIdOf(json))
        )
    )
  }
  return Effect.flatMap(sessionOf(context, sessionId, principal), (session) => {
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
    return LegacyPost.postToSession(session, res, json, { "mcp-session-id": session.id })
  })
}

/**
 * GET: the session's standalone stream (a new GET replaces the old one), or, with `Last-Event-ID`, the rest of
 * the stream that event belongs to (replayed from the log, then followed while its answer is still to come).
 *
 * @since 0.1.0
 * @category handlers
 */
export const get = (
  context: Context,
  req: IncomingMessage,
  res: ServerResponse,
  principal?: Peer.Principal | undefined
): Effect.Effect<void> => {
  const sessionId = header(req, "mcp-session-id")
  if (sessionId === undefined) {
    return Effect.sync(() => sendJson(res, 400, errorBody(-32000, "Bad Request: Mcp-Session-Id header is required")))
  }
  return Effect.flatMap(sessionOf(context, sessionId, principal), (session) => {
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
        res.write(Sse.priming(from, context.retryMillis))
      }
      // A reconnecting client replaces its old stream (the old pump ends): no 409 loops.
      return ResumableStream.pump(
        context,
        channel,
        res,
        from,
        live,
        channel === session.standalone ? session.dispatcher : undefined
      )
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
        context.streamPermits.withPermitsIfAvailable(1)(
          channel === session.standalone ? serve : session.streamPermits.withPermitsIfAvailable(1)(serve)
        )
      )
    })
  })
}

/**
 * DELETE: ends the session its `Mcp-Session-Id` names.
 *
 * @since 0.1.0
 * @category handlers
 */
export const del = (
  context: Context,
  req: IncomingMessage,
  res: ServerResponse,
  principal?: Peer.Principal | undefined
): Effect.Effect<void> =>
  Effect.gen(function*() {
    const sessionId = header(req, "mcp-session-id")
    if (sessionId === undefined) {
      return sendJson(res, 400, errorBody(-32000, "Bad Request: Mcp-Session-Id header is required"))
    }
    const session = yield* sessionOf(context, sessionId, principal)
    if (session !== undefined) session.deleted = true
    if (session !== undefined && (yield* context.registry.remove(sessionId))) return sendJson(res, 200, undefined)
    sendJson(res, 404, errorBody(-32001, "Session not found"))
  })
