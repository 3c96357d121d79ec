/**
 * What every HTTP endpoint answers with: JSON bodies (a JSON-RPC error body for refusals, with the id of the
 * refused message when it has one), the first value of a header, and SEP-2243's base64 header values.
 *
 * @since 0.1.0
 */
import { Predicate } from "effect"
import type { IncomingMessage, ServerResponse } from "node:http"
import * as JsonRpc from "../protocol/JsonRpc.js"

/**
 * @since 0.1.0
 * @category helpers
 */
export const header = (req: IncomingMessage, name: string): string | undefined => {
  const value = req.headers[name]
  return Array.isArray(value) ? value[0] : value
}

/**
 * @since 0.1.0
 * @category helpers
 */
export const errorBody = (code: number, message: string, id: JsonRpc.RequestId | null = null, data?: unknown) =>
  JsonRpc.encodeError(id, data === undefined ? { code, message } : { code, message, data })

/**
 * Ends a response with a JSON body, unless it already started.
 *
 * @since 0.1.0
 * @category helpers
 */
export const sendJson = (
  res: ServerResponse,
  status: number,
  body: string | undefined,
  headers: Record<string, string> = {}
): void => {
  if (res.headersSent || res.writableEnded) return
  if (body === undefined) {
    res.writeHead(status, headers)
    res.end()
    return
  }
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": String(Buffer.byteLength(body)),
    ...headers
  })
  res.end(body)
}

/**
 * The id a refusal of this message answers with: the body's request id when it has one, else null.
 *
 * @since 0.1.0
 * @category helpers
 */
export const requestIdOf = (json: unknown): JsonRpc.RequestId | null =>
  Predicate.isRecord(json) && (typeof json.id === "string" || typeof json.id === "number") ? json.id : null

const BASE64_VALUE = /^=\?base64\?([A-Za-z0-9+/=]*)\?=$/

/**
 * Header values that are not plain ASCII travel as `=?base64?...?=` (SEP-2243).
 *
 * @since 0.1.0
 */
export const decodeHeaderValue = (value: string): string => {
  const match = BASE64_VALUE.exec(value)
  return match === null ? value : Buffer.from(match[1]!, "base64").toString("utf8")
}

/**
 * The `Retry-After` header (whole seconds, rounded up) of an answer refused by a rate limit; none otherwise.
 *
 * @since 0.1.0
 * @category helpers
 */
export const retryAfter = (
  outcome: { readonly retryAfterMs?: number | undefined }
): Record<string, string> | undefined =>
  outcome.retryAfterMs === undefined ? undefined : { "retry-after": String(Math.ceil(outcome.retryAfterMs / 1000)) }
