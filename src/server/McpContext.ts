/**
 * What a handler may know and do about the request it serves: report progress, log to the client, read the client's
 * What a handler may know and do about the request it serves: report progress, log to the client, read the client's
 * declared capabilities, ask the client (sampling, elicitation, raw or with a Schema: `elicitWith`, roots), and how
 * its typed failures are described to the client (`failureMessage`). Handlers never see the transport: the same tool
 * runs over stdio, HTTP, SSE and WebSocket, in either era.
 *
 * @since 0.1.0
 */
import { Cause, Context, Data, Effect, Either, JSONSchema, ParseResult, Predicate, Schema } from "effect"
import type { RequestId } from "../protocol/JsonRpc.js"
import { MissingRequiredClientCapability } from "../protocol/JsonRpc.js"
import type { ClientCapabilities, Implementation, JsonObject, LoggingLevel } from "../protocol/McpSchema.js"
import type { Era } from "../protocol/ProtocolVersion.js"
import type { ClientError } from "./ClientRequests.js"
import type { Peer } from "./Peer.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface ProgressOptions {
  readonly total?: number
  readonly message?: string
}

/**
 * `sampling/createMessage` params (`tools`/`toolChoice` need the client's `sampling.tools`).
 *
 * @since 0.1.0
 * @category models
 */
export interface CreateMessageParams {
  readonly messages: ReadonlyArray<{ readonly role: "user" | "assistant"; readonly content: unknown }>
  readonly maxTokens: number
  readonly systemPrompt?: string
  readonly modelPreferences?: Record<string, unknown>
  readonly includeContext?: "none" | "thisServer" | "allServers"
  readonly temperature?: number
  readonly stopSequences?: ReadonlyArray<string>
  readonly metadata?: Record<string, unknown>
  readonly tools?: ReadonlyArray<Record<string, unknown>>
  readonly toolChoice?: { readonly mode: "auto" | "required" | "none" }
  readonly [key: string]: unknown
}

/**
 * A content block of a sampling result (text, image, audio, tool use...).
 *
 * @since 0.1.0
 * @category models
 */
export interface SamplingContent {
  readonly type: string
  readonly text?: string
  readonly [key: string]: unknown
}

/**
 * @since 0.1.0
 * @category models
 */
export interface CreateMessageResult {
  readonly role: "user" | "assistant"
  readonly content: SamplingContent | ReadonlyArray<SamplingContent>
  readonly model: string
  readonly stopReason?: string
  readonly [key: string]: unknown
}

/**
 * `elicitation/create` params: form mode (a flat `requestedSchema`) or URL mode (2025-11-25+: `url` and
 * `elicitationId`).
 *
 * @since 0.1.0
 * @category models
 */
export type ElicitParams =
  | {
    readonly mode?: "form"
    readonly message: string
    readonly requestedSchema: Record<string, unknown>
    readonly [key: string]: unknown
  }
  | {
    readonly mode: "url"
    readonly message: string
    readonly url: string
    readonly elicitationId: string
    readonly [key: string]: unknown
  }

/**
 * @since 0.1.0
 * @category models
 */
export interface ElicitResult {
  readonly action: "accept" | "decline" | "cancel"
  readonly content?: Record<string, unknown>
  readonly [key: string]: unknown
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ListRootsResult {
  readonly roots: ReadonlyArray<{ readonly uri: string; readonly name?: string; readonly [key: string]: unknown }>
  readonly [key: string]: unknown
}

/**
 * What asking the client can fail with.
 *
 * @since 0.1.0
 * @category models
 */
export type AskError = ClientError | MissingRequiredClientCapability

/**
 * The per-request service a handler can `yield*`.
 *
 * @since 0.1.0
 * @category tags
 */
export class McpContext extends Context.Tag("effect-mcp-server/McpContext")<McpContext, {
  readonly requestId: RequestId
  readonly method: string
  readonly era: Era
  readonly protocolVersion: string
  readonly clientInfo: Implementation | undefined
  readonly clientCapabilities: ClientCapabilities
  /**
   * Sends `notifications/progress` when the request carried a progress token. Values must increase; a value that
   * does not is skipped. Nothing is sent once the response has gone out.
   */
  readonly progress: (progress: number, options?: ProgressOptions) => Effect.Effect<void>
  /**
   * Sends `notifications/message` when the client asked for this level (legacy: `logging/setLevel`; modern: the
   * request's `_meta` logLevel, without which nothing is sent).
   */
  readonly log: (level: LoggingLevel, data: unknown, logger?: string) => Effect.Effect<void>
  /**
   * Asks the client a question (`sampling/createMessage`, `elicitation/create`, `roots/list`). Legacy: a request
   * to the client on this request's stream, answered in time or failed with `ClientError`. Modern: the answer
   * from this round's `inputResponses`, or the round ends with `input_required` and the handler runs again when
   * the client retries. Fails with -32021 when the client did not declare the capability the question needs.
   */
  readonly ask: (
    method: "sampling/createMessage" | "elicitation/create" | "roots/list",
    params: Record<string, unknown>
  ) => Effect.Effect<unknown, AskError>
  /**
   * SEP-1699 (legacy Streamable HTTP, 2025-11-25): closes the HTTP response that carries this request's SSE
   * stream while the request goes on; the client reconnects with `Last-Event-ID` and gets the rest, answer
   * included. A no-op where the stream cannot be resumed (other transports and versions).
   */
  readonly closeStream: Effect.Effect<void>
  /** Legacy 2025-11-25: tells the client a URL-mode elicitation finished (`notifications/elicitation/complete`). */
  readonly elicitationComplete: (elicitationId: string) => Effect.Effect<void>
  /** Who is asking: the transport, the legacy session, the principal (with authorization), the remote address. */
  readonly peer: Peer
}>() {}

/**
 * Who is asking (see Peer).
 *
 * @since 0.1.0
 * @category accessors
 */
export const peer: Effect.Effect<Peer, never, McpContext> = Effect.map(McpContext, (mcp) => mcp.peer)

/**
 * Reports progress for the current request.
 *
 * @since 0.1.0
 * @category accessors
 */
export const progress = (value: number, options?: ProgressOptions): Effect.Effect<void, never, McpContext> =>
  Effect.flatMap(McpContext, (context) => context.progress(value, options))

/**
 * Logs a message to the client for the current request.
 *
 * @since 0.1.0
 * @category accessors
 */
export const log = (level: LoggingLevel, data: unknown, logger?: string): Effect.Effect<void, never, McpContext> =>
  Effect.flatMap(McpContext, (context) => context.log(level, data, logger))

/**
 * Fails with -32021 unless the client declared the capability (e.g. `"elicitation"`, `"sampling"`, `"roots"`).
 * A handler that needs a client feature calls this first, so the client learns what it must declare.
 *
 * @since 0.1.0
 * @category accessors
 */
export const requireClientCapability = (
  capability: string
): Effect.Effect<void, MissingRequiredClientCapability, McpContext> =>
  Effect.flatMap(McpContext, (context) =>
    context.clientCapabilities[capability] !== undefined
      ? Effect.void
      : new MissingRequiredClientCapability({
        message: `Missing required client capability: ${capability}`,
        data: { requiredCapabilities: { [capability]: {} } }
      }))

/**
 * The text of a sampling result (its text blocks joined; other blocks as JSON).
 *
 * @since 0.1.0
 * @category accessors
 */
export const sampledText = (result: CreateMessageResult): string => {
  const blocks = Array.isArray(result.content) ? result.content : [result.content as SamplingContent]
  return blocks.map((
    block
  ) => (block.type === "text" && typeof block.text === "string" ? block.text : JSON.stringify(block))).join("")
}

/**
 * Asks the client's LLM for a completion (`sampling/createMessage`).
 *
 * @since 0.1.0
 * @category accessors
 */
export const sample = (params: CreateMessageParams): Effect.Effect<CreateMessageResult, AskError, McpContext> =>
  Effect.flatMap(
    McpContext,
    (context) => context.ask("sampling/createMessage", params) as Effect.Effect<CreateMessageResult, AskError>
  )

/**
 * Asks the user for input (`elicitation/create`), in form or URL mode.
 *
 * @since 0.1.0
 * @category accessors
 */
export const elicit = (params: ElicitParams): Effect.Effect<ElicitResult, AskError, McpContext> =>
  Effect.flatMap(
    McpContext,
    (context) => context.ask("elicitation/create", params) as Effect.Effect<ElicitResult, AskError>
  )

/**
 * Asks the client for its roots (`roots/list`). Legacy sessions cache the answer until the client sends
 * `notifications/roots/list_changed`.
 *
 * @since 0.1.0
 * @category accessors
 */
export const listRoots: Effect.Effect<ListRootsResult, AskError, McpContext> = Effect.flatMap(
  McpContext,
  (context) => context.ask("roots/list", {}) as Effect.Effect<ListRootsResult, AskError>
)

/**
 * Closes this request's HTTP stream so the client polls for the rest (SEP-1699); see `McpContext.closeStream`.
 *
 * @since 0.1.0
 * @category accessors
 */
export const closeStream: Effect.Effect<void, never, McpContext> = Effect.flatMap(McpContext, (c) => c.closeStream)

/**
 * Tells the client that a URL-mode elicitation completed (2025-11-25 sessions; elsewhere a no-op).
 *
 * @since 0.1.0
 * @category accessors
 */
export const elicitationComplete = (elicitationId: string): Effect.Effect<void, never, McpContext> =>
  Effect.flatMap(McpContext, (context) => context.elicitationComplete(elicitationId))

// ---------------------------------------------------------------------------------------------------------------------
// Elicitation with a Schema
// ---------------------------------------------------------------------------------------------------------------------

/**
 * The answer to `elicitWith`: the decoded content when the user accepted, else what they did.
 *
 * @since 0.1.0
 * @category models
 */
export type Elicited<A> =
  | { readonly action: "accept"; readonly content: A }
  | { readonly action: "decline" }
  | { readonly action: "cancel" }

/**
 * The client's answer to `elicitWith` is not one the Schema accepts (or not an elicitation result at all).
 * `issues` names each field at fault; `content` is what the client sent. Unhandled in a tool, it becomes that
 * tool's `isError` result with this message.
 *
 * @since 0.1.0
 * @category errors
 */
export class ElicitationDecodeError extends Data.TaggedError("effect-mcp-server/ElicitationDecodeError")<{
  readonly message: string
  readonly issues: ReadonlyArray<{ readonly path: string; readonly message: string }>
  readonly content: unknown
}> {}

/** What form mode allows for one field (MCP 2025-11-25 `PrimitiveSchemaDefinition`), keyword by keyword. */
const KEEP: Readonly<Record<string, ReadonlyArray<string>>> = {
  string: ["type", "title", "description", "minLength", "maxLength", "format", "enum", "enumNames", "oneOf", "default"],
  number: ["type", "title", "description", "minimum", "maximum", "default"],
  integer: ["type", "title", "description", "minimum", "maximum", "default"],
  boolean: ["type", "title", "description", "default"],
  array: ["type", "title", "description", "minItems", "maxItems", "items", "default"]
}

const FORMATS = new Set(["email", "uri", "date", "date-time"])

/**
 * Effect's own titles (`int`, `nonEmptyString`, `between(1, 120)`) name the check, not the field, and a client shows
 * a title as the field's label: they are left out, so the client labels the field with its key.
 */
const isBuiltInTitle = (title: unknown): boolean =>
  typeof title === "string" && /^[a-z][A-Za-z0-9]*(\(.*\))?$/.test(title)

const resolveRef = (
  node: Record<string, unknown>,
  defs: Record<string, unknown>,
  depth = 0
): Record<string, unknown> => {
  const ref = node.$ref
  if (typeof ref !== "string") return node
  const target = ref.startsWith("#/$defs/") ? defs[ref.slice("#/$defs/".length)] : undefined
  if (!Predicate.isRecord(target) || depth > 16) return node
  const { $ref: _ref, ...rest } = node
  return resolveRef({ ...target, ...rest }, defs, depth + 1)
}

const describeField = (key: string, node: Record<string, unknown>): string => `field "${key}" (${JSON.stringify(node)})`

const fieldSchema = (key: string, raw: Record<string, unknown>, defs: Record<string, unknown>): JsonObject => {
  const node = resolveRef(raw, defs)
  const type = node.type
  const keep = typeof type === "string" ? KEEP[type] : undefined
  if (keep === undefined) {
    throw new Error(
      `McpContext.requestedSchema: ${
        describeField(key, node)
      } is not a string, number, integer, boolean or string-enum array; form-mode elicitation asks only for those (no unions, nulls, nested objects)`
    )
  }
  const out: Record<string, unknown> = {}
  for (const name of keep) {
    const value = node[name]
    if (value === undefined) continue
    if (name === "title" && isBuiltInTitle(value)) continue
    if (name === "format" && !FORMATS.has(value as string)) continue
    out[name] = value
  }
  if (type === "string" && Array.isArray(out.enum) && !out.enum.every((v) => typeof v === "string")) {
    throw new Error(`McpContext.requestedSchema: ${describeField(key, node)}: enum values must be strings`)
  }
  if ((type === "number" || type === "integer") && node.enum !== undefined) {
    throw new Error(
      `McpContext.requestedSchema: ${
        describeField(key, node)
      }: enum values must be strings (a number literal cannot be asked for)`
    )
  }
  if (type === "array") {
    const items = Predicate.isRecord(node.items) ? resolveRef(node.items, defs) : undefined
    if (
      items === undefined || items.type !== "string" || !Array.isArray(items.enum) ||
      !items.enum.every((v) => typeof v === "string")
    ) {
      throw new Error(
        `McpContext.requestedSchema: ${
          describeField(key, node)
        }: an array may only be a multi-select of string literals (e.g. Schema.Array(Schema.Literal("a", "b")))`
      )
    }
    out.items = { type: "string", enum: items.enum }
  }
  return out as JsonObject
}

const requestedSchemas = new WeakMap<object, JsonObject | Error>()

/**
 * The `requestedSchema` of a form-mode elicitation for a Schema: the encoded side of a struct whose fields are
 * strings (with `minLength`/`maxLength`, a `format` of email, uri, date or date-time given with the `jsonSchema`
 * annotation, literals as an `enum`), numbers or integers (`minimum`/`maximum`), booleans, or (2025-11-25 clients)
 * an array of string literals as a multi-select. Titles, descriptions and defaults come from the annotations (a
 * title written like an identifier, as Effect's own `int` or `maxLength(5)` are, is left out: the client labels the
 * field with its key); other checks are not listed but still applied when the answer is decoded. Anything else (a union, `null`, a nested
 * object, a record, a number enum) throws an Error naming the field, as the spec allows only a flat object of
 * primitives.
 *
 * @since 0.1.0
 * @category elicitation
 */
export const requestedSchema = (schema: Schema.Schema.AnyNoContext): JsonObject => {
  const known = requestedSchemas.get(schema)
  if (known instanceof Error) throw known
  if (known !== undefined) return known
  let result: JsonObject | Error
  try {
    const root = JSONSchema.make(schema, { target: "jsonSchema2020-12" }) as unknown as Record<string, unknown>
    const defs = Predicate.isRecord(root.$defs) ? root.$defs : {}
    const object = resolveRef(root, defs)
    if (object.type !== "object" || !Predicate.isRecord(object.properties) || object.patternProperties !== undefined) {
      throw new Error(
        `McpContext.requestedSchema: the schema must be a struct of primitive fields (got ${JSON.stringify(object)})`
      )
    }
    if (Predicate.isRecord(object.additionalProperties)) {
      throw new Error("McpContext.requestedSchema: the schema must be a struct without index signatures (records)")
    }
    const properties: Record<string, JsonObject> = {}
    for (const [key, field] of Object.entries(object.properties)) {
      properties[key] = fieldSchema(key, Predicate.isRecord(field) ? field : {}, defs)
    }
    const required = Array.isArray(object.required) ? object.required as ReadonlyArray<string> : []
    result = { type: "object", properties, ...(required.length > 0 ? { required } : {}) } as JsonObject
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    result = message.startsWith("McpContext.requestedSchema")
      ? error as Error
      : new Error(`McpContext.requestedSchema: the schema has no JSON Schema to ask with: ${message}`)
  }
  requestedSchemas.set(schema, result)
  if (result instanceof Error) throw result
  return result
}

const ElicitAnswer = Schema.Struct({
  action: Schema.Literal("accept", "decline", "cancel"),
  content: Schema.optional(Schema.Unknown)
})
const decodeAnswer = Schema.decodeUnknownEither(ElicitAnswer)

const issuesOf = (error: ParseResult.ParseError) =>
  ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) => ({
    path: issue.path.map(String).join("."),
    message: issue.message
  }))

const invalidAnswer = (what: string, error: ParseResult.ParseError, content: unknown) => {
  const issues = issuesOf(error)
  return new ElicitationDecodeError({
    message: `${what}: ${issues.map((i) => (i.path === "" ? i.message : `${i.path}: ${i.message}`)).join("; ")}`,
    issues,
    content
  })
}

/**
 * Asks the user to fill in a form described by a Schema (`elicitation/create` in form mode) and decodes the answer.
 * `requestedSchema` is derived from the Schema's encoded side (see `requestedSchema`); an accepted answer is
 * decoded with it (unknown fields ignored), a `decline` or `cancel` is a value. A schema that cannot be asked for
 * is a defect (a programming error, found the first time the handler asks). In the modern era the question ends
 * the round with `input_required`, and the handler runs again with the answer, as with `elicit`.
 *
 * ```ts
 * const answer = yield* McpContext.elicitWith("Who should we greet?", Schema.Struct({
 *   name: Schema.String.annotations({ title: "Name" }),
 *   formal: Schema.optional(Schema.Boolean)
 * }))
 * if (answer.action !== "accept") return "Nobody to greet"
 * return `Hello, ${answer.content.name}`
 * ```
 *
 * @since 0.1.0
 * @category accessors
 */
export const elicitWith = <A, I extends Record<string, unknown>>(
  message: string,
  schema: Schema.Schema<A, I, never>,
  options?: { readonly _meta?: JsonObject }
): Effect.Effect<Elicited<A>, AskError | ElicitationDecodeError, McpContext> =>
  Effect.suspend(() => {
    const form = requestedSchema(schema)
    const decode = Schema.decodeUnknownEither(schema)
    return Effect.flatMap(
      elicit({ message, requestedSchema: form, ...(options?._meta !== undefined ? { _meta: options._meta } : {}) }),
      (raw): Effect.Effect<Elicited<A>, ElicitationDecodeError> => {
        const answer = decodeAnswer(raw)
        if (Either.isLeft(answer)) {
          return Effect.fail(invalidAnswer("The client's elicitation result is invalid", answer.left, raw))
        }
        const { action, content } = answer.right
        if (action !== "accept") return Effect.succeed({ action })
        const decoded = decode(content ?? {}, { errors: "all", onExcessProperty: "ignore" })
        return Either.isLeft(decoded)
          ? Effect.fail(invalidAnswer("The elicitation answer does not match its schema", decoded.left, content))
          : Effect.succeed({ action, content: decoded.right })
      }
    )
  })

// ---------------------------------------------------------------------------------------------------------------------
// Failures
// ---------------------------------------------------------------------------------------------------------------------

/**
 * Whether `error.message` is the one `Schema.TaggedError` makes up for a class without a `message` field (its fields
 * printed, without the tag): such an error has no message of its own. A `message` getter of the user's own class is
 * kept (it is defined on the user's subclass, not on the class `Schema.TaggedError` made).
 */
const isMadeUpMessage = (error: object): boolean => {
  if (Object.prototype.hasOwnProperty.call(error, "message")) return false
  let proto: object | null = Object.getPrototypeOf(error)
  while (proto !== null && !Object.prototype.hasOwnProperty.call(proto, "message")) proto = Object.getPrototypeOf(proto)
  const owner: unknown = proto?.constructor
  if (typeof owner !== "function" || !Object.prototype.hasOwnProperty.call(owner, "_tag")) return false
  const fields: unknown = (owner as { readonly fields?: unknown }).fields
  return Predicate.isRecord(fields) && !("message" in fields)
}

/**
 * A failure's own message: its `message` when that is a non-empty string (not the one `Schema.TaggedError` makes up
 * from the fields of a class that declares no `message`).
 *
 * @since 0.1.0
 * @category failures
 */
export const ownMessage = (error: unknown): string | undefined => {
  if (!Predicate.hasProperty(error, "message")) return undefined
  const message = error.message
  return typeof message === "string" && message !== "" && !isMadeUpMessage(error) ? message : undefined
}

/**
 * The text a client is shown for a handler's typed failure: the error itself when it is a non-empty string (a
 * number or boolean as text), else its own non-empty `message` (see `ownMessage`), else its `_tag`, else
 * `fallback`. Tools send it as the `isError` result's text; resources and prompts as the -32603 error's message.
 *
 * @since 0.1.0
 * @category failures
 */
export const failureMessage = (error: unknown, fallback: string): string => {
  if (typeof error === "string") return error !== "" ? error : fallback
  if (typeof error === "number" || typeof error === "boolean" || typeof error === "bigint") return String(error)
  try {
    const message = ownMessage(error)
    if (message !== undefined) return message
    if (Predicate.hasProperty(error, "_tag") && typeof error._tag === "string" && error._tag !== "") return error._tag
  } catch {
    // A getter or proxy that throws: nothing to say about it.
  }
  return fallback
}

/**
 * `Cause.pretty`, or a placeholder when printing the cause throws (a failure with a getter that throws): for logs,
 * which must not fail the request they describe.
 *
 * @since 0.1.0
 * @category failures
 */
export const prettyCause = (cause: Cause.Cause<unknown>): string => {
  try {
    return Cause.pretty(cause)
  } catch {
    return "(a cause that cannot be printed)"
  }
}
