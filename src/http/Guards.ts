/**
 * Checks every MCP route makes before any MCP work: DNS-rebinding protection (Origin and Host), content
 * negotiation (Accept, Content-Type), allowed methods, and the body size limit, applied before reading when
 * Content-Length is given and while reading when it is not.
 *
 * A `Guard` is one such check as a plain synchronous function of the request: a `Refusal` (status, JSON-RPC error
 * body, headers) or undefined. McpHttpServer gives each endpoint an ordered list of guards and answers a request with
 * the first refusal (`check`), before any fiber exists or the body is read.
 *
 * @since 0.1.0
 */
import { Effect, Either } from "effect"
import type { IncomingMessage } from "node:http"
import { isIPv4 } from "node:net"
import * as JsonRpc from "../protocol/JsonRpc.js"
import { errorBody } from "./Response.js"

/**
 * Why a request is not served: the status, a JSON-RPC error body and extra headers to answer with.
 *
 * @since 0.1.0
 * @category models
 */
export interface Refusal {
  readonly status: number
  readonly body: string
  readonly headers?: Record<string, string> | undefined
}

/**
 * One check made before a request is served, from its method, URL and headers (the body is not read yet): a
 * refusal, or undefined to let the request through. Synchronous, and cheap: it runs on every request.
 *
 * @since 0.1.0
 * @category models
 */
export type Guard = (req: IncomingMessage) => Refusal | undefined

/**
 * @since 0.1.0
 * @category constructors
 */
export const refusal = (status: number, code: number, message: string, headers?: Record<string, string>): Refusal =>
  headers === undefined
    ? { status, body: errorBody(code, message) }
    : { status, body: errorBody(code, message), headers }

/**
 * The first refusal of `guards`, applied in order; undefined when all of them let the request through.
 *
 * @since 0.1.0
 * @category guards
 */
export const check = (guards: ReadonlyArray<Guard>, req: IncomingMessage): Refusal | undefined => {
  for (let i = 0; i < guards.length; i++) {
    const refused = guards[i]!(req)
    if (refused !== undefined) return refused
  }
  return undefined
}

const LOOPBACK_HOSTNAMES = new Set(["localhost", "[::1]", "::1"])

/**
 * @since 0.1.0
 * @category models
 */
export interface OriginPolicy {
  /** Whether the server listens on a loopback address (then a foreign Host header is refused). */
  readonly loopback: boolean
  /** Extra hostnames (no port) accepted in the Host header. */
  readonly allowedHosts: ReadonlyArray<string>
  /** Extra origins (scheme://host[:port]) accepted in the Origin header; "*" accepts any. */
  readonly allowedOrigins: ReadonlyArray<string>
}

/**
 * Whether a hostname names this machine's loopback interface: `localhost`, `::1`, or an IPv4 literal in
 * 127.0.0.0/8 (dotted quad only). A name that merely starts with "127." (`127.0.0.1.nip.io`) is a DNS name anyone
 * can point anywhere, so it is not loopback.
 *
 * @since 0.1.0
 * @category guards
 */
export const isLoopbackHost = (host: string): boolean =>
  LOOPBACK_HOSTNAMES.has(host) || (host.startsWith("127.") && isIPv4(host))

/**
 * A header's parse, remembered for the last few distinct values (at most 64, then forgotten at once): a server's
 * clients send the same handful of Host, Accept and Content-Type values on every request.
 */
const recent = <A>(parse: (value: string) => A): (value: string) => A => {
  const seen = new Map<string, A>()
  return (value) => {
    let parsed = seen.get(value)
    if (parsed === undefined) {
      parsed = parse(value)
      if (seen.size >= 64) seen.clear()
      seen.set(value, parsed)
    }
    return parsed
  }
}

const parseHostname = (hostHeader: string): string => {
  if (hostHeader.startsWith("[")) {
    const end = hostHeader.indexOf("]")
    return end === -1 ? hostHeader : hostHeader.slice(0, end + 1)
  }
  const colon = hostHeader.indexOf(":")
  return (colon === -1 ? hostHeader : hostHeader.slice(0, colon)).toLowerCase()
}

const hostnameOf = recent(parseHostname)

/**
 * Returns the reason to refuse with 403, or undefined when the request may proceed.
 *
 * @since 0.1.0
 * @category guards
 */
export const checkOrigin = (req: IncomingMessage, policy: OriginPolicy): string | undefined => {
  let host = req.headers.host
  if (req.httpVersionMajor === 2) {
    // HTTP/2 names the host in `:authority` (Host is optional); when both are sent they must agree (RFC 9113, 8.3.1).
    const authority = req.headers[":authority"] as string | undefined
    if (host === undefined) host = authority
    else if (authority !== undefined && authority !== host) {
      return `Forbidden: Host ${host} is not :authority ${authority}`
    }
  }
  if (policy.loopback || policy.allowedHosts.length > 0) {
    if (host === undefined) return "Forbidden: missing Host header"
    const hostname = hostnameOf(host)
    const allowed = (policy.loopback && isLoopbackHost(hostname)) || policy.allowedHosts.includes(hostname)
    if (!allowed) return `Forbidden: Host ${host} is not allowed`
  }
  const origin = req.headers.origin
  if (origin !== undefined && origin !== "null") {
    if (policy.allowedOrigins.includes("*") || policy.allowedOrigins.includes(origin)) return undefined
    let url: URL
    try {
      url = new URL(origin)
    } catch {
      return `Forbidden: Origin ${origin} is not allowed`
    }
    const hostname = url.hostname.startsWith("[") ? url.hostname : url.hostname.toLowerCase()
    if (!(isLoopbackHost(hostname) || policy.allowedHosts.includes(hostname))) {
      return `Forbidden: Origin ${origin} is not allowed`
    }
  } else if (origin === "null") {
    return "Forbidden: Origin null is not allowed"
  }
  return undefined
}

/**
 * Host and Origin against DNS rebinding (`checkOrigin`): 403.
 *
 * @since 0.1.0
 * @category guards
 */
export const origin = (policy: OriginPolicy): Guard => (req) => {
  const refused = checkOrigin(req, policy)
  return refused === undefined ? undefined : refusal(403, -32000, refused)
}

/**
 * Only the methods in `allow` (as the `Allow` header lists them, e.g. "GET, POST, DELETE"): 405 otherwise.
 *
 * @since 0.1.0
 * @category guards
 */
export const allowMethods = (allow: string): Guard => {
  const allowed = new Set(allow.split(", "))
  const refused = refusal(405, -32000, "Method Not Allowed", { allow })
  return (req) => (req.method !== undefined && allowed.has(req.method) ? undefined : refused)
}

interface MediaTypes {
  /** In the header's order, parameters dropped, lower case. */
  readonly list: ReadonlyArray<string>
  readonly set: ReadonlySet<string>
}

const parseMediaTypes = (header: string): MediaTypes => {
  const list = header.split(",").map((part) => part.split(";")[0]!.trim().toLowerCase()).filter((t) => t !== "")
  return { list, set: new Set(list) }
}

const noMediaTypes: MediaTypes = { list: [], set: new Set() }

const parsedMediaTypes = recent(parseMediaTypes)
const mediaTypes = (header: string | undefined): MediaTypes =>
  header === undefined || header === "" ? noMediaTypes : parsedMediaTypes(header)

/**
 * Whether an Accept header accepts the media type (wildcards count).
 *
 * @since 0.1.0
 * @category guards
 */
export const accepts = (header: string | undefined, type: string): boolean => {
  const types = mediaTypes(header).set
  if (types.has(type) || types.has("*/*")) return true
  return types.has(`${type.slice(0, type.indexOf("/"))}/*`)
}

/**
 * @since 0.1.0
 * @category guards
 */
export const isJsonContentType = (header: string | undefined): boolean =>
  mediaTypes(header).list[0] === "application/json"

/**
 * An Accept header that lists every one of `types` (wildcards count): 406 otherwise.
 *
 * @since 0.1.0
 * @category guards
 */
export const accepting = (...types: ReadonlyArray<string>): Guard => {
  const refused = refusal(406, -32000, `Not Acceptable: Accept must list ${types.join(" and ")}`)
  return (req) => {
    const accept = req.headers.accept
    for (let i = 0; i < types.length; i++) {
      if (!accepts(accept, types[i]!)) return refused
    }
    return undefined
  }
}

const unsupportedMediaType = refusal(415, -32000, "Unsupported Media Type: Content-Type must be application/json")

/**
 * A JSON body (`isJsonContentType`): 415 otherwise.
 *
 * @since 0.1.0
 * @category guards
 */
export const jsonContentType: Guard = (req) =>
  isJsonContentType(req.headers["content-type"]) ? undefined : unsupportedMediaType

/**
 * @since 0.1.0
 * @category models
 */
export type BodyError =
  | { readonly _tag: "TooLarge"; readonly limit: number }
  | { readonly _tag: "Aborted" }

/**
 * Whether the request's Content-Length says its body is larger than `limit` (refused before reading it).
 *
 * @since 0.1.0
 * @category body
 */
export const declaresMoreThan = (req: IncomingMessage, limit: number): boolean => {
  const declared = req.headers["content-length"]
  return declared !== undefined && Number(declared) > limit
}

/**
 * The refusal of a body over `limit` bytes: 413 with -32600.
 *
 * @since 0.1.0
 * @category body
 */
export const tooLarge = (limit: number): Refusal =>
  refusal(413, JsonRpc.INVALID_REQUEST, `Payload Too Large: the body exceeds ${limit} bytes`)

/**
 * A body its Content-Length declares within `limit` bytes: 413 otherwise (a body without one is counted while it
 * is read, by `readBodyWith`).
 *
 * @since 0.1.0
 * @category guards
 */
export const bodyWithin = (limit: number): Guard => {
  const refused = tooLarge(limit)
  return (req) => (declaresMoreThan(req, limit) ? refused : undefined)
}

/**
 * Reads the body as UTF-8 text with node callbacks (no fiber), refusing it as soon as it exceeds `limit` bytes.
 * Calls `done` once; returns a function that stops reading (for an interrupted caller).
 *
 * @since 0.1.0
 * @category body
 */
export const readBodyWith = (
  req: IncomingMessage,
  limit: number,
  done: (body: Either.Either<string, BodyError>) => void
): () => void => {
  if (declaresMoreThan(req, limit)) {
    done(Either.left({ _tag: "TooLarge", limit }))
    return () => {}
  }
  const chunks: Array<Buffer> = []
  let size = 0
  const cleanup = () => {
    req.removeListener("data", onData)
    req.removeListener("end", onEnd)
    req.removeListener("error", onError)
    req.removeListener("aborted", onError)
  }
  const onData = (chunk: Buffer) => {
    size += chunk.length
    if (size > limit) {
      cleanup()
      req.pause()
      done(Either.left({ _tag: "TooLarge", limit }))
      return
    }
    chunks.push(chunk)
  }
  const onEnd = () => {
    cleanup()
    done(Either.right(chunks.length === 1 ? chunks[0]!.toString("utf8") : Buffer.concat(chunks, size).toString("utf8")))
  }
  const onError = () => {
    cleanup()
    done(Either.left({ _tag: "Aborted" }))
  }
  req.on("data", onData)
  req.on("end", onEnd)
  req.on("error", onError)
  req.on("aborted", onError)
  return cleanup
}

/**
 * Reads the body as UTF-8 text, refusing it as soon as it exceeds `limit` bytes.
 *
 * @since 0.1.0
 * @category body
 */
export const readBody = (req: IncomingMessage, limit: number): Effect.Effect<Either.Either<string, BodyError>> =>
  Effect.async<Either.Either<string, BodyError>>((resume) => {
    const cleanup = readBodyWith(req, limit, (body) => resume(Effect.succeed(body)))
    return Effect.sync(cleanup)
  })
