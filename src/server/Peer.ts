/**
 * Who is asking: the transport a request came over, its legacy session, the principal that authenticated it (none
 * until authorization is configured), and the remote address. Carried with every request: handlers read it from
 * `McpContext.peer`, interceptors from their `Context.peer`. Authorization, rate limits and logs key on it.
 *
 * @since 0.1.0
 */

/**
 * An authenticated caller (OAuth: the token's subject, client and scopes).
 *
 * @since 0.1.0
 * @category models
 */
export interface Principal {
  readonly subject: string
  readonly clientId: string | undefined
  readonly scopes: ReadonlyArray<string>
  /** When the credential stops being valid, in ms since the epoch, if it says. */
  readonly expiresAt: number | undefined
  /** The authorization server that issued the credential (`iss`), when known. */
  readonly issuer?: string | undefined
}

/**
 * Whether two principals are the same caller: the same subject from the same issuer (both anonymous counts too).
 * A legacy session answers only the principal that created it.
 *
 * @since 0.1.0
 * @category predicates
 */
export const samePrincipal = (a: Principal | undefined, b: Principal | undefined): boolean =>
  a === b || (a !== undefined && b !== undefined && a.subject === b.subject && a.issuer === b.issuer)

/**
 * @since 0.1.0
 * @category models
 */
export interface Peer {
  /** `stdio`, `websocket`, `sse` (the old HTTP+SSE transport), `http` (Streamable HTTP), `memory` (McpTest). */
  readonly transport: string
  /** The legacy session id, where the transport has sessions (Streamable HTTP, old SSE). */
  readonly sessionId: string | undefined
  readonly principal: Principal | undefined
  /** The remote IP address, where the transport has one. */
  readonly remoteAddress: string | undefined
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (fields: {
  readonly transport: string
  readonly sessionId?: string | undefined
  readonly principal?: Principal | undefined
  readonly remoteAddress?: string | undefined
}): Peer => ({
  transport: fields.transport,
  sessionId: fields.sessionId,
  principal: fields.principal,
  remoteAddress: fields.remoteAddress
})

/**
 * The peer of a request whose transport said nothing about it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const unknown: Peer = make({ transport: "unknown" })
