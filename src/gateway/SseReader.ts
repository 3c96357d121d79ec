/**
 * Server-Sent Events from an upstream: an incremental parser (WHATWG field rules) and a reader that hands events one
 * at a time to an Effect, the stream paused while they wait (a fast upstream never fills memory).
 *
 * @since 0.2.0
 */
import { Deferred, Effect, FiberId } from "effect"
import type { Readable } from "node:stream"
import * as Upstream from "./Upstream.js"

/**
 * One Server-Sent Event.
 *
 * @since 0.2.0
 * @category models
 */
export interface SseEvent {
  readonly event: string
  readonly data: string
  /** The stream's last event id so far (this event's, or an earlier one's). */
  readonly id: string | undefined
  /** The reconnection time the stream last set, in milliseconds. */
  readonly retry: number | undefined
}

/**
 * An incremental SSE parser (WHATWG rules: fields per line, `\n`, `\r\n` or `\r` line ends, comments, `data` lines
 * joined with newlines). An event whose data grows past `maxBytes` is skipped, and `oversized` is called. `id` is the
 * stream's last event id and `retry` its last reconnection time (both kept from one event to the next, as WHATWG
 * keeps them); a block with no `data` that sets either is given as an event of type `""` with empty data, so a reader
 * that resumes streams sees every id (readers skip empty data).
 *
 * @since 0.2.0
 * @category parsing
 */
export const parser = (
  maxBytes: number,
  emit: (event: SseEvent) => void,
  oversized: () => void
): { readonly push: (chunk: string) => void; readonly end: () => void } => {
  let line = ""
  let data: Array<string> = []
  let size = 0
  let event = ""
  let id: string | undefined
  let retry: number | undefined
  // An `id` or `retry` field in the block being read.
  let meta = false
  let skipping = false
  let lastWasCr = false
  const dispatch = () => {
    if (skipping) {
      skipping = false
      oversized()
    } else if (data.length > 0) {
      emit({ event: event === "" ? "message" : event, data: data.join("\n"), id, retry })
    } else if (meta) {
      emit({ event: "", data: "", id, retry })
    }
    data = []
    size = 0
    event = ""
    meta = false
  }
  const field = (text: string) => {
    if (text === "") return dispatch()
    if (text.charCodeAt(0) === 58) return // ":" comment
    const colon = text.indexOf(":")
    const name = colon === -1 ? text : text.slice(0, colon)
    let value = colon === -1 ? "" : text.slice(colon + 1)
    if (value.charCodeAt(0) === 32) value = value.slice(1)
    switch (name) {
      case "data":
        if (skipping) return
        size += value.length + 1
        if (size > maxBytes) {
          skipping = true
          data = []
          return
        }
        data.push(value)
        return
      case "event":
        event = value
        return
      case "id":
        if (!value.includes("\0")) {
          id = value
          meta = true
        }
        return
      case "retry":
        if (/^\d+$/.test(value)) {
          retry = Number(value)
          meta = true
        }
        return
    }
  }
  return {
    push: (chunk) => {
      let start = 0
      for (let i = 0; i < chunk.length; i++) {
        const c = chunk.charCodeAt(i)
        if (c === 10 && lastWasCr) {
          lastWasCr = false
          start = i + 1
          continue
        }
        lastWasCr = false
        if (c === 10 || c === 13) {
          lastWasCr = c === 13
          const text = line + chunk.slice(start, i)
          line = ""
          start = i + 1
          field(text)
        }
      }
      if (start < chunk.length) {
        line += chunk.slice(start)
        // A line with no end is as big as an event can be.
        if (line.length > maxBytes + 16) {
          line = ""
          skipping = true
        }
      }
    },
    end: () => {
      if (line !== "") field(line)
      line = ""
    }
  }
}

const HIGH_WATER = 64

/**
 * A reason to stop reading that comes from elsewhere (a request's answer that arrived by another way): `done` is
 * checked before each event, and `onDone` is given the reader's wake-up (undefined when it stops waiting).
 *
 * @since 0.2.0
 * @category models
 */
export interface Stop {
  readonly done: () => boolean
  readonly onDone: (wake: (() => void) | undefined) => void
}

/**
 * Reads an event stream to its end, giving each event to `onEvent` in order (`onEvent` returning false, or `stop`
 * done, ends the reading early: the response is then released by the caller). Fails when the stream breaks before
 * its end.
 *
 * @since 0.2.0
 * @category reading
 */
export const readSse = (
  res: Readable,
  maxBytes: number,
  upstream: string,
  onEvent: (event: SseEvent) => Effect.Effect<boolean>,
  stop?: Stop
): Effect.Effect<void, Upstream.UpstreamError> =>
  Effect.suspend(() => {
    // `null`: an event skipped for its size (logged in order, from the reading fiber).
    const buffer: Array<SseEvent | null> = []
    let ended = false
    let broken: string | undefined
    let paused = false
    let wake: Deferred.Deferred<void> | undefined
    const signal = () => {
      const w = wake
      wake = undefined
      if (w !== undefined) Deferred.unsafeDone(w, Effect.void)
    }
    const parse = parser(maxBytes, (event) => buffer.push(event), () => buffer.push(null))
    res.setEncoding("utf8")
    const onData = (chunk: string) => {
      parse.push(chunk)
      if (buffer.length >= HIGH_WATER && !paused) {
        paused = true
        res.pause()
      }
      signal()
    }
    const onEnd = () => {
      parse.end()
      ended = true
      signal()
    }
    const onBroken = () => {
      if (!ended) broken ??= "the stream was cut off"
      signal()
    }
    res.on("data", onData)
    res.once("end", onEnd)
    res.once("error", onBroken)
    res.once("aborted", onBroken)
    res.once("close", onBroken)
    stop?.onDone(signal)
    const cleanup = Effect.sync(() => {
      stop?.onDone(undefined)
      res.removeListener("data", onData)
      res.removeListener("end", onEnd)
      res.removeListener("error", onBroken)
      res.removeListener("aborted", onBroken)
      res.removeListener("close", onBroken)
    })
    const loop: Effect.Effect<void, Upstream.UpstreamError> = Effect.suspend(() => {
      if (stop?.done() === true) return Effect.void
      if (buffer.length > 0) {
        const next = buffer.shift()!
        if (paused && buffer.length < HIGH_WATER / 2) {
          paused = false
          res.resume()
        }
        if (next === null) {
          return Effect.zipRight(
            Effect.logWarning("Upstream sent an event over the size limit: skipped").pipe(
              Effect.annotateLogs({ upstream, maxBytes })
            ),
            loop
          )
        }
        return Effect.flatMap(onEvent(next), (more) => (more ? loop : Effect.void))
      }
      if (ended) return Effect.void
      if (broken !== undefined) {
        return Effect.fail(
          new Upstream.UpstreamError({ upstream, reason: "closed", message: `Upstream ${upstream}: ${broken}` })
        )
      }
      const w = Deferred.unsafeMake<void>(FiberId.none)
      wake = w
      return Effect.zipRight(Deferred.await(w), loop)
    })
    return Effect.ensuring(loop, cleanup)
  })
