/**
 * Access token validation for the OAuth 2.1 resource server (see Auth): JWT access tokens (RFC 9068) verified with
 * `jose` against the authorization server's JWKS, opaque tokens by RFC 7662 introspection, and the bounded caches in
 * front of both. No cryptography is written here: `jose` verifies signatures (WebCrypto) and claims.
 *
 * - Discovery: the issuer's metadata from `/.well-known/oauth-authorization-server` (RFC 8414, path-aware), else
 *   `/.well-known/openid-configuration` (both forms); its `issuer` must equal the configured one. Fetched on first
 *   use, retried after a failure (at most every 10 s).
 * - JWKS: `jose.createRemoteJWKSet` (cached; refetched on an unknown `kid`, at most every 30 s; fetches time out
 *   after 5 s; after a failed fetch, new tokens get 503 for 5 s without another try). Algorithms: asymmetric only (RS, PS, ES, EdDSA): never `none`, never HS* (a token "signed" with
 *   the RSA public key as an HMAC secret cannot verify).
 * - Claims: `iss` = the issuer, `aud` contains the resource (RFC 8707), `exp` required, `exp`/`nbf` with the
 *   configured skew, `typ` when present one of `at+jwt`, `application/at+jwt` or `JWT` (RFC 9068 asks for `at+jwt`;
 *   `JWT` is what Keycloak and Auth0 send by default, and the audience check is what keeps an ID token, whose
 *   audience is a client, out; any other type, such as `logout+jwt` or `dpop+jwt`, is refused).
 * - A verified token is remembered (the exact token text -> its principal) until it expires, least recently used
 *   first out past 10,000 tokens or 8 MiB of token text: a verification costs real CPU, a lookup does not.
 *   Introspection results are remembered for min(exp, 60 s).
 *
 * @since 0.1.0
 */
import * as jose from "jose"
import type * as Peer from "../server/Peer.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The authorization server's issuer identifier; its metadata names the JWKS. */
  readonly issuer?: string | undefined
  /** The JWKS URL, instead of the one in the issuer's metadata. */
  readonly jwksUrl?: string | undefined
  /** The resource (this server's canonical URL): the audience tokens must name. */
  readonly resource: string
  /** RFC 7662 introspection of opaque tokens, as this client (HTTP Basic). */
  readonly introspection?: {
    readonly url: string
    readonly clientId: string
    readonly clientSecret: string
  } | undefined
  /** Skew allowed on `exp`/`nbf`, in seconds. Default 30. */
  readonly clockToleranceSeconds?: number | undefined
  /** Verified tokens remembered at most. Default 10,000. */
  readonly cacheSize?: number | undefined
}

/**
 * Why a token was not accepted: `invalid` (401 invalid_token), or `unavailable` (the authorization server could
 * not be reached: 503).
 *
 * @since 0.1.0
 * @category models
 */
export interface Rejection {
  readonly _tag: "Rejected"
  readonly kind: "invalid" | "unavailable"
  readonly description: string
}

/**
 * @since 0.1.0
 * @category models
 */
export type Verified = Peer.Principal | Rejection

/**
 * @since 0.1.0
 * @category models
 */
export interface Verifier {
  /** The principal of a valid token (from the cache when it was seen before), or why it is not valid. */
  readonly verify: (token: string) => Verified | Promise<Verified>
  /** The principal of a token verified before and not expired yet (no other check is made). */
  readonly known: (token: string) => Peer.Principal | undefined
  /** Tokens remembered now. */
  readonly cached: () => number
}

/**
 * The signature algorithms accepted: asymmetric ones only.
 *
 * @since 0.1.0
 * @category constants
 */
export const ALGORITHMS: ReadonlyArray<string> = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
  "Ed25519"
]

const TYPES = new Set(["at+jwt", "application/at+jwt", "jwt"])
const FETCH_TIMEOUT_MS = 5_000
const RETRY_MS = 10_000
const MAX_CACHED_CHARS = 8 * 1024 * 1024
const INTROSPECTION_TTL_MS = 60_000

const rejected = (description: string): Rejection => ({ _tag: "Rejected", kind: "invalid", description })
const unavailable = (description: string): Rejection => ({ _tag: "Rejected", kind: "unavailable", description })

/**
 * @since 0.1.0
 * @category predicates
 */
export const isRejection = (verified: Verified): verified is Rejection => "_tag" in verified

/** The metadata URLs to try for an issuer, in order (RFC 8414 section 3.1, then both OpenID Connect forms). */
export const metadataUrls = (issuer: string): ReadonlyArray<string> => {
  const url = new URL(issuer)
  const path = url.pathname === "/" ? "" : url.pathname.replace(/\/$/, "")
  return [
    `${url.origin}/.well-known/oauth-authorization-server${path}`,
    `${url.origin}/.well-known/openid-configuration${path}`,
    ...(path === "" ? [] : [`${url.origin}${path}/.well-known/openid-configuration`])
  ]
}

const fetchJson = async (url: string, init: RequestInit = {}): Promise<unknown> => {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), redirect: "error" })
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`)
  return res.json()
}

/**
 * The authorization server's metadata (RFC 8414 / OpenID Connect Discovery), whose `issuer` must be `issuer`.
 *
 * @since 0.1.0
 * @category discovery
 */
export const discover = async (issuer: string): Promise<Record<string, unknown>> => {
  const failures: Array<string> = []
  for (const url of metadataUrls(issuer)) {
    try {
      const metadata = await fetchJson(url, { headers: { accept: "application/json" } })
      if (typeof metadata !== "object" || metadata === null) throw new Error(`${url}: not a JSON object`)
      const named = (metadata as Record<string, unknown>).issuer
      if (named !== issuer) throw new Error(`${url}: issuer ${JSON.stringify(named)} is not ${issuer}`)
      return metadata as Record<string, unknown>
    } catch (error) {
      failures.push(error instanceof Error ? error.message : String(error))
    }
  }
  throw new Error(`no authorization server metadata for ${issuer} (${failures.join("; ")})`)
}

/** Something fetched on first use; after a failure, fetched again on a use at least `RETRY_MS` later. */
const lazy = <A>(load: () => Promise<A>): () => Promise<A> => {
  let current: Promise<A> | undefined
  let failedAt = 0
  return () => {
    if (current === undefined || (failedAt !== 0 && Date.now() - failedAt >= RETRY_MS)) {
      failedAt = 0
      current = load()
      current.catch(() => {
        failedAt = Date.now()
      })
    }
    return current
  }
}

/**
 * A least-recently-used map of tokens, bounded in entries and in token characters. Keyed by the token's last 32
 * characters (its signature's end, or an opaque token's random tail): a lookup hashes 32 characters, not the whole
 * token (a JWT is often 1 KiB), and then compares the whole token with the one stored. Two tokens with the same tail
 * share a slot: the later one replaces the earlier, which is checked again when it comes back.
 */
const tokenCache = (maxEntries: number) => {
  const entries = new Map<
    string,
    { readonly token: string; readonly principal: Peer.Principal; readonly until: number }
  >()
  let chars = 0
  const keyOf = (token: string) => token.length <= 32 ? token : token.slice(-32)
  const drop = (key: string) => {
    const entry = entries.get(key)
    if (entry !== undefined) {
      entries.delete(key)
      chars -= entry.token.length
    }
  }
  return {
    get: (token: string, now: number): Peer.Principal | undefined => {
      const key = keyOf(token)
      const entry = entries.get(key)
      if (entry === undefined || entry.token !== token) return undefined
      if (entry.until <= now) {
        drop(key)
        return undefined
      }
      // Most recently used last.
      entries.delete(key)
      entries.set(key, entry)
      return entry.principal
    },
    set: (token: string, principal: Peer.Principal, until: number) => {
      if (token.length > MAX_CACHED_CHARS / 16) return
      const key = keyOf(token)
      drop(key)
      while (entries.size > 0 && (entries.size >= maxEntries || chars + token.length > MAX_CACHED_CHARS)) {
        drop(entries.keys().next().value!)
      }
      entries.set(key, { token, principal, until })
      chars += token.length
    },
    size: () => entries.size
  }
}

const scopesOf = (claims: Record<string, unknown>): ReadonlyArray<string> => {
  const scope = claims.scope
  if (typeof scope === "string") return scope.split(" ").filter((s) => s !== "")
  const scp = claims.scp
  if (Array.isArray(scp)) return scp.filter((s): s is string => typeof s === "string")
  if (typeof scp === "string") return scp.split(" ").filter((s) => s !== "")
  return []
}

const stringClaim = (claims: Record<string, unknown>, name: string): string | undefined => {
  const value = claims[name]
  return typeof value === "string" && value !== "" ? value : undefined
}

/**
 * The principal a token's claims (or an introspection answer) describe: subject `sub` (else the client id, as in a
 * client credentials token without `sub`), client `client_id` (else `azp`), scopes `scope` (else `scp`).
 *
 * @since 0.1.0
 * @category principals
 */
export const principalOf = (claims: Record<string, unknown>, issuer: string | undefined): Verified => {
  const clientId = stringClaim(claims, "client_id") ?? stringClaim(claims, "azp")
  const subject = stringClaim(claims, "sub") ?? clientId
  if (subject === undefined) return rejected("the token names no subject (sub) or client (client_id)")
  const exp = claims.exp
  return {
    subject,
    clientId,
    scopes: scopesOf(claims),
    expiresAt: typeof exp === "number" ? exp * 1000 : undefined,
    issuer: stringClaim(claims, "iss") ?? issuer
  }
}

const describeJose = (error: unknown): Rejection => {
  if (error instanceof jose.errors.JWTExpired) return rejected("the token has expired")
  if (error instanceof jose.errors.JWTClaimValidationFailed) {
    return rejected(
      error.claim === "nbf"
        ? "the token is not valid yet"
        : error.claim === "aud"
        ? "the token's audience is not this resource"
        : error.claim === "iss"
        ? "the token's issuer is not the authorization server"
        : `the token's ${error.claim} claim is not valid`
    )
  }
  if (error instanceof jose.errors.JOSEAlgNotAllowed) return rejected("the token's signature algorithm is not allowed")
  if (error instanceof jose.errors.JWKSNoMatchingKey) {
    return rejected("no key of the authorization server matches the token")
  }
  if (error instanceof jose.errors.JWKSMultipleMatchingKeys) return rejected("the token's key is ambiguous (no kid)")
  if (error instanceof jose.errors.JWSSignatureVerificationFailed) return rejected("the token's signature is not valid")
  // jose says a JWKS endpoint that answers anything but 200 only in its message.
  if (
    error instanceof jose.errors.JWKSTimeout || error instanceof jose.errors.JWKSInvalid ||
    (error instanceof jose.errors.JOSEError && error.message.includes("JSON Web Key Set HTTP response"))
  ) {
    return unavailable("the authorization server's keys cannot be fetched")
  }
  if (error instanceof jose.errors.JOSEError) return rejected("the token is not a valid JWT")
  // fetch failures (the JWKS endpoint unreachable) are not the token's fault.
  return unavailable("the authorization server's keys cannot be fetched")
}

const looksLikeJwt = (token: string): boolean => {
  const first = token.indexOf(".")
  return first > 0 && token.indexOf(".", first + 1) > first + 1
}

/**
 * The verifier of `options`: JWTs when an issuer (or JWKS URL) is given, opaque tokens when introspection is.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options): Verifier => {
  const cache = tokenCache(options.cacheSize ?? 10_000)
  const issuer = options.issuer
  const resource = options.resource
  const clockTolerance = options.clockToleranceSeconds ?? 30

  const keys = issuer === undefined && options.jwksUrl === undefined ? undefined : lazy(async () => {
    let jwksUrl = options.jwksUrl
    if (jwksUrl === undefined) {
      const metadata = await discover(issuer!)
      if (typeof metadata.jwks_uri !== "string") throw new Error(`${issuer}: its metadata has no jwks_uri`)
      jwksUrl = metadata.jwks_uri
    }
    return jose.createRemoteJWKSet(new URL(jwksUrl), {
      timeoutDuration: FETCH_TIMEOUT_MS,
      cooldownDuration: 30_000,
      cacheMaxAge: 10 * 60_000
    })
  })

  const verifyJwt = async (token: string, jwks: ReturnType<typeof jose.createRemoteJWKSet>): Promise<Verified> => {
    let result: jose.JWTVerifyResult
    try {
      result = await jose.jwtVerify(token, jwks, {
        ...(issuer === undefined ? {} : { issuer }),
        audience: resource,
        algorithms: ALGORITHMS as Array<string>,
        clockTolerance,
        requiredClaims: ["exp"]
      })
    } catch (error) {
      return describeJose(error)
    }
    const typ = result.protectedHeader.typ
    if (typ !== undefined && !TYPES.has(typ.toLowerCase())) {
      return rejected(`the token's type (${typ}) is not an access token (at+jwt)`)
    }
    return principalOf(result.payload as Record<string, unknown>, issuer)
  }

  const introspection = options.introspection
  const introspect = introspection === undefined ? undefined : async (token: string): Promise<Verified> => {
    const credentials = Buffer.from(
      `${encodeURIComponent(introspection.clientId)}:${encodeURIComponent(introspection.clientSecret)}`
    ).toString("base64")
    let answer: unknown
    try {
      answer = await fetchJson(introspection.url, {
        method: "POST",
        headers: {
          authorization: `Basic ${credentials}`,
          "content-type": "application/x-www-form-urlencoded",
          accept: "application/json"
        },
        body: new URLSearchParams({ token, token_type_hint: "access_token" })
      })
    } catch {
      return unavailable("the token introspection endpoint cannot be reached")
    }
    if (typeof answer !== "object" || answer === null) return unavailable("the introspection answer is not JSON")
    const claims = answer as Record<string, unknown>
    if (claims.active !== true) return rejected("the token is not active")
    const now = Date.now() / 1000
    if (typeof claims.exp === "number" && claims.exp + clockTolerance <= now) return rejected("the token has expired")
    if (typeof claims.nbf === "number" && claims.nbf - clockTolerance > now) {
      return rejected("the token is not valid yet")
    }
    if (issuer !== undefined && claims.iss !== undefined && claims.iss !== issuer) {
      return rejected("the token's issuer is not the authorization server")
    }
    const aud = claims.aud
    if (aud !== undefined && !(aud === resource || (Array.isArray(aud) && aud.includes(resource)))) {
      return rejected("the token's audience is not this resource")
    }
    return principalOf(claims, issuer)
  }

  const remember = (token: string, verified: Verified, ttlMs: number | undefined): Verified => {
    if (!isRejection(verified)) {
      const now = Date.now()
      const until = Math.min(
        verified.expiresAt === undefined
          ? now + (ttlMs ?? INTROSPECTION_TTL_MS)
          : verified.expiresAt + clockTolerance * 1000,
        ttlMs === undefined ? Infinity : now + ttlMs
      )
      if (until > now) cache.set(token, verified, until)
    }
    return verified
  }

  // After the keys could not be fetched, new tokens are answered 503 for a while without trying again: a client
  // retrying (or many clients) does not turn into as many requests to a struggling authorization server.
  let keysDownUntil = 0
  const keysDown = (verified: Verified): Verified => {
    if (isRejection(verified) && verified.kind === "unavailable") keysDownUntil = Date.now() + RETRY_MS / 2
    return verified
  }

  const check = (token: string): Verified | Promise<Verified> => {
    if (keys !== undefined && (looksLikeJwt(token) || introspect === undefined)) {
      if (Date.now() < keysDownUntil) return unavailable("the authorization server's keys cannot be fetched")
      return keys().then(
        (jwks) => verifyJwt(token, jwks).then((verified) => remember(token, keysDown(verified), undefined)),
        () => unavailable("the authorization server's metadata cannot be fetched")
      )
    }
    if (introspect !== undefined) {
      return introspect(token).then((verified) => remember(token, verified, INTROSPECTION_TTL_MS))
    }
    return rejected("no way to check tokens is configured")
  }

  // A token being checked: requests carrying it meanwhile wait for that check (one verification or introspection
  // per token, not one per request). As many entries as requests in flight at most.
  const checking = new Map<string, Promise<Verified>>()

  const verify = (token: string): Verified | Promise<Verified> => {
    const known = cache.get(token, Date.now())
    if (known !== undefined) return known
    const pending = checking.get(token)
    if (pending !== undefined) return pending
    const checked = check(token)
    if (!(checked instanceof Promise)) return checked
    checking.set(token, checked)
    const done = () => {
      checking.delete(token)
    }
    checked.then(done, done)
    return checked
  }

  return { verify, known: (token) => cache.get(token, Date.now()), cached: cache.size }
}
