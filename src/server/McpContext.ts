/**
 * What a handler may know and do about the request it serves: report progress, log to the client, read the
 * client's declared capabilities. Handlers never see the transport (DESIGN.md invariant 7): the same tool runs
 * over stdio, HTTP, SSE and WebSocket, in either era.
 *
 * @since 0.1.0
 */
import { Context, Effect } from "effect"
import type { RequestId } from "../protocol/JsonRpc.js"
import { MissingRequiredClientCapability } from "../protocol/JsonRpc.js"
import type { ClientCapabilities, Implementation, LoggingLevel } from "../protocol/McpSchema.js"
import type { Era } from "../protocol/ProtocolVersion.js"

/** @since 0.1.0 @category models */
export interface ProgressOptions {
  readonly total?: number
  readonly message?: string
}

/**
 * The per-request service a handler can `yield*`.
 *
 * @since 0.1.0 @category tags
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
}>() {}

/**
 * Reports progress for the current request.
 *
 * @since 0.1.0 @category accessors
 */
export const progress = (value: number, options?: ProgressOptions): Effect.Effect<void, never, McpContext> =>
  Effect.flatMap(McpContext, (context) => context.progress(value, options))

/**
 * Logs a message to the client for the current request.
 *
 * @since 0.1.0 @category accessors
 */
export const log = (level: LoggingLevel, data: unknown, logger?: string): Effect.Effect<void, never, McpContext> =>
  Effect.flatMap(McpContext, (context) => context.log(level, data, logger))

/**
 * Fails with -32021 unless the client declared the capability (e.g. `"elicitation"`, `"sampling"`, `"roots"`).
 * A handler that needs a client feature calls this first, so the client learns what it must declare.
 *
 * @since 0.1.0 @category accessors
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
