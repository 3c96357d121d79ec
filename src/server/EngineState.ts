/**
 * What the request engine keeps of its connection, legacy session or modern POST between messages (the request path
 * is in Dispatcher): the in-flight table, the pinned era, the session and its hub entry, who is asking, the questions
 * asked of the client, and the owner's `close`.
 *
 * @since 0.1.0
 */
import type { Fiber } from "effect"
import { Effect } from "effect"
import type * as JsonRpc from "../protocol/JsonRpc.js"
import type * as ProtocolVersion from "../protocol/ProtocolVersion.js"
import * as ClientRequests from "./ClientRequests.js"
import type * as Env from "./Environment.js"
import * as Execution from "./Execution.js"
import * as Intercepting from "./Intercepting.js"
import type { Interceptor } from "./Interceptor.js"
import type { McpServer } from "./McpServer.js"
import * as Notifications from "./Notifications.js"
import * as Peer from "./Peer.js"
import { Questions } from "./Questions.js"
import type * as Session from "./Session.js"
import * as SessionState from "./Session.js"
import type * as Sink from "./Sink.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The connection's sink: for messages that came without a sink of their own. */
  readonly send: Sink.Sink
  /** How requests run (see Execution). Default `Execution.inline`. */
  readonly execution?: Execution.Execution
  /** The session state; default a new one. Modern POSTs share one (they keep no session state). */
  readonly session?: Session.Session
  /** Pin the era up front (e.g. a legacy HTTP session). */
  readonly era?: ProtocolVersion.Era
  /** Called whenever a request settles, so a draining connection can notice it became idle. */
  readonly onSettled?: () => void
  /** Called (synchronously, must not block) when unsolicited notifications became pending: see `takePushed`. */
  readonly onPush?: () => void
  /** Who is asking (see Peer): the transport's name, the legacy session id and the remote address, if any. */
  readonly transport?: string
  readonly sessionId?: string
  readonly remoteAddress?: string | undefined
  /** The principal that authenticated the connection or session, when authorization is configured. */
  readonly principal?: Peer.Principal | undefined
}

const noop = () => {}

/**
 * @since 0.1.0
 * @category models
 */
export class EngineState {
  /** Requests in flight, by id key: created with the first tracked request (an idle session never has one). */
  table: Map<string, Execution.Entry> | undefined = undefined
  private questionsValue: Questions | undefined = undefined
  private peerValue: Peer.Peer | undefined = undefined
  pinned: ProtocolVersion.Era | undefined
  readonly server: McpServer["Type"]
  readonly chain: ReadonlyArray<Interceptor>
  readonly execution: Execution.Execution
  readonly session: Session.Session

  constructor(readonly env: Env.Environment, readonly options: Options, session: Session.Session) {
    this.pinned = options.era
    this.server = env.server
    this.chain = env.chain
    this.execution = options.execution ?? Execution.inline
    this.session = session
  }

  /** The legacy session's entry in the notification hub, created on first use. */
  subscriber(): Notifications.Subscriber {
    const session = this.session
    if (session.subscriber === undefined) {
      session.subscriber = new Notifications.Subscriber(Notifications.ALL_LISTS, this.options.onPush ?? noop)
      this.server.notifications.add(session.subscriber)
    }
    return session.subscriber
  }

  get close(): Effect.Effect<void> {
    return Effect.sync(() => {
      if (this.session.subscriber !== undefined) this.server.notifications.remove(this.session.subscriber)
      if (this.table !== undefined) this.execution.close(this.table.values())
      this.questionsValue?.failAll()
      SessionState.runEndHooks(this.session)
    })
  }

  inFlight(): number {
    return this.table?.size ?? 0
  }

  /** Who is asking: made when first read (a modern POST's handler rarely asks), then kept. */
  get peer(): Peer.Peer {
    if (this.peerValue === undefined) {
      const options = this.options
      this.peerValue = Peer.make({
        transport: options.transport ?? "unknown",
        sessionId: options.sessionId,
        principal: options.principal,
        remoteAddress: options.remoteAddress
      })
    }
    return this.peerValue
  }

  /** The principal's subject, as MRTR states bind it (null: anonymous). */
  get principal(): string | null {
    return this.options.principal?.subject ?? null
  }

  get questions(): Questions {
    if (this.questionsValue === undefined) {
      this.questionsValue = new Questions(this.server.deadlines, this.server.clientRequestTimeoutMillis)
    }
    return this.questionsValue
  }

  askLegacy(method: string, params: Record<string, unknown>, sink: Sink.Sink) {
    return this.questions.ask(method, params, sink)
  }

  askSession(
    method: ClientRequests.ClientMethod,
    params: Record<string, unknown>
  ): Effect.Effect<unknown, ClientRequests.ClientError | JsonRpc.MissingRequiredClientCapability> {
    return Effect.suspend((): Effect.Effect<
      unknown,
      ClientRequests.ClientError | JsonRpc.MissingRequiredClientCapability
    > => {
      const negotiated = this.session.negotiated
      if (negotiated === undefined) {
        return Effect.fail(
          new ClientRequests.ClientError({
            message: `No session stream to ask ${method} on (not a legacy session that completed initialize)`,
            reason: "closed"
          })
        )
      }
      const missing = ClientRequests.checkCapability(method, params, negotiated.clientCapabilities)
      if (missing !== undefined) return Effect.fail(missing)
      return this.askLegacy(method, params, Intercepting.sinkOf(this, this.options.send))
    })
  }

  notifySession(frame: string): Effect.Effect<void> {
    return Intercepting.sinkOf(this, this.options.send).notify(frame)
  }

  abortInFlight(error: JsonRpc.JsonRpcError): Effect.Effect<void> {
    return Effect.suspend(() => {
      const fibers: Array<Fiber.RuntimeFiber<unknown, unknown>> = []
      for (const entry of this.table?.values() ?? []) {
        if (entry.settled || entry.fiber === undefined) continue
        entry.aborted = error
        fibers.push(entry.fiber)
      }
      return Effect.forEach(fibers, (fiber) => this.interrupt(fiber), { discard: true })
    })
  }

  era(): ProtocolVersion.Era | undefined {
    return this.pinned
  }

  get takePushed(): Effect.Effect<ReadonlyArray<string>> {
    return Effect.suspend(() => {
      const frames = this.session.subscriber?.take() ?? []
      if (frames.length === 0 || this.chain.length === 0) return Effect.succeed(frames)
      return Effect.map(
        Effect.forEach(frames, (frame) => Intercepting.outbound(this, frame)),
        (outs) => outs.filter((out): out is string => out !== undefined)
      )
    })
  }

  takePushedSync(): ReadonlyArray<string> | undefined {
    if (this.chain.length > 0) return undefined
    return this.session.subscriber?.take() ?? []
  }

  hasPushed(): boolean {
    return this.session.subscriber?.hasPending ?? false
  }

  // Signals the interruption without waiting for it: the caller may be the fiber that drains the very queue a
  // finalizer of the interrupted request could be waiting on.
  interrupt(fiber: Fiber.RuntimeFiber<unknown, unknown>): Effect.Effect<void> {
    return Effect.fiberIdWith((self) => fiber.interruptAsFork(self))
  }
}
