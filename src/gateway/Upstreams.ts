/**
 * The one constructor the gateway calls: an upstream of any transport from its config.
 *
 * @since 0.2.0
 */
import type { Scope } from "effect"
import { Effect } from "effect"
import * as HttpUpstream from "./HttpUpstream.js"
import * as SseUpstream from "./SseUpstream.js"
import * as StdioUpstream from "./StdioUpstream.js"
import type * as Upstream from "./Upstream.js"

/**
 * Connects to the upstream `config` names (a stdio child, a Streamable HTTP endpoint of either era, an old HTTP+SSE
 * endpoint), for as long as the Scope lives. It never fails: an upstream that cannot be reached is Down, and
 * retried.
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = (
  config: Upstream.Config,
  events: Upstream.Events
): Effect.Effect<Upstream.Upstream, never, Scope.Scope> =>
  // Interruptible whatever region the caller is in: the fibers a client forks (its reader, its supervisor, its
  // streams) inherit the region they are forked in, and an uninterruptible one could never be stopped or timed out.
  Effect.interruptible(
    config.type === "stdio"
      ? StdioUpstream.make(config, events)
      : config.type === "http"
      ? HttpUpstream.make(config, events)
      : SseUpstream.make(config, events)
  )
