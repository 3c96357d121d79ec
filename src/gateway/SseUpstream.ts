import { Effect } from "effect"
import type { Scope } from "effect"
import type * as Upstream from "./Upstream.js"
export const make = (
  _config: Upstream.SseConfig,
  _events: Upstream.Events
): Effect.Effect<Upstream.Upstream, never, Scope.Scope> => Effect.die("todo")
