/**
 * MCP content blocks (text, image, audio, resource links, embedded resources), resource contents, and the resource
 * and resource template definitions that share their fields with resource links.
 *
 * Re-exported by `McpSchema.ts`, which is where the rest of the code imports them from.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { Annotations, Icon, JsonObject } from "./McpCommonSchema.js"

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
// Resource definitions
// ---------------------------------------------------------------------------------------------------------------------

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
