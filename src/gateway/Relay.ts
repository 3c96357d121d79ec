/**
 * One upstream request for one front request: what the upstream sends about it while it runs reaches the front
 * request (progress, related log messages, questions to the client), and what comes back is made fit for the front
 * (the upstream's errors as the front's JSON-RPC errors, modern framing left to the front's engine, URIs rewritten).
 *
 * @since 0.2.0
 */
import { Effect } from "effect"
import * as JsonRpc from "../protocol/JsonRpc.js"
import type * as McpSchema from "../protocol/McpSchema.js"
import * as ClientRequests from "../server/ClientRequests.js"
import type { McpContext } from "../server/McpContext.js"
import type { RequestContext } from "../server/RequestContext.js"
import * as Instances from "./Instances.js"
import * as Names from "./Names.js"
import * as Parking from "./Parking.js"
import type * as Upstream from "./Upstream.js"

type Mcp = McpContext["Type"]

/**
 * An upstream's JSON-RPC error as the front's: the same code, message and data.
 *
 * @since 0.2.0
 * @category errors
 */
export const passThrough = (error: JsonRpc.ErrorObject): JsonRpc.JsonRpcError => {
  const made = new JsonRpc.ServerError(
    error.data === undefined ? { message: error.message } : { message: error.message, data: error.data }
  )
  if (error.code !== JsonRpc.SERVER_ERROR) Object.defineProperty(made, "code", { value: error.code })
  return made
}

/**
 * @since 0.2.0
 * @category errors
 */
export const toRpcError = (error: Upstream.UpstreamError | Upstream.UpstreamRpcError): JsonRpc.JsonRpcError => {
  if (error._tag === "UpstreamRpcError") return passThrough(error.error)
  const fields = { message: error.message, data: { upstream: error.upstream, reason: error.reason } }
  switch (error.reason) {
    case "timeout":
      return new JsonRpc.RequestTimeout(fields)
    case "protocol":
      return new JsonRpc.InternalError(fields)
    default:
      return new JsonRpc.ServerError(fields)
  }
}

/**
 * A failure to ask the front client, as the error object the upstream gets.
 *
 * @since 0.2.0
 * @category errors
 */
export const askError = (
  error: ClientRequests.ClientError | JsonRpc.MissingRequiredClientCapability
): JsonRpc.ErrorObject =>
  error._tag === "effect-mcp-server/ClientError"
    ? {
      code: error.code ?? JsonRpc.INTERNAL_ERROR,
      message: error.message,
      ...(error.data === undefined ? {} : { data: error.data })
    }
    : JsonRpc.toErrorObject(error)

const FRAME_KEYS = ["resultType", "ttlMs", "cacheScope"]

/**
 * A result as the front may send it: the upstream's modern framing left to the front's own engine.
 *
 * @since 0.2.0
 * @category results
 */
export const unframed = (result: Upstream.Json): Upstream.Json => {
  if (!FRAME_KEYS.some((key) => key in result)) return result
  const copy = { ...result }
  for (const key of FRAME_KEYS) delete copy[key]
  return copy
}

/**
 * A content block with its resource URI as the front shows it.
 *
 * @since 0.2.0
 * @category results
 */
export const rewriteBlock = (rewrite: Names.UriRewrite | undefined, block: unknown): unknown => {
  if (typeof block !== "object" || block === null) return block
  const b = block as Record<string, unknown>
  if (b.type === "resource_link" && typeof b.uri === "string") return { ...b, uri: Names.frontUri(rewrite, b.uri) }
  if (b.type === "resource" && typeof b.resource === "object" && b.resource !== null) {
    const resource = b.resource as Record<string, unknown>
    return typeof resource.uri === "string"
      ? { ...b, resource: { ...resource, uri: Names.frontUri(rewrite, resource.uri) } }
      : b
  }
  return b
}

/**
 * A list mapped when the upstream has rewritten URIs.
 *
 * @since 0.2.0
 * @category results
 */
export const rewriteList = (rewrite: Names.UriRewrite | undefined, list: unknown, each: (item: unknown) => unknown) =>
  rewrite === undefined || rewrite.schemes.size === 0 || !Array.isArray(list) ? list : list.map(each)

/** The front request's relay: progress, related log messages and questions, for the upstream's request. */
const progressHook = (mcp: Mcp): NonNullable<Upstream.Hooks["progress"]> => (p) =>
  mcp.progress(p.progress, {
    ...(p.total === undefined ? {} : { total: p.total }),
    ...(p.message === undefined ? {} : { message: p.message })
  })

const hooksFor = (mcp: Mcp, progress: boolean): Upstream.Hooks => ({
  ...(progress ? { progress: progressHook(mcp) } : {}),
  notification: (method, params) =>
    method === "notifications/message" && typeof params?.level === "string"
      ? mcp.log(
        params.level as McpSchema.LoggingLevel,
        params.data,
        typeof params.logger === "string" ? params.logger : undefined
      )
      : Effect.void,
  request: (method, params) =>
    mcp.ask(method as ClientRequests.ClientMethod, params ?? {}).pipe(
      Effect.map((result) => result as Upstream.Json),
      Effect.mapError(askError)
    )
})

const eraOf = (instance: Instances.Instance): "modern" | "legacy" | undefined => {
  const state = instance.upstream.state()
  return state._tag === "Ready" ? state.declared.era : undefined
}

/**
 * Runs one request on an upstream instance for the front request `mcp`: its progress (when `context` carries a
 * progress token), related log messages and questions relayed to the front request. Modern front: a question
 * ends the front round (`input_required`); a legacy upstream's request is parked until the client's retry brings the
 * answer (Parking), a modern upstream is called again with it.
 *
 * @since 0.2.0
 * @category relaying
 */
export const relay = (
  parking: Parking.Parking,
  instance: Instances.Instance,
  method: string,
  params: Upstream.Json,
  mcp: Mcp,
  context?: RequestContext
): Effect.Effect<Upstream.Json, Upstream.UpstreamError | Upstream.UpstreamRpcError> => {
  // A progress token goes upstream only when the front request brought one (else the upstream would report
  // progress nobody asked for).
  const progress = context?.progressToken !== undefined
  // A modern upstream asks by answering `input_required` (its request is over): the front round ends with the
  // question and the retry calls the upstream again with the answer, as any modern client would, so nothing needs
  // parking. A legacy upstream asks in the middle of its request, which must stay parked while the front client
  // answers (Parking: a fiber of its own per call; see scripts/bench/gateway-dispatch.mjs).
  return mcp.era === "legacy" || eraOf(instance) === "modern"
    ? Instances.call(instance, method, params, hooksFor(mcp, progress))
    : Parking.relay(
      parking,
      instance.upstream.name,
      (hooks) => Instances.call(instance, method, params, hooks),
      mcp,
      (m) => hooksFor(m, progress),
      progress
    )
}
