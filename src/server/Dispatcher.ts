/**
 * The request engine: one inbound message -> one settled request. The dispatcher of a connection, legacy session or
 * modern POST owns:
 *
 * - the in-flight table: request id -> its fiber, so `notifications/cancelled` interrupts exactly that request and
 *   a second request with an id still in flight is refused;
 * - the deadlines: a request still running at its deadline is interrupted and answered with -32001. Deadlines
 *   are kept by the server's one timer fiber (`Deadlines`), not by a fiber per connection or request: no
 *   polling, and an idle connection costs no timer;
 * - the era: the first message pins it (`initialize` -> legacy, modern `_meta` -> modern), as the spec's dual-era
 *   rule says.
 *
 * One engine, one lifecycle (`unsafeMake`, then `close` by its owner; `make` ties `close` to a Scope). Its users
 * differ only in the `Execution` they give it: a connection forks one fiber per request (`Execution.forked`), a
 * legacy HTTP session and a modern POST run the request inline on the POST's fiber (`inline`, `oneShot`). What runs a
 * method is the handler table (Handlers), what a handler sees is `RequestMcp`, the interceptor chain is in
 * Intercepting, questions to the client in Questions, result framing in ResultFrame.
 * The tables are plain Maps touched only inside synchronous steps of Effects (JavaScript runs one step at a time,
 * and nothing is awaited while they are read or written), which keeps them cheap on the per-request path.
 *
 * @since 0.1.0
 */
import { Cause, Effect, Either, Option, Predicate, Schema, Scope } from "effect"
import * as JsonRpc from "../protocol/JsonRpc.js"
import * as McpMethod from "../protocol/McpMethod.js"
import * as McpSchema from "../protocol/McpSchema.js"
import * as ProtocolVersion from "../protocol/ProtocolVersion.js"
import * as Batch from "./Batch.js"
import { EngineState } from "./EngineState.js"
import type { Options } from "./EngineState.js"
import * as Env from "./Environment.js"
import * as Execution from "./Execution.js"
import * as Handlers from "./Handlers.js"
import * as Intercepting from "./Intercepting.js"
import { McpServer } from "./McpServer.js"
import * as RateLimit from "./RateLimit.js"
import * as RequestContext from "./RequestContext.js"
import { RequestMcp } from "./RequestMcp.js"
import * as ResultFrame from "./ResultFrame.js"
import * as RoundTrip from "./RoundTrip.js"
import * as Session from "./Session.js"
import * as Sink from "./Sink.js"

export type {
  /**
   * @since 0.1.0
   * @category models
   */
  Outcome,
  /**
   * @since 0.1.0
   * @category models
   */
  Sink,
  /**
   * @since 0.1.0
   * @category models
   */
  StreamControl
} from "./Sink.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Dispatcher {
  /** Handles one text frame (one JSON value, possibly a batch). Returns once the message is accepted. */
  readonly handleText: (text: string, sink?: Sink.Sink) => Effect.Effect<void>
  /** Handles one parsed JSON value (see `Handle` for what a transport may add). */
  readonly handleJson: (json: unknown, sink?: Sink.Sink, handle?: Handle) => Effect.Effect<void>
  /** Requests accepted and not yet answered (tracked executions; a one-shot engine reports 0). */
  readonly inFlight: () => number
  /**
   * Interrupts every request in flight, each answered with `error` instead of its result (connections at the end
   * of their drain: "the server is shutting down" rather than silence). Returns at once; the answers follow.
   */
  readonly abortInFlight: (error: JsonRpc.JsonRpcError) => Effect.Effect<void>
  /** The era pinned by the first message, if any. */
  readonly era: () => ProtocolVersion.Era | undefined
  readonly session: Session.Session
  /**
   * Takes the unsolicited notifications (list_changed, resources/updated) pending for this session, coalesced,
   * as frames ready to send (through the outbound interceptors, if any). The transport calls it when `onPush`
   * fired, from whatever carries the session's unsolicited messages.
   */
  readonly takePushed: Effect.Effect<ReadonlyArray<string>>
  /** `takePushed` in one synchronous step, when no interceptor needs to see the frames (else undefined). */
  readonly takePushedSync: () => ReadonlyArray<string> | undefined
  readonly hasPushed: () => boolean
  /**
   * Ends the engine: leaves the notification hub, interrupts requests running inline on other fibers, fails the
   * questions still waiting for the client. Run by the owner (`make`: the Scope).
   */
  readonly close: Effect.Effect<void>
}

/**
 * What a transport may hand in with a message: its `Head` when it already read the `_meta` (so it is not read
 * again), and the `StreamControl` it grants the request.
 *
 * @since 0.1.0
 * @category models
 */
export interface Handle {
  readonly head?: RequestContext.Head | undefined
  readonly control?: Sink.StreamControl | undefined
}

export type {
  /**
   * @since 0.1.0
   * @category models
   */
  Options
} from "./EngineState.js"

/**
 * What every engine of one server shares (see Environment).
 *
 * @since 0.1.0
 * @category models
 */
export type Environment = Env.Environment

/**
 * The environment of the `McpServer` and interceptor chain in context.
 *
 * @since 0.1.0
 * @category constructors
 */
export const environment: Effect.Effect<Environment, never, McpServer> = Env.current

const busy: Sink.Outcome = { code: JsonRpc.SERVER_ERROR, rejected: true }
const cancelledParams = Schema.decodeUnknownEither(McpSchema.CancelledParams)

const errorFrame = (id: JsonRpc.RequestId | null, error: JsonRpc.JsonRpcError) =>
  JsonRpc.encodeError(id, JsonRpc.toErrorObject(error))

/**
 * The dispatcher of one connection, legacy session or modern POST. State lives in fields and behaviour on the
 * prototype, so a connection (or idle legacy session) costs one object and its tables, not a closure per operation.
 */
class Engine extends EngineState implements Dispatcher, Handlers.Env, Batch.Host {
  // -----------------------------------------------------------------------------------------------------------
  // Settling: every accepted request settles exactly once, with a response frame or (cancelled) without one.
  // -----------------------------------------------------------------------------------------------------------

  // A tracked entry leaves the table only once its reply is handed on: until then its id still counts as in
  // flight, and a draining connection does not mistake "answer being queued" for idle.
  settle(entry: Execution.Entry, frame: string | undefined, outcome: Sink.Outcome = Sink.answered) {
    return Effect.suspend(() => {
      if (entry.settled) return Effect.void
      entry.settled = true
      this.server.deadlines.remove(entry, entry.timeout)
      if (this.table === undefined || !this.execution.tracked) {
        this.options.onSettled?.()
        return entry.reply(frame, outcome)
      }
      return Effect.ensuring(entry.reply(frame, outcome), Effect.sync(() => this.leave(entry)))
    })
  }

  leave(entry: Execution.Entry): void {
    if (this.table?.get(entry.key) === entry) this.table.delete(entry.key)
    this.options.onSettled?.()
  }

  /** An interrupted request settles without an answer, unless the interruption was its timeout or an abort. */
  settleInterrupted(entry: Execution.Entry): Effect.Effect<void> {
    if (entry.timedOut) {
      const frame = JsonRpc.encodeError(entry.id, {
        code: JsonRpc.REQUEST_TIMEOUT,
        message: `Request timed out after ${this.server.requestTimeoutMillis} ms`
      })
      return this.settle(entry, frame, { code: JsonRpc.REQUEST_TIMEOUT, rejected: false })
    }
    if (entry.aborted !== undefined) {
      return this.settle(entry, errorFrame(entry.id, entry.aborted), Sink.failedWith(entry.aborted))
    }
    return this.settle(entry, undefined, entry.cancelled ? Sink.answered : Sink.interrupted)
  }

  /** Over `maxInFlight`: refused at once, as HTTP refuses with 503. */
  refuse(entry: Execution.Entry): Effect.Effect<void> {
    const limit = this.execution.maxInFlight
    const frame = JsonRpc.encodeError(entry.id, {
      code: JsonRpc.SERVER_ERROR,
      message: `Server busy: ${limit} requests are already in flight on this connection; retry shortly`,
      data: { maxInFlight: limit }
    })
    return this.settle(entry, frame, busy)
  }

  // -----------------------------------------------------------------------------------------------------------
  // Requests
  // -----------------------------------------------------------------------------------------------------------

  reject(reply: Execution.Reply, id: JsonRpc.RequestId | null, error: JsonRpc.JsonRpcError) {
    return reply(errorFrame(id, error), Sink.rejectedWith(error))
  }

  initialize(request: JsonRpc.Request, reply: Execution.Reply): Effect.Effect<void> {
    const answered = Session.initialize(this.session, request.params, this.pinned === "modern", this.server)
    if (Either.isLeft(answered)) {
      if (this.pinned === undefined) this.pinned = "legacy"
      return this.reject(reply, request.id, answered.left)
    }
    this.pinned = "legacy"
    // From now on the session hears about list changes.
    this.subscriber()
    return reply(JsonRpc.encodeResult(request.id, answered.right), Sink.answered)
  }

  /**
   * Accepts a request: validates what can be validated at once (synchronously: this is the hot path), then runs it
   * as the execution says.
   */
  handleRequest(
    request: JsonRpc.Request,
    sink: Sink.Sink,
    reply: Execution.Reply,
    head: RequestContext.Head,
    control: Sink.StreamControl | undefined
  ): Effect.Effect<void> {
    const modern = RequestContext.isModern(head)
    if (!modern && request.method === McpMethod.initialize.name) return this.initialize(request, reply)
    const era: ProtocolVersion.Era = this.pinned ?? (modern ? "modern" : "legacy")
    this.pinned = era
    const spec = this.env.methods[request.method]
    if (spec === undefined || (spec.eras !== "both" && spec.eras !== era)) {
      return this.reject(
        reply,
        request.id,
        new JsonRpc.MethodNotFound({ message: `Method not found: ${request.method}` })
      )
    }
    let context: RequestContext.RequestContext
    if (era === "modern") {
      const read = RequestContext.modern(head)
      if (Either.isLeft(read)) return this.reject(reply, request.id, read.left)
      context = read.right
    } else {
      context = RequestContext.legacy(this.session, head)
    }
    const key = JsonRpc.idKey(request.id)
    if (this.table?.has(key) === true) {
      return this.reject(
        reply,
        request.id,
        new JsonRpc.InvalidRequest({
          message: `Invalid Request: request id ${JSON.stringify(request.id)} is already in flight`
        })
      )
    }
    const limiter = this.env.limiter
    if (limiter !== undefined && request.method === McpMethod.callTool.name) {
      // Rate limits: checked before the handler runs (and before anything is registered for the request).
      const params = request.params
      const tool = Predicate.isRecord(params) && typeof params.name === "string" ? params.name : undefined
      return Effect.flatMap(
        RateLimit.check(limiter, RateLimit.callerKey(this.peer), tool),
        (exceeded) =>
          exceeded === undefined
            ? this.admit(request, sink, reply, spec, context, key, era, control)
            : this.rateLimited(reply, request.id, exceeded)
      )
    }
    return this.admit(request, sink, reply, spec, context, key, era, control)
  }

  /** A tools/call over a rate limit: -32000 with the retry time, which HTTP answers as 429 with Retry-After. */
  rateLimited(reply: Execution.Reply, id: JsonRpc.RequestId, exceeded: RateLimit.Exceeded): Effect.Effect<void> {
    const frame = JsonRpc.encodeError(id, {
      code: JsonRpc.SERVER_ERROR,
      message: `Rate limit exceeded: at most ${exceeded.limit} tools/call per ${exceeded.windowMs} ms per ${
        exceeded.scope === "caller" ? "caller" : "tool"
      }; retry in ${exceeded.retryAfterMs} ms`,
      data: {
        retryAfterMs: exceeded.retryAfterMs,
        limit: exceeded.limit,
        windowMs: exceeded.windowMs,
        scope: exceeded.scope
      }
    })
    return reply(frame, { code: JsonRpc.SERVER_ERROR, rejected: true, retryAfterMs: exceeded.retryAfterMs })
  }

  /** The rest of `handleRequest`: a modern round-trip retry has its answers verified, then `accept`. */
  admit(
    request: JsonRpc.Request,
    sink: Sink.Sink,
    reply: Execution.Reply,
    spec: Handlers.Compiled,
    context: RequestContext.RequestContext,
    key: string,
    era: ProtocolVersion.Era,
    control: Sink.StreamControl | undefined
  ): Effect.Effect<void> {
    // Modern multi round-trip: a retry brings the answers of this round and the signed state of earlier ones.
    const roundTrip = era === "modern" && spec.roundTrip
    const params = request.params
    if (!roundTrip || !RoundTrip.isRetry(params)) {
      return this.accept(request, sink, reply, spec, context, key, roundTrip, undefined, control)
    }
    return Effect.flatMap(
      RoundTrip.answersOf(request.method, params, this.server.requestState, this.principal),
      (round) =>
        Either.isLeft(round)
          ? this.reject(reply, request.id, round.left)
          : this.accept(request, sink, reply, spec, context, key, roundTrip, round.right, control)
    )
  }

  /** Registers an accepted request (in flight, with its deadline) and runs it as the execution says. */
  accept(
    request: JsonRpc.Request,
    sink: Sink.Sink,
    reply: Execution.Reply,
    spec: Handlers.Compiled,
    context: RequestContext.RequestContext,
    key: string,
    roundTrip: boolean,
    round: RoundTrip.Round | undefined,
    control: Sink.StreamControl | undefined
  ): Effect.Effect<void> {
    const entry = new Execution.Entry(
      key,
      request.id,
      spec.longLived ? 0 : this.server.requestTimeoutMillis,
      reply,
      round?.answers
    )
    if (round !== undefined) entry.carried = round.carried
    if (this.execution.tracked) {
      if (this.table === undefined) this.table = new Map()
      this.table.set(key, entry)
    }
    const mcp = new RequestMcp(this, request, context, entry, sink, control)
    const handled = spec.run(request.params, context, mcp, this, sink).pipe(
      Effect.matchCauseEffect({
        onSuccess: (result) => this.settle(entry, this.resultFrame(request.id, result, context, spec)),
        onFailure: (cause) => this.settleFailure(request, entry, roundTrip, cause)
      })
    )
    return this.execution.run(
      entry,
      handled,
      Effect.suspend(() => this.settleInterrupted(entry)),
      Effect.suspend(() => this.refuse(entry)),
      this.server.deadlines
    )
  }

  /** The response frame of a result (ResultFrame: as it is in the legacy era, finished in the modern one). */
  resultFrame(
    id: JsonRpc.RequestId,
    result: Handlers.Result,
    context: RequestContext.RequestContext,
    spec: Handlers.Compiled
  ): string {
    return context.era === "legacy"
      ? JsonRpc.encodeResult(id, result)
      : ResultFrame.frame(id, result, spec.cacheable ? this.env.finishCacheable : this.env.finishPlain)
  }

  settleFailure(
    request: JsonRpc.Request,
    entry: Execution.Entry,
    roundTrip: boolean,
    cause: Cause.Cause<JsonRpc.JsonRpcError>
  ): Effect.Effect<void> {
    const failure = Cause.failureOption(cause)
    if (Option.isSome(failure)) {
      return this.settle(entry, errorFrame(request.id, failure.value), Sink.failedWith(failure.value))
    }
    if (Cause.isInterruptedOnly(cause)) return this.settleInterrupted(entry)
    const input = roundTrip ? RoundTrip.inputRequiredOf(cause) : undefined
    if (input !== undefined) {
      const server = this.server
      const frame = RoundTrip.inputRequiredFrame(
        request,
        input,
        entry.answers,
        server.requestState,
        this.principal,
        this.env.serverInfoMeta,
        entry.carry
      )
      return Effect.flatMap(frame, (frame) => this.settle(entry, frame))
    }
    return Effect.zipRight(
      Effect.logError("Request handler died").pipe(
        Effect.annotateLogs({ method: request.method, id: request.id, cause: Cause.pretty(cause) })
      ),
      this.settle(
        entry,
        JsonRpc.encodeError(request.id, { code: JsonRpc.INTERNAL_ERROR, message: "Internal error" }),
        { code: JsonRpc.INTERNAL_ERROR, rejected: false }
      )
    )
  }

  // -----------------------------------------------------------------------------------------------------------
  // Notifications, responses, batches
  // -----------------------------------------------------------------------------------------------------------

  handleNotification(notification: JsonRpc.Notification): Effect.Effect<void> {
    switch (notification.method) {
      case "notifications/cancelled": {
        const params = cancelledParams(notification.params ?? {})
        if (Either.isLeft(params)) return Effect.logDebug("Ignored a malformed notifications/cancelled")
        const entry = this.table?.get(JsonRpc.idKey(params.right.requestId))
        // Unknown or finished requests are ignored, as the spec allows: cancellation races completion.
        if (entry === undefined || entry.fiber === undefined) return Effect.void
        entry.cancelled = true
        return this.interrupt(entry.fiber)
      }
      case "notifications/initialized":
        return Effect.sync(() => {
          this.session.initialized = true
        })
      case "notifications/roots/list_changed":
        return Effect.sync(() => {
          this.session.roots = undefined
        })
      default:
        return Effect.logDebug("Ignored a notification").pipe(Effect.annotateLogs({ method: notification.method }))
    }
  }

  handleOne(
    message: JsonRpc.Incoming | JsonRpc.Invalid,
    sink: Sink.Sink,
    reply: Execution.Reply,
    head: RequestContext.Head | undefined,
    control: Sink.StreamControl | undefined
  ): Effect.Effect<void> {
    switch (message._tag) {
      case "Request":
        return this.handleRequest(message, sink, reply, head ?? RequestContext.headOf(message), control)
      case "Notification":
        return this.handleNotification(message)
      case "Response":
        return this.questions.answer(message)
      case "Invalid":
        return this.reject(reply, message.id, message.error)
    }
  }

  singleReply(sink: Sink.Sink): Execution.Reply {
    return (frame, outcome) =>
      frame === undefined ? (sink.end?.(outcome.interrupted === true) ?? Effect.void) : sink.respond(frame, outcome)
  }

  handleJson(json: unknown, given: Sink.Sink = this.options.send, handle?: Handle): Effect.Effect<void> {
    const sink = Intercepting.sinkOf(this, given)
    if (Array.isArray(json)) return Batch.handle(this, json, sink)
    const reply = this.singleReply(sink)
    const control = handle?.control
    if (this.chain.length === 0) return this.handleOne(JsonRpc.decode(json), sink, reply, handle?.head, control)
    return Effect.suspend(() =>
      Intercepting.thenNow(Intercepting.inbound(this, json), (verdict) => {
        switch (verdict._tag) {
          case "Pass":
            // A message an interceptor changed has its `_meta` read again.
            return this.handleOne(
              JsonRpc.decode(verdict.json),
              sink,
              reply,
              verdict.changed ? undefined : handle?.head,
              control
            )
          case "Answer":
            return reply(verdict.frame, verdict.outcome)
          case "Drop":
            return verdict.request ? reply(undefined, Sink.answered) : Effect.void
        }
      })
    )
  }

  handleText(text: string, sink: Sink.Sink = this.options.send): Effect.Effect<void> {
    const parsed = JsonRpc.parse(text)
    return Either.isLeft(parsed)
      ? this.reject(this.singleReply(Intercepting.sinkOf(this, sink)), parsed.left.id, parsed.left.error)
      : this.handleJson(parsed.right, sink)
  }
}

/**
 * A dispatcher whose owner runs `close` when it ends (a legacy HTTP session, which has no fiber or Scope of its own;
 * a modern POST, whose engine holds nothing to close).
 *
 * @since 0.1.0
 * @category constructors
 */
export const unsafeMake = (env: Environment, options: Options): Dispatcher =>
  new Engine(env, options, options.session ?? Session.unsafeMake())

/**
 * The dispatcher of a connection, from the server and interceptors in context; `close` runs when the Scope closes.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options): Effect.Effect<Dispatcher, never, McpServer | Scope.Scope> =>
  Effect.gen(function*() {
    const engine = unsafeMake(yield* environment, options)
    // Scope.addFinalizer, not Effect.addFinalizer: no FiberRefs to restore, so no diff to compute per session.
    yield* Scope.addFinalizer(yield* Effect.scope, engine.close)
    return engine
  })
