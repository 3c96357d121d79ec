/**
 * What a handler may know and do about the request it serves: report progress, log to the client, read the client's
 * declared capabilities, ask the client (sampling, elicitation, roots), and how its typed failures are described to
 * the client (`failureMessage`). Handlers never see the transport: the same tool runs over stdio, HTTP, SSE and
 * WebSocket, in either era.
 *
 * @since 0.1.0
 */
import { Cause, Context, Effect, Predicate } from "effect"
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

/**
 * Who is asking (see Peer).
 *
 * @since 0.1.0
 * @category accessors
 */
export const peer: Effect.Effect<Peer, never, McpContext> = Effect.map(McpContext, (mcp) => mcp.peer)

/**
 * Reports progress for the current request.
 *
 * @since 0.1.0
 * @category accessors
 */
export const progress = (value: number, options?: ProgressOptions): Effect.Effect<void, never, McpContext> =>
  Effect.flatMap(McpContext, (context) => context.progress(value, options))

/**
 * Logs a message to the client for the current request.
 *
 * @since 0.1.0
 * @category accessors
 */
export const log = (level: LoggingLevel, data: unknown, logger?: string): Effect.Effect<void, never, McpContext> =>
  Effect.flatMap(McpContext, (context) => context.log(level, data, logger))

/**
 * Fails with -32021 unless the client declared the capability (e.g. `"elicitation"`, `"sampling"`, `"roots"`).
 * A handler that needs a client feature calls this first, so the client learns what it must declare.
 *
 * @since 0.1.0
 * @category accessors
 */
export const requireClientCapability = (
  capability: string
): Effect.Effect<void, MissingRequiredClientCapability, McpContext> =>
  Effect.flatMap(McpContext, (context) =>
    context.clientCapabilities[capability] !== undefined
      ? Effect.void
      : new MissingRequiredClientCapability({
        message: `Missing required client capability: ${capability}`,
        data: { requiredCapabilities: { [capability]: {} } }
      }))

/**
 * The text of a sampling result (its text blocks joined; other blocks as JSON).
 *
 * @since 0.1.0
 * @category accessors
 */
export const sampledText = (result: CreateMessageResult): string => {
  const blocks = Array.isArray(result.content) ? result.content : [result.content as SamplingContent]
  return blocks.map((
    block
  ) => (block.type === "text" && typeof block.text === "string" ? block.text : JSON.stringify(block))).join("")
}

/**
 * Asks the client's LLM for a completion (`sampling/createMessage`).
 *
 * @since 0.1.0
 * @category accessors
 */
export const sample = (params: CreateMessageParams): Effect.Effect<CreateMessageResult, AskError, McpContext> =>
  Effect.flatMap(
    McpContext,
    (context) => context.ask("sampling/createMessage", params) as Effect.Effect<CreateMessageResult, AskError>
  )

/**
 * Asks the user for input (`elicitation/create`), in form or URL mode.
 *
 * @since 0.1.0
 * @category accessors
 */
export const elicit = (params: ElicitParams): Effect.Effect<ElicitResult, AskError, McpContext> =>
  Effect.flatMap(
    McpContext,
    (context) => context.ask("elicitation/create", params) as Effect.Effect<ElicitResult, AskError>
  )

/**
 * Asks the client for its roots (`roots/list`). Legacy sessions cache the answer until the client sends
 * `notifications/roots/list_changed`.
 *
 * @since 0.1.0
 * @category accessors
 */
export const listRoots: Effect.Effect<ListRootsResult, AskError, McpContext> = Effect.flatMap(
  McpContext,
  (context) => context.ask("roots/list", {}) as Effect.Effect<ListRootsResult, AskError>
)

/**
 * Closes this request's HTTP stream so the client polls for the rest (SEP-1699); see `McpContext.closeStream`.
 *
 * @since 0.1.0
 * @category accessors
 */
export const closeStream: Effect.Effect<void, never, McpContext> = Effect.flatMap(McpContext, (c) => c.closeStream)

/**
 * Tells the client that a URL-mode elicitation completed (2025-11-25 sessions; elsewhere a no-op).
 *
 * @since 0.1.0
 * @category accessors
 */
export const elicitationComplete = (elicitationId: string): Effect.Effect<void, never, McpContext> =>
  Effect.flatMap(McpContext, (context) => context.elicitationComplete(elicitationId))

// ---------------------------------------------------------------------------------------------------------------------
// Failures
// ---------------------------------------------------------------------------------------------------------------------

/**
 * Whether `error.message` is the one `Schema.TaggedError` makes up for a class without a `message` field (its fields
 * printed, without the tag): such an error has no message of its own. A `message` getter of the user's own class is
 * kept (it is defined on the user's subclass, not on the class `Schema.TaggedError` made).
 */
const isMadeUpMessage = (error: object): boolean => {
  if (Object.prototype.hasOwnProperty.call(error, "message")) return false
  let proto: object | null = Object.getPrototypeOf(error)
  while (proto !== null && !Object.prototype.hasOwnProperty.call(proto, "message")) proto = Object.getPrototypeOf(proto)
  const owner: unknown = proto?.constructor
  if (typeof owner !== "function" || !Object.prototype.hasOwnProperty.call(owner, "_tag")) return false
  const fields: unknown = (owner as { readonly fields?: unknown }).fields
  return Predicate.isRecord(fields) && !("message" in fields)
}

/**
 * A failure's own message: its `message` when that is a non-empty string (not the one `Schema.TaggedError` makes up
 * from the fields of a class that declares no `message`).
 *
 * @since 0.1.0
 * @category failures
 */
export const ownMessage = (error: unknown): string | undefined => {
  if (!Predicate.hasProperty(error, "message")) return undefined
  const message = error.message
  return typeof message === "string" && message !== "" && !isMadeUpMessage(error) ? message : undefined
}

/**
 * The text a client is shown for a handler's typed failure: the error itself when it is a non-empty string (a
 * number or boolean as text), else its own non-empty `message` (see `ownMessage`), else its `_tag`, else
 * `fallback`. Tools send it as the `isError` result's text; resources and prompts as the -32603 error's message.
 *
 * @since 0.1.0
 * @category failures
 */
export const failureMessage = (error: unknown, fallback: string): string => {
  if (typeof error === "string") return error !== "" ? error : fallback
  if (typeof error === "number" || typeof error === "boolean" || typeof error === "bigint") return String(error)
  try {
    const message = ownMessage(error)
    if (message !== undefined) return message
    if (Predicate.hasProperty(error, "_tag") && typeof error._tag === "string" && error._tag !== "") return error._tag
  } catch {
    // A getter or proxy that throws: nothing to say about it.
  }
  return fallback
}

/**
 * `Cause.pretty`, or a placeholder when printing the cause throws (a failure with a getter that throws): for logs,
 * which must not fail the request they describe.
 *
 * @since 0.1.0
 * @category failures
 */
export const prettyCause = (cause: Cause.Cause<unknown>): string => {
  try {
    return Cause.pretty(cause)
  } catch {
    return "(a cause that cannot be printed)"
  }
}
