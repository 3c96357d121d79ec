/**
 * What the engine knows of a request before its handler runs: its era and, for the modern era, what its `_meta`
 * says (version, client info and capabilities, log level, progress token). A message's `_meta` is read once
 * (`headOf`); a transport that had to read it first (HTTP routes by era) hands its `Head` to the engine, which
 * then does not read it again.
 *
 * @since 0.1.0
 */
import { Either, Predicate, Schema } from "effect"
import * as JsonRpc from "../protocol/JsonRpc.js"
import * as McpMethod from "../protocol/McpMethod.js"
import * as McpSchema from "../protocol/McpSchema.js"
import * as ProtocolVersion from "../protocol/ProtocolVersion.js"
import * as Session from "./Session.js"

/**
 * What the engine knows of a request when it runs its handler.
 *
 * @since 0.1.0
 * @category models
 */
export interface RequestContext {
  readonly era: ProtocolVersion.Era
  readonly protocolVersion: string
  readonly clientInfo: McpSchema.Implementation | undefined
  readonly clientCapabilities: McpSchema.ClientCapabilities
  /** Modern: the request's `_meta` logLevel (none: no log messages). Legacy: read from the session instead. */
  readonly logLevel: McpSchema.LoggingLevel | undefined
  readonly progressToken: McpSchema.ProgressToken | undefined
}

/**
 * A message's `_meta` as read once: the object (if `params._meta` is one) and the modern protocol version key's
 * value (undefined: not a modern message).
 *
 * @since 0.1.0
 * @category models
 */
export interface Head {
  readonly meta: Record<string, unknown> | undefined
  readonly version: unknown
}

const MODERN_PV = McpSchema.MODERN_META.protocolVersion
const none: Head = { meta: undefined, version: undefined }
const decodeModernMeta = Schema.decodeUnknownEither(McpSchema.ModernRequestMeta)
const noCapabilities: McpSchema.ClientCapabilities = {}

/**
 * Reads a message's `_meta` (any JSON value: a message that is not an object has none).
 *
 * @since 0.1.0
 * @category reading
 */
export const headOf = (json: unknown): Head => {
  if (!Predicate.isRecord(json)) return none
  const params = json.params
  if (!Predicate.isRecord(params)) return none
  const meta = params._meta
  return Predicate.isRecord(meta) ? { meta, version: meta[MODERN_PV] } : none
}

/**
 * A message is modern when its `_meta` carries the modern protocol version key.
 *
 * @since 0.1.0
 * @category reading
 */
export const isModern = (head: Head): boolean => head.version !== undefined

/**
 * The modern version a message names, when it names one as a string.
 *
 * @since 0.1.0
 * @category reading
 */
export const modernVersion = (head: Head): string | undefined =>
  typeof head.version === "string" ? head.version : undefined

/**
 * The context of a modern request, from its `_meta`: -32602 when `_meta` is missing or malformed, -32022 for a
 * version this server does not speak.
 *
 * @since 0.1.0
 * @category reading
 */
export const modern = (head: Head): Either.Either<RequestContext, JsonRpc.JsonRpcError> => {
  const meta = head.meta
  const version = head.version
  if (meta === undefined || version === undefined) {
    return Either.left(new JsonRpc.InvalidParams({ message: `Invalid params: _meta.${MODERN_PV} is required` }))
  }
  if (typeof version !== "string") {
    return Either.left(new JsonRpc.InvalidParams({ message: `Invalid params: _meta.${MODERN_PV} must be a string` }))
  }
  if (!ProtocolVersion.isModern(version)) {
    return Either.left(
      new JsonRpc.UnsupportedProtocolVersion({
        message: `Unsupported protocol version: ${version}`,
        data: { supported: ProtocolVersion.MODERN, requested: version }
      })
    )
  }
  const fast = McpMethod.plainModernMeta(meta)
  if (fast !== undefined) {
    return Either.right({
      era: "modern",
      protocolVersion: version,
      clientInfo: fast.clientInfo,
      clientCapabilities: fast.clientCapabilities,
      logLevel: fast.logLevel,
      progressToken: fast.progressToken
    })
  }
  const decoded = decodeModernMeta(meta, { errors: "all" })
  if (Either.isLeft(decoded)) return Either.left(JsonRpc.invalidParams(decoded.left, "Invalid params: _meta"))
  const m = decoded.right
  return Either.right({
    era: "modern",
    protocolVersion: version,
    clientInfo: m[McpSchema.MODERN_META.clientInfo],
    clientCapabilities: m[McpSchema.MODERN_META.clientCapabilities],
    logLevel: m[McpSchema.MODERN_META.logLevel],
    progressToken: m.progressToken
  })
}

/**
 * The context of a legacy request: what the session negotiated, and the progress token from `_meta`.
 *
 * @since 0.1.0
 * @category reading
 */
export const legacy = (session: Session.Session, head: Head): RequestContext => {
  const negotiated = session.negotiated
  const token = head.meta?.progressToken
  return {
    era: "legacy",
    protocolVersion: Session.protocolVersion(negotiated),
    clientInfo: negotiated?.clientInfo,
    clientCapabilities: negotiated?.clientCapabilities ?? noCapabilities,
    logLevel: undefined,
    progressToken: typeof token === "string" || typeof token === "number" ? token : undefined
  }
}
