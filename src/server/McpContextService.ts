/**
 * The `McpContext` service: what a handler may know and do about the request it serves (see McpContext for the
 * accessors handlers use).
 *
 * @since 0.1.0
 */
import { Context, Effect } from "effect"
import type { RequestId } from "../protocol/JsonRpc.js"
import { MissingRequiredClientCapability } from "../protocol/JsonRpc.js"
import type { ClientCapabilities, Implementation, LoggingLevel } from "../protocol/McpSchema.js"
import type { Era } from "../protocol/ProtocolVersion.js"
import type { ClientError } from "./ClientRequests.js"
import type { Peer } from "./Peer.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface ProgressOptions {
  readonly total?: number
  readonly message?: string
}

/**
 * `sampling/createMessage` params (`tools`/`toolChoice` need the client's `sampling.tools`).
 *
 * @since 0.1.0
 * @category models
 */
export interface CreateMessageParams {
  readonly messages: ReadonlyArray<{ readonly role: "user" | "assistant"; readonly content: unknown }>
  readonly maxTokens: number
  readonly systemPrompt?: string
  readonly modelPreferences?: Record<string, unknown>
  readonly includeContext?: "none" | "thisServer" | "allServers"
  readonly temperature?: number
  readonly stopSequences?: ReadonlyArray<string>
  readonly metadata?: Record<string, unknown>
  readonly tools?: ReadonlyArray<Record<string, unknown>>
  readonly toolChoice?: { readonly mode: "auto" | "required" | "none" }
  readonly [key: string]: unknown
}

/**
 * A content block of a sampling result (text, image, audio, tool use...).
 *
 * @since 0.1.0
 * @category models
 */
export interface SamplingContent {
  readonly type: string
  readonly text?: string
  readonly [key: string]: unknown
}

/**
 * @since 0.1.0
 * @category models
 */
export interface CreateMessageResult {
  readonly role: "user" | "assistant"
  readonly content: SamplingContent | ReadonlyArray<SamplingContent>
  readonly model: string
  readonly stopReason?: string
  readonly [key: string]: unknown
}

/**
 * `elicitation/create` params: form mode (a flat `requestedSchema`) or URL mode (2025-11-25+: `url` and
 * `elicitationId`).
 *
 * @since 0.1.0
 * @category models
 */
export type ElicitParams =
  | {
    readonly mode?: "form"
    readonly message: string
    readonly requestedSchema: Record<string, unknown>
    readonly [key: string]: unknown
  }
  | {
    readonly mode: "url"
    readonly message: string
    readonly url: string
    readonly elicitationId: string
    readonly [key: string]: unknown
  }

/**
 * @since 0.1.0
 * @category models
 */
export interface ElicitResult {
  readonly action: "accept" | "decline" | "cancel"
  readonly content?: Record<string, unknown>
  readonly [key: string]: unknown
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ListRootsResult {
  readonly roots: ReadonlyArray<{ readonly uri: string; readonly name?: string; readonly [key: string]: unknown }>
  readonly [key: string]: unknown
}

/**
 * What asking the client can fail with.
 *
 * @since 0.1.0
 * @category models
 */
export type AskError = ClientError | MissingRequiredClientCapability

/**
 * The per-request service a handler can `yield*`.
 *
 * @since 0.1.0
 * @category tags
 */
export class McpContext extends Context.Tag("effect-mcp-server/McpContext")<McpContext, {
  readonly requestId: RequestId
  readonly method: string
  readonly era: Era
  readonly protocolVersion: string
  readonly clientInfo: Implementation | undefined
  readonly clientCapabilities: ClientCapabilities
  /**
   * Sends `notifications/progress` when the request carried a progress token. Values must increase; a value that
   * does not is skipped. Nothing is sent once the response has gone out.
   */
  readonly progress: (progress: number, options?: ProgressOptions) => Effect.Effect<void>
  /**
   * Sends `notifications/message` when the client asked for this level (legacy: `logging/setLevel`; modern: the
   * request's `_meta` logLevel, without which nothing is sent).
   */
  readonly log: (level: LoggingLevel, data: unknown, logger?: string) => Effect.Effect<void>
  /**
   * Asks the client a question (`sampling/createMessage`, `elicitation/create`, `roots/list`). Legacy: a request
   * to the client on this request's stream, answered in time or failed with `ClientError`. Modern: the answer
   * from this round's `inputResponses`, or the round ends with `input_required` and the handler runs again when
   * the client retries. Fails with -32021 when the client did not declare the capability the question needs.
   */
  readonly ask: (
    method: "sampling/createMessage" | "elicitation/create" | "roots/list",
    params: Record<string, unknown>
  ) => Effect.Effect<unknown, AskError>
  /**
   * Modern multi round-trip: what this handler kept for its next round with `carry` when its last round ended with
   * `input_required` (verified with the `requestState`: bound to the request, the principal and an expiry, and
   * accepted once). Undefined on a first round and in the legacy era.
   */
  readonly carried: string | undefined
  /**
   * Modern multi round-trip: keeps a value for the next round (signed into the `requestState` if this round ends
   * with `input_required`; read there as `carried`). A gateway names the upstream request it parked this way.
   */
  readonly carry: (value: string) => Effect.Effect<void>
  /**
   * SEP-1699 (legacy Streamable HTTP, 2025-11-25): closes the HTTP response that carries this request's SSE
   * stream while the request goes on; the client reconnects with `Last-Event-ID` and gets the rest, answer
   * included. A no-op where the stream cannot be resumed (other transports and versions).
   */
  readonly closeStream: Effect.Effect<void>
  /** Legacy 2025-11-25: tells the client a URL-mode elicitation finished (`notifications/elicitation/complete`). */
  readonly elicitationComplete: (elicitationId: string) => Effect.Effect<void>
  /** Who is asking: the transport, the legacy session, the principal (with authorization), the remote address. */
  readonly peer: Peer
}>() {}
