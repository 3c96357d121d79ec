/**
 * Legacy (handshake-era) session state: what `initialize` negotiated and the client's log level. On stdio and
 * WebSocket a session is the connection; on HTTP it is keyed by `Mcp-Session-Id`.
 *
 * @since 0.1.0
 */
import { Effect, Option, Ref } from "effect"
import type { ClientCapabilities, Implementation, LoggingLevel } from "../protocol/McpSchema.js"
import { LATEST_LEGACY } from "../protocol/ProtocolVersion.js"

/** What `initialize` fixed for the session's lifetime. @since 0.1.0 @category models */
export interface Negotiated {
  readonly protocolVersion: string
  readonly clientInfo: Implementation
  readonly clientCapabilities: ClientCapabilities
}

/** @since 0.1.0 @category models */
export interface Session {
  readonly negotiated: Ref.Ref<Option.Option<Negotiated>>
  readonly initialized: Ref.Ref<boolean>
  /** The minimum level set by `logging/setLevel`; none means every level is sent (as the official SDK does). */
  readonly logLevel: Ref.Ref<Option.Option<LoggingLevel>>
}

/** @since 0.1.0 @category constructors */
export const make: Effect.Effect<Session> = Effect.gen(function*() {
  return {
    negotiated: yield* Ref.make(Option.none<Negotiated>()),
    initialized: yield* Ref.make(false),
    logLevel: yield* Ref.make(Option.none<LoggingLevel>())
  }
})

/** The version a request on this session speaks: the negotiated one, or the latest legacy before `initialize`. */
export const protocolVersion = (negotiated: Option.Option<Negotiated>): string =>
  Option.match(negotiated, { onNone: () => LATEST_LEGACY, onSome: (n) => n.protocolVersion })
