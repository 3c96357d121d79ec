/**
 * Rate limits on tool invocations: token buckets per caller (the principal's subject, else the remote address,
 * else the transport: stdio has one caller) and per tool (by name, across callers). The engine checks them before
 * a `tools/call` handler runs; a call over a limit is refused with -32000 and `data: { retryAfterMs, limit,
 * windowMs, scope }`, which Streamable HTTP answers as 429 with `Retry-After`.
 *
 * The seam: the `RateLimiter` reference (no limits unless a layer provides some) and, beneath it, a `Store` of token
 * buckets. The store's contract is that of `@effect/experimental`'s `RateLimiterStore.tokenBucket`, so that
 * package's Redis store (`@effect/experimental/RateLimiter/Redis`) can be given as `store` to share buckets across
 * replicas. The default store is in memory, on Effect's `Clock` (so `TestClock` refills it), bounded in keys.
 *
 * @since 0.1.0
 */
import type { ConfigError } from "effect"
import { Config, Context, Duration, Effect, Layer, Option } from "effect"
import * as Settings from "../Settings.js"

/**
 * `calls` tokens per `windowMillis`: a full bucket holds `calls`, and refills one token every `windowMillis / calls`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Limit {
  readonly calls: number
  readonly windowMillis: number
}

/**
 * Token buckets by key. `tokenBucket` takes `tokens` from the bucket of `key` (full at `limit`, one token back every
 * `refillRate`) and returns what is left: negative when there were not enough, in which case nothing is taken
 * (`allowOverflow` false, the only way the limiter asks). The shape of `@effect/experimental`'s
 * `RateLimiterStore.tokenBucket`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Store {
  readonly tokenBucket: (options: {
    readonly key: string
    readonly tokens: number
    readonly limit: number
    readonly refillRate: Duration.Duration
    readonly allowOverflow: boolean
  }) => Effect.Effect<number, unknown>
}

/**
 * The limits a server applies. Undefined: no limit of that kind.
 *
 * @since 0.1.0
 * @category models
 */
export interface Limiter {
  /** `tools/call` per caller. */
  readonly perCaller: Limit | undefined
  /** `tools/call` per tool name, across callers. */
  readonly perTool: Limit | undefined
  readonly store: Store
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly perCaller?: Limit | undefined
  readonly perTool?: Limit | undefined
  /** Default: `makeMemoryStore()`, one per layer. */
  readonly store?: Store | undefined
}

/**
 * A call over a limit: which one, and when a token is back.
 *
 * @since 0.1.0
 * @category models
 */
export interface Exceeded {
  readonly scope: "caller" | "tool"
  readonly limit: number
  readonly windowMs: number
  readonly retryAfterMs: number
}

/**
 * In-memory token buckets on Effect's `Clock`. Bounded: past `max` keys the least recently used bucket is dropped
 * (its key starts again with a full bucket), so callers from ever new addresses cannot grow it without end.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemoryStore = (max = 100_000): Store => {
  const buckets = new Map<string, { tokens: number; at: number }>()
  return {
    tokenBucket: (options) =>
      Effect.clockWith((clock) =>
        Effect.sync(() => {
          const now = clock.unsafeCurrentTimeMillis()
          const refillMillis = Duration.toMillis(options.refillRate)
          let bucket = buckets.get(options.key)
          if (bucket === undefined) {
            bucket = { tokens: options.limit, at: now }
            if (buckets.size >= max) buckets.delete(buckets.keys().next().value!)
          } else {
            buckets.delete(options.key)
            const refilled = refillMillis > 0 ? (now - bucket.at) / refillMillis : options.limit
            bucket.tokens = Math.min(options.limit, bucket.tokens + Math.max(0, refilled))
            bucket.at = now
          }
          // Most recently used last: the first key is the one to drop.
          buckets.set(options.key, bucket)
          const left = bucket.tokens - options.tokens
          if (left >= 0 || options.allowOverflow) bucket.tokens = left
          return left
        })
      )
  }
}

/**
 * No limits: what the engine sees unless a layer provides the `RateLimiter`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const none: Limiter = {
  perCaller: undefined,
  perTool: undefined,
  store: { tokenBucket: () => Effect.succeed(0) }
}

const valid = (limit: Limit | undefined): Limit | undefined =>
  limit !== undefined && limit.calls > 0 && limit.windowMillis > 0 ? limit : undefined

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options): Limiter => {
  const perCaller = valid(options.perCaller)
  const perTool = valid(options.perTool)
  if (perCaller === undefined && perTool === undefined) return none
  return { perCaller, perTool, store: options.store ?? makeMemoryStore() }
}

/**
 * Whether the limiter limits anything (the engine skips the check otherwise).
 *
 * @since 0.1.0
 * @category predicates
 */
export const isActive = (limiter: Limiter): boolean => limiter.perCaller !== undefined || limiter.perTool !== undefined

/**
 * The limiter the engines of servers in this context apply: none unless a layer provides one.
 *
 * @since 0.1.0
 * @category tags
 */
export class RateLimiter extends Context.Reference<RateLimiter>()("effect-mcp-server/RateLimiter", {
  defaultValue: (): Limiter => none
}) {}

/**
 * Limits from options (a memory store of its own unless `store` is given).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<RateLimiter> => Layer.sync(RateLimiter, () => make(options))

/**
 * The options the settings give (`--rate-limit-calls`, `--rate-limit-tool-calls`, `--rate-limit-window-ms`).
 *
 * @since 0.1.0
 * @category config
 */
export const options: Config.Config<Options> = Config.map(
  Config.all([
    Settings.rateLimitCalls.config,
    Settings.rateLimitToolCalls.config,
    Settings.orDefault(Settings.rateLimitWindowMs)
  ]),
  ([calls, toolCalls, windowMillis]) => ({
    perCaller: Option.isSome(calls) ? { calls: calls.value, windowMillis } : undefined,
    perTool: Option.isSome(toolCalls) ? { calls: toolCalls.value, windowMillis } : undefined
  })
)

/**
 * The limits the settings give (none by default).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig: Layer.Layer<RateLimiter, ConfigError.ConfigError> = Layer.effect(
  RateLimiter,
  Effect.map(options, make)
)

const hexGroups = (part: string): Array<string> | undefined => {
  if (part === "") return []
  const groups = part.split(":")
  return groups.every((group) => /^[0-9a-f]{1,4}$/.test(group)) ? groups : undefined
}

/**
 * The part of a remote address that names one caller: an IPv4 address as it is (an IPv4-mapped IPv6 address as its
 * IPv4 address), an IPv6 address as its /64 prefix (one subscriber usually holds a whole /64, so per-address buckets
 * would let it take 2^64 of them). Anything else (a zone index, a malformed address) is kept whole, lowercased.
 *
 * @since 0.2.0
 * @category keys
 */
export const addressKey = (address: string): string => {
  const lower = address.toLowerCase()
  if (!lower.includes(":")) return lower
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(lower)
  if (mapped !== null) return mapped[1]!
  const halves = lower.split("::")
  if (halves.length > 2) return lower
  const head = hexGroups(halves[0]!)
  const tail = halves.length === 2 ? hexGroups(halves[1]!) : []
  if (head === undefined || tail === undefined) return lower
  const missing = 8 - head.length - tail.length
  if (halves.length === 2 ? missing < 1 : missing !== 0) return lower
  const groups = [...head, ...Array<string>(missing).fill("0"), ...tail]
  return `${groups.slice(0, 4).map((group) => group.replace(/^0+(?=.)/, "")).join(":")}::/64`
}

/**
 * The key a caller's bucket has: the principal's subject, else the remote address (`addressKey`: IPv6 by /64), else
 * the transport (stdio and McpTest have one caller).
 *
 * @since 0.1.0
 * @category keys
 */
export const callerKey = (peer: {
  readonly transport: string
  readonly remoteAddress: string | undefined
  readonly principal: { readonly subject: string } | undefined
}): string =>
  peer.principal !== undefined
    ? `principal:${peer.principal.subject}`
    : peer.remoteAddress !== undefined
    ? `address:${addressKey(peer.remoteAddress)}`
    : `transport:${peer.transport}`

const take = (
  store: Store,
  key: string,
  limit: Limit,
  scope: Exceeded["scope"]
): Effect.Effect<Exceeded | undefined> => {
  const refillMillis = limit.windowMillis / limit.calls
  return store.tokenBucket({
    key,
    tokens: 1,
    limit: limit.calls,
    refillRate: Duration.millis(refillMillis),
    allowOverflow: false
  }).pipe(
    Effect.map((left): Exceeded | undefined =>
      left >= 0 ? undefined : {
        scope,
        limit: limit.calls,
        windowMs: limit.windowMillis,
        // Rounded up to the millisecond, less the float noise of the product (0.002 * 500 is not exactly 1).
        retryAfterMs: Math.max(1, Math.ceil(-left * refillMillis - 1e-6))
      }
    ),
    // A store that fails (Redis unreachable) lets the call through: a limit is no reason to stop serving.
    Effect.catchAllCause((cause) =>
      Effect.as(
        Effect.logWarning("Rate limit store failed; the call is not limited").pipe(
          Effect.annotateLogs({ key, cause: String(cause) })
        ),
        undefined
      )
    )
  )
}

/**
 * Takes a token for one `tools/call`: from the caller's bucket, then (if the caller had one) from the tool's. The
 * first limit exceeded, or undefined.
 *
 * @since 0.1.0
 * @category checks
 */
export const check = (
  limiter: Limiter,
  caller: string,
  tool: string | undefined
): Effect.Effect<Exceeded | undefined> => {
  const perTool = tool === undefined ? undefined : limiter.perTool
  const toolCheck = perTool === undefined ? undefined : take(limiter.store, `tool:${tool}`, perTool, "tool")
  if (limiter.perCaller === undefined) return toolCheck ?? Effect.succeed(undefined)
  const callerCheck = take(limiter.store, `caller:${caller}`, limiter.perCaller, "caller")
  return toolCheck === undefined
    ? callerCheck
    : Effect.flatMap(callerCheck, (exceeded) => exceeded === undefined ? toolCheck : Effect.succeed(exceeded))
}
