/**
 * What a handler sees of its request (`McpContext`): one object per request, behaviour on the prototype. Progress
 * and log messages go to the request's sink; questions to the client go over the wire (legacy) or end the round
 * with `input_required` (modern); `closeStream` is whatever the transport granted this request.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import * as JsonRpc from "../protocol/JsonRpc.js"
import * as McpSchema from "../protocol/McpSchema.js"
import * as ProtocolVersion from "../protocol/ProtocolVersion.js"
import * as ClientRequests from "./ClientRequests.js"
import type { Entry } from "./Execution.js"
import type { ListRootsResult, McpContext, ProgressOptions } from "./McpContext.js"
import type * as Peer from "./Peer.js"
import type { RequestContext } from "./RequestContext.js"
import type * as Session from "./Session.js"
import type { Sink, StreamControl } from "./Sink.js"

/**
 * What a request's context needs from the engine that runs it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Host {
  readonly session: Session.Session
  readonly peer: Peer.Peer
  /** Legacy: asks the client on `sink` and waits for its answer. */
  readonly askLegacy: (
    method: string,
    params: Record<string, unknown>,
    sink: Sink
  ) => Effect.Effect<unknown, ClientRequests.ClientError>
  /** A notification for the connection or session itself (not tied to this request's stream). */
  readonly notifySession: (frame: string) => Effect.Effect<void>
}

/**
 * @since 0.1.0
 * @category models
 */
export class RequestMcp implements Omit<McpContext["Type"], never> {
  lastProgress = -Infinity

  constructor(
    readonly host: Host,
    readonly request: JsonRpc.Request,
    readonly context: RequestContext,
    readonly entry: Entry,
    readonly sink: Sink,
    readonly control: StreamControl | undefined
  ) {}

  get requestId(): JsonRpc.RequestId {
    return this.request.id
  }
  get method(): string {
    return this.request.method
  }
  get era(): ProtocolVersion.Era {
    return this.context.era
  }
  get protocolVersion(): string {
    return this.context.protocolVersion
  }
  get clientInfo(): McpSchema.Implementation | undefined {
    return this.context.clientInfo
  }
  get clientCapabilities(): McpSchema.ClientCapabilities {
    return this.context.clientCapabilities
  }
  get peer(): Peer.Peer {
    return this.host.peer
  }

  progress(progress: number, opts?: ProgressOptions): Effect.Effect<void> {
    return Effect.suspend(() => {
      const token = this.context.progressToken
      if (token === undefined || this.entry.settled) return Effect.void
      if (!(progress > this.lastProgress)) {
        return Effect.logWarning("Progress must increase; skipped a notification").pipe(
          Effect.annotateLogs({ method: this.request.method, progress, last: this.lastProgress })
        )
      }
      this.lastProgress = progress
      return this.sink.notify(JsonRpc.encodeNotification("notifications/progress", {
        progressToken: token,
        progress,
        ...(opts?.total !== undefined ? { total: opts.total } : {}),
        ...(opts?.message !== undefined ? { message: opts.message } : {})
      }))
    })
  }

  log(level: McpSchema.LoggingLevel, data: unknown, logger?: string): Effect.Effect<void> {
    return Effect.suspend(() => {
      if (this.entry.settled) return Effect.void
      const context = this.context
      const minimum = context.era === "modern" ? context.logLevel : this.host.session.logLevel
      if (context.era === "modern" && minimum === undefined) return Effect.void
      if (minimum !== undefined && McpSchema.loggingLevelRank[level] < McpSchema.loggingLevelRank[minimum]) {
        return Effect.void
      }
      return this.sink.notify(JsonRpc.encodeNotification(
        "notifications/message",
        logger === undefined ? { level, data } : { level, logger, data }
      ))
    })
  }

  ask(
    method: ClientRequests.ClientMethod,
    params: Record<string, unknown>
  ): Effect.Effect<unknown, ClientRequests.ClientError | JsonRpc.MissingRequiredClientCapability> {
    return Effect.suspend(
      (): Effect.Effect<unknown, ClientRequests.ClientError | JsonRpc.MissingRequiredClientCapability> => {
        const missing = ClientRequests.checkCapability(method, params, this.context.clientCapabilities)
        if (missing !== undefined) return Effect.fail(missing)
        if (this.context.era === "modern") return this.askModern(method, params)
        const session = this.host.session
        if (method === "roots/list" && session.roots !== undefined) return Effect.succeed(session.roots)
        const asked = this.host.askLegacy(method, params, this.sink)
        return method === "roots/list"
          ? Effect.tap(asked, (roots) =>
            Effect.sync(() => {
              session.roots = roots as ListRootsResult
            }))
          : asked
      }
    )
  }

  /** Modern: the answer from this round's inputs, or end the round with `input_required`. */
  askModern(method: string, params: Record<string, unknown>): Effect.Effect<unknown> {
    return Effect.suspend(() => {
      const entry = this.entry
      const key = `q${entry.asked++}`
      const answer = entry.answers?.[key]
      return answer !== undefined
        ? Effect.succeed(answer)
        : Effect.die(new ClientRequests.InputRequired(key, method, params))
    })
  }

  get carried(): string | undefined {
    return this.entry.carried
  }

  carry(value: string): Effect.Effect<void> {
    return Effect.sync(() => {
      this.entry.carry = value
    })
  }

  get closeStream(): Effect.Effect<void> {
    return Effect.suspend(() => this.control?.closeStream() ?? Effect.void)
  }

  elicitationComplete(elicitationId: string): Effect.Effect<void> {
    const context = this.context
    return context.era === "legacy" && ProtocolVersion.hasElicitationComplete(context.protocolVersion)
      ? this.host.notifySession(
        JsonRpc.encodeNotification("notifications/elicitation/complete", { elicitationId })
      )
      : Effect.void
  }
}
