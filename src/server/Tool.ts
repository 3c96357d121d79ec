/**
 * Tools declared with `effect/Schema`: the parameters schema becomes the JSON Schema 2020-12 `inputSchema`, an
 * optional success schema becomes `outputSchema`, and results carry validated `structuredContent` plus the JSON
 * text block older clients read.
 *
 * @since 0.1.0
 */
import type { Context } from "effect"
import { Cause, Effect, Either, JSONSchema, Option, ParseResult, Predicate, Schema, SchemaAST } from "effect"
import type { JsonRpcError } from "../protocol/JsonRpc.js"
import { InternalError, isJsonRpcError } from "../protocol/JsonRpc.js"
import type {
  CallToolResult,
  ContentBlock,
  Icon,
  JsonObject,
  ToolAnnotations,
  ToolDefinition
} from "../protocol/McpSchema.js"
import { failureMessage, McpContext, ownMessage, prettyCause } from "./McpContext.js"

/**
 * What a tool without a success schema may return: a string (one text block), one block, several blocks, or a
 * whole `CallToolResult`.
 *
 * @since 0.1.0
 * @category models
 */
export type ToolOutput = string | ContentBlock | ReadonlyArray<ContentBlock> | CallToolResult

/**
 * A declared tool. `call` decodes the raw arguments, runs the handler and shapes the result; it needs the
 * handler's services `R` and the request's `McpContext`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Tool<R = never> {
  readonly name: string
  readonly definition: ToolDefinition
  /**
   * Whether the `structuredContent` this tool sends is an object, which legacy versions require: its
   * `outputSchema` describes an object, or it has none (then only a typed failure's details, always an object, and
   * a handler's own whole result carry it; the latter is sent to legacy clients only when it is an object).
   */
  readonly structuredIsObject: boolean
  readonly call: (args: JsonObject | undefined) => Effect.Effect<CallToolResult, JsonRpcError, R | McpContext>
  /** The OAuth scopes a call needs (see `ToolOptions.scopes`). */
  readonly scopes?: ReadonlyArray<string> | undefined
  /** The services its handler needs, captured by `McpServer` registration (provided with the request's `McpContext`). */
  readonly context?: Context.Context<never>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ToolOptions<P extends Schema.Schema.AnyNoContext> {
  readonly name: string
  readonly title?: string
  readonly description?: string
  readonly annotations?: ToolAnnotations
  readonly icons?: ReadonlyArray<Icon>
  readonly _meta?: JsonObject
  /** The arguments, usually a `Schema.Struct`. Omitted: the tool takes no arguments. */
  readonly parameters?: P
  /**
   * A hand-written JSON Schema to list instead of the one derived from `parameters` (e.g. one migrated from
   * another SDK, with `$schema`, `$defs` and keywords Schema does not produce). Arguments are still decoded with
   * `parameters` (when given), so keep the two in agreement. It must have `type: "object"` at the root.
   */
  readonly inputSchema?: JsonObject
  /**
   * The handler's typed failures (a `Schema.TaggedError` class, or a union of them). A failure it encodes is sent,
   * encoded, as the `isError` result's `structuredContent.error`; without it, a tagged failure's own enumerable
   * JSON fields are. Not listed in the definition (MCP has no place for it).
   */
  readonly failure?: Schema.Schema.AnyNoContext
  /**
   * OAuth scopes a caller's token must carry to use it, when the server requires authorization (HTTP with
   * `--auth-issuer`): without them, 403 `insufficient_scope` over Streamable HTTP, a -32000 error naming the
   * missing scopes in `data` over a connection. Ignored without authorization (stdio, anonymous HTTP).
   */
  readonly scopes?: ReadonlyArray<string> | undefined
}

/**
 * What a tool name may be: 1 to 128 characters, each an ASCII letter, a digit, `_`, `-` or `.` (MCP 2025-11-25,
 * "Tool names"; case-sensitive). Some clients are stricter (`^[a-zA-Z0-9_-]{1,64}$`): names of at most 64
 * characters without dots work everywhere.
 *
 * @since 0.1.0
 * @category validation
 */
export const NAME_PATTERN = /^[A-Za-z0-9_.-]{1,128}$/

/**
 * @since 0.1.0
 * @category validation
 */
export const isValidName = (name: string): boolean => NAME_PATTERN.test(name)

const NoParameters = Schema.Struct({})
const PassThrough = Schema.Record({ key: Schema.String, value: Schema.Unknown })

/**
 * Turns a schema into a JSON Schema 2020-12 object: no `$schema` (2020-12 is MCP's default dialect), a root `$ref`
 * inlined, and an empty struct as `{ type: "object", additionalProperties: false }` as the spec recommends.
 *
 * @since 0.1.0
 * @category json schema
 */
export const toJsonSchema = (schema: Schema.Schema.AnyNoContext): JsonObject => {
  const ast = SchemaAST.encodedAST(schema.ast)
  if (SchemaAST.isTypeLiteral(ast) && ast.propertySignatures.length === 0 && ast.indexSignatures.length === 0) {
    return { type: "object", additionalProperties: false }
  }
  const { $id: _id, $schema: _schema, ...rest } = JSONSchema.make(schema, {
    target: "jsonSchema2020-12"
  }) as unknown as Record<
    string,
    unknown
  >
  const ref = rest.$ref
  const defs = rest.$defs as Record<string, Record<string, unknown>> | undefined
  if (typeof ref === "string" && ref.startsWith("#/$defs/") && defs !== undefined) {
    const name = ref.slice("#/$defs/".length)
    const { [name]: target, ...otherDefs } = defs
    const { $ref: _ref, $defs: _defs, ...others } = rest
    return Object.keys(otherDefs).length === 0
      ? { ...target, ...others }
      : { ...target, ...others, $defs: otherDefs }
  }
  return rest
}

/** A value as JSON (what `JSON.stringify` makes of it, read back), or undefined when it has none or throws. */
const asJson = (value: unknown): { readonly value: unknown } | undefined => {
  if (value instanceof Error) return undefined
  try {
    const text = JSON.stringify(value)
    return text === undefined ? undefined : { value: JSON.parse(text) }
  } catch {
    return undefined
  }
}

/**
 * A typed failure's details for `structuredContent.error`: encoded with the tool's failure schema when it encodes
 * the error, else, for a tagged error, `_tag`, `message` and its own enumerable fields that are JSON (errors kept
 * in fields, `cause` and `stack` are left out: they are internals); undefined for anything else.
 */
const failureDetails = (
  error: unknown,
  encode: ((u: unknown) => Either.Either<unknown, ParseResult.ParseError>) | undefined
): unknown => {
  if (encode !== undefined) {
    const encoded = encode(error)
    const json = Either.isRight(encoded) ? asJson(encoded.right) : undefined
    if (json !== undefined) return json.value
  }
  if (!Predicate.hasProperty(error, "_tag") || typeof error._tag !== "string") return undefined
  const details: Record<string, unknown> = { _tag: error._tag }
  try {
    const message = ownMessage(error)
    if (message !== undefined) details.message = message
    for (const key of Object.keys(error)) {
      if (key === "_tag" || key === "message" || key === "cause" || key === "stack") continue
      const json = asJson((error as Record<string, unknown>)[key])
      if (json !== undefined) details[key] = json.value
    }
  } catch {
    // A getter or proxy that throws: the details read so far.
  }
  return details
}

/** A whole result whose `structuredContent` is not an object reaches legacy clients without it (they require one). */
const forLegacy = (result: CallToolResult): Effect.Effect<CallToolResult, never, McpContext> =>
  Effect.map(McpContext, (mcp) => {
    if (mcp.era === "modern") return result
    const { structuredContent: _, ...rest } = result
    return rest
  })

const toResult = (output: ToolOutput): CallToolResult => {
  if (typeof output === "string") return { content: [{ type: "text", text: output }] }
  if (Array.isArray(output)) return { content: output as ReadonlyArray<ContentBlock> }
  if ("content" in output) return output as CallToolResult
  return { content: [output as ContentBlock] }
}

const definitionOf = (
  options: ToolOptions<Schema.Schema.AnyNoContext>,
  inputSchema: JsonObject,
  outputSchema: JsonObject | undefined
): ToolDefinition => ({
  name: options.name,
  ...(options.title !== undefined ? { title: options.title } : {}),
  ...(options.description !== undefined ? { description: options.description } : {}),
  inputSchema,
  ...(outputSchema !== undefined ? { outputSchema } : {}),
  ...(options.annotations !== undefined ? { annotations: options.annotations } : {}),
  ...(options.icons !== undefined ? { icons: options.icons } : {}),
  ...(options._meta !== undefined ? { _meta: options._meta } : {})
})

/**
 * Declares a tool.
 *
 * With `success`, the handler returns a value of that schema: it is encoded (and so validated), sent as
 * `structuredContent`, and serialized into a text block for older clients. Without it, the handler returns a
 * `ToolOutput`.
 *
 * How a call fails, as the client sees it:
 * - invalid arguments: an `isError: true` result naming each field at fault (SEP-1303);
 * - a typed failure: an `isError: true` result whose text is the error's `message`, else its `_tag`, else a
 *   generic text. Its details go in `structuredContent: { error }` (the error encoded with `failure` when given and
 *   it encodes the error, else a tagged error's `_tag`, `message` and own JSON fields) when the tool has no
 *   `success` schema: clients that check `structuredContent` against `outputSchema` even on errors (the official
 *   TypeScript SDK's `callTool`, typescript-sdk#1943) would refuse the result otherwise. The cause is logged (debug);
 * - a JSON-RPC error (`JsonRpc.InvalidParams`, -32021 from `McpContext.requireClientCapability`, ...): that
 *   protocol error;
 * - output failing `success`: -32603; a defect: -32603 "Internal error", logged by the engine.
 *
 * The name must match `NAME_PATTERN` (1 to 128 of `A-Z a-z 0-9 _ - .`); another name, or parameters that do not
 * describe an object, throw here, so a server with such a tool fails when it is built.
 *
 * @since 0.1.0
 * @category constructors
 */
export function make<P extends Schema.Schema.AnyNoContext, A, I, E, R>(
  options: ToolOptions<P> & {
    readonly success: Schema.Schema<A, I, never>
    readonly handler: (params: Schema.Schema.Type<P>) => Effect.Effect<A, E, R>
  }
): Tool<Exclude<R, McpContext>>
export function make<P extends Schema.Schema.AnyNoContext, E, R>(
  options: ToolOptions<P> & {
    readonly success?: undefined
    readonly handler: (params: Schema.Schema.Type<P>) => Effect.Effect<ToolOutput, E, R>
  }
): Tool<Exclude<R, McpContext>>
export function make(
  options: ToolOptions<Schema.Schema.AnyNoContext> & {
    readonly success?: Schema.Schema<unknown, unknown, never> | undefined
    readonly handler: (params: unknown) => Effect.Effect<unknown, unknown, unknown>
  }
): Tool<unknown> {
  if (typeof options.name !== "string" || !isValidName(options.name)) {
    throw new Error(
      `Tool ${
        JSON.stringify(options.name)
      }: invalid name: a tool name must be 1 to 128 characters, each an ASCII letter, a digit, "_", "-" or "." (MCP 2025-11-25, "Tool names")`
    )
  }
  const parameters = options.parameters ?? (options.inputSchema !== undefined ? PassThrough : NoParameters)
  const inputSchema = options.inputSchema ?? toJsonSchema(parameters)
  if (inputSchema.type !== "object") {
    throw new Error(`Tool "${options.name}": parameters must describe an object (got ${JSON.stringify(inputSchema)})`)
  }
  const decodeArgs = Schema.decodeUnknownEither(parameters)
  const success = options.success
  const outputSchema = success === undefined ? undefined : toJsonSchema(success)
  const encodeOutput = success === undefined ? undefined : Schema.encodeEither(success)
  const name = options.name
  const encodeFailure = options.failure === undefined ? undefined : Schema.encodeUnknownEither(options.failure)
  const fallback = `Tool "${name}" failed`

  /**
   * A typed failure becomes `isError: true` (the spec's tool error); a JSON-RPC error passes through as a protocol
   * error (e.g. -32021 from `McpContext.requireClientCapability`); defects and interruption are left as they are.
   */
  const onFailure = (cause: Cause.Cause<unknown>): Effect.Effect<CallToolResult, JsonRpcError> => {
    const failure = Cause.failureOption(cause)
    if (Option.isNone(failure) || isJsonRpcError(failure.value)) return Effect.failCause(cause as Cause.Cause<never>)
    const error = failure.value
    const details = success === undefined ? failureDetails(error, encodeFailure) : undefined
    const result: CallToolResult = {
      content: [{ type: "text", text: failureMessage(error, fallback) }],
      ...(details !== undefined ? { structuredContent: { error: details } } : {}),
      isError: true
    }
    return Effect.as(
      Effect.logDebug("Tool failed").pipe(Effect.annotateLogs({ tool: name, cause: prettyCause(cause) })),
      result
    )
  }

  const call = (args: JsonObject | undefined): Effect.Effect<CallToolResult, JsonRpcError, unknown> => {
    const decoded = decodeArgs(args ?? {}, { errors: "all", onExcessProperty: "ignore" })
    if (Either.isLeft(decoded)) {
      const issues = ParseResult.ArrayFormatter.formatErrorSync(decoded.left)
        .map((issue) => issue.path.length === 0 ? issue.message : `${issue.path.join(".")}: ${issue.message}`)
      return Effect.succeed({
        content: [{ type: "text", text: `Invalid arguments for tool "${name}": ${issues.join("; ")}` }],
        isError: true
      })
    }
    const run = options.handler(decoded.right)
    if (encodeOutput === undefined) {
      return Effect.matchCauseEffect(run, {
        onFailure,
        onSuccess: (output) => {
          const result = toResult(output as ToolOutput)
          return result.structuredContent === undefined || Predicate.isRecord(result.structuredContent)
            ? Effect.succeed(result)
            : forLegacy(result)
        }
      })
    }
    return Effect.matchCauseEffect(run, {
      onFailure,
      onSuccess: (value) => {
        const encoded = encodeOutput(value)
        if (Either.isLeft(encoded)) {
          return Effect.logError(`Tool "${name}" returned a value that does not match its output schema`).pipe(
            Effect.annotateLogs({ issues: ParseResult.TreeFormatter.formatErrorSync(encoded.left) }),
            Effect.zipRight(
              Effect.fail(new InternalError({ message: `Tool "${name}" produced output that fails its output schema` }))
            )
          )
        }
        return Effect.succeed({
          content: [{ type: "text", text: JSON.stringify(encoded.right) }],
          structuredContent: encoded.right
        })
      }
    })
  }

  return {
    name,
    definition: definitionOf(options, inputSchema, outputSchema),
    structuredIsObject: outputSchema === undefined || outputSchema.type === "object",
    call,
    ...(options.scopes !== undefined && options.scopes.length > 0 ? { scopes: options.scopes } : {})
  }
}
