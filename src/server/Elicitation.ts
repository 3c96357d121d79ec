/**
 * Asking the user with a Schema: `elicitWith(message, schema)` derives the form (`requestedSchema`) from the Schema's
 * encoded side and decodes the answer. Re-exported by McpContext.
 *
 * @since 0.1.0
 */
import { Data, Effect, Either, JSONSchema, ParseResult, Predicate, Schema } from "effect"
import type { JsonObject } from "../protocol/McpSchema.js"
import type { AskError, ElicitResult } from "./McpContextService.js"
import { McpContext } from "./McpContextService.js"

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
      Effect.flatMap(McpContext, (context) =>
        context.ask("elicitation/create", {
          message,
          requestedSchema: form,
          ...(options?._meta !== undefined ? { _meta: options._meta } : {})
        }) as Effect.Effect<ElicitResult, AskError>),
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
