/**
 * Tools declared with `effect/Schema`: the parameters schema becomes the JSON Schema 2020-12 `inputSchema`, an
 * optional success schema becomes `outputSchema`, and results carry validated `structuredContent` plus the JSON
 * text block older clients read.
 *
 * @since 0.1.0
 */
import type { Context } from "effect"
import { Effect, Either, JSONSchema, ParseResult, Predicate, Schema, SchemaAST } from "effect"
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
import type { McpContext } from "./McpContext.js"

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
  /** Whether `outputSchema` describes an object, which legacy versions require of `structuredContent`. */
  readonly structuredIsObject: boolean
  readonly call: (args: JsonObject | undefined) => Effect.Effect<CallToolResult, JsonRpcError, R | McpContext>
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
}

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

const errorText = (error: unknown): string => {
  if (Predicate.hasProperty(error, "message") && typeof error.message === "string" && error.message !== "") {
    return error.message
  }
  if (Predicate.hasProperty(error, "_tag") && typeof error._tag === "string") return error._tag
  return String(error)
}

/**
 * A typed failure of a tool handler becomes `isError: true` (the spec's tool error); a JSON-RPC error passes
 * through as a protocol error (e.g. -32021 from `McpContext.requireClientCapability`).
 */
const toToolError = <E>(error: E): Effect.Effect<CallToolResult, JsonRpcError> =>
  isJsonRpcError(error)
    ? Effect.fail(error)
    : Effect.succeed({ content: [{ type: "text", text: errorText(error) }], isError: true })

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
 * `ToolOutput`. A typed failure becomes an `isError: true` result; invalid arguments too (SEP-1303).
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
      return Effect.matchEffect(run, {
        onFailure: toToolError,
        onSuccess: (output) => Effect.succeed(toResult(output as ToolOutput))
      })
    }
    return Effect.matchEffect(run, {
      onFailure: toToolError,
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
    structuredIsObject: outputSchema?.type === "object",
    call
  }
}
