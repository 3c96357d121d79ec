/**
 * JSON-RPC batches (protocol version 2025-03-26 only): each item through the inbound interceptors, invalid items
 * and `initialize` answered in place, the rest dispatched; the answer is one array, sent when the last request
 * settles (or at once when none is pending).
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import * as JsonRpc from "../protocol/JsonRpc.js"
import * as McpMethod from "../protocol/McpMethod.js"
import * as ProtocolVersion from "../protocol/ProtocolVersion.js"
import type { Reply } from "./Execution.js"
import * as Intercepting from "./Intercepting.js"
import * as Sink from "./Sink.js"

/**
 * What a batch needs of the engine.
 *
 * @since 0.1.0
 * @category models
 */
export interface Host extends Intercepting.Source {
  readonly reject: (reply: Reply, id: JsonRpc.RequestId | null, error: JsonRpc.JsonRpcError) => Effect.Effect<void>
  readonly singleReply: (sink: Sink.Sink) => Reply
  readonly handleOne: (
    message: JsonRpc.Incoming,
    sink: Sink.Sink,
    reply: Reply,
    head: undefined,
    control: undefined
  ) => Effect.Effect<void>
}

const errorFrame = (id: JsonRpc.RequestId | null, error: JsonRpc.JsonRpcError) =>
  JsonRpc.encodeError(id, JsonRpc.toErrorObject(error))

/**
 * Handles one batch.
 *
 * @since 0.1.0
 * @category handling
 */
export const handle = (host: Host, items: ReadonlyArray<unknown>, sink: Sink.Sink): Effect.Effect<void> =>
  Effect.gen(function*() {
    const version = host.session.negotiated?.protocolVersion
    if (host.pinned !== "legacy" || !ProtocolVersion.allowsBatch(version)) {
      return yield* host.reject(
        host.singleReply(sink),
        null,
        new JsonRpc.InvalidRequest({
          message: `Invalid Request: JSON-RPC batches are only allowed in protocol version 2025-03-26${
            version === undefined ? "" : ` (this session negotiated ${version})`
          }`
        })
      )
    }
    if (items.length === 0) {
      return yield* host.reject(
        host.singleReply(sink),
        null,
        new JsonRpc.InvalidRequest({ message: "Invalid Request: empty batch" })
      )
    }
    const responses: Array<string> = []
    let admitted: ReadonlyArray<unknown> = items
    if (host.chain.length > 0) {
      const passed: Array<unknown> = []
      for (const item of items) {
        const verdict = yield* Intercepting.inbound(host, item)
        if (verdict._tag === "Pass") passed.push(verdict.json)
        else if (verdict._tag === "Answer") responses.push(verdict.frame)
      }
      admitted = passed
    }
    const dispatched: Array<JsonRpc.Incoming> = []
    for (const message of admitted.map(JsonRpc.decode)) {
      if (message._tag === "Invalid") {
        responses.push(errorFrame(message.id, message.error))
      } else if (message._tag === "Request" && message.method === McpMethod.initialize.name) {
        responses.push(errorFrame(
          message.id,
          new JsonRpc.InvalidRequest({ message: "Invalid Request: initialize must not be part of a batch" })
        ))
      } else {
        dispatched.push(message)
      }
    }
    let pending = dispatched.filter((m) => m._tag === "Request").length
    const flush = () => responses.length > 0 ? sink.respond(JsonRpc.encodeBatch(responses), Sink.answered) : Effect.void
    const collect: Reply = (frame) =>
      Effect.suspend(() => {
        if (frame !== undefined) responses.push(frame)
        pending -= 1
        return pending === 0 ? flush() : Effect.void
      })
    const none = pending === 0
    for (const message of dispatched) yield* host.handleOne(message, sink, collect, undefined, undefined)
    if (none) return yield* flush()
  })
