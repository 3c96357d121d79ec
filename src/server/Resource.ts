/**
 * Resources: static ones with a fixed URI, and RFC 6570 templates whose variables are decoded with
 * `effect/Schema` and may offer completions.
 *
 * @since 0.1.0
 */
import type { Context } from "effect"
import { Cause, Effect, Either, Option, Schema } from "effect"
import type { JsonRpcError } from "../protocol/JsonRpc.js"
import { InternalError, InvalidParams, isJsonRpcError, ResourceNotFound } from "../protocol/JsonRpc.js"
import type {
  Annotations,
  Icon,
  JsonObject,
  ResourceContents,
  ResourceDefinition,
  ResourceTemplateDefinition
} from "../protocol/McpSchema.js"
import { resourceNotFoundIsInvalidParams } from "../protocol/ProtocolVersion.js"
import * as Content from "./Content.js"
import { failureMessage, McpContext, prettyCause } from "./McpContext.js"
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
  /** The OAuth scopes a `resources/read` needs (see `Tool.ToolOptions.scopes`). */
  readonly scopes?: ReadonlyArray<string> | undefined
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
  /** The OAuth scopes a `resources/read` of a URI it matches needs (see `Tool.ToolOptions.scopes`). */
  readonly scopes?: ReadonlyArray<string> | undefined
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
  /**
   * OAuth scopes a caller's token must carry to use it, when the server requires authorization (HTTP with
   * `--auth-issuer`): without them, 403 `insufficient_scope` over Streamable HTTP, a -32000 error naming the
   * missing scopes in `data` over a connection. Ignored without authorization (stdio, anonymous HTTP).
   */
  readonly scopes?: ReadonlyArray<string> | undefined
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

const scopesOf = (options: Descriptive): { readonly scopes?: ReadonlyArray<string> } =>
  options.scopes !== undefined && options.scopes.length > 0 ? { scopes: options.scopes } : {}

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

/**
 * The error a reader fails with when the resource does not exist, as the request's protocol version spells it:
 * -32002 (`ResourceNotFound`) up to 2025-11-25, -32602 (`InvalidParams`) from 2026-07-28. Both carry the URI in
 * `data`, as the server's own answer for a URI no resource or template matches.
 *
 * @since 0.1.0
 * @category errors
 */
export const notFoundError = (uri: string, protocolVersion: string): ResourceNotFound | InvalidParams =>
  resourceNotFoundIsInvalidParams(protocolVersion)
    ? new InvalidParams({ message: `Resource not found: ${uri}`, data: { uri } })
    : new ResourceNotFound({ message: `Resource not found: ${uri}`, uri, data: { uri } })

/**
 * Fails the read with "resource not found" in the code of the request's protocol version (see `notFoundError`).
 * For a template whose variables match a URI naming nothing, or a fixed resource that is gone:
 *
 * ```ts
 * Resource.template({
 *   uriTemplate: "notes://{id}",
 *   name: "note",
 *   params: Schema.Struct({ id: Schema.String }),
 *   read: ({ id }, uri) =>
 *     Effect.flatMap(Notes.find(id), Option.match({
 *       onNone: () => Resource.notFound(uri),
 *       onSome: (note) => Effect.succeed(note.text)
 *     }))
 * })
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export const notFound = (uri: string): Effect.Effect<never, ResourceNotFound | InvalidParams, McpContext> =>
  Effect.flatMap(McpContext, (mcp) => Effect.fail(notFoundError(uri, mcp.protocolVersion)))

/**
 * A reader's failure as the client sees it: a JSON-RPC error passes through; any other typed failure is -32603
 * with its message (else its `_tag`, else a generic text), its whole cause logged as a warning. Defects and
 * interruption are left to the engine.
 */
const readFailure = (uri: string) => (cause: Cause.Cause<unknown>): Effect.Effect<never, JsonRpcError> => {
  const failure = Cause.failureOption(cause)
  if (Option.isNone(failure) || isJsonRpcError(failure.value)) return Effect.failCause(cause as Cause.Cause<never>)
  const error = new InternalError({ message: failureMessage(failure.value, `Failed to read the resource ${uri}`) })
  return Effect.zipRight(
    Effect.logWarning("Resource read failed").pipe(Effect.annotateLogs({ uri, cause: prettyCause(cause) })),
    Effect.failCause(Cause.map(cause, (e) => (isJsonRpcError(e) ? e : error)))
  )
}

const reading = <E, R>(
  effect: Effect.Effect<ResourceOutput, E, R>,
  uri: string,
  mimeType: string | undefined
): Effect.Effect<ReadonlyArray<ResourceContents>, JsonRpcError, R> =>
  Effect.matchCauseEffect(effect, {
    onFailure: readFailure(uri),
    onSuccess: (output) => Effect.succeed(toContents(uri, mimeType, output))
  })

/**
 * Declares a resource with a fixed URI.
 *
 * How a read fails, as the client sees it (the same for `template`):
 * - `Resource.notFound(uri)`: "resource not found", -32002 up to 2025-11-25 and -32602 from 2026-07-28 (the server
 *   answers a URI that no resource or template matches the same way);
 * - any other JSON-RPC error (`JsonRpc.InvalidParams`, ...): that error, as it is;
 * - any other typed failure: -32603 with the error's `message`, else its `_tag`, else a generic text; the whole
 *   cause is logged (a warning);
 * - a defect: -32603 "Internal error", logged by the engine.
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
  ...scopesOf(options),
  read: (uri) =>
    reading(options.read, uri, options.mimeType) as Effect.Effect<
      ReadonlyArray<ResourceContents>,
      JsonRpcError,
      Exclude<R, McpContext> | McpContext
    >
})

/**
 * Declares a resource template. `params` decodes the template's variables (strings on the wire) into the
 * handler's types; a URI whose variables fail to decode does not match. `completions` offer values per variable.
 * The reader gets the decoded variables and the URI; it fails as `make`'s does (`Resource.notFound(uri)` when the
 * variables name nothing).
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
    ...scopesOf(options),
    variables: compiled.variables,
    match: (uri) => {
      const variables = compiled.match(uri)
      if (variables === undefined) return undefined
      if (decode === undefined) return variables
      const decoded = decode(variables)
      return Either.isRight(decoded) ? decoded.right : undefined
    },
    read: (uri, params) =>
      reading(options.read(params as Schema.Schema.Type<P>, uri), uri, options.mimeType) as Effect.Effect<
        ReadonlyArray<ResourceContents>,
        JsonRpcError,
        Exclude<R | RC, McpContext> | McpContext
      >,
    completions: (options.completions ?? {}) as Readonly<Record<string, Completer<Exclude<R | RC, McpContext>>>>
  }
}
