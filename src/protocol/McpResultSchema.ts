/**
 * MCP result shapes: tool definitions and results, resource reads, prompts, completions, initialize and discover.
 *
 * They document what the server sends and type the handlers; the hot path builds results directly and does not
 * encode through them. Re-exported by `McpSchema.ts`, which is where the rest of the code imports them from.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { Icon, Implementation, JsonObject } from "./McpCommonSchema.js"
import { ContentBlock, ResourceContents } from "./McpContentSchema.js"

/**
 * @since 0.1.0
 * @category results
 */
export const ToolAnnotations = Schema.Struct({
  title: Schema.optional(Schema.String),
  readOnlyHint: Schema.optional(Schema.Boolean),
  destructiveHint: Schema.optional(Schema.Boolean),
  idempotentHint: Schema.optional(Schema.Boolean),
  openWorldHint: Schema.optional(Schema.Boolean)
})
/**
 * @since 0.1.0
 * @category results
 */
export type ToolAnnotations = typeof ToolAnnotations.Type

/**
 * @since 0.1.0
 * @category results
 */
export const ToolDefinition = Schema.Struct({
  name: Schema.String,
  title: Schema.optional(Schema.String),
  description: Schema.optional(Schema.String),
  inputSchema: JsonObject,
  outputSchema: Schema.optional(JsonObject),
  annotations: Schema.optional(ToolAnnotations),
  icons: Schema.optional(Schema.Array(Icon)),
  _meta: Schema.optional(JsonObject)
})
/**
 * @since 0.1.0
 * @category results
 */
export type ToolDefinition = typeof ToolDefinition.Type

/**
 * @since 0.1.0
 * @category results
 */
export const CallToolResult = Schema.Struct({
  content: Schema.Array(ContentBlock),
  structuredContent: Schema.optional(Schema.Unknown),
  isError: Schema.optional(Schema.Boolean),
  _meta: Schema.optional(JsonObject)
})
/**
 * @since 0.1.0
 * @category results
 */
export type CallToolResult = typeof CallToolResult.Type

/**
 * @since 0.1.0
 * @category results
 */
export const ReadResourceResult = Schema.Struct({ contents: Schema.Array(ResourceContents) })

/**
 * @since 0.1.0
 * @category results
 */
export const PromptArgument = Schema.Struct({
  name: Schema.String,
  title: Schema.optional(Schema.String),
  description: Schema.optional(Schema.String),
  required: Schema.optional(Schema.Boolean)
})
/**
 * @since 0.1.0
 * @category results
 */
export type PromptArgument = typeof PromptArgument.Type

/**
 * @since 0.1.0
 * @category results
 */
export const PromptDefinition = Schema.Struct({
  name: Schema.String,
  title: Schema.optional(Schema.String),
  description: Schema.optional(Schema.String),
  arguments: Schema.optional(Schema.Array(PromptArgument)),
  icons: Schema.optional(Schema.Array(Icon)),
  _meta: Schema.optional(JsonObject)
})
/**
 * @since 0.1.0
 * @category results
 */
export type PromptDefinition = typeof PromptDefinition.Type

/**
 * @since 0.1.0
 * @category results
 */
export const PromptMessage = Schema.Struct({ role: Schema.Literal("user", "assistant"), content: ContentBlock })
/**
 * @since 0.1.0
 * @category results
 */
export type PromptMessage = typeof PromptMessage.Type

/**
 * @since 0.1.0
 * @category results
 */
export const GetPromptResult = Schema.Struct({
  description: Schema.optional(Schema.String),
  messages: Schema.Array(PromptMessage)
})
/**
 * @since 0.1.0
 * @category results
 */
export type GetPromptResult = typeof GetPromptResult.Type

/**
 * @since 0.1.0
 * @category results
 */
export const CompleteResult = Schema.Struct({
  completion: Schema.Struct({
    values: Schema.Array(Schema.String).pipe(Schema.maxItems(100)),
    total: Schema.optional(Schema.Number),
    hasMore: Schema.optional(Schema.Boolean)
  })
})
/**
 * @since 0.1.0
 * @category results
 */
export type CompleteResult = typeof CompleteResult.Type

/**
 * @since 0.1.0
 * @category results
 */
export const InitializeResult = Schema.Struct({
  protocolVersion: Schema.String,
  capabilities: JsonObject,
  serverInfo: Implementation,
  instructions: Schema.optional(Schema.String)
})

/**
 * @since 0.1.0
 * @category results
 */
export const DiscoverResult = Schema.Struct({
  resultType: Schema.Literal("complete"),
  supportedVersions: Schema.Array(Schema.String),
  capabilities: JsonObject,
  instructions: Schema.optional(Schema.String),
  ttlMs: Schema.Number,
  cacheScope: Schema.Literal("public", "private")
})
