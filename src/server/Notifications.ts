/**
 * Unsolicited notifications: `notifications/{tools,prompts,resources}/list_changed` and
 * `notifications/resources/updated`, fanned out to the connections that should see them.
 *
 * Every signal here is idempotent ("the list changed", "this URI changed"), so each subscriber keeps at most one
 * pending copy of each: a set of list kinds and a map of URIs. A broadcast marks the subscriber and wakes it; the
 * subscriber's own delivery (its connection fiber, its session's stream pump, or its `subscriptions/listen`
 * request) takes what is pending when it gets to it. A stalled subscriber therefore costs O(kinds + subscribed
 * URIs) memory however many broadcasts it misses, misses nothing that matters (the latest state is re-read on
 * receipt), and never slows the others: a broadcast is a synchronous loop of flag sets, with no awaiting.
 *
 * A broadcast is serialized once: the frame for a list kind is a constant and the frame for a URI is encoded once
 * per broadcast and shared by every recipient. Modern subscribers tag each notification with their subscription
 * id by splicing it into that shared frame, not by re-encoding it.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer } from "effect"
import type * as Scope from "effect/Scope"
import * as JsonRpc from "../protocol/JsonRpc.js"
import { MODERN_META } from "../protocol/McpSchema.js"

/**
 * @since 0.1.0
 * @category models
 */
export type ListKind = "tools" | "prompts" | "resources"

/**
 * @since 0.1.0
 * @category constants
 */
export const listChangedMethod: Readonly<Record<ListKind, string>> = {
  tools: "notifications/tools/list_changed",
  prompts: "notifications/prompts/list_changed",
  resources: "notifications/resources/list_changed"
}

const listFrame: Readonly<Record<ListKind, string>> = {
  tools: JsonRpc.encodeNotification(listChangedMethod.tools, undefined),
  prompts: JsonRpc.encodeNotification(listChangedMethod.prompts, undefined),
  resources: JsonRpc.encodeNotification(listChangedMethod.resources, undefined)
}

const TAG_KEY = JSON.stringify(MODERN_META.subscriptionId)

/**
 * Adds `_meta.subscriptionId` to a notification frame encoded by `JsonRpc.encodeNotification`, without parsing or
 * re-encoding it: the frame ends with `}` (no params) or `}}` (params object).
 *
 * @since 0.1.0
 * @category encoding
 */
export const tagFrame = (frame: string, tagJson: string): string => {
  const meta = `"_meta":{${TAG_KEY}:${tagJson}}`
  if (!frame.includes(`,"params":{`)) return `${frame.slice(0, -1)},"params":{${meta}}}`
  return frame.endsWith("{}}") ? `${frame.slice(0, -2)}${meta}}}` : `${frame.slice(0, -2)},${meta}}}`
}

/**
 * Every list kind: what a legacy session hears.
 *
 * @since 0.1.0
 * @category constants
 */
export const ALL_LISTS: ReadonlySet<ListKind> = new Set<ListKind>(["tools", "prompts", "resources"])

/**
 * The most URIs one subscriber may subscribe to (each costs a map entry).
 *
 * @since 0.1.0
 * @category constants
 */
export const MAX_URIS_PER_SUBSCRIBER = 1000

/**
 * One recipient of unsolicited notifications: a legacy session (stdio, WebSocket, SSE or HTTP) or one modern
 * `subscriptions/listen` stream.
 *
 * @since 0.1.0
 * @category models
 */
export class Subscriber {
  // Allocated on first use: most subscribers (idle legacy sessions) never hold anything pending or subscribed.
  /** List kinds signalled and not yet taken. */
  private pendingLists: Set<ListKind> | undefined = undefined
  /** URIs signalled and not yet taken, with the broadcast's shared frame. */
  private pendingUris: Map<string, string> | undefined = undefined
  private subscribed: Set<string> | undefined = undefined

  constructor(
    /** Which list_changed kinds this subscriber receives. */
    readonly lists: ReadonlySet<ListKind>,
    /** Called (synchronously, from the broadcaster) when something became pending. Must not block. */
    readonly wake: () => void,
    /** The JSON of the subscription id to tag notifications with (modern), or undefined (legacy). */
    readonly tagJson?: string
  ) {}

  /** Subscribed URIs. */
  get uris(): Set<string> {
    if (this.subscribed === undefined) this.subscribed = new Set()
    return this.subscribed
  }

  /**
   * @internal
   */
  signalList(kind: ListKind): void {
    if (!this.lists.has(kind)) return
    const first = !this.hasPending
    if (this.pendingLists === undefined) this.pendingLists = new Set()
    this.pendingLists.add(kind)
    if (first) this.wake()
  }

  /**
   * @internal
   */
  signalUri(uri: string, frame: string): void {
    const first = !this.hasPending
    if (this.pendingUris === undefined) this.pendingUris = new Map()
    this.pendingUris.set(uri, frame)
    if (first) this.wake()
  }

  get hasSubscriptions(): boolean {
    return this.subscribed !== undefined && this.subscribed.size > 0
  }

  /** Set when the server ends the subscription gracefully (shutdown). */
  ended = false

  /**
   * @internal
   */
  end(): void {
    this.ended = true
    this.wake()
  }

  /** How many notifications are pending: never more than the list kinds plus the subscribed URIs. */
  get pendingCount(): number {
    return (this.pendingLists?.size ?? 0) + (this.pendingUris?.size ?? 0)
  }

  get hasPending(): boolean {
    return (this.pendingLists !== undefined && this.pendingLists.size > 0) ||
      (this.pendingUris !== undefined && this.pendingUris.size > 0)
  }

  /** Takes every pending notification as frames ready to send, oldest kind first. */
  take(): Array<string> {
    const frames: Array<string> = []
    if (this.pendingLists !== undefined) {
      for (const kind of this.pendingLists) frames.push(this.tag(listFrame[kind]))
      this.pendingLists.clear()
    }
    if (this.pendingUris !== undefined) {
      for (const frame of this.pendingUris.values()) frames.push(this.tag(frame))
      this.pendingUris.clear()
    }
    return frames
  }

  private tag(frame: string): string {
    return this.tagJson === undefined ? frame : tagFrame(frame, this.tagJson)
  }
}

/**
 * The fan-out point. Touched only in synchronous steps (like the dispatcher's tables), so it needs no lock.
 *
 * @since 0.1.0
 * @category models
 */
export class Hub {
  private readonly all = new Set<Subscriber>()
  private readonly byUri = new Map<string, Set<Subscriber>>()

  get size(): number {
    return this.all.size
  }

  /** For metrics and tests: subscribers, and the notifications pending across them (total and worst). */
  stats(): { readonly subscribers: number; readonly pending: number; readonly maxPending: number } {
    let pending = 0
    let maxPending = 0
    for (const subscriber of this.all) {
      const n = subscriber.pendingCount
      pending += n
      if (n > maxPending) maxPending = n
    }
    return { subscribers: this.all.size, pending, maxPending }
  }

  add(subscriber: Subscriber): void {
    this.all.add(subscriber)
  }

  remove(subscriber: Subscriber): void {
    this.all.delete(subscriber)
    if (subscriber.hasSubscriptions) { for (const uri of [...subscriber.uris]) this.unsubscribe(subscriber, uri) }
  }

  /**
   * False when the subscriber already holds the most subscriptions allowed. A subscriber no longer in the hub (its
   * session ended) gains nothing: it would be counted by `resourceUpdated` and kept alive by `byUri` for nobody.
   */
  subscribe(subscriber: Subscriber, uri: string): boolean {
    if (!this.all.has(subscriber)) return true
    if (subscriber.uris.has(uri)) return true
    if (subscriber.uris.size >= MAX_URIS_PER_SUBSCRIBER) return false
    subscriber.uris.add(uri)
    let set = this.byUri.get(uri)
    if (set === undefined) {
      set = new Set()
      this.byUri.set(uri, set)
    }
    set.add(subscriber)
    return true
  }

  unsubscribe(subscriber: Subscriber, uri: string): void {
    if (!subscriber.hasSubscriptions) return
    subscriber.uris.delete(uri)
    const set = this.byUri.get(uri)
    if (set === undefined) return
    set.delete(subscriber)
    if (set.size === 0) this.byUri.delete(uri)
  }

  /**
   * Ends every modern subscription gracefully (shutdown): listen streams send their final result. Legacy sessions'
   * subscribers end with their sessions; waking each of them here would only cost a wake-up per session.
   */
  endAll(): void {
    for (const subscriber of this.all) if (subscriber.tagJson !== undefined) subscriber.end()
  }

  /** Signals `notifications/<kind>/list_changed` to every subscriber that wants it. */
  listChanged(kind: ListKind): number {
    let n = 0
    for (const subscriber of this.all) {
      if (subscriber.lists.has(kind)) {
        subscriber.signalList(kind)
        n++
      }
    }
    return n
  }

  /** Signals `notifications/resources/updated` to the subscribers of `uri`; the frame is encoded once. */
  resourceUpdated(uri: string): number {
    const set = this.byUri.get(uri)
    if (set === undefined) return 0
    const frame = JsonRpc.encodeNotification("notifications/resources/updated", { uri })
    for (const subscriber of set) subscriber.signalUri(uri, frame)
    return set.size
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// The bus: where a change is published before it reaches the hubs
// ---------------------------------------------------------------------------------------------------------------------

/**
 * A change to tell listeners about.
 *
 * @since 0.1.0
 * @category models
 */
export type Event =
  | { readonly _tag: "ListChanged"; readonly kind: ListKind }
  | { readonly _tag: "ResourceUpdated"; readonly uri: string }

/**
 * @since 0.1.0
 * @category models
 */
export interface Bus {
  /** Publishes a change; returns the subscribers this process signalled. */
  readonly publish: (event: Event) => Effect.Effect<number>
}

/**
 * Makes a server's bus, given how to deliver an event to that server's hub in this process. A bus that spans
 * processes (e.g. Redis pub/sub) publishes remotely and calls `deliver` for every event it receives, for the
 * lifetime of the Scope.
 *
 * @since 0.1.0
 * @category models
 */
export interface BusFactory {
  readonly make: (deliver: (event: Event) => number) => Effect.Effect<Bus, never, Scope.Scope>
}

/**
 * The hub of this process is the whole audience: publishing is delivering.
 *
 * @since 0.1.0
 * @category constructors
 */
export const local: BusFactory = {
  make: (deliver) => Effect.succeed({ publish: (event) => Effect.sync(() => deliver(event)) })
}

/**
 * The bus a server in this context publishes on: `local` unless a layer provides another.
 *
 * @since 0.1.0
 * @category tags
 */
export class NotificationBus extends Context.Reference<NotificationBus>()("effect-mcp-server/NotificationBus", {
  defaultValue: (): BusFactory => local
}) {}

/**
 * Provides a bus.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerBus = (factory: BusFactory): Layer.Layer<NotificationBus> => Layer.succeed(NotificationBus, factory)

/**
 * Delivers an event to a hub.
 *
 * @since 0.1.0
 * @category constructors
 */
export const deliverTo = (hub: Hub) => (event: Event): number =>
  event._tag === "ListChanged" ? hub.listChanged(event.kind) : hub.resourceUpdated(event.uri)
