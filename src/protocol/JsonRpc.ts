/**
 * JSON-RPC 2.0 as MCP uses it: envelopes, ids, error codes, batch rules, encode and decode.
 *
 * Decoding happens in two steps: `decode` checks only the envelope (what kind of message, its id and method);
 * the method's params are decoded later by the dispatcher with a decoder compiled once per method.
 *
 * @since 0.1.0
 */
import { Either, ParseResult, Predicate, Schema } from "effect"

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
export interface ErrorObject {
  readonly code: number
  readonly message: string
  readonly data?: unknown
}

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
// Error codes and errors
// ---------------------------------------------------------------------------------------------------------------------

/**
 * @since 0.1.0
 * @category error codes
 */
export const PARSE_ERROR = -32700
/**
 * @since 0.1.0
 * @category error codes
 */
export const INVALID_REQUEST = -32600
/**
 * @since 0.1.0
 * @category error codes
 */
export const METHOD_NOT_FOUND = -32601
/**
 * @since 0.1.0
 * @category error codes
 */
export const INVALID_PARAMS = -32602
/**
 * @since 0.1.0
 * @category error codes
 */
export const INTERNAL_ERROR = -32603
/**
 * Implementation-defined server error: busy, shutting down (HTTP sends it with 503).
 *
 * @since 0.1.0
 * @category error codes
 */
export const SERVER_ERROR = -32000
/**
 * The SDK's code for a request that timed out (legacy implementation-defined range).
 *
 * @since 0.1.0
 */
export const REQUEST_TIMEOUT = -32001
/**
 * Legacy only (2025-11-25 and earlier); modern servers use -32602.
 *
 * @since 0.1.0
 */
export const RESOURCE_NOT_FOUND = -32002
/**
 * @since 0.1.0
 * @category error codes
 */
export const HEADER_MISMATCH = -32020
/**
 * @since 0.1.0
 * @category error codes
 */
export const MISSING_REQUIRED_CLIENT_CAPABILITY = -32021
/**
 * @since 0.1.0
 * @category error codes
 */
export const UNSUPPORTED_PROTOCOL_VERSION = -32022
/**
 * 2025-11-25: the request needs the user to complete a URL-mode elicitation first.
 *
 * @since 0.1.0
 * @category codes
 */
export const URL_ELICITATION_REQUIRED = -32042

const errorFields = { message: Schema.String, data: Schema.optional(Schema.Unknown) }

/**
 * @since 0.1.0
 * @category errors
 */
export class ParseError extends Schema.TaggedError<ParseError>("effect-mcp-server/JsonRpc/ParseError")(
  "ParseError",
  errorFields
) {
  get code(): number {
    return PARSE_ERROR
  }
}

/**
 * @since 0.1.0
 * @category errors
 */
export class InvalidRequest extends Schema.TaggedError<InvalidRequest>("effect-mcp-server/JsonRpc/InvalidRequest")(
  "InvalidRequest",
  errorFields
) {
  get code(): number {
    return INVALID_REQUEST
  }
}

/**
 * @since 0.1.0
 * @category errors
 */
export class MethodNotFound extends Schema.TaggedError<MethodNotFound>("effect-mcp-server/JsonRpc/MethodNotFound")(
  "MethodNotFound",
  errorFields
) {
  get code(): number {
    return METHOD_NOT_FOUND
  }
}

/**
 * @since 0.1.0
 * @category errors
 */
export class InvalidParams extends Schema.TaggedError<InvalidParams>("effect-mcp-server/JsonRpc/InvalidParams")(
  "InvalidParams",
  errorFields
) {
  get code(): number {
    return INVALID_PARAMS
  }
}

/**
 * @since 0.1.0
 * @category errors
 */
export class InternalError extends Schema.TaggedError<InternalError>("effect-mcp-server/JsonRpc/InternalError")(
  "InternalError",
  errorFields
) {
  get code(): number {
    return INTERNAL_ERROR
  }
}

/**
 * -32000: the server cannot take or finish the request now (busy, shutting down); the client may retry.
 *
 * @since 0.1.0
 * @category errors
 */
export class ServerError extends Schema.TaggedError<ServerError>("effect-mcp-server/JsonRpc/ServerError")(
  "ServerError",
  errorFields
) {
  get code(): number {
    return SERVER_ERROR
  }
}

/**
 * @since 0.1.0
 * @category errors
 */
export class RequestTimeout extends Schema.TaggedError<RequestTimeout>("effect-mcp-server/JsonRpc/RequestTimeout")(
  "RequestTimeout",
  errorFields
) {
  get code(): number {
    return REQUEST_TIMEOUT
  }
}

/**
 * @since 0.1.0
 * @category errors
 */
export class ResourceNotFound extends Schema.TaggedError<ResourceNotFound>(
  "effect-mcp-server/JsonRpc/ResourceNotFound"
)("ResourceNotFound", { ...errorFields, uri: Schema.String }) {
  get code(): number {
    return RESOURCE_NOT_FOUND
  }
}

/**
 * @since 0.1.0
 * @category errors
 */
export class HeaderMismatch extends Schema.TaggedError<HeaderMismatch>("effect-mcp-server/JsonRpc/HeaderMismatch")(
  "HeaderMismatch",
  errorFields
) {
  get code(): number {
    return HEADER_MISMATCH
  }
}

/**
 * @since 0.1.0
 * @category errors
 */
export class MissingRequiredClientCapability extends Schema.TaggedError<MissingRequiredClientCapability>(
  "effect-mcp-server/JsonRpc/MissingRequiredClientCapability"
)("MissingRequiredClientCapability", errorFields) {
  get code(): number {
    return MISSING_REQUIRED_CLIENT_CAPABILITY
  }
}

/**
 * @since 0.1.0
 * @category errors
 */
export class UnsupportedProtocolVersion extends Schema.TaggedError<UnsupportedProtocolVersion>(
  "effect-mcp-server/JsonRpc/UnsupportedProtocolVersion"
)("UnsupportedProtocolVersion", errorFields) {
  get code(): number {
    return UNSUPPORTED_PROTOCOL_VERSION
  }
}

/**
 * 2025-11-25: the request cannot go on until the user completes the URL-mode elicitations in `data.elicitations`
 * (each `{ mode: "url", elicitationId, url, message }`).
 *
 * @since 0.1.0
 * @category errors
 */
export class UrlElicitationRequired extends Schema.TaggedError<UrlElicitationRequired>(
  "effect-mcp-server/JsonRpc/UrlElicitationRequired"
)("UrlElicitationRequired", errorFields) {
  get code(): number {
    return URL_ELICITATION_REQUIRED
  }
}

/**
 * Every error that crosses the wire as a JSON-RPC error object.
 *
 * @since 0.1.0
 * @category errors
 */
export type JsonRpcError =
  | ParseError
  | InvalidRequest
  | MethodNotFound
  | InvalidParams
  | InternalError
  | ServerError
  | RequestTimeout
  | ResourceNotFound
  | HeaderMismatch
  | MissingRequiredClientCapability
  | UnsupportedProtocolVersion
  | UrlElicitationRequired

/**
 * @since 0.1.0
 * @category errors
 */
export const toErrorObject = (error: JsonRpcError): ErrorObject =>
  error.data === undefined
    ? { code: error.code, message: error.message }
    : { code: error.code, message: error.message, data: error.data }

/**
 * Turns a Schema parse failure into -32602 that says which field and why, without internals.
 *
 * @since 0.1.0
 * @category errors
 */
export const invalidParams = (error: ParseResult.ParseError, prefix = "Invalid params"): InvalidParams => {
  const issues = ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) => ({
    path: issue.path.map(String).join("."),
    message: issue.message
  }))
  const summary = issues.map((issue) => (issue.path === "" ? issue.message : `${issue.path}: ${issue.message}`))
  return new InvalidParams({ message: `${prefix}: ${summary.join("; ")}`, data: { issues } })
}

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

const errorClasses = [
  ParseError,
  InvalidRequest,
  MethodNotFound,
  InvalidParams,
  InternalError,
  ServerError,
  RequestTimeout,
  ResourceNotFound,
  HeaderMismatch,
  MissingRequiredClientCapability,
  UnsupportedProtocolVersion,
  UrlElicitationRequired
] as const

/**
 * @since 0.1.0
 * @category guards
 */
export const isJsonRpcError = (u: unknown): u is JsonRpcError => errorClasses.some((klass) => u instanceof klass)
