/**
 * MCP shapes shared by params, content and results: JSON objects, progress tokens, logging levels, icons,
 * implementation info, capabilities and annotations.
 *
 * Re-exported by `McpSchema.ts`, which is where the rest of the code imports them from.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

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
