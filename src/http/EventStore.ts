/**
 * The log behind resumable SSE streams: every event a legacy session's stream carries is appended under the
 * stream's id, and a client that reconnects with `Last-Event-ID` is replayed that stream's later events (and only
 * that stream's, as the spec requires). The in-memory store keeps a bounded window per stream and a bounded number
 * of streams; a shared store (e.g. Redis, for several nodes) implements the same interface.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer, Option } from "effect"

/**
 * @since 0.1.0
 * @category models
 */
export interface StoredEvent {
  readonly id: string
  readonly frame: string
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Replay {
  readonly streamId: string
  readonly events: ReadonlyArray<StoredEvent>
  /** Whether events after `Last-Event-ID` were already evicted (the client missed something). */
  readonly truncated: boolean
}

/**
 * @since 0.1.0
 * @category tags
 */
export class EventStore extends Context.Tag("effect-mcp-server/EventStore")<EventStore, {
  /** Appends a frame to a stream's log; returns its event id, which encodes the stream's identity. */
  readonly append: (streamId: string, frame: string) => Effect.Effect<string>
  /** The events after `lastEventId` on its stream; none when the stream is unknown. */
  readonly after: (lastEventId: string) => Effect.Effect<Option.Option<Replay>>
  /**
   * Appends synchronously, for stores that can (the in-memory one): lets a broadcast write a parked stream's
   * notification in its own step instead of waking the stream's fiber. Optional; without it streams are woken.
   */
  readonly unsafeAppend?: (streamId: string, frame: string) => string
  /** Forgets a stream (its session ended). */
  readonly drop: (streamId: string) => Effect.Effect<void>
}>() {}

/**
 * The stream an event id belongs to: ids are `<streamId>#<sequence>`.
 *
 * @since 0.1.0
 * @category ids
 */
export const streamOf = (eventId: string): string | undefined => {
  const hash = eventId.lastIndexOf("#")
  return hash <= 0 ? undefined : eventId.slice(0, hash)
}

const sequenceOf = (eventId: string): number => {
  const hash = eventId.lastIndexOf("#")
  const n = Number(eventId.slice(hash + 1))
  return Number.isInteger(n) && n >= 0 ? n : -1
}

interface Log {
  next: number
  readonly events: Array<StoredEvent>
}

/**
 * An in-memory store: at most `eventsPerStream` events per stream (oldest evicted first) and at most `streams`
 * streams (the least recently written evicted first).
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory = (options: { readonly eventsPerStream?: number; readonly streams?: number } = {}) => {
  const perStream = options.eventsPerStream ?? 1000
  const maxStreams = options.streams ?? 10_000
  const logs = new Map<string, Log>()
  const unsafeAppend = (streamId: string, frame: string): string => {
    let log = logs.get(streamId)
    if (log === undefined) {
      log = { next: 1, events: [] }
      if (logs.size >= maxStreams) logs.delete(logs.keys().next().value!)
    } else {
      logs.delete(streamId)
    }
    logs.set(streamId, log)
    const id = `${streamId}#${log.next++}`
    log.events.push({ id, frame })
    if (log.events.length > perStream) log.events.shift()
    return id
  }
  return EventStore.of({
    append: (streamId, frame) => Effect.sync(() => unsafeAppend(streamId, frame)),
    unsafeAppend,
    after: (lastEventId) =>
      Effect.sync(() => {
        const streamId = streamOf(lastEventId)
        const log = streamId === undefined ? undefined : logs.get(streamId)
        if (streamId === undefined || log === undefined) return Option.none()
        // A log holds a contiguous run of sequence numbers ending at next - 1: the events after `seq` are a slice.
        const seq = sequenceOf(lastEventId)
        const oldest = log.next - log.events.length
        const events = log.events.slice(Math.max(0, seq + 1 - oldest))
        return Option.some({ streamId, events, truncated: oldest > seq + 1 })
      }),
    drop: (streamId) =>
      Effect.sync(() => {
        logs.delete(streamId)
      })
  })
}

/**
 * @since 0.1.0
 * @category layers
 */
export const layerMemory = (options?: { readonly eventsPerStream?: number; readonly streams?: number }) =>
  Layer.sync(EventStore, () => makeMemory(options))
