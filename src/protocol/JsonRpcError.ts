/**
 * JSON-RPC 2.0 errors as MCP uses them: the error codes, one tagged error class per code, the wire error object and
 * the conversions between them.
 *
 * Re-exported by `JsonRpc.ts`, which is where the rest of the code imports them from.
 *
 * @since 0.1.0
 */
import { ParseResult, Schema } from "effect"

/**
 * @since 0.1.0
 * @category models
 */
export interface ErrorObject {
  readonly code: number
  readonly message: string
  readonly data?: unknown
}

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
