/**
 * Prompts declared with `effect/Schema`: the arguments struct becomes the prompt's argument list (required unless
 * optional, described by the field's description annotation), with completions per argument.
 *
 * @since 0.1.0
 */
import type { Context } from "effect"
import { Cause, Effect, Either, Option, Schema, SchemaAST } from "effect"
import type { JsonRpcError } from "../protocol/JsonRpc.js"
import { InternalError, invalidParams, isJsonRpcError } from "../protocol/JsonRpc.js"
import type {
  GetPromptResult,
  Icon,
  JsonObject,
  PromptArgument,
  PromptDefinition,
  PromptMessage
} from "../protocol/McpSchema.js"
import { failureMessage, type McpContext, prettyCause } from "./McpContext.js"
import type { Completer } from "./Resource.js"

/**
 * What a prompt returns: one user message of text, messages, or a whole result.
 *
 * @since 0.1.0
 * @category models
 */
export type PromptOutput = string | ReadonlyArray<PromptMessage> | GetPromptResult

/**
 * @since 0.1.0
 * @category models
 */
export interface Prompt<R = never> {
  readonly definition: PromptDefinition
  readonly get: (
    args: Readonly<Record<string, string>> | undefined
  ) => Effect.Effect<GetPromptResult, JsonRpcError, R | McpContext>
  readonly completions: Readonly<Record<string, Completer<R>>>
  /** The OAuth scopes a `prompts/get` needs (see `Tool.ToolOptions.scopes`). */
  readonly scopes?: ReadonlyArray<string> | undefined
  /** The services its handler needs, captured by `McpServer` registration (provided with the request's `McpContext`). */
  readonly context?: Context.Context<never>
}

const argumentsOf = (schema: Schema.Schema.AnyNoContext): ReadonlyArray<PromptArgument> => {
  const ast = SchemaAST.encodedAST(schema.ast)
  if (!SchemaAST.isTypeLiteral(ast)) return []
  const typeAst = schema.ast
  const described = new Map<string, string>()
  if (SchemaAST.isTypeLiteral(typeAst)) {
    for (const ps of typeAst.propertySignatures) {
      const description = SchemaAST.getDescriptionAnnotation(ps).pipe((o) => o._tag === "Some" ? o.value : undefined) ??
        SchemaAST.getDescriptionAnnotation(ps.type).pipe((o) => o._tag === "Some" ? o.value : undefined)
      if (description !== undefined) described.set(String(ps.name), description)
    }
  }
  return ast.propertySignatures.map((ps) => {
    const name = String(ps.name)
    const description = described.get(name)
    return {
      name,
      ...(description !== undefined ? { description } : {}),
      required: !ps.isOptional
    }
  })
}

/**
 * Declares a prompt.
 *
 * How it fails, as the client sees it: arguments that do not decode are -32602 naming each field; a JSON-RPC error
 * from `content` is that error; any other typed failure is -32603 with the error's `message`, else its `_tag`, else
 * a generic text (the whole cause is logged, a warning); a defect is -32603 "Internal error", logged by the engine.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <
  P extends Schema.Schema.AnyNoContext,
  E,
  R,
  RC = never
>(options: {
  readonly name: string
  readonly title?: string
  readonly description?: string
  readonly icons?: ReadonlyArray<Icon>
  readonly _meta?: JsonObject
  readonly arguments?: P
  readonly completions?: { readonly [K in keyof Schema.Schema.Encoded<P>]?: Completer<RC> }
  readonly content: (args: Schema.Schema.Type<P>) => Effect.Effect<PromptOutput, E, R>
  /**
   * OAuth scopes a caller's token must carry to use it, when the server requires authorization (HTTP with
   * `--auth-issuer`): without them, 403 `insufficient_scope` over Streamable HTTP, a -32000 error naming the
   * missing scopes in `data` over a connection. Ignored without authorization (stdio, anonymous HTTP).
   */
  readonly scopes?: ReadonlyArray<string> | undefined
}): Prompt<Exclude<R | RC, McpContext>> => {
  const name = options.name
  const decode = options.arguments === undefined ? undefined : Schema.decodeUnknownEither(options.arguments)
  const args = options.arguments === undefined ? [] : argumentsOf(options.arguments)
  const definition: PromptDefinition = {
    name: options.name,
    ...(options.title !== undefined ? { title: options.title } : {}),
    ...(options.description !== undefined ? { description: options.description } : {}),
    ...(args.length > 0 ? { arguments: args } : {}),
    ...(options.icons !== undefined ? { icons: options.icons } : {}),
    ...(options._meta !== undefined ? { _meta: options._meta } : {})
  }
  return {
    definition,
    ...(options.scopes !== undefined && options.scopes.length > 0 ? { scopes: options.scopes } : {}),
    completions: (options.completions ?? {}) as Readonly<Record<string, Completer<Exclude<R | RC, McpContext>>>>,
    get: (raw) => {
      let params: unknown = raw ?? {}
      if (decode !== undefined) {
        const decoded = decode(params, { errors: "all" })
        if (Either.isLeft(decoded)) {
          return Effect.fail(invalidParams(decoded.left, `Invalid arguments for prompt "${options.name}"`))
        }
        params = decoded.right
      }
      return Effect.matchCauseEffect(options.content(params as Schema.Schema.Type<P>), {
        onFailure: (cause) => {
          const failure = Cause.failureOption(cause)
          if (Option.isNone(failure) || isJsonRpcError(failure.value)) {
            return Effect.failCause(cause as Cause.Cause<JsonRpcError>)
          }
          const error = new InternalError({ message: failureMessage(failure.value, `Prompt "${name}" failed`) })
          return Effect.zipRight(
            Effect.logWarning("Prompt failed").pipe(Effect.annotateLogs({ prompt: name, cause: prettyCause(cause) })),
            Effect.failCause(Cause.map(cause, (e): JsonRpcError => (isJsonRpcError(e) ? e : error)))
          )
        },
        onSuccess: (output) => {
          if (typeof output === "string") {
            return Effect.succeed<GetPromptResult>({
              messages: [{ role: "user", content: { type: "text", text: output } }]
            })
          }
          if (Array.isArray(output)) {
            return Effect.succeed<GetPromptResult>({ messages: output as ReadonlyArray<PromptMessage> })
          }
          return Effect.succeed(output as GetPromptResult)
        }
      }) as Effect.Effect<GetPromptResult, JsonRpcError, Exclude<R | RC, McpContext> | McpContext>
    }
  }
}
