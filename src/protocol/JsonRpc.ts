/**
 * JSON-RPC 2.0 as MCP uses it: envelopes, ids, error codes, batch rules, encode and decode.
 *
 * Decoding happens in two steps: `decode` checks only the envelope (what kind of message, its id and method);
 * the method's params are decoded later by the dispatcher with a decoder compiled once per method.
 *
 * The error codes and error classes are in `JsonRpcError.ts`; this module re-exports them.
 *
 * @since 0.1.0
 */
import { Either, Predicate, Schema } from "effect"
import { type ErrorObject, InvalidRequest, type JsonRpcError, ParseError } from "./JsonRpcError.js"

export * from "./JsonRpcError.js"

/**
 * @since 0.1.0
 * @category models
 */
export type RequestId = string | number

/**
 * @since 0.1.0
 * @category schemas
 */
export const RequestId = Schema.Union(Schema.String, Schema.Number)

/**
 * @since 0.1.0
 * @category models
 */
export interface Request {
  readonly _tag: "Request"
  readonly id: RequestId
  readonly method: string
  readonly params: Record<string, unknown> | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Notification {
  readonly _tag: "Notification"
  readonly method: string
  readonly params: Record<string, unknown> | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Response {
  readonly _tag: "Response"
  readonly id: RequestId | null
  readonly result: unknown
  readonly error: ErrorObject | undefined
}

/**
 * A message whose envelope is invalid; `id` is the request's id when it could be read, else null.
 *
 * @since 0.1.0
 * @category models
 */
export interface Invalid {
  readonly _tag: "Invalid"
  readonly id: RequestId | null
  readonly error: JsonRpcError
}

/**
 * @since 0.1.0
 * @category models
 */
export type Incoming = Request | Notification | Response

// ---------------------------------------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------------------------------------

const isId = (value: unknown): value is RequestId =>
  typeof value === "string" || (typeof value === "number" && Number.isFinite(value))

const readableId = (value: unknown): RequestId | null => Predicate.isRecord(value) && isId(value.id) ? value.id : null

const invalid = (id: RequestId | null, message: string): Invalid => ({
  _tag: "Invalid",
  id,
  error: new InvalidRequest({ message })
})

const isErrorObject = (value: unknown): value is ErrorObject =>
  Predicate.isRecord(value) && Number.isInteger(value.code) && typeof value.message === "string"

/**
 * Checks one JSON value's envelope and says what kind of message it is. What is wrong is said by naming the field,
 * never by formatting the value: an untrusted value may be huge.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decode = (value: unknown): Incoming | Invalid => {
  if (!Predicate.isRecord(value)) {
    return invalid(null, "Invalid Request: a JSON-RPC message must be an object")
  }
  if (value.jsonrpc !== "2.0") return invalid(readableId(value), "Invalid Request: \"jsonrpc\" must be \"2.0\"")
  const id = value.id
  if (id !== undefined && id !== null && !isId(id)) {
    return invalid(null, "Invalid Request: \"id\" must be a string, a finite number or null")
  }
  const method = value.method
  if (method !== undefined) {
    if (typeof method !== "string") return invalid(id ?? null, "Invalid Request: \"method\" must be a string")
    const params = value.params
    if (params !== undefined && !(Predicate.isRecord(params) && !Array.isArray(params))) {
      return invalid(id ?? null, "Invalid Request: \"params\" must be an object")
    }
    if (id === undefined) return { _tag: "Notification", method, params }
    if (id === null) return invalid(null, "Invalid Request: a request id must be a string or a number, not null")
    return { _tag: "Request", id, method, params }
  }
  const error = value.error
  if (error !== undefined && !isErrorObject(error)) {
    return invalid(
      id ?? null,
      "Invalid Request: \"error\" must be an object with an integer \"code\" and a string \"message\""
    )
  }
  if (value.result !== undefined || error !== undefined) {
    if (id === undefined) return invalid(null, "Invalid Request: a response must carry an id")
    return {
      _tag: "Response",
      id,
      result: value.result,
      error: error === undefined
        ? undefined
        : error.data === undefined
        ? { code: error.code, message: error.message }
        : { code: error.code, message: error.message, data: error.data }
    }
  }
  return invalid(id ?? null, "Invalid Request: a message needs a \"method\", a \"result\" or an \"error\"")
}

/**
 * The deepest nesting of objects and arrays a message may have (the message itself is level 1). Deeper messages
 * are refused before anything looks inside them, so no recursive code (Schema, formatting, logging, handlers)
 * ever meets unbounded depth.
 *
 * @since 0.1.0
 * @category constants
 */
export const MAX_DEPTH = 128

// Recursion is bounded by `remaining`, so the check itself cannot overflow the stack.
const within = (value: unknown, remaining: number): boolean => {
  if (typeof value !== "object" || value === null) return true
  if (remaining === 0) return false
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!within(value[i], remaining - 1)) return false
    return true
  }
  for (const key in value) if (!within((value as Record<string, unknown>)[key], remaining - 1)) return false
  return true
}

/**
 * Whether a JSON value nests objects and arrays no deeper than `max` levels.
 *
 * @since 0.1.0
 * @category decoding
 */
export const withinDepth = (value: unknown, max: number = MAX_DEPTH): boolean => within(value, max)

/**
 * Parses one frame of text. Returns the parsed JSON, or the error to answer with: -32700 (id null) for text that
 * is not JSON, -32600 (with the request's id when it can be read) for JSON nested deeper than `MAX_DEPTH`.
 *
 * @since 0.1.0
 * @category decoding
 */
export const parse = (text: string): Either.Either<unknown, Invalid> => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return Either.left({
      _tag: "Invalid",
      id: null,
      error: new ParseError({ message: "Parse error: the message is not valid JSON" })
    })
  }
  if (within(json, MAX_DEPTH)) return Either.right(json)
  return Either.left({
    _tag: "Invalid",
    id: Array.isArray(json) ? null : readableId(json),
    error: new InvalidRequest({
      message: `Invalid Request: the message nests deeper than ${MAX_DEPTH} levels`,
      data: { maxDepth: MAX_DEPTH }
    })
  })
}

// ---------------------------------------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------------------------------------

/**
 * @since 0.1.0
 * @category encoding
 */
export const encodeResult = (id: RequestId, result: unknown): string =>
  `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":${JSON.stringify(result)}}`

/**
 * @since 0.1.0
 * @category encoding
 */
export const encodeError = (id: RequestId | null, error: ErrorObject): string =>
  `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"error":${JSON.stringify(error)}}`

/**
 * @since 0.1.0
 * @category encoding
 */
export const encodeRequest = (id: RequestId, method: string, params: unknown): string =>
  `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"method":${JSON.stringify(method)},"params":${JSON.stringify(params)}}`

/**
 * @since 0.1.0
 * @category encoding
 */
export const encodeNotification = (method: string, params: unknown): string =>
  params === undefined
    ? `{"jsonrpc":"2.0","method":${JSON.stringify(method)}}`
    : `{"jsonrpc":"2.0","method":${JSON.stringify(method)},"params":${JSON.stringify(params)}}`

/**
 * @since 0.1.0
 * @category encoding
 */
export const encodeBatch = (messages: ReadonlyArray<string>): string => `[${messages.join(",")}]`

/**
 * The key of a request id in a per-connection table: `1` and `"1"` are different ids.
 *
 * @since 0.1.0
 * @category models
 */
export const idKey = (id: RequestId): string => (typeof id === "number" ? `n${id}` : `s${id}`)
