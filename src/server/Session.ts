/**
 * Legacy (handshake-era) session state: what `initialize` negotiated and the client's log level. On stdio and
 * WebSocket a session is the connection; on HTTP it is keyed by `Mcp-Session-Id`.
 *
 * @since 0.1.0
 */
import type { Scope } from "effect"
import { Clock, Context, Effect, Either, Layer, Queue, Schema } from "effect"
import * as JsonRpc from "../protocol/JsonRpc.js"
import type { ClientCapabilities, Implementation, LoggingLevel, ServerCapabilities } from "../protocol/McpSchema.js"
import { InitializeParams } from "../protocol/McpSchema.js"
import { LATEST_LEGACY, LATEST_MODERN, MODERN, negotiateLegacy } from "../protocol/ProtocolVersion.js"
import type { ListRootsResult } from "./McpContext.js"
import type { Subscriber } from "./Notifications.js"

/**
 * What `initialize` fixed for the session's lifetime.
 *
 * @since 0.1.0
 * @category models
 */
export interface Negotiated {
  readonly protocolVersion: string
  readonly clientInfo: Implementation
  readonly clientCapabilities: ClientCapabilities
}

/**
 * The state of one session. It belongs to the session's dispatcher, which reads and writes it only within
 * synchronous steps (like its in-flight table), so it is plain fields rather than Refs: an idle session on a
 * server with ten thousand of them should cost as little as possible.
 *
 * @since 0.1.0
 * @category models
 */
export interface Session {
  /** What `initialize` fixed; undefined before. */
  negotiated: Negotiated | undefined
  initialized: boolean
  /** The minimum level set by `logging/setLevel`; undefined means every level is sent (as the official SDK does). */
  logLevel: LoggingLevel | undefined
  /** Its entry in the notification hub (list_changed, subscribed URIs), once initialized. */
  subscriber: Subscriber | undefined
  /** The client's roots, cached until it sends `notifications/roots/list_changed`. */
  roots: ListRootsResult | undefined
  /** Called once when the session ends (see `onEnd`); undefined until something asks. */
  endHooks?: Array<() => void> | undefined
  /** Set when the session has ended (its end hooks ran): a hook registered later runs at once. */
  ended?: true | undefined
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const unsafeMake = (): Session => ({
  negotiated: undefined,
  initialized: false,
  logLevel: undefined,
  subscriber: undefined,
  roots: undefined
})

/**
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<Session> = Effect.sync(unsafeMake)

const runHook = (hook: () => void): void => {
  try {
    hook()
  } catch {
    // A hook's own failure must not keep the others from running, nor the engine from closing.
  }
}

/**
 * Runs `hook` (synchronously; it must not block) when the session ends: its engine's owner closes it (a
 * connection's end, a legacy HTTP session deleted, expired or shut down). On a session that has already ended (a
 * request that was still running when its session ended) the hook runs at once, so whatever it releases is never
 * kept for a session that is gone. A gateway reaps what it made for the session here. A modern POST's shared
 * session never ends: nothing is registered on it.
 *
 * @since 0.2.0
 * @category lifecycle
 */
export const onEnd = (session: Session, hook: () => void): void => {
  if (session.ended === true) return runHook(hook)
  if (session.endHooks === undefined) session.endHooks = []
  session.endHooks.push(hook)
}

/**
 * Ends the session: runs and forgets its end hooks (the engine's `close`); a hook that throws is skipped. A hook
 * registered afterwards runs at once.
 *
 * @since 0.2.0
 * @category lifecycle
 */
export const runEndHooks = (session: Session): void => {
  session.ended = true
  const hooks = session.endHooks
  if (hooks === undefined) return
  session.endHooks = undefined
  for (const hook of hooks) runHook(hook)
}

const initializeParams = Schema.decodeUnknownEither(InitializeParams)

/**
 * Answers `initialize`: negotiates the version and fixes what the client declared, or refuses (a connection pinned
 * to the modern era, a session already initialized, invalid params). Returns the result to send.
 *
 * @since 0.1.0
 * @category lifecycle
 */
export const initialize = (
  session: Session,
  params: unknown,
  modern: boolean,
  server: {
    readonly capabilities: ServerCapabilities
    readonly info: Implementation
    readonly instructions: string | undefined
  }
): Either.Either<Record<string, unknown>, JsonRpc.JsonRpcError> => {
  if (modern) {
    return Either.left(
      new JsonRpc.InvalidRequest({
        message: `Invalid Request: this connection speaks ${LATEST_MODERN}, which has no initialize`,
        data: { supported: MODERN }
      })
    )
  }
  if (session.negotiated !== undefined) {
    return Either.left(new JsonRpc.InvalidRequest({ message: "Invalid Request: the session is already initialized" }))
  }
  const decoded = initializeParams(params ?? {}, { errors: "all" })
  if (Either.isLeft(decoded)) return Either.left(JsonRpc.invalidParams(decoded.left))
  const protocolVersion = negotiateLegacy(decoded.right.protocolVersion)
  session.negotiated = {
    protocolVersion,
    clientInfo: decoded.right.clientInfo,
    clientCapabilities: decoded.right.capabilities
  }
  return Either.right({
    protocolVersion,
    capabilities: server.capabilities,
    serverInfo: server.info,
    ...(server.instructions !== undefined ? { instructions: server.instructions } : {})
  })
}

/** The version a request on this session speaks: the negotiated one, or the latest legacy before `initialize`. */
export const protocolVersion = (negotiated: Negotiated | undefined): string =>
  negotiated?.protocolVersion ?? LATEST_LEGACY

/**
 * What the registry needs of a session: how to end it, and whether it is busy (an open stream or a request in
 * flight keeps a session alive however long it has been since its last POST).
 *
 * @since 0.1.0
 * @category models
 */
export interface Managed {
  readonly close: Effect.Effect<void>
  readonly busy: () => boolean
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Registry<S extends Managed> {
  /** The session, marking it active now; undefined when unknown or ended. */
  readonly touch: (id: string) => Effect.Effect<S | undefined>
  /** Adds a session; false when the registry is full or the id is taken (the caller refuses the client). */
  readonly add: (id: string, session: S) => Effect.Effect<boolean>
  /** Ends and forgets a session. */
  readonly remove: (id: string) => Effect.Effect<boolean>
  readonly size: () => number
  /** Ends every session (shutdown). */
  readonly closeAll: Effect.Effect<void>
}

interface Slot<S> {
  readonly session: S
  lastActive: number
}

/**
 * A bounded registry with idle expiry. The Map is kept in activity order (a touched session moves to the end), so
 * the next session to expire is always the first one. One fiber sleeps until that session's expiry and ends it
 * unless it was touched or is busy meanwhile; with no sessions, it waits for the next one to be added. No polling:
 * every wake-up is a real deadline.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeRegistry = <S extends Managed>(options: {
  readonly maxSessions: number
  readonly idleTimeoutMillis: number
}): Effect.Effect<Registry<S>, never, Scope.Scope> =>
  Effect.gen(function*() {
    const slots = new Map<string, Slot<S>>()
    /** The id of the session last moved to the end of `slots`, while it is still there. */
    let lastTouched: string | undefined = undefined
    const wake = yield* Queue.dropping<void>(1)

    /** Marks a session the most recently active: the end of `slots`, where it may already be. */
    const moveToEnd = (id: string, slot: Slot<S>) => {
      // Re-inserting the session that is already last on every request would only churn the Map's table.
      if (lastTouched === id) return
      slots.delete(id)
      slots.set(id, slot)
      lastTouched = id
    }

    const end = (id: string, slot: Slot<S>) =>
      Effect.suspend(() => {
        if (slots.get(id) !== slot) return Effect.succeed(false)
        slots.delete(id)
        if (lastTouched === id) lastTouched = undefined
        return Effect.as(slot.session.close, true)
      })

    const expire: Effect.Effect<never> = Effect.gen(function*() {
      while (true) {
        const first = slots.entries().next()
        if (first.done === true) {
          yield* Queue.take(wake)
          continue
        }
        const [id, slot] = first.value
        const now = yield* Clock.currentTimeMillis
        const due = slot.lastActive + options.idleTimeoutMillis
        if (due > now) {
          yield* Effect.sleep(due - now)
          continue
        }
        if (slot.session.busy()) {
          // Busy sessions are not idle: count now as activity and look at the next one.
          slot.lastActive = now
          moveToEnd(id, slot)
          continue
        }
        yield* Effect.logDebug("Session expired").pipe(Effect.annotateLogs({ sessionId: id }))
        yield* end(id, slot)
      }
    })
    if (options.idleTimeoutMillis > 0) yield* Effect.forkScoped(expire)

    return {
      touch: (id) =>
        Effect.map(Clock.currentTimeMillis, (now) => {
          const slot = slots.get(id)
          if (slot === undefined) return undefined
          slot.lastActive = now
          moveToEnd(id, slot)
          return slot.session
        }),
      add: (id, session) =>
        Effect.map(Clock.currentTimeMillis, (now) => {
          // A taken id is refused, never replaced: nothing may take over a live session.
          if (slots.size >= options.maxSessions || slots.has(id)) return false
          slots.set(id, { session, lastActive: now })
          lastTouched = id
          if (slots.size === 1) Queue.unsafeOffer(wake, undefined)
          return true
        }),
      remove: (id) =>
        Effect.suspend(() => {
          const slot = slots.get(id)
          return slot === undefined ? Effect.succeed(false) : end(id, slot)
        }),
      size: () => slots.size,
      // One after another on this fiber: closing a session is quick and local, and a fiber per session (with its
      // context joined back) would cost more than the closing itself.
      closeAll: Effect.suspend(() => {
        const all = [...slots.entries()]
        return Effect.forEach(all, ([id, slot]) => end(id, slot), { discard: true })
      })
    }
  })

/**
 * Where Streamable HTTP keeps its legacy sessions: a factory of registries. In memory (`makeRegistry`) by default; a
 * store shared by several nodes (e.g. one that records which node owns a session id) is provided as a layer.
 *
 * @since 0.1.0
 * @category models
 */
export interface Store {
  readonly make: <S extends Managed>(options: {
    readonly maxSessions: number
    readonly idleTimeoutMillis: number
  }) => Effect.Effect<Registry<S>, never, Scope.Scope>
}

/**
 * The session store in context: in memory unless a layer provides another.
 *
 * @since 0.1.0
 * @category tags
 */
export class SessionStore extends Context.Reference<SessionStore>()("effect-mcp-server/SessionStore", {
  defaultValue: (): Store => ({ make: makeRegistry })
}) {}

/**
 * Provides a session store.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerStore = (store: Store): Layer.Layer<SessionStore> => Layer.succeed(SessionStore, store)
