/**
 * Interceptors per upstream: the `Interceptor` chains of this server (the same `Interceptor` values, `logger`,
 * `methods`, `faults` or your own) applied to what passes between the gateway and one upstream. A request to the
 * upstream is an `outbound` message, its answer and the upstream's notifications `inbound` ones; an interceptor may
 * let it pass, rewrite it, block it (the front request gets that JSON-RPC error), answer it in place of the upstream,
 * delay it or drop it (a dropped request is answered with an error naming the upstream; a dropped notification is
 * gone). The front's own chain (`Interceptor.layer`) still sees the front's traffic.
 *
 * @since 0.2.0
 */
import { Effect } from "effect"
import * as JsonRpc from "../protocol/JsonRpc.js"
import * as Interceptor from "../server/Interceptor.js"
import * as Peer from "../server/Peer.js"
import type * as Instances from "./Instances.js"
import * as Upstream from "./Upstream.js"

/**
 * The chains, by upstream name (an upstream without one is not wrapped).
 *
 * @since 0.2.0
 * @category models
 */
export type Chains = Readonly<Record<string, ReadonlyArray<Interceptor.Interceptor>>>

/**
 * A connector whose upstreams run their messages through their chain.
 *
 * @since 0.2.0
 * @category constructors
 */
export const intercepting =
  (connect: Instances.Connect, chains: Chains, session: string): Instances.Connect => (config, events) => {
    const chain = chains[config.name]
    if (chain === undefined || chain.length === 0) return connect(config, events)
    const peer = Peer.make({ transport: `upstream:${config.name}` })
    let declared: Upstream.Declared | undefined
    const contextOf = (direction: "inbound" | "outbound", requestId: JsonRpc.RequestId | undefined) => ({
      direction,
      era: declared?.era,
      protocolVersion: declared?.protocolVersion,
      sessionId: session === "shared" ? undefined : session,
      transport: peer.transport,
      principal: undefined,
      peer,
      requestId,
      metadata: new Map<string, unknown>([["upstream", config.name]])
    })
    const dropped = (what: string) =>
      new Upstream.UpstreamError({
        upstream: config.name,
        reason: "protocol",
        message: `Upstream "${config.name}": ${what} dropped by an interceptor`
      })
    const blocked = (error: JsonRpc.ErrorObject) => new Upstream.UpstreamRpcError({ upstream: config.name, error })
    let ids = 0
    const wrapped: Upstream.Events = {
      ...events,
      state: (state) =>
        Effect.zipRight(
          Effect.sync(() => {
            if (state._tag === "Ready") declared = state.declared
          }),
          events.state(state)
        ),
      notification: (method, params) =>
        Effect.flatMap(
          Interceptor.run(
            chain,
            { jsonrpc: "2.0", method, ...(params === undefined ? {} : { params }) },
            contextOf(
              "inbound",
              undefined
            )
          ),
          (verdict) =>
            verdict._tag === "Pass"
              ? events.notification(verdict.message.method ?? method, verdict.message.params)
              : Effect.void
        )
    }
    return Effect.map(connect(config, wrapped), (upstream): Upstream.Upstream => ({
      ...upstream,
      request: (method, params, hooks) =>
        Effect.gen(function*() {
          // The id the chain sees names this exchange; the client puts its own on the wire.
          const id = `i${++ids}`
          const out = yield* Interceptor.run(
            chain,
            { jsonrpc: "2.0", id, method, ...(params === undefined ? {} : { params }) },
            contextOf("outbound", id)
          )
          if (out._tag === "Block") return yield* blocked(out.error)
          if (out._tag === "Drop") return yield* dropped(`the ${method} request`)
          if (out._tag === "Respond") return (out.result ?? {}) as Upstream.Json
          const answer = yield* Effect.either(
            upstream.request(out.message.method ?? method, out.message.params, hooks)
          )
          const back = yield* Interceptor.run(
            chain,
            answer._tag === "Right"
              ? { jsonrpc: "2.0", id, result: answer.right }
              : answer.left._tag === "UpstreamRpcError"
              ? { jsonrpc: "2.0", id, error: answer.left.error }
              : { jsonrpc: "2.0", id, error: { code: JsonRpc.SERVER_ERROR, message: answer.left.message } },
            contextOf("inbound", id)
          )
          if (back._tag === "Block") return yield* blocked(back.error)
          if (back._tag === "Drop") return yield* dropped(`the answer to ${method}`)
          if (back._tag === "Respond") return (back.result ?? {}) as Upstream.Json
          // Passed: a result (perhaps rewritten), or the error as it was (an UpstreamError keeps its reason).
          if (back.message.error !== undefined) {
            return yield* (answer._tag === "Left" && !back.changed ? answer.left : blocked(back.message.error))
          }
          return (back.message.result ?? {}) as Upstream.Json
        })
    }))
  }
