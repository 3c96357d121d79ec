/**
 * The OAuth 2.1 resource server of the MCP authorization spec (2025-06-18, 2025-11-25, 2026-07-28): every MCP
 * request over HTTP (Streamable HTTP, the old HTTP+SSE transport, WebSocket upgrades) carries a bearer token in its
 * Authorization header, checked before its body is read (AuthTokens: JWTs against the issuer's JWKS, opaque tokens
 * by introspection, both cached). The principal it names (Peer.Principal) reaches the engine, so handlers
 * (`McpContext.peer`), interceptors (`Context.peer`), logs, rate limits and MRTR states see it.
 *
 * Answers (RFC 6750, RFC 9728), each with a JSON-RPC error body like the other refusals:
 * - no token: 401, `WWW-Authenticate: Bearer resource_metadata="...", scope="..."`;
 * - a token that is not valid: 401 with `error="invalid_token", error_description="..."` too;
 * - a token without every required scope: 403 `error="insufficient_scope"`, `scope` naming all the scopes needed;
 * - a malformed request (not `Bearer <token68>`, two Authorization headers, a token in the query string, a header
 *   over `maxHeaderBytes`, refused without being parsed): 400 `error="invalid_request"`;
 * - the authorization server unreachable: 503 with `Retry-After`.
 *
 * Protected Resource Metadata (RFC 9728) is served at `/.well-known/oauth-protected-resource` plus the resource's
 * path (e.g. `/.well-known/oauth-protected-resource/mcp`) and at the root one; `resource_metadata` names the former.
 *
 * As a library: `layer(options)` provides the `Authorization` reference, which `McpHttpServer.handler` reads (off by
 * default); `layerConfig` reads the settings (`--auth-issuer`, `--public-url`, ...).
 *
 * @since 0.1.0
 */
import { Config, ConfigError, Context, Effect, Either, Layer, Option, Redacted } from "effect"
import type { IncomingMessage } from "node:http"
import * as JsonRpc from "../protocol/JsonRpc.js"
import type * as Peer from "../server/Peer.js"
import type * as Sink from "../server/Sink.js"
import * as Settings from "../Settings.js"
import * as AuthTokens from "./AuthTokens.js"
import * as Guards from "./Guards.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The authorization server (its issuer identifier); JWT access tokens are checked against its JWKS. */
  readonly issuer?: string | undefined
  /** The JWKS URL, instead of the `jwks_uri` of the issuer's metadata. */
  readonly jwksUrl?: string | undefined
  /** This server's canonical URL as clients reach it: the resource, the audience tokens must name (RFC 8707). */
  readonly publicUrl: string
  /** Scopes every request needs. Default none. */
  readonly scopes?: ReadonlyArray<string> | undefined
  /** RFC 7662 introspection of opaque tokens, as this client (HTTP Basic). */
  readonly introspection?: AuthTokens.Options["introspection"]
  /** Skew allowed on `exp`/`nbf`, in seconds. Default 30. */
  readonly clockToleranceSeconds?: number | undefined
  /** Verified tokens remembered at most (until they expire). Default 10,000. */
  readonly cacheSize?: number | undefined
  /** A longer Authorization header is refused unread (400). Default 8 KiB. */
  readonly maxHeaderBytes?: number | undefined
}

/**
 * What a request's credentials came to: its principal, or the refusal to answer with.
 *
 * @since 0.1.0
 * @category models
 */
export type Result =
  | { readonly _tag: "Authenticated"; readonly principal: Peer.Principal }
  | { readonly _tag: "Refused"; readonly refusal: Guards.Refusal }

/**
 * A configured resource server.
 *
 * @since 0.1.0
 * @category models
 */
export interface Authorizer {
  /** The canonical resource URI (the public URL). */
  readonly resource: string
  readonly issuer: string | undefined
  /** Scopes every request needs. */
  readonly scopes: ReadonlyArray<string>
  /** The URL of this resource's metadata document (what `resource_metadata` names). */
  readonly metadataUrl: string
  /** The path of that document (`/.well-known/oauth-protected-resource` + the resource's path). */
  readonly metadataPath: string
  /** The metadata document (RFC 9728), with `extraScopes` (per-tool scopes, say) in `scopes_supported`. */
  readonly metadata: (extraScopes?: ReadonlyArray<string>) => string
  /** The request's token checked (synchronously when it was seen before), with the required scopes. */
  readonly authenticate: (req: IncomingMessage) => Result | Promise<Result>
  /** The 403 of a request whose token lacks `missing` of the `required` scopes. */
  readonly insufficientScope: (required: ReadonlyArray<string>, missing: ReadonlyArray<string>) => Guards.Refusal
  readonly verifier: AuthTokens.Verifier
}

/**
 * The root metadata path (RFC 9728, section 3).
 *
 * @since 0.1.0
 * @category constants
 */
export const WELL_KNOWN = "/.well-known/oauth-protected-resource"

/**
 * The metadata path of a resource: the well-known prefix, then the resource's path (RFC 9728, section 3.1).
 *
 * @since 0.1.0
 * @category metadata
 */
export const metadataPathOf = (pathname: string): string =>
  pathname === "/" || pathname === "" ? WELL_KNOWN : `${WELL_KNOWN}${pathname.replace(/\/$/, "")}`

/** An auth-param value as a quoted-string: no quote, backslash or control character survives. */
const quoted = (value: string) => `"${value.replace(/[\\"]/g, "'").replace(/[^\x20-\x7e]/g, "?")}"`

/**
 * A `WWW-Authenticate` Bearer challenge of the given auth-params (undefined ones left out).
 *
 * @since 0.1.0
 * @category challenges
 */
export const challenge = (params: ReadonlyArray<readonly [string, string | undefined]>): string =>
  `Bearer ${
    params.filter((param): param is readonly [string, string] => param[1] !== undefined).map(([name, value]) =>
      `${name}=${quoted(value)}`
    ).join(", ")
  }`

const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*$/

/** How many Authorization headers a request has (node keeps only the first in `headers`). */
const authorizationHeaders = (req: IncomingMessage): number => {
  const raw = req.rawHeaders
  let count = 0
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!
    if (name.length === 13 && name.toLowerCase() === "authorization") count++
  }
  return count
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options): Authorizer => {
  const resource = options.publicUrl
  const url = new URL(resource)
  const issuer = options.issuer
  const scopes = options.scopes ?? []
  const scopeText = scopes.length === 0 ? undefined : scopes.join(" ")
  const maxHeaderBytes = options.maxHeaderBytes ?? 8 * 1024
  const metadataPath = metadataPathOf(url.pathname)
  const metadataUrl = `${url.origin}${metadataPath}`
  const verifier = AuthTokens.make({
    issuer,
    jwksUrl: options.jwksUrl,
    resource,
    introspection: options.introspection,
    clockToleranceSeconds: options.clockToleranceSeconds,
    cacheSize: options.cacheSize
  })

  const refused = (status: number, code: number, message: string, header: string, extra?: Record<string, string>) =>
    ({
      _tag: "Refused",
      refusal: Guards.refusal(status, code, message, { "www-authenticate": header, ...extra })
    }) as const

  const invalidRequest = (description: string) =>
    refused(
      400,
      JsonRpc.INVALID_REQUEST,
      `Bad Request: ${description}`,
      challenge([["error", "invalid_request"], ["error_description", description], [
        "resource_metadata",
        metadataUrl
      ]])
    )
  const noToken = refused(
    401,
    JsonRpc.SERVER_ERROR,
    "Unauthorized: a bearer token is required",
    challenge([["resource_metadata", metadataUrl], ["scope", scopeText]])
  )
  const invalidToken = (description: string) =>
    refused(
      401,
      JsonRpc.SERVER_ERROR,
      `Unauthorized: ${description}`,
      challenge([
        ["error", "invalid_token"],
        ["error_description", description],
        ["resource_metadata", metadataUrl],
        ["scope", scopeText]
      ])
    )
  const unavailable = (description: string) =>
    refused(
      503,
      JsonRpc.SERVER_ERROR,
      `Service Unavailable: ${description}`,
      challenge([[
        "resource_metadata",
        metadataUrl
      ]]),
      { "retry-after": "5" }
    )
  const insufficientScope = (required: ReadonlyArray<string>, missing: ReadonlyArray<string>): Guards.Refusal => {
    const description = `the token lacks the scope${missing.length === 1 ? "" : "s"} ${missing.join(" ")}`
    return Guards.refusal(403, JsonRpc.SERVER_ERROR, `Forbidden: ${description}`, {
      "www-authenticate": challenge([
        ["error", "insufficient_scope"],
        ["scope", required.join(" ")],
        ["resource_metadata", metadataUrl],
        ["error_description", description]
      ])
    })
  }

  const tokenInQuery = invalidRequest("access tokens are accepted only in the Authorization header")
  const tooLong = invalidRequest(`the Authorization header exceeds ${maxHeaderBytes} bytes`)
  const twoHeaders = invalidRequest("more than one Authorization header")
  const notBearer = invalidRequest("the Authorization header must be \"Bearer <token>\"")

  const judge = (verified: AuthTokens.Verified): Result => {
    if (AuthTokens.isRejection(verified)) {
      return verified.kind === "unavailable" ? unavailable(verified.description) : invalidToken(verified.description)
    }
    if (scopes.length > 0) {
      const missing = scopes.filter((scope) => !verified.scopes.includes(scope))
      if (missing.length > 0) return { _tag: "Refused", refusal: insufficientScope(scopes, missing) }
    }
    return { _tag: "Authenticated", principal: verified }
  }

  const authenticate = (req: IncomingMessage): Result | Promise<Result> => {
    const target = req.url ?? "/"
    const query = target.indexOf("?")
    if (query !== -1 && target.includes("access_token", query)) {
      if (new URLSearchParams(target.slice(query + 1)).has("access_token")) return tokenInQuery
    }
    const header = req.headers.authorization
    if (header === undefined) return noToken
    // Refused unread: only its length is looked at.
    if (header.length > maxHeaderBytes) return tooLong
    if (authorizationHeaders(req) > 1) return twoHeaders
    const space = header.indexOf(" ")
    if (space !== 6 || header.slice(0, 6).toLowerCase() !== "bearer") return notBearer
    let start = 7
    while (header.charCodeAt(start) === 32) start++
    const token = header.slice(start)
    // A token verified before was well-formed then: the syntax is checked for the others only.
    const known = verifier.known(token)
    if (known !== undefined) return judge(known)
    if (!TOKEN68.test(token)) return notBearer
    const verified = verifier.verify(token)
    return verified instanceof Promise ? verified.then(judge) : judge(verified)
  }

  const metadata = (extraScopes: ReadonlyArray<string> = []) =>
    JSON.stringify({
      resource,
      authorization_servers: issuer === undefined ? [] : [issuer],
      scopes_supported: [...new Set([...scopes, ...extraScopes])],
      bearer_methods_supported: ["header"]
    })

  return {
    resource,
    issuer,
    scopes,
    metadataUrl,
    metadataPath,
    metadata,
    authenticate,
    insufficientScope,
    verifier
  }
}

/**
 * The extra headers of an answer sent as JSON, given how the message was answered: `Retry-After` for a call over a
 * rate limit, `WWW-Authenticate` (insufficient_scope, naming the scopes required) for a call lacking the scopes of
 * its tool, prompt or resource; `base` (the session id, say) kept.
 *
 * @since 0.1.0
 * @category challenges
 */
export const outcomeHeaders = (
  auth: Authorizer | undefined,
  outcome: Sink.Outcome,
  base?: Record<string, string> | undefined
): Record<string, string> | undefined => {
  if (outcome.retryAfterMs !== undefined) {
    return { ...base, "retry-after": String(Math.ceil(outcome.retryAfterMs / 1000)) }
  }
  const scope = outcome.insufficientScope
  if (scope === undefined || auth === undefined) return base
  return { ...base, ...auth.insufficientScope(scope.requiredScopes, scope.missingScopes).headers }
}

/**
 * The resource server the HTTP endpoints of servers in this context apply: none (every request anonymous) unless a
 * layer provides one.
 *
 * @since 0.1.0
 * @category tags
 */
export class Authorization extends Context.Reference<Authorization>()("effect-mcp-server/Authorization", {
  defaultValue: (): Authorizer | undefined => undefined
}) {}

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<Authorization> => Layer.sync(Authorization, () => make(options))

const invalid = (message: string) => Either.left(ConfigError.InvalidData([], message))

/**
 * The options the settings give: None when authorization is off (no `--auth-issuer`, `--auth-jwks-url` or
 * `--auth-introspection-url`). On, `--public-url` is required, `--auth-jwks-url` needs `--auth-issuer`, and
 * introspection needs `--auth-client-id` and `--auth-client-secret`.
 *
 * @since 0.1.0
 * @category config
 */
export const options: Config.Config<Option.Option<Options>> = Config.mapOrFail(
  Config.all({
    issuer: Settings.authIssuer.config,
    jwksUrl: Settings.authJwksUrl.config,
    publicUrl: Settings.publicUrl.config,
    scopes: Settings.authScopes.config,
    introspectionUrl: Settings.authIntrospectionUrl.config,
    clientId: Settings.authClientId.config,
    clientSecret: Settings.authClientSecret.config,
    skew: Settings.orDefault(Settings.authClockSkewMs)
  }),
  (c) => {
    if (Option.isNone(c.issuer) && Option.isNone(c.jwksUrl) && Option.isNone(c.introspectionUrl)) {
      return Either.right(Option.none())
    }
    const flag = (setting: Settings.Setting<unknown>) => `${setting.env} (--${setting.name})`
    if (Option.isNone(c.publicUrl)) {
      return invalid(`${flag(Settings.publicUrl)} is required with authorization: the audience tokens must name`)
    }
    if (Option.isSome(c.jwksUrl) && Option.isNone(c.issuer)) {
      return invalid(`${flag(Settings.authJwksUrl)} needs ${flag(Settings.authIssuer)}: tokens' iss is checked`)
    }
    if (Option.isSome(c.introspectionUrl) && (Option.isNone(c.clientId) || Option.isNone(c.clientSecret))) {
      return invalid(
        `${flag(Settings.authIntrospectionUrl)} needs ${flag(Settings.authClientId)} and ${
          flag(Settings.authClientSecret)
        }`
      )
    }
    return Either.right(Option.some<Options>({
      publicUrl: c.publicUrl.value,
      issuer: Option.getOrUndefined(c.issuer),
      jwksUrl: Option.getOrUndefined(c.jwksUrl),
      scopes: Option.getOrElse(c.scopes, () => []),
      clockToleranceSeconds: c.skew / 1000,
      introspection: Option.isSome(c.introspectionUrl) && Option.isSome(c.clientId) && Option.isSome(c.clientSecret)
        ? {
          url: c.introspectionUrl.value,
          clientId: c.clientId.value,
          clientSecret: Redacted.value(c.clientSecret.value)
        }
        : undefined
    }))
  }
)

/**
 * The resource server the settings configure; when they configure none, the one already in context (if any).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig: Layer.Layer<Authorization, ConfigError.ConfigError> = Layer.effect(
  Authorization,
  Effect.flatMap(
    options,
    (configured) => Option.isSome(configured) ? Effect.succeed(make(configured.value)) : Authorization
  )
)
