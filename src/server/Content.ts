/**
 * Constructors for the content blocks tools and prompts return: text, image, audio, resource_link and embedded
 * resource.
 *
 * @since 0.1.0
 */
import type { Annotations, ContentBlock, ResourceContents } from "../protocol/McpSchema.js"

type Extra = { readonly annotations?: Annotations; readonly _meta?: Record<string, unknown> }

const toBase64 = (data: string | Uint8Array): string =>
  typeof data === "string" ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("base64")

/**
 * @since 0.1.0
 * @category constructors
 */
export const text = (text: string, extra?: Extra): ContentBlock => ({ type: "text", text, ...extra })

/**
 * Image content; `data` is base64 text or raw bytes.
 *
 * @since 0.1.0
 * @category constructors
 */
export const image = (data: string | Uint8Array, mimeType: string, extra?: Extra): ContentBlock => ({
  type: "image",
  data: toBase64(data),
  mimeType,
  ...extra
})

/**
 * Audio content; `data` is base64 text or raw bytes.
 *
 * @since 0.1.0
 * @category constructors
 */
export const audio = (data: string | Uint8Array, mimeType: string, extra?: Extra): ContentBlock => ({
  type: "audio",
  data: toBase64(data),
  mimeType,
  ...extra
})

/**
 * @since 0.1.0
 * @category constructors
 */
export const resourceLink = (
  link: {
    readonly uri: string
    readonly name: string
    readonly title?: string
    readonly description?: string
    readonly mimeType?: string
    readonly size?: number
  } & Extra
): ContentBlock => ({ type: "resource_link", ...link })

/**
 * @since 0.1.0
 * @category constructors
 */
export const embeddedResource = (resource: ResourceContents, extra?: Extra): ContentBlock => ({
  type: "resource",
  resource,
  ...extra
})

/**
 * Text contents of a resource.
 *
 * @since 0.1.0
 * @category constructors
 */
export const textContents = (uri: string, text: string, mimeType?: string): ResourceContents =>
  mimeType === undefined ? { uri, text } : { uri, text, mimeType }

/**
 * Binary contents of a resource (sent as base64).
 *
 * @since 0.1.0
 * @category constructors
 */
export const blobContents = (uri: string, data: string | Uint8Array, mimeType?: string): ResourceContents =>
  mimeType === undefined ? { uri, blob: toBase64(data) } : { uri, blob: toBase64(data), mimeType }
