/**
 * Letting forked fibers run, for the in-process tests (McpTest): under the TestClock nothing advances time, so a few
 * yields are what it takes for every fiber with work at this instant to do it.
 */
import { Effect } from "effect"

/** Lets forked fibers run until the server has nothing left to do at this instant (of the TestClock, or live). */
export const settle: Effect.Effect<void> = Effect.gen(function*() {
  for (let i = 0; i < 30; i++) yield* Effect.yieldNow()
})
