/**
 * The interceptor chain on the engine's path: what an interceptor sees of a message (`MessageContext`), inbound
 * verdicts turned into what the engine does next (`inbound`), outbound frames through the chain (`outbound`,
 * `InterceptedSink`). The engine calls none of it when the chain is empty. Interceptor chains usually answer with
 * plain values (an `Exit`), which `mapNow`/`thenNow` apply at once instead of building an Effect per message.
 *
 * @since 0.1.0
 */
import { Effect, Exit, Predicate } from "effect"
import * as JsonRpc from "../protocol/JsonRpc.js"
import * as ProtocolVersion from "../protocol/ProtocolVersion.js"
import * as Interceptor from "./Interceptor.js"
import type * as Peer from "./Peer.js"
import type * as Session from "./Session.js"
import * as Sink from "./Sink.js"

/**
 * What the chain reads of the connection or session a message belongs to (the engine).
 *
 * @since 0.1.0
 * @category models
 */
export interface Source {
  readonly chain: ReadonlyArray<Interceptor.Interceptor>
  readonly pinned: ProtocolVersion.Era | undefined
  readonly session: Session.Session
  readonly peer: Peer.Peer
}

/**
 * What the engine does with an inbound message after the chain: pass it on (perhaps changed), answer it, or drop it.
 *
 * @since 0.1.0
 * @category models
 */
export type Inbound =
  | { readonly _tag: "Pass"; readonly json: unknown; readonly changed: boolean }
  | { readonly _tag: "Answer"; readonly frame: string; readonly outcome: Sink.Outcome }
  | { readonly _tag: "Drop"; readonly request: boolean }

/** The context an interceptor sees for one message: read from the source when asked, metadata made on first use. */
class MessageContext implements Interceptor.Context {
  private meta: Map<string, unknown> | undefined = undefined
  constructor(
    readonly source: Source,
    readonly direction: Interceptor.Context["direction"],
    readonly requestId: JsonRpc.RequestId | null | undefined
  ) {}
  get era(): ProtocolVersion.Era | undefined {
    return this.source.pinned
  }
  get protocolVersion(): string | undefined {
    return this.source.pinned === "modern"
      ? ProtocolVersion.LATEST_MODERN
      : this.source.session.negotiated?.protocolVersion
  }
  get sessionId(): string | undefined {
    return this.source.peer.sessionId
  }
  get transport(): string {
    return this.source.peer.transport
  }
  get principal(): string | undefined {
    return this.source.peer.principal?.subject
  }
  get peer(): Peer.Peer {
    return this.source.peer
  }
  get metadata(): Map<string, unknown> {
    if (this.meta === undefined) this.meta = new Map()
    return this.meta
  }
}

const idOf = (message: Record<string, unknown>): JsonRpc.RequestId | null | undefined =>
  typeof message.id === "string" || typeof message.id === "number"
    ? message.id
    : message.id === null
    ? null
    : undefined

/**
 * An inbound message through the chain.
 *
 * @since 0.1.0
 * @category running
 */
export const inbound = (source: Source, json: unknown): Effect.Effect<Inbound> => {
  if (!Predicate.isRecord(json)) return Exit.succeed({ _tag: "Pass", json, changed: false })
  const id = idOf(json)
  const request = typeof json.method === "string" && id !== undefined && id !== null
  const verdict = Interceptor.runNow(
    source.chain,
    json as Interceptor.Message,
    new MessageContext(source, "inbound", id)
  )
  return mapNow(verdict, (verdict): Inbound => {
    switch (verdict._tag) {
      case "Pass":
        return { _tag: "Pass", json: verdict.message, changed: verdict.message !== json }
      case "Block":
        return request
          ? {
            _tag: "Answer",
            frame: JsonRpc.encodeError(id!, verdict.error),
            outcome: { code: verdict.error.code, rejected: true }
          }
          : { _tag: "Drop", request }
      case "Respond":
        return request
          ? { _tag: "Answer", frame: JsonRpc.encodeResult(id!, verdict.result), outcome: Sink.answered }
          : { _tag: "Drop", request }
      case "Drop":
        return { _tag: "Drop", request }
    }
  })
}

const outboundOne = (source: Source, message: unknown): Effect.Effect<unknown | undefined> => {
  if (!Predicate.isRecord(message)) return Exit.succeed(message)
  const id = idOf(message)
  const response = id !== undefined && message.method === undefined
  const verdict = Interceptor.runNow(
    source.chain,
    message as Interceptor.Message,
    new MessageContext(source, "outbound", id)
  )
  return mapNow(verdict, (verdict) => {
    switch (verdict._tag) {
      case "Pass":
        return verdict.message
      case "Block":
        return response ? { jsonrpc: "2.0", id, error: verdict.error } : undefined
      case "Respond":
        return response ? { jsonrpc: "2.0", id, result: verdict.result } : undefined
      case "Drop":
        return undefined
    }
  })
}

/**
 * An outbound frame through the chain: the frame to send, or undefined when it was dropped.
 *
 * @since 0.1.0
 * @category running
 */
export const outbound = (source: Source, frame: string): Effect.Effect<string | undefined> => {
  const message: unknown = JSON.parse(frame)
  if (!Array.isArray(message)) {
    return mapNow(
      outboundOne(source, message),
      (out) => out === undefined ? undefined : out === message ? frame : JSON.stringify(out)
    )
  }
  return Effect.map(Effect.forEach(message, (item) => outboundOne(source, item)), (outs) => {
    const kept = outs.filter((out) => out !== undefined)
    return kept.length === 0 ? undefined : JSON.stringify(kept)
  })
}

/**
 * Outbound frames through the chain, as a Sink: one object per message, behaviour on the prototype.
 *
 * @since 0.1.0
 * @category running
 */
export class InterceptedSink implements Sink.Sink {
  constructor(readonly source: Source, readonly sink: Sink.Sink) {}
  // Called on the wrapped sink, so a sink that is a class instance keeps its `this`.
  end(interrupted: boolean): Effect.Effect<void> {
    return this.sink.end?.(interrupted) ?? Effect.void
  }
  notify(frame: string): Effect.Effect<void> {
    return Effect.suspend(() =>
      thenNow(outbound(this.source, frame), (out) => (out === undefined ? Effect.void : this.sink.notify(out)))
    )
  }
  respond(frame: string, outcome: Sink.Outcome): Effect.Effect<void> {
    return Effect.suspend(() =>
      thenNow(
        outbound(this.source, frame),
        (out) => (out === undefined ? (this.sink.end?.(false) ?? Effect.void) : this.sink.respond(out, outcome))
      )
    )
  }
}

/**
 * The sink itself when the chain is empty, else the sink behind the chain.
 *
 * @since 0.1.0
 * @category running
 */
export const sinkOf = (source: Source, sink: Sink.Sink): Sink.Sink =>
  source.chain.length === 0 ? sink : new InterceptedSink(source, sink)

/**
 * `Effect.map`, applied at once when the Effect is already a value (an Exit).
 *
 * @since 0.1.0
 * @category utils
 */
export const mapNow = <A, B>(effect: Effect.Effect<A>, f: (a: A) => B): Effect.Effect<B> =>
  Exit.isExit(effect) && Exit.isSuccess(effect) ? Exit.succeed(f(effect.value as A)) : Effect.map(effect, f)

/**
 * `Effect.flatMap`, applied at once when the Effect is already a value (an Exit).
 *
 * @since 0.1.0
 * @category utils
 */
export const thenNow = <A, B>(effect: Effect.Effect<A>, f: (a: A) => Effect.Effect<B>): Effect.Effect<B> =>
  Exit.isExit(effect) && Exit.isSuccess(effect) ? f(effect.value as A) : Effect.flatMap(effect, f)
