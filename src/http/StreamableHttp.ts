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
 * This module wires the parts and routes each request by era: ModernPost (a modern POST), LegacySession and
 * LegacyPost (sessions and the POSTs into them), ResumableStream (the EventStore-backed streams of sessions). What
 * they share is one context object, built here once.
 *
 * @since 0.1.0
 */
import { Duration, Effect, Option, Scope } from "effect"
import type { IncomingMessage, ServerResponse } from "node:http"
import * as Dispatcher from "../server/Dispatcher.js"
import type { McpServer } from "../server/McpServer.js"
import type * as Peer from "../server/Peer.js"
import * as RequestContext from "../server/RequestContext.js"
import * as Session from "../server/Session.js"
import * as Settings from "../Settings.js"
import type * as Auth from "./Auth.js"
import * as EventStore from "./EventStore.js"
import * as LegacySession from "./LegacySession.js"
import * as ModernPost from "./ModernPost.js"
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
  /** `principal`: who the request authenticated as (authorization on), bound to the session it creates or uses. */
  readonly post: (
    req: IncomingMessage,
    res: ServerResponse,
    body: unknown,
    principal?: Peer.Principal | undefined
  ) => Effect.Effect<void>
  readonly get: (
    req: IncomingMessage,
    res: ServerResponse,
    principal?: Peer.Principal | undefined
  ) => Effect.Effect<void>
  readonly delete: (
    req: IncomingMessage,
    res: ServerResponse,
    principal?: Peer.Principal | undefined
  ) => Effect.Effect<void>
  readonly sessions: () => number
  /** Ends every session (shutdown): their in-flight requests are interrupted. */
  readonly closeSessions: Effect.Effect<void>
}

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
    /** The OAuth resource server, when authorization is on. */
    readonly auth?: Auth.Authorizer | undefined
  }
): Effect.Effect<StreamableHttp, never, McpServer | Scope.Scope> =>
  Effect.gen(function*() {
    // The session store in context (in memory unless a layer provides another) makes the registry.
    const sessionStore = yield* Session.SessionStore
    const registry = yield* sessionStore.make<LegacySession.LegacySession>({
      maxSessions: options.maxSessions ?? Settings.maxSessions.default,
      idleTimeoutMillis: Duration.toMillis(
        Duration.decode(options.sessionIdleTimeout ?? Settings.sessionIdleTimeoutMs.default)
      )
    })
    const context: ModernPost.Context & LegacySession.Context = {
      env: yield* Dispatcher.environment,
      // Modern requests keep no session state: every modern POST's dispatcher shares this one.
      modernSession: yield* Session.make,
      registry,
      // The store given in the options, else the one in context (a shared store's layer), else one in memory.
      store: options.eventStore ??
        Option.getOrElse(yield* Effect.serviceOption(EventStore.EventStore), () => EventStore.makeMemory()),
      streams: shared.streams,
      streamPermits: shared.streamPermits,
      retryMillis: options.retryMillis ?? 1000,
      maxInFlightPerSession: options.maxInFlightPerSession ?? Settings.maxInFlightPerSession.default,
      maxStreamsPerSession: options.maxStreamsPerSession ?? Settings.maxStreamsPerSession.default,
      auth: shared.auth
    }
    return {
      // A body with modern `_meta` is a modern request (a batch is not: the era has none); anything else is legacy.
      post: (req, res, json, principal) => {
        // The `_meta` is read once, here: the era routes the request, and the engine is handed what was read.
        const head = RequestContext.headOf(json)
        const modern = RequestContext.modernVersion(head)
        if (modern !== undefined) {
          return Array.isArray(json)
            ? Effect.void
            : ModernPost.post(context, req, res, json, head, modern, principal)
        }
        return LegacySession.post(context, req, res, json, principal)
      },
      get: (req, res, principal) => LegacySession.get(context, req, res, principal),
      delete: (req, res, principal) => LegacySession.del(context, req, res, principal),
      sessions: registry.size,
      closeSessions: registry.closeAll
    }
  })
