/**
 * What every request engine of one server shares, built once per server component (a connection, the HTTP
 * endpoint): the server, the interceptor chain, the compiled handler table and the two finishes of modern results.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import * as McpSchema from "../protocol/McpSchema.js"
import * as Handlers from "./Handlers.js"
import { Interceptors } from "./Interceptor.js"
import type { Interceptor } from "./Interceptor.js"
import { McpServer } from "./McpServer.js"
import * as RateLimit from "./RateLimit.js"
import type * as ResultFrame from "./ResultFrame.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Environment {
  readonly server: McpServer["Type"]
  readonly chain: ReadonlyArray<Interceptor>
  readonly methods: Readonly<Record<string, Handlers.Compiled>>
  readonly serverInfoMeta: Record<string, unknown>
  readonly finishCacheable: ResultFrame.Finish
  readonly finishPlain: ResultFrame.Finish
  /** The rate limits on tools/call; undefined when there are none (the engine then checks nothing). */
  readonly limiter: RateLimit.Limiter | undefined
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  server: McpServer["Type"],
  chain: ReadonlyArray<Interceptor>,
  limiter: RateLimit.Limiter = RateLimit.none
): Environment => {
  const serverInfoMeta = { [McpSchema.MODERN_META.serverInfo]: server.info }
  const base = {
    cacheTtlMs: server.cacheTtlMs,
    cacheScope: server.cacheScope,
    serverInfoMeta,
    serverInfoMetaJson: JSON.stringify(serverInfoMeta)
  }
  return {
    server,
    chain,
    methods: Handlers.compile(server.handlers ?? Handlers.local),
    serverInfoMeta,
    finishCacheable: { ...base, cacheable: true },
    finishPlain: { ...base, cacheable: false },
    limiter: RateLimit.isActive(limiter) ? limiter : undefined
  }
}

/**
 * The environment of the `McpServer`, interceptor chain and rate limiter in context.
 *
 * @since 0.1.0
 * @category constructors
 */
export const current: Effect.Effect<Environment, never, McpServer> = Effect.zipWith(
  Effect.zip(McpServer, Interceptors),
  RateLimit.RateLimiter,
  ([server, chain], limiter) => make(server, chain, limiter)
)
