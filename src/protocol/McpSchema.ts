/**
 * MCP types for both eras: one Schema per method's params (decoded from the wire) and per result shape.
 *
 * Params schemas are what the dispatcher decodes with; they are lenient about extra keys (ignored), strict about
 * the fields MCP defines. Result schemas document what the server sends and type the handlers; the hot path builds
 * results directly and does not encode through them.
 *
 * The shared shapes, content blocks and result shapes are in `McpCommonSchema.ts`, `McpContentSchema.ts` and
 * `McpResultSchema.ts`; this module re-exports them.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { RequestId } from "./JsonRpc.js"
import { ClientCapabilities, Implementation, JsonObject, LoggingLevel, ProgressToken } from "./McpCommonSchema.js"

export * from "./McpCommonSchema.js"
export * from "./McpContentSchema.js"
export * from "./McpResultSchema.js"

// ---------------------------------------------------------------------------------------------------------------------
// Params, one per method
// ---------------------------------------------------------------------------------------------------------------------

const meta = { _meta: Schema.optional(JsonObject) }

/**
 * @since 0.1.0
 * @category params
 */
export const InitializeParams = Schema.Struct({
  protocolVersion: Schema.String,
  capabilities: ClientCapabilities,
  clientInfo: Implementation,
  ...meta
})
/**
 * @since 0.1.0
 * @category params
 */
export type InitializeParams = typeof InitializeParams.Type

/**
 * @since 0.1.0
 * @category params
 */
export const PaginatedParams = Schema.Struct({ cursor: Schema.optional(Schema.String), ...meta })

/**
 * @since 0.1.0
 * @category params
 */
export const CallToolParams = Schema.Struct({
  name: Schema.String,
  arguments: Schema.optional(JsonObject),
  ...meta
})

/**
 * @since 0.1.0
 * @category params
 */
export const ReadResourceParams = Schema.Struct({ uri: Schema.String, ...meta })

/**
 * @since 0.1.0
 * @category params
 */
export const SubscribeParams = Schema.Struct({ uri: Schema.String, ...meta })

/**
 * Modern `subscriptions/listen`: which notifications the stream should carry.
 *
 * @since 0.1.0
 * @category params
 */
export const ListenParams = Schema.Struct({
  notifications: Schema.Struct({
    toolsListChanged: Schema.optional(Schema.Boolean),
    promptsListChanged: Schema.optional(Schema.Boolean),
    resourcesListChanged: Schema.optional(Schema.Boolean),
    resourceSubscriptions: Schema.optional(Schema.Array(Schema.String))
  }),
  ...meta
})

/**
 * @since 0.1.0
 * @category params
 */
export const GetPromptParams = Schema.Struct({
  name: Schema.String,
  arguments: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.String })),
  ...meta
})

/**
 * @since 0.1.0
 * @category params
 */
export const PromptReference = Schema.Struct({
  type: Schema.Literal("ref/prompt"),
  name: Schema.String,
  title: Schema.optional(Schema.String)
})
/**
 * @since 0.1.0
 * @category params
 */
export const ResourceTemplateReference = Schema.Struct({ type: Schema.Literal("ref/resource"), uri: Schema.String })

/**
 * @since 0.1.0
 * @category params
 */
export const CompleteParams = Schema.Struct({
  ref: Schema.Union(PromptReference, ResourceTemplateReference),
  argument: Schema.Struct({ name: Schema.String, value: Schema.String }),
  context: Schema.optional(
    Schema.Struct({ arguments: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.String })) })
  ),
  ...meta
})
/**
 * @since 0.1.0
 * @category params
 */
export type CompleteParams = typeof CompleteParams.Type

/**
 * @since 0.1.0
 * @category params
 */
export const SetLevelParams = Schema.Struct({ level: LoggingLevel, ...meta })

/**
 * @since 0.1.0
 * @category params
 */
export const EmptyParams = Schema.Struct({ ...meta })

/**
 * @since 0.1.0
 * @category params
 */
export const CancelledParams = Schema.Struct({
  requestId: RequestId,
  reason: Schema.optional(Schema.String),
  ...meta
})

/**
 * The `_meta` keys every modern (2026-07-28) request carries.
 *
 * @since 0.1.0
 * @category params
 */
export const MODERN_META = {
  protocolVersion: "io.modelcontextprotocol/protocolVersion",
  clientCapabilities: "io.modelcontextprotocol/clientCapabilities",
  clientInfo: "io.modelcontextprotocol/clientInfo",
  logLevel: "io.modelcontextprotocol/logLevel",
  serverInfo: "io.modelcontextprotocol/serverInfo",
  subscriptionId: "io.modelcontextprotocol/subscriptionId"
} as const

/**
 * @since 0.1.0
 * @category params
 */
export const ModernRequestMeta = Schema.Struct({
  [MODERN_META.protocolVersion]: Schema.String,
  [MODERN_META.clientCapabilities]: ClientCapabilities,
  [MODERN_META.clientInfo]: Schema.optional(Implementation),
  [MODERN_META.logLevel]: Schema.optional(LoggingLevel),
  progressToken: Schema.optional(ProgressToken)
})
