/**
 * A modern (2026-07-28) Streamable HTTP POST: stateless. The headers must agree with the body
 * (`MCP-Protocol-Version`, `Mcp-Method`, `Mcp-Name`; -32020 otherwise), then the request runs inline on the POST's
 * own fiber through a one-shot dispatcher. Its answer is JSON, or SSE once something must go out before it; closing
 * the response before the answer interrupts that fiber, which cancels the request (nothing more is sent).
 *
 * @since 0.1.0
 */
import { Effect, Exit, FiberId, Predicate } from "effect"
import type { Fiber } from "effect"
import type { IncomingMessage, ServerResponse } from "node:http"
import * as JsonRpc from "../protocol/JsonRpc.js"
import * as McpMethod from "../protocol/McpMethod.js"
import * as Dispatcher from "../server/Dispatcher.js"
import * as Execution from "../server/Execution.js"
import type * as Peer from "../server/Peer.js"
import type * as RequestContext from "../server/RequestContext.js"
import type * as Session from "../server/Session.js"
import * as Auth from "./Auth.js"
import { decodeHeaderValue, errorBody, header, requestIdOf, sendJson } from "./Response.js"
import * as Sse from "./Sse.js"
import type * as Streams from "./Streams.js"

/**
 * What a modern POST reads of the endpoint.
 *
 * @since 0.1.0
 * @category models
 */
export interface Context {
  /** What every engine of the server shares (the server, interceptors, handler table). */
  readonly env: Dispatcher.Environment
  /** Modern requests keep no session state: every modern POST's dispatcher shares this one. */
  readonly modernSession: Session.Session
  readonly streams: Streams.Streams
  /** The OAuth resource server, when authorization is on (the challenge of a 403 names its metadata). */
  readonly auth?: Auth.Authorizer | undefined
}

/**
 * The status of a modern answer sent as JSON: 429 for a call over a rate limit, 403 for a call lacking the scopes of
 * its tool, prompt or resource, 400 for rejected messages and a
 * missing client capability (-32021), 404 for an unknown method, else 200.
 *
 * @since 0.1.0
 * @category status
 */
export const modernStatus = (outcome: Dispatcher.Outcome): number =>
  outcome.retryAfterMs !== undefined
    ? 429
    : outcome.insufficientScope !== undefined
    ? 403
    : outcome.code === JsonRpc.MISSING_REQUIRED_CLIENT_CAPABILITY
    ? 400
    : outcome.rejected
    ? outcome.code === JsonRpc.METHOD_NOT_FOUND ? 404 : 400
    : 200

/**
 * The answer to one modern POST, written by the POST's own fiber (its request runs inline): JSON, or SSE once
 * something must go out before the answer. Closing the response before the answer interrupts that fiber, which is
 * the request's cancellation.
 *
 * @since 0.1.0
 * @category sinks
 */
export class ModernPost implements Dispatcher.Sink {
  state: "pending" | "sse" | "ended" = "pending"
  removeStream: (() => void) | undefined = undefined

  constructor(
    readonly res: ServerResponse,
    readonly streams: Streams.Streams,
    fiber: Fiber.RuntimeFiber<unknown, unknown>,
    readonly auth?: Auth.Authorizer | undefined
  ) {
    res.once("close", () => {
      if (this.state === "ended") return
      this.finish()
      fiber.unsafeInterruptAsFork(FiberId.none)
    })
  }

  finish(): void {
    this.state = "ended"
    this.removeStream?.()
  }

  openSse(): void {
    const res = this.res
    this.state = "sse"
    Sse.open(res)
    const liveness: Sse.Liveness = { pending: -1 }
    this.removeStream = this.streams.unsafeAdd({
      tick: () => Sse.keepAlive(res, liveness),
      // A request's stream ends with its answer; at shutdown the request gets the grace period to give one.
      close: () => {}
    })
  }

  notify(frame: string): Effect.Effect<void> {
    if (this.state === "ended") return Effect.void
    if (this.state === "pending") this.openSse()
    return Sse.write(this.res, Sse.message(frame))
  }

  respond(frame: string, outcome: Dispatcher.Outcome): Effect.Effect<void> {
    if (this.state === "ended") return Effect.void
    if (this.state === "pending") {
      sendJson(this.res, modernStatus(outcome), frame, Auth.outcomeHeaders(this.auth, outcome))
      this.finish()
      return Effect.void
    }
    return Effect.map(Sse.write(this.res, Sse.message(frame)), () => {
      this.res.end()
      this.finish()
    })
  }

  /**
   * The request is over: with no answer written, a notification gets 202, a request cut short by shutdown an
   * error (503) rather than nothing, one that ended unanswered (dropped by an interceptor) an empty 202.
   */
  close(interruptedId: JsonRpc.RequestId | null | undefined): void {
    if (this.state === "ended") return
    if (this.state === "sse") {
      this.res.end(
        interruptedId === undefined
          ? undefined
          : Sse.message(errorBody(-32000, "Server shutting down: the request was interrupted", interruptedId))
      )
    } else if (interruptedId !== undefined) {
      sendJson(
        this.res,
        503,
        errorBody(-32000, "Server shutting down: the request was interrupted", interruptedId),
        { "retry-after": "1" }
      )
    } else {
      sendJson(this.res, 202, undefined)
    }
    this.finish()
  }
}

const headerMismatch = (res: ServerResponse, json: unknown, message: string) =>
  sendJson(res, 400, errorBody(JsonRpc.HEADER_MISMATCH, `Header mismatch: ${message}`, requestIdOf(json)))

/**
 * Checks the headers against the body, then runs the request inline on this POST's fiber (no generator: hot path).
 * `version` is the body's `_meta` protocol version.
 *
 * @since 0.1.0
 * @category handlers
 */
export const post = (
  context: Context,
  req: IncomingMessage,
  res: ServerResponse,
  json: unknown,
  head: RequestContext.Head,
  version: string,
  principal?: Peer.Principal | undefined
): Effect.Effect<void> => {
  if (!Predicate.isRecord(json)) return Effect.void
  const versionHeader = header(req, "mcp-protocol-version")
  if (versionHeader === undefined || decodeHeaderValue(versionHeader) !== version) {
    return Effect.sync(() =>
      headerMismatch(res, json, `MCP-Protocol-Version must equal _meta protocolVersion (${version})`)
    )
  }
  // Headers are compared with what the body says only where the body says it with a string: a body whose
  // method or name is not one is refused by the dispatcher (-32600, -32602), and untrusted values are never
  // turned into strings here (an object's toString may be anything).
  const method = json.method
  const methodHeader = header(req, "mcp-method")
  if (typeof method === "string" && (methodHeader === undefined || decodeHeaderValue(methodHeader) !== method)) {
    return Effect.sync(() => headerMismatch(res, json, `Mcp-Method must equal the body's method (${method})`))
  }
  const nameParam = McpMethod.nameParamOf(method)
  const named = nameParam !== undefined && Predicate.isRecord(json.params) ? json.params[nameParam] : undefined
  if (typeof named === "string") {
    const nameHeader = header(req, "mcp-name")
    if (nameHeader === undefined || decodeHeaderValue(nameHeader) !== named) {
      return Effect.sync(() => headerMismatch(res, json, `Mcp-Name must equal the body's ${nameParam}`))
    }
  }
  // The request runs inline on this fiber: no Scope, FiberSet or fiber of its own per POST. Whatever was left
  // unanswered when the fiber ends is answered by the fiber's exit observer (no wrapper Effect per POST).
  return Effect.withFiberRuntime<void>((fiber) => {
    const answer = new ModernPost(res, context.streams, fiber, context.auth)
    fiber.addObserver((exit) => answer.close(Exit.isInterrupted(exit) ? requestIdOf(json) : undefined))
    // The engine is given the `_meta` already read (the head), so it does not read it again.
    return Dispatcher.unsafeMake(context.env, {
      era: "modern",
      send: answer,
      execution: Execution.oneShot,
      session: context.modernSession,
      transport: "http",
      remoteAddress: req.socket.remoteAddress,
      principal
    }).handleJson(json, answer, { head })
  })
}
