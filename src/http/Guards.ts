/**
 * Checks every MCP route makes before any MCP work: DNS-rebinding protection (Origin and Host), content
 * negotiation (Accept, Content-Type), and the body size limit, applied before reading when Content-Length is given
 * and while reading when it is not.
 *
 * @since 0.1.0
 */
import { Effect, Either } from "effect"
import type { IncomingMessage } from "node:http"
import { isIPv4 } from "node:net"

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
  const host = req.headers.host
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
