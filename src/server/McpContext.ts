/**
 * What a handler may know and do about the request it serves: report progress, log to the client, read the client's
 * declared capabilities, ask the client (sampling, elicitation, raw or with a Schema: `elicitWith`, roots), and how
 * its typed failures are described to the client (`failureMessage`). Handlers never see the transport: the same tool
 * runs over stdio, HTTP, SSE and WebSocket, in either era. The service itself is in McpContextService, asking with a
 * Schema in Elicitation, failure texts in Failure; all are re-exported here.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { MissingRequiredClientCapability } from "../protocol/JsonRpc.js"
import type { LoggingLevel } from "../protocol/McpSchema.js"
import type {
  AskError,
  CreateMessageParams,
  CreateMessageResult,
  ElicitParams,
  ElicitResult,
  ListRootsResult,
  ProgressOptions,
  SamplingContent
} from "./McpContextService.js"
import type { Peer } from "./Peer.js"

import { McpContext } from "./McpContextService.js"

export * from "./Elicitation.js"
export * from "./Failure.js"
export * from "./McpContextService.js"

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
