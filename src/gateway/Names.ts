/**
 * The names a gateway shows its clients. With one upstream, tool and prompt names pass unchanged. With several,
 * each is `NAME__tool` (the upstream's name, two underscores, the upstream's own name), legal under
 * `^[a-zA-Z0-9_-]{1,64}$`: every other character becomes `_`, and a name longer than 64 keeps its first 55
 * characters plus `_` and 8 hex digits of the SHA-256 of the unsanitized `NAME__tool`. A front name depends only on
 * the upstream's name and the item's name, so it stays the same when an upstream is added; two items that end up
 * with one front name are a collision, reported by `collisions`.
 *
 * Resource URIs pass unchanged, except where two upstreams serve one URI scheme: then each of those upstreams'
 * URIs of that scheme is shown as `PREFIX+scheme:...` (PREFIX: the upstream's name in lower case, other characters
 * as `-`, a leading letter ensured), and the gateway strips the prefix on the way back.
 *
 * @since 0.2.0
 */
import * as Crypto from "node:crypto"

/**
 * @since 0.2.0
 * @category constants
 */
export const PATTERN = /^[a-zA-Z0-9_-]{1,64}$/

/**
 * @since 0.2.0
 * @category constants
 */
export const SEPARATOR = "__"

const hash8 = (text: string): string => Crypto.createHash("sha256").update(text).digest("hex").slice(0, 8)

/**
 * A legal name for `text`: illegal characters as `_`, shortened with a hash past 64 characters.
 *
 * @since 0.2.0
 * @category naming
 */
export const sanitize = (text: string): string => {
  const legal = text.replace(/[^a-zA-Z0-9_-]/g, "_")
  if (legal.length === 0) return `_${hash8(text)}`
  return legal.length <= 64 ? legal : `${legal.slice(0, 55)}_${hash8(text)}`
}

/**
 * The front name of an upstream's tool or prompt.
 *
 * @since 0.2.0
 * @category naming
 */
export const front = (prefixed: boolean, upstream: string, name: string): string =>
  prefixed ? sanitize(`${upstream}${SEPARATOR}${name}`) : name

/**
 * One item as the front shows it and where it comes from.
 *
 * @since 0.2.0
 * @category models
 */
export interface Named {
  /** Where it comes from: an upstream's name, or `local` items of the gateway's own server. */
  readonly origin: string
  readonly name: string
  readonly front: string
}

/**
 * The front names claimed twice, as sentences naming both owners.
 *
 * @since 0.2.0
 * @category naming
 */
export const collisions = (kind: string, items: ReadonlyArray<Named>): ReadonlyArray<string> => {
  const seen = new Map<string, Named>()
  const found: Array<string> = []
  for (const item of items) {
    const first = seen.get(item.front)
    if (first === undefined) {
      seen.set(item.front, item)
      continue
    }
    found.push(
      `${kind} name "${item.front}" is claimed by ${first.origin}'s "${first.name}" and ${item.origin}'s "${item.name}"`
    )
  }
  return found
}

/**
 * The scheme prefix of an upstream whose URIs are rewritten.
 *
 * @since 0.2.0
 * @category naming
 */
export const schemePrefix = (upstream: string): string => {
  const lower = upstream.toLowerCase().replace(/[^a-z0-9.-]/g, "-")
  return /^[a-z]/.test(lower) ? lower : `u${lower}`
}

/**
 * The scheme of a URI or URI template (lower case), or undefined.
 *
 * @since 0.2.0
 * @category naming
 */
export const schemeOf = (uri: string): string | undefined => /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(uri)?.[1]?.toLowerCase()

/**
 * How one upstream's URIs are shown: the schemes it shares with another upstream get its prefix.
 *
 * @since 0.2.0
 * @category models
 */
export interface UriRewrite {
  readonly prefix: string
  readonly schemes: ReadonlySet<string>
}

/**
 * The URI as the front shows it.
 *
 * @since 0.2.0
 * @category naming
 */
export const frontUri = (rewrite: UriRewrite | undefined, uri: string): string => {
  if (rewrite === undefined || rewrite.schemes.size === 0) return uri
  const scheme = schemeOf(uri)
  return scheme !== undefined && rewrite.schemes.has(scheme) ? `${rewrite.prefix}+${uri}` : uri
}

/**
 * The upstream's own URI of a front URI, when the front URI carries this upstream's prefix on a rewritten scheme.
 *
 * @since 0.2.0
 * @category naming
 */
export const upstreamUri = (rewrite: UriRewrite | undefined, uri: string): string | undefined => {
  if (rewrite === undefined) return undefined
  const head = `${rewrite.prefix}+`
  if (!uri.toLowerCase().startsWith(head)) return undefined
  const rest = uri.slice(head.length)
  const scheme = schemeOf(rest)
  return scheme !== undefined && rewrite.schemes.has(scheme) ? rest : undefined
}

/**
 * The schemes each upstream must rewrite: those that more than one upstream uses (a pure function of what each
 * upstream serves, so adding an upstream rewrites only the schemes it shares).
 *
 * @since 0.2.0
 * @category naming
 */
export const sharedSchemes = (
  schemesByUpstream: ReadonlyMap<string, ReadonlySet<string>>
): ReadonlyMap<string, UriRewrite> => {
  const owners = new Map<string, number>()
  for (const schemes of schemesByUpstream.values()) {
    for (const scheme of schemes) owners.set(scheme, (owners.get(scheme) ?? 0) + 1)
  }
  const result = new Map<string, UriRewrite>()
  for (const [upstream, schemes] of schemesByUpstream) {
    const shared = new Set([...schemes].filter((scheme) => (owners.get(scheme) ?? 0) > 1))
    result.set(upstream, { prefix: schemePrefix(upstream), schemes: shared })
  }
  return result
}
