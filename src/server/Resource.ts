/**
 * Resources: static ones with a fixed URI, and RFC 6570 templates whose variables are decoded with
 * `effect/Schema` and may offer completions.
 *
 * @since 0.1.0
 */
import type { Context } from "effect"
import { Effect, Either, Schema } from "effect"
import type { JsonRpcError } from "../protocol/JsonRpc.js"
import { InternalError, isJsonRpcError } from "../protocol/JsonRpc.js"
import type {
  Annotations,
  Icon,
  JsonObject,
  ResourceContents,
  ResourceDefinition,
  ResourceTemplateDefinition
} from "../protocol/McpSchema.js"
import * as Content from "./Content.js"
import type { McpContext } from "./McpContext.js"
import * as UriTemplate from "./UriTemplate.js"

/**
 * What a resource reader returns: text, bytes (sent as base64), or explicit contents.
 *
 * @since 0.1.0
 * @category models
 */
export type ResourceOutput = string | Uint8Array | ResourceContents | ReadonlyArray<ResourceContents>

/**
 * @since 0.1.0
 * @category models
 */
export interface Resource<R = never> {
  readonly definition: ResourceDefinition
  readonly read: (uri: string) => Effect.Effect<ReadonlyArray<ResourceContents>, JsonRpcError, R | McpContext>
  /** The services its handler needs, captured by `McpServer` registration (provided with the request's `McpContext`). */
  readonly context?: Context.Context<never>
}

/**
 * A completion source for one argument or template variable.
 *
 * @since 0.1.0
 * @category models
 */
export type Completer<R> = (
  value: string,
  context: Readonly<Record<string, string>>
) => Effect.Effect<ReadonlyArray<string>, never, R>

/**
 * @since 0.1.0
 * @category models
 */
export interface ResourceTemplate<R = never> {
  readonly definition: ResourceTemplateDefinition
  readonly variables: ReadonlyArray<string>
  /** Decoded variables when the URI matches this template and they decode; else undefined. */
  readonly match: (uri: string) => unknown
  readonly read: (
    uri: string,
    params: unknown
  ) => Effect.Effect<ReadonlyArray<ResourceContents>, JsonRpcError, R | McpContext>
  readonly completions: Readonly<Record<string, Completer<R>>>
  /** The services its handler needs, captured by `McpServer` registration (provided with the request's `McpContext`). */
  readonly context?: Context.Context<never>
}

interface Descriptive {
  readonly name: string
  readonly title?: string
  readonly description?: string
  readonly mimeType?: string
  readonly icons?: ReadonlyArray<Icon>
  readonly annotations?: Annotations
  readonly _meta?: JsonObject
}

const describe = (options: Descriptive) => ({
  name: options.name,
  ...(options.title !== undefined ? { title: options.title } : {}),
  ...(options.description !== undefined ? { description: options.description } : {}),
  ...(options.mimeType !== undefined ? { mimeType: options.mimeType } : {}),
  ...(options.icons !== undefined ? { icons: options.icons } : {}),
  ...(options.annotations !== undefined ? { annotations: options.annotations } : {}),
  ...(options._meta !== undefined ? { _meta: options._meta } : {})
})

const toContents = (
  uri: string,
  mimeType: string | undefined,
  output: ResourceOutput
): ReadonlyArray<ResourceContents> => {
  if (typeof output === "string") return [Content.textContents(uri, output, mimeType)]
  if (output instanceof Uint8Array) return [Content.blobContents(uri, output, mimeType)]
  if (Array.isArray(output)) return output as ReadonlyArray<ResourceContents>
  return [output as ResourceContents]
}

/** A reader's typed failure is -32603 with its message, unless it already is a JSON-RPC error. */
const toReadError = (error: unknown): JsonRpcError =>
  isJsonRpcError(error)
    ? error
    : new InternalError({
      message: typeof (error as { message?: unknown })?.message === "string"
        ? (error as { message: string }).message
        : "Failed to read the resource"
    })

/**
 * Declares a resource with a fixed URI.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <E, R>(
  options: Descriptive & {
    readonly uri: string
    readonly size?: number
    readonly read: Effect.Effect<ResourceOutput, E, R>
  }
): Resource<Exclude<R, McpContext>> => ({
  definition: {
    uri: options.uri,
    ...describe(options),
    ...(options.size !== undefined ? { size: options.size } : {})
  },
  read: (uri) =>
    Effect.mapBoth(options.read, {
      onFailure: toReadError,
      onSuccess: (output) => toContents(uri, options.mimeType, output)
    }) as Effect.Effect<ReadonlyArray<ResourceContents>, JsonRpcError, Exclude<R, McpContext> | McpContext>
})

/**
 * Declares a resource template. `params` decodes the template's variables (strings on the wire) into the
 * handler's types; a URI whose variables fail to decode does not match. `completions` offer values per variable.
 *
 * @since 0.1.0
 * @category constructors
 */
export const template = <
  P extends Schema.Schema.AnyNoContext,
  E,
  R,
  RC = never
>(
  options: Descriptive & {
    readonly uriTemplate: string
    readonly params?: P
    readonly completions?: { readonly [K in keyof Schema.Schema.Encoded<P>]?: Completer<RC> }
    readonly read: (params: Schema.Schema.Type<P>, uri: string) => Effect.Effect<ResourceOutput, E, R>
  }
): ResourceTemplate<Exclude<R | RC, McpContext>> => {
  const compiled = UriTemplate.make(options.uriTemplate)
  const decode = options.params === undefined ? undefined : Schema.decodeUnknownEither(options.params)
  return {
    definition: { uriTemplate: options.uriTemplate, ...describe(options) },
    variables: compiled.variables,
    match: (uri) => {
      const variables = compiled.match(uri)
      if (variables === undefined) return undefined
      if (decode === undefined) return variables
      const decoded = decode(variables)
      return Either.isRight(decoded) ? decoded.right : undefined
    },
    read: (uri, params) =>
      Effect.mapBoth(options.read(params as Schema.Schema.Type<P>, uri), {
        onFailure: toReadError,
        onSuccess: (output) => toContents(uri, options.mimeType, output)
      }) as Effect.Effect<ReadonlyArray<ResourceContents>, JsonRpcError, Exclude<R | RC, McpContext> | McpContext>,
    completions: (options.completions ?? {}) as Readonly<Record<string, Completer<Exclude<R | RC, McpContext>>>>
  }
}
