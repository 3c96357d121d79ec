/**
 * Where the request engine's outbound frames go (`Sink`: a connection's bounded outbound queue, or one HTTP
 * request's response), how a message was answered (`Outcome`, which HTTP maps to a status), and what a transport
 * may grant a single request (`StreamControl`).
 *
 * @since 0.1.0
 */
import type { Effect } from "effect"
import type * as JsonRpc from "../protocol/JsonRpc.js"

/**
 * How a message was answered, for transports that map answers onto a status (HTTP): `rejected` means it was
 * refused before any handler ran (invalid message, unknown method, bad `_meta`, unsupported version, an id in
 * flight); `code` is the JSON-RPC error code, if the answer is an error.
 *
 * @since 0.1.0
 * @category models
 */
export interface Outcome {
  readonly code: number | undefined
  readonly rejected: boolean
  /** With no answer: the request was interrupted by something other than the client's cancellation. */
  readonly interrupted?: boolean
  /** Refused by a rate limit: when to try again (HTTP: 429 with `Retry-After`). */
  readonly retryAfterMs?: number
  /** Refused for want of OAuth scopes a tool, prompt or resource declares (HTTP: 403 `insufficient_scope`). */
  readonly insufficientScope?: InsufficientScope
}

/**
 * The scopes a call needed and those its token lacked: the `data` of its -32000 error, `error: "insufficient_scope"`.
 *
 * @since 0.1.0
 * @category models
 */
export interface InsufficientScope {
  readonly error: "insufficient_scope"
  readonly requiredScopes: ReadonlyArray<string>
  readonly missingScopes: ReadonlyArray<string>
}

const insufficientScopeOf = (data: unknown): InsufficientScope | undefined =>
  typeof data === "object" && data !== null && (data as { error?: unknown }).error === "insufficient_scope" &&
    Array.isArray((data as InsufficientScope).requiredScopes)
    ? data as InsufficientScope
    : undefined

/**
 * Where outbound frames go.
 *
 * @since 0.1.0
 * @category models
 */
export interface Sink {
  /** A notification related to a request in flight (progress, log messages). */
  readonly notify: (frame: string) => Effect.Effect<void>
  /** The final answer to a message: a response, a batch's array, or the error for a message that was refused. */
  readonly respond: (frame: string, outcome: Outcome) => Effect.Effect<void>
  /**
   * The request settled without an answer: cancelled by the client, or (`interrupted`) cut short by its session
   * ending or the server shutting down. A stream of its own can end now.
   */
  readonly end?: ((interrupted: boolean) => Effect.Effect<void>) | undefined
}

/**
 * A capability a transport grants the request it carries, beside its sink: SEP-1699 polling closes the HTTP
 * response carrying the request's stream while the request goes on (the client resumes with `Last-Event-ID`).
 * Handlers reach it as `McpContext.closeStream`; where nothing grants it, that is a no-op.
 *
 * @since 0.1.0
 * @category models
 */
export interface StreamControl {
  readonly closeStream: () => Effect.Effect<void>
}

/**
 * @since 0.1.0
 * @category outcomes
 */
export const answered: Outcome = { code: undefined, rejected: false }

/**
 * @since 0.1.0
 * @category outcomes
 */
export const interrupted: Outcome = { code: undefined, rejected: false, interrupted: true }

/**
 * @since 0.1.0
 * @category outcomes
 */
export const rejectedWith = (error: JsonRpc.JsonRpcError): Outcome => ({ code: error.code, rejected: true })

/**
 * @since 0.1.0
 * @category outcomes
 */
export const failedWith = (error: JsonRpc.JsonRpcError): Outcome => {
  const insufficientScope = error.data === undefined ? undefined : insufficientScopeOf(error.data)
  return insufficientScope === undefined
    ? { code: error.code, rejected: false }
    : { code: error.code, rejected: false, insufficientScope }
}
