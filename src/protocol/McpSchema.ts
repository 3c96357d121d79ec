/**
 * MCP types for both eras: one Schema per method's params (decoded from the wire) and per result shape.
 *
 * Params schemas are what the dispatcher decodes with; they are lenient about extra keys (ignored), strict about
 * the fields MCP defines. Result schemas document what the server sends and type the handlers; the hot path builds
 * results directly and does not encode through them.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { RequestId } from "./JsonRpc.js"

// ---------------------------------------------------------------------------------------------------------------------
// Common
// ---------------------------------------------------------------------------------------------------------------------

/**
 * @since 0.1.0
 * @category schemas
 */
export const JsonObject = Schema.Record({ key: Schema.String, value: Schema.Unknown })
/**
 * @since 0.1.0
 * @category models
 */
export type JsonObject = typeof JsonObject.Type

/**
 * @since 0.1.0
 * @category schemas
 */
export const ProgressToken = Schema.Union(Schema.String, Schema.Number)
/**
 * @since 0.1.0
 * @category models
 */
export type ProgressToken = typeof ProgressToken.Type

/**
 * @since 0.1.0
 * @category schemas
 */
export const LoggingLevel = Schema.Literal(
  "debug",
  "info",
  "notice",
  "warning",
  "error",
  "critical",
  "alert",
  "emergency"
)
/**
 * @since 0.1.0
 * @category models
 */
export type LoggingLevel = typeof LoggingLevel.Type

/**
 * Severity order of the syslog levels MCP uses.
 *
 * @since 0.1.0
 * @category models
 */
export const loggingLevelRank: Readonly<Record<LoggingLevel, number>> = {
  debug: 0,
  info: 1,
  notice: 2,
  warning: 3,
  error: 4,
  critical: 5,
  alert: 6,
  emergency: 7
}

/**
 * @since 0.1.0
 * @category schemas
 */
export const Icon = Schema.Struct({
  src: Schema.String,
  mimeType: Schema.optional(Schema.String),
  sizes: Schema.optional(Schema.Array(Schema.String)),
  theme: Schema.optional(Schema.Literal("light", "dark"))
})
/**
 * @since 0.1.0
 * @category models
 */
export type Icon = typeof Icon.Type

/**
 * @since 0.1.0
 * @category schemas
 */
export const Implementation = Schema.Struct({
  name: Schema.String,
  version: Schema.String,
  title: Schema.optional(Schema.String),
  websiteUrl: Schema.optional(Schema.String),
  icons: Schema.optional(Schema.Array(Icon))
})
/**
 * @since 0.1.0
 * @category models
 */
export type Implementation = typeof Implementation.Type

/**
 * Client capabilities: known keys are objects; unknown keys are kept (capabilities are an open set).
 *
 * @since 0.1.0
 * @category schemas
 */
export const ClientCapabilities = Schema.Struct(
  {
    experimental: Schema.optional(JsonObject),
    roots: Schema.optional(Schema.Struct({ listChanged: Schema.optional(Schema.Boolean) })),
    sampling: Schema.optional(JsonObject),
    elicitation: Schema.optional(JsonObject),
    tasks: Schema.optional(JsonObject),
    extensions: Schema.optional(JsonObject)
  },
  Schema.Record({ key: Schema.String, value: Schema.Unknown })
)
/**
 * @since 0.1.0
 * @category models
 */
export type ClientCapabilities = typeof ClientCapabilities.Type

/**
 * @since 0.1.0
 * @category models
 */
export interface ServerCapabilities {
  readonly tools?: { readonly listChanged?: boolean }
  readonly resources?: { readonly subscribe?: boolean; readonly listChanged?: boolean }
  readonly prompts?: { readonly listChanged?: boolean }
  readonly completions?: Record<string, never>
  readonly logging?: Record<string, never>
  readonly experimental?: JsonObject
}

/**
 * @since 0.1.0
 * @category schemas
 */
export const Annotations = Schema.Struct({
  audience: Schema.optional(Schema.Array(Schema.Literal("user", "assistant"))),
  priority: Schema.optional(Schema.Number),
  lastModified: Schema.optional(Schema.String)
})
/**
 * @since 0.1.0
 * @category models
 */
export type Annotations = typeof Annotations.Type

// ---------------------------------------------------------------------------------------------------------------------
// Content
// ---------------------------------------------------------------------------------------------------------------------

const contentCommon = {
  annotations: Schema.optional(Annotations),
  _meta: Schema.optional(JsonObject)
}

/**
 * @since 0.1.0
 * @category schemas
 */
export const TextContent = Schema.Struct({ type: Schema.Literal("text"), text: Schema.String, ...contentCommon })
/**
 * @since 0.1.0
 * @category schemas
 */
export const ImageContent = Schema.Struct({
  type: Schema.Literal("image"),
  data: Schema.String,
  mimeType: Schema.String,
  ...contentCommon
})
/**
 * @since 0.1.0
 * @category schemas
 */
export const AudioContent = Schema.Struct({
  type: Schema.Literal("audio"),
  data: Schema.String,
  mimeType: Schema.String,
  ...contentCommon
})

const resourceFields = {
  uri: Schema.String,
  name: Schema.String,
  title: Schema.optional(Schema.String),
  description: Schema.optional(Schema.String),
  mimeType: Schema.optional(Schema.String),
  size: Schema.optional(Schema.Number),
  icons: Schema.optional(Schema.Array(Icon)),
  ...contentCommon
}

/**
 * @since 0.1.0
 * @category schemas
 */
export const ResourceLink = Schema.Struct({ type: Schema.Literal("resource_link"), ...resourceFields })

/**
 * @since 0.1.0
 * @category schemas
 */
export const TextResourceContents = Schema.Struct({
  uri: Schema.String,
  mimeType: Schema.optional(Schema.String),
  text: Schema.String,
  _meta: Schema.optional(JsonObject)
})
/**
 * @since 0.1.0
 * @category schemas
 */
export const BlobResourceContents = Schema.Struct({
  uri: Schema.String,
  mimeType: Schema.optional(Schema.String),
  blob: Schema.String,
  _meta: Schema.optional(JsonObject)
})
/**
 * @since 0.1.0
 * @category schemas
 */
export const ResourceContents = Schema.Union(TextResourceContents, BlobResourceContents)
/**
 * @since 0.1.0
 * @category models
 */
export type ResourceContents = typeof ResourceContents.Type

/**
 * @since 0.1.0
 * @category schemas
 */
export const EmbeddedResource = Schema.Struct({
  type: Schema.Literal("resource"),
  resource: ResourceContents,
  ...contentCommon
})

/**
 * @since 0.1.0
 * @category schemas
 */
export const ContentBlock = Schema.Union(TextContent, ImageContent, AudioContent, ResourceLink, EmbeddedResource)
/**
 * @since 0.1.0
 * @category models
 */
export type ContentBlock = typeof ContentBlock.Type

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

// ---------------------------------------------------------------------------------------------------------------------
// Results
// ---------------------------------------------------------------------------------------------------------------------

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
export const ResourceDefinition = Schema.Struct({ ...resourceFields })
/**
 * @since 0.1.0
 * @category results
 */
export type ResourceDefinition = typeof ResourceDefinition.Type

/**
 * @since 0.1.0
 * @category results
 */
export const ResourceTemplateDefinition = Schema.Struct({
  uriTemplate: Schema.String,
  name: Schema.String,
  title: Schema.optional(Schema.String),
  description: Schema.optional(Schema.String),
  mimeType: Schema.optional(Schema.String),
  icons: Schema.optional(Schema.Array(Icon)),
  ...contentCommon
})
/**
 * @since 0.1.0
 * @category results
 */
export type ResourceTemplateDefinition = typeof ResourceTemplateDefinition.Type

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
