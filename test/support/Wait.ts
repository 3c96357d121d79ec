/**
 * Bounded waits for the tests that run on real time (sockets, child processes): a condition that is polled, or one
 * that is checked again whenever an emitter says something changed. A wait that runs out fails the test with what
 * it was waiting for, instead of hanging the run.
 */
import type { EventEmitter } from "node:events"

/**
 * Polls `check` every `intervalMs` until it holds; fails after `timeoutMs / intervalMs` checks (the bound stretches
 * under load, since each check and pause takes at least that long, but never shrinks).
 */
export const until = async (
  check: () => Promise<boolean> | boolean,
  what: string,
  timeoutMs = 2_000,
  intervalMs = 10
): Promise<void> => {
  const checks = Math.max(1, Math.ceil(timeoutMs / intervalMs))
  for (let i = 0; i < checks; i++) {
    if (await check()) return
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
  throw new Error(`Timed out waiting for ${what} (${checks} checks, ${intervalMs} ms apart)`)
}

/**
 * The first defined value of `find`, checked now and again on every `event` of `source`. If `find` throws, the wait
 * fails with that error (a peer that is gone); after `timeoutMs` it fails naming `what`, followed by `details()`.
 */
export const waitFor = <A>(
  source: EventEmitter,
  event: string,
  find: () => A | undefined,
  what: string,
  options: { readonly timeoutMs?: number; readonly details?: () => string } = {}
): Promise<A> =>
  new Promise<A>((resolve, reject) => {
    const timeoutMs = options.timeoutMs ?? 10_000
    // Assigned once, after the first check; `cleanup` reads it before that.
    // eslint-disable-next-line prefer-const
    let timer: ReturnType<typeof setTimeout> | undefined
    const cleanup = () => {
      clearTimeout(timer)
      source.removeListener(event, check)
    }
    const check = (): boolean => {
      let found: A | undefined
      try {
        found = find()
      } catch (error) {
        cleanup()
        reject(error)
        return true
      }
      if (found === undefined) return false
      cleanup()
      resolve(found)
      return true
    }
    if (check()) return
    timer = setTimeout(() => {
      cleanup()
      reject(new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${options.details?.() ?? ""}`))
    }, timeoutMs)
    source.on(event, check)
  })
