/**
 * One inbound message -> one handler fiber. The dispatcher of a connection (or legacy session) owns:
 *
 * - the in-flight table: request id -> its fiber, so `notifications/cancelled` interrupts exactly that request and
 *   a second request with an id still in flight is refused;
 * - the deadlines: a request still running at its deadline is interrupted and answered with -32001. Deadlines
 *   are kept by the server's one timer fiber (`Deadlines`), not by a fiber per connection or request: no
 *   polling, and an idle connection costs no timer;
 * - the era: the first message pins it (`initialize` -> legacy, modern `_meta` -> modern), as the spec's dual-era
 *   rule says.
 *
 * On a connection (stdio, WebSocket, HTTP+SSE) each request runs as exactly one child fiber in the connection's
 * FiberSet; over Streamable HTTP it runs inline on the fiber of the POST that carries it. No race, no timeout fiber
 * per request.
 * The tables are plain Maps touched only inside synchronous steps of Effects (JavaScript runs one step at a time,
 * and nothing is awaited while they are read or written), which keeps them cheap on the per-request path.
 *
 * @since 0.1.0
 */
import type { Fiber } from "effect"
import {
  Cause,
  Clock,
  Context,
  Deferred,
  Effect,
  Either,
  Exit,
  FiberId,
  FiberSet,
  Option,
  Predicate,
  Schema,
  Scope
} from "effect"
import * as JsonRpc from "../protocol/JsonRpc.js"
import * as McpMethod from "../protocol/McpMethod.js"
import * as McpSchema from "../protocol/McpSchema.js"
import * as ProtocolVersion from "../protocol/ProtocolVersion.js"
import * as ClientRequests from "./ClientRequests.js"
import type * as Deadlines from "./Deadlines.js"
import * as Handlers from "./Handlers.js"
import * as Interceptor from "./Interceptor.js"
import { McpContext } from "./McpContext.js"
import type { ListRootsResult, ProgressOptions } from "./McpContext.js"
import { McpServer } from "./McpServer.js"
import * as Notifications from "./Notifications.js"
import * as Peer from "./Peer.js"
import * as ResultFrame from "./ResultFrame.js"
import * as Session from "./Session.js"

/**
 * How a message was answered, for transports that map answers onto a status (HTTP): `rejected` means it was
 * refused before any handler ran (invalid message, unknown method, bad `_meta`, unsupported version, an id in
 * flight); `code` is the JSON-RPC error code, if the answer is an error.
 *
 * @since 0.1.0
 * @category models
 */
export interface Outcome {
  readonly code: number | undefined
  readonly rejected: boolean
  /** With no answer: the request was interrupted by something other than the client's cancellation. */
  readonly interrupted?: boolean
}

/**
 * Where outbound frames go: a connection's bounded outbound queue, or one HTTP request's stream.
 *
 * @since 0.1.0
 * @category models
 */
export interface Sink {
  /** A notification related to a request in flight (progress, log messages). */
  readonly notify: (frame: string) => Effect.Effect<void>
  /** The final answer to a message: a response, a batch's array, or the error for a message that was refused. */
  readonly respond: (frame: string, outcome: Outcome) => Effect.Effect<void>
  /**
   * The request settled without an answer: cancelled by the client, or (`interrupted`) cut short by its session
   * ending or the server shutting down. A stream of its own can end now.
   */
  readonly end?: ((interrupted: boolean) => Effect.Effect<void>) | undefined
  /**
   * SEP-1699 polling: close the HTTP response carrying this request's stream while the request goes on; the
   * client resumes with `Last-Event-ID`. Absent where a stream cannot be resumed.
   */
  readonly closeStream?: (() => Effect.Effect<void>) | undefined
}

type Reply = (frame: string | undefined, outcome: Outcome) => Effect.Effect<void>

const busy: Outcome = { code: JsonRpc.SERVER_ERROR, rejected: true }
const answered: Outcome = { code: undefined, rejected: false }
const interruptedOutcome: Outcome = { code: undefined, rejected: false, interrupted: true }
const rejectedWith = (error: JsonRpc.JsonRpcError): Outcome => ({ code: error.code, rejected: true })
const failedWith = (error: JsonRpc.JsonRpcError): Outcome => ({ code: error.code, rejected: false })

/**
 * @since 0.1.0
 * @category models
 */
export interface Dispatcher {
  /** Handles one text frame (one JSON value, possibly a batch). Returns once the message is accepted: requests run in their own fibers. */
  readonly handleText: (text: string, sink?: Sink) => Effect.Effect<void>
  /** Handles one parsed JSON value. */
  readonly handleJson: (json: unknown, sink?: Sink) => Effect.Effect<void>
  /** Requests accepted and not yet answered. */
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
}

/**
 * @since 0.1.0
 * @category models
 */
export interface MakeOptions {
  /** The connection's sink: for messages that came without a sink of their own. */
  readonly send: Sink
  /**
   * The FiberSet owned by the connection's Scope: each request runs in a fiber of its own there and dies with it.
   * Without it, requests run inline, in the fiber that hands the message in (an HTTP POST's own fiber):
   * `handleJson` then returns once the request has settled.
   */
  readonly fibers?: FiberSet.FiberSet<unknown, unknown>
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
  /**
   * Most requests in flight at once (with `fibers` only: a connection's requests). Past it a request is answered
   * at once with -32000 and `data.maxInFlight`, without running. Default: no limit.
   */
  readonly maxInFlight?: number
}

/** A request in flight; it is also its own item in the server's Deadlines. */
class Entry implements Deadlines.Item {
  deadline = 0
  /** Set by the timer before it interrupts the request: the interruption then answers -32001. */
  timedOut = false
  /** Set before a `notifications/cancelled` interrupts it. */
  cancelled = false
  /** Set before `abortInFlight` interrupts it: the interruption then answers with this error. */
  aborted: JsonRpc.JsonRpcError | undefined = undefined
  fiber: Fiber.RuntimeFiber<unknown, unknown> | undefined = undefined
  settled = false
  /** Modern multi round-trip: how many questions were asked this round. */
  asked = 0

  constructor(
    readonly key: string,
    readonly id: JsonRpc.RequestId,
    /** Its timeout, in ms (0: none), as registered with the server's Deadlines. */
    readonly timeout: number,
    readonly reply: Reply,
    /** Modern multi round-trip: the answers known this round, by input key. */
    readonly answers: Record<string, unknown> | undefined
  ) {}

  /** The timer only signals: the interrupted request answers -32001 itself (see settleInterrupted). */
  expire(): void {
    if (this.settled || this.fiber === undefined) return
    this.timedOut = true
    this.fiber.unsafeInterruptAsFork(FiberId.none)
  }
}

/** A question to the client awaiting its answer. */
interface Outgoing extends Deadlines.Item {
  readonly id: number
  readonly answer: Deferred.Deferred<unknown, ClientRequests.ClientError>
  readonly sink: Sink
}

/** A method of the protocol table (McpMethod) with what runs it here. */
interface Method extends McpMethod.McpMethod {
  readonly run: Handlers.Handler<unknown>
}

type RequestContext = Handlers.RequestContext
type Result = Handlers.Result
type Env = Handlers.Env

const method = <A>(spec: McpMethod.McpMethod<A>, run: Handlers.Handler<A>): Method => {
  const decode = Schema.decodeUnknownEither(spec.params)
  const fast = spec.fast
  return {
    ...(spec as McpMethod.McpMethod),
    run: (params, context, mcp, env, sink) => {
      const plain = fast?.(params)
      if (plain !== undefined) return run(plain, context, mcp, env, sink)
      const decoded = decode(params ?? {}, { errors: "all" })
      return Either.isLeft(decoded)
        ? Effect.fail(JsonRpc.invalidParams(decoded.left))
        : run(decoded.right, context, mcp, env, sink)
    }
  }
}

/** Each handler table is compiled once (its params decoders built once), whatever the number of connections. */
const compiled = new WeakMap<Handlers.Handlers, Readonly<Record<string, Method>>>()
const compile = (handlers: Handlers.Handlers): Readonly<Record<string, Method>> => {
  let methods = compiled.get(handlers)
  if (methods === undefined) {
    methods = Object.fromEntries(handlers.map((entry) => [entry.method.name, method(entry.method, entry.run)]))
    compiled.set(handlers, methods)
  }
  return methods
}

const MODERN_PV = McpSchema.MODERN_META.protocolVersion
const initializeParams = Schema.decodeUnknownEither(McpSchema.InitializeParams)
const cancelledParams = Schema.decodeUnknownEither(McpSchema.CancelledParams)
const decodeModernMeta = Schema.decodeUnknownEither(McpSchema.ModernRequestMeta)

const hasModernMeta = (params: Record<string, unknown> | undefined): boolean =>
  params !== undefined && Predicate.isRecord(params._meta) && params._meta[MODERN_PV] !== undefined

const progressTokenOf = (params: Record<string, unknown> | undefined): McpSchema.ProgressToken | undefined => {
  const meta = params?._meta
  if (!Predicate.isRecord(meta)) return undefined
  const token = meta.progressToken
  return typeof token === "string" || typeof token === "number" ? token : undefined
}

const inputRequiredOf = (cause: Cause.Cause<unknown>): ClientRequests.InputRequired | undefined =>
  Option.getOrUndefined(
    Cause.find(
      cause,
      (c) => c._tag === "Die" && ClientRequests.isInputRequired(c.defect) ? Option.some(c.defect) : Option.none()
    )
  )

type Inbound =
  | { readonly _tag: "Pass"; readonly json: unknown }
  | { readonly _tag: "Answer"; readonly frame: string; readonly outcome: Outcome }
  | { readonly _tag: "Drop"; readonly request: boolean }

/** The context an interceptor sees for one message: read from the dispatcher when asked, metadata made on first use. */
class MessageContext implements Interceptor.Context {
  private meta: Map<string, unknown> | undefined = undefined
  constructor(
    readonly engine: Engine,
    readonly direction: Interceptor.Context["direction"],
    readonly requestId: JsonRpc.RequestId | null | undefined
  ) {}
  get era(): ProtocolVersion.Era | undefined {
    return this.engine.pinned
  }
  get protocolVersion(): string | undefined {
    return this.engine.pinned === "modern"
      ? ProtocolVersion.LATEST_MODERN
      : this.engine.session.negotiated?.protocolVersion
  }
  get sessionId(): string | undefined {
    return this.engine.options.sessionId
  }
  get transport(): string {
    return this.engine.options.transport ?? "unknown"
  }
  get principal(): string | undefined {
    return this.engine.options.principal?.subject
  }
  get peer(): Peer.Peer {
    return this.engine.peer
  }
  get metadata(): Map<string, unknown> {
    if (this.meta === undefined) this.meta = new Map()
    return this.meta
  }
}

/**
 * What a handler sees of its request (`McpContext`): one object per request, behaviour on the prototype.
 */
class RequestMcp implements Omit<McpContext["Type"], never> {
  lastProgress = -Infinity

  constructor(
    readonly engine: Engine,
    readonly request: JsonRpc.Request,
    readonly context: RequestContext,
    readonly entry: Entry,
    readonly sink: Sink
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
    return Effect.gen(this, function*() {
      if (this.entry.settled) return
      const context = this.context
      const minimum = context.era === "modern"
        ? context.logLevel
        : this.engine.session.logLevel
      if (context.era === "modern" && minimum === undefined) return
      if (minimum !== undefined && McpSchema.loggingLevelRank[level] < McpSchema.loggingLevelRank[minimum]) return
      yield* this.sink.notify(JsonRpc.encodeNotification(
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
        const engine = this.engine
        const missing = ClientRequests.checkCapability(method, params, this.context.clientCapabilities)
        if (missing !== undefined) return Effect.fail(missing)
        if (this.context.era === "modern") return engine.askModern(this.entry, method, params)
        if (method === "roots/list" && engine.session.roots !== undefined) return Effect.succeed(engine.session.roots)
        const asked = engine.askLegacy(method, params, this.sink)
        return method === "roots/list"
          ? Effect.tap(asked, (roots) =>
            Effect.sync(() => {
              engine.session.roots = roots as ListRootsResult
            }))
          : asked
      }
    )
  }

  get peer(): Peer.Peer {
    return this.engine.peer
  }

  get closeStream(): Effect.Effect<void> {
    return Effect.suspend(() => this.sink.closeStream?.() ?? Effect.void)
  }

  elicitationComplete(elicitationId: string): Effect.Effect<void> {
    const context = this.context
    return context.era === "legacy" && ProtocolVersion.hasElicitationComplete(context.protocolVersion)
      ? this.engine.outboundSink(this.engine.options.send).notify(
        JsonRpc.encodeNotification("notifications/elicitation/complete", { elicitationId })
      )
      : Effect.void
  }
}

/**
 * The dispatcher of one connection or legacy session. State lives in fields and behaviour on the prototype, so a
 * connection (or idle legacy session) costs one object and its tables, not a closure per operation.
 */
class Engine implements Dispatcher, Env {
  /** Requests in flight, by id key: created with the first request (an idle session never has one). */
  inflightTable: Map<string, Entry> | undefined = undefined
  /** Questions to the client awaiting answers: created on the first question. */
  outgoingTable: Map<string, Outgoing> | undefined = undefined
  nextOutgoing = 0
  pinned: ProtocolVersion.Era | undefined
  readonly hub: Notifications.Hub
  readonly serverInfoMeta: Record<string, unknown>
  /** The server's handler table, compiled once per table. */
  readonly methods: Readonly<Record<string, Method>>
  private peerValue: Peer.Peer | undefined = undefined
  /** Admission of a connection's requests (`maxInFlight`): a permit per running request. */
  readonly permits: Effect.Semaphore | undefined

  constructor(
    readonly options: MakeOptions,
    readonly server: McpServer["Type"],
    readonly session: Session.Session,
    /** Carries exactly one message (a modern POST): no in-flight table. */
    readonly oneShot = false
  ) {
    this.pinned = options.era
    this.hub = server.notifications
    this.serverInfoMeta = serverInfoMetaOf(server)
    this.methods = compile(server.handlers ?? Handlers.local)
    this.permits = options.maxInFlight !== undefined && options.fibers !== undefined
      ? Effect.unsafeMakeSemaphore(options.maxInFlight)
      : undefined
  }

  get outgoing(): Map<string, Outgoing> {
    if (this.outgoingTable === undefined) this.outgoingTable = new Map()
    return this.outgoingTable
  }

  /** The legacy session's entry in the notification hub, created on first use. */
  subscriber(): Notifications.Subscriber {
    const session = this.session
    if (session.subscriber === undefined) {
      session.subscriber = new Notifications.Subscriber(Notifications.ALL_LISTS, this.options.onPush ?? noop)
      this.hub.add(session.subscriber)
    }
    return session.subscriber
  }

  /** The connection's Scope closed: leave the hub, and fail the questions still waiting for the client. */
  get close(): Effect.Effect<void> {
    return Effect.sync(() => {
      if (this.session.subscriber !== undefined) this.hub.remove(this.session.subscriber)
      // Requests run inline belong to their carriers' fibers (HTTP POSTs), not to this Scope: end them here.
      if (this.options.fibers === undefined) {
        for (const entry of this.inflightTable?.values() ?? []) entry.fiber?.unsafeInterruptAsFork(FiberId.none)
      }
      const outgoing = this.outgoingTable
      if (outgoing === undefined) return
      for (const out of outgoing.values()) {
        Deferred.unsafeDone(
          out.answer,
          Effect.fail(
            new ClientRequests.ClientError({
              message: "The connection closed before the client answered",
              reason: "closed"
            })
          )
        )
      }
      outgoing.clear()
    })
  }

  inFlight(): number {
    return this.inflightTable?.size ?? 0
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

  abortInFlight(error: JsonRpc.JsonRpcError): Effect.Effect<void> {
    return Effect.suspend(() => {
      const fibers: Array<Fiber.RuntimeFiber<unknown, unknown>> = []
      for (const entry of this.inflightTable?.values() ?? []) {
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
      if (frames.length === 0 || this.server.interceptors().length === 0) return Effect.succeed(frames)
      return Effect.map(
        Effect.forEach(frames, (frame) => this.interceptOutbound(frame)),
        (outs) => outs.filter((out): out is string => out !== undefined)
      )
    })
  }

  takePushedSync(): ReadonlyArray<string> | undefined {
    if (this.server.interceptors().length > 0) return undefined
    return this.session.subscriber?.take() ?? []
  }

  hasPushed(): boolean {
    return this.session.subscriber?.hasPending ?? false
  }

  // -----------------------------------------------------------------------------------------------------------
  // Settling: every accepted request settles exactly once, with a response frame or (cancelled) without one.
  // -----------------------------------------------------------------------------------------------------------

  // The entry leaves the table only once its reply is handed on: until then its id still counts as in flight,
  // and a draining connection does not mistake "answer being queued" for idle.
  settle(entry: Entry, frame: string | undefined, outcome: Outcome = answered): Effect.Effect<void> {
    return Effect.suspend(() => {
      if (entry.settled) return Effect.void
      entry.settled = true
      this.server.deadlines.remove(entry, entry.timeout)
      if (this.options.fibers === undefined) {
        // Inline (one HTTP request): nothing drains on this table, so the entry can leave before the reply.
        if (this.inflightTable?.get(entry.key) === entry) this.inflightTable.delete(entry.key)
        this.options.onSettled?.()
        return entry.reply(frame, outcome)
      }
      return Effect.ensuring(
        entry.reply(frame, outcome),
        Effect.sync(() => {
          if (this.inflightTable?.get(entry.key) === entry) this.inflightTable.delete(entry.key)
          this.options.onSettled?.()
        })
      )
    })
  }

  /** Over `maxInFlight`: refused at once, as HTTP refuses with 503. */
  busyFrame(id: JsonRpc.RequestId) {
    const limit = this.options.maxInFlight
    return JsonRpc.encodeError(id, {
      code: JsonRpc.SERVER_ERROR,
      message: `Server busy: ${limit} requests are already in flight on this connection; retry shortly`,
      data: { maxInFlight: limit }
    })
  }

  timeoutFrame(entry: Entry) {
    return JsonRpc.encodeError(entry.id, {
      code: JsonRpc.REQUEST_TIMEOUT,
      message: `Request timed out after ${this.server.requestTimeoutMillis} ms`
    })
  }

  // Signals the interruption without waiting for it: the caller may be the fiber that drains the very queue a
  // finalizer of the interrupted request could be waiting on.
  interrupt(fiber: Fiber.RuntimeFiber<unknown, unknown>): Effect.Effect<void> {
    return Effect.fiberIdWith((self) => fiber.interruptAsFork(self))
  }

  // -----------------------------------------------------------------------------------------------------------
  // Asking the client
  // -----------------------------------------------------------------------------------------------------------

  /** Tells the client we no longer wait for the answer (best effort: the stream may be gone). */
  cancelOutgoing(out: Outgoing, reason: string) {
    return out.sink.notify(JsonRpc.encodeNotification("notifications/cancelled", { requestId: out.id, reason }))
  }

  /** Legacy: a JSON-RPC request to the client on the request's stream; the answer comes back as a Response. */
  askLegacy(
    method: string,
    params: Record<string, unknown>,
    sink: Sink
  ): Effect.Effect<unknown, ClientRequests.ClientError> {
    return Effect.gen(this, function*() {
      const id = ++this.nextOutgoing
      const key = JsonRpc.idKey(id)
      const answer = yield* Deferred.make<unknown, ClientRequests.ClientError>()
      const timeout = this.server.clientRequestTimeoutMillis
      const out: Outgoing = {
        id,
        answer,
        sink,
        deadline: 0,
        // The timer only completes the Deferred; this fiber tells the client it stopped waiting.
        expire: () => {
          Deferred.unsafeDone(
            answer,
            Effect.fail(
              new ClientRequests.ClientError({
                message: `The client did not answer within ${timeout} ms`,
                reason: "timeout"
              })
            )
          )
        }
      }
      this.outgoing.set(key, out)
      yield* this.server.deadlines.add(out, timeout)
      return yield* Effect.zipRight(
        sink.notify(JsonRpc.encodeRequest(id, method, params)),
        Effect.tapError(
          Deferred.await(answer),
          (error) => (error.reason === "timeout" ? this.cancelOutgoing(out, "Timed out") : Effect.void)
        )
      ).pipe(
        Effect.onInterrupt(() =>
          this.outgoing.get(key) === out
            ? Effect.zipRight(
              Effect.sync(() => this.outgoing.delete(key)),
              this.cancelOutgoing(out, "The request was cancelled")
            )
            : Effect.void
        ),
        Effect.ensuring(Effect.sync(() => {
          this.server.deadlines.remove(out, timeout)
          if (this.outgoing.get(key) === out) this.outgoing.delete(key)
        }))
      )
    })
  }

  /** Modern: the answer from this round's inputs, or end the round with `input_required`. */
  askModern(entry: Entry, method: string, params: Record<string, unknown>): Effect.Effect<unknown> {
    return Effect.suspend(() => {
      const key = `q${entry.asked++}`
      const answer = entry.answers?.[key]
      return answer !== undefined
        ? Effect.succeed(answer)
        : Effect.die(new ClientRequests.InputRequired(key, method, params))
    })
  }

  handleResponse(response: JsonRpc.Response): Effect.Effect<void> {
    const key = response.id === null ? undefined : JsonRpc.idKey(response.id)
    const out = key === undefined ? undefined : this.outgoing.get(key)
    if (out === undefined) {
      return Effect.logDebug("Ignored a response to no request of ours").pipe(Effect.annotateLogs({ id: response.id }))
    }
    this.outgoing.delete(key!)
    return response.error !== undefined
      ? Deferred.fail(
        out.answer,
        new ClientRequests.ClientError({
          message: response.error.message,
          reason: "error",
          code: response.error.code,
          data: response.error.data
        })
      )
      : Deferred.succeed(out.answer, response.result)
  }

  // -----------------------------------------------------------------------------------------------------------
  // Per-request context for handlers
  // -----------------------------------------------------------------------------------------------------------

  makeMcpContext(
    request: JsonRpc.Request,
    context: RequestContext,
    entry: Entry,
    sink: Sink
  ): McpContext["Type"] {
    return new RequestMcp(this, request, context, entry, sink)
  }

  // -----------------------------------------------------------------------------------------------------------
  // Methods
  // -----------------------------------------------------------------------------------------------------------

  // -----------------------------------------------------------------------------------------------------------
  // Requests
  // -----------------------------------------------------------------------------------------------------------

  /** What modern results of this method are finished with (see ResultFrame): two objects per server, made once. */
  finishOf(spec: Method): ResultFrame.Finish {
    let pair = finishes.get(this.server)
    if (pair === undefined) {
      const server = this.server
      const base = {
        cacheTtlMs: server.cacheTtlMs,
        cacheScope: server.cacheScope,
        serverInfoMeta: this.serverInfoMeta,
        serverInfoMetaJson: serverInfoMetaJsonOf(server)
      }
      pair = { cacheable: { ...base, cacheable: true }, plain: { ...base, cacheable: false } }
      finishes.set(server, pair)
    }
    return spec.cacheable ? pair.cacheable : pair.plain
  }

  /** The response frame of a result (ResultFrame: as it is in the legacy era, finished in the modern one). */
  resultFrame(id: JsonRpc.RequestId, result: Result, context: RequestContext, spec: Method): string {
    return context.era === "legacy"
      ? JsonRpc.encodeResult(id, result)
      : ResultFrame.frame(id, result, this.finishOf(spec))
  }

  inputRequiredResult(
    request: JsonRpc.Request,
    entry: Entry,
    input: ClientRequests.InputRequired,
    now: number
  ): Result {
    return ({
      resultType: "input_required",
      inputRequests: { [input.key]: { method: input.method, params: input.params } },
      requestState: this.server.requestState.sign({
        m: request.method,
        d: ClientRequests.paramsDigest(request.params),
        p: null,
        r: entry.answers ?? {}
      }, now),
      _meta: this.serverInfoMeta
    })
  }

  errorFrame(id: JsonRpc.RequestId | null, error: JsonRpc.JsonRpcError) {
    return JsonRpc.encodeError(id, JsonRpc.toErrorObject(error))
  }

  internalErrorFrame(request: JsonRpc.Request, cause: Cause.Cause<unknown>) {
    return Effect.as(
      Effect.logError("Request handler died").pipe(
        Effect.annotateLogs({ method: request.method, id: request.id, cause: Cause.pretty(cause) })
      ),
      JsonRpc.encodeError(request.id, { code: JsonRpc.INTERNAL_ERROR, message: "Internal error" })
    )
  }

  modernContext(request: JsonRpc.Request): Either.Either<RequestContext, JsonRpc.JsonRpcError> {
    const meta = request.params?._meta
    if (!Predicate.isRecord(meta) || meta[MODERN_PV] === undefined) {
      return Either.left(new JsonRpc.InvalidParams({ message: `Invalid params: _meta.${MODERN_PV} is required` }))
    }
    const version = meta[MODERN_PV]
    if (typeof version !== "string") {
      return Either.left(new JsonRpc.InvalidParams({ message: `Invalid params: _meta.${MODERN_PV} must be a string` }))
    }
    if (!ProtocolVersion.isModern(version)) {
      return Either.left(
        new JsonRpc.UnsupportedProtocolVersion({
          message: `Unsupported protocol version: ${version}`,
          data: { supported: ProtocolVersion.MODERN, requested: version }
        })
      )
    }
    const fast = McpMethod.plainModernMeta(meta)
    if (fast !== undefined) {
      return Either.right({
        era: "modern",
        protocolVersion: version,
        clientInfo: fast.clientInfo,
        clientCapabilities: fast.clientCapabilities,
        logLevel: fast.logLevel,
        progressToken: fast.progressToken
      })
    }
    const decoded = decodeModernMeta(meta, { errors: "all" })
    if (Either.isLeft(decoded)) return Either.left(JsonRpc.invalidParams(decoded.left, "Invalid params: _meta"))
    const m = decoded.right
    return Either.right({
      era: "modern",
      protocolVersion: version,
      clientInfo: m[McpSchema.MODERN_META.clientInfo],
      clientCapabilities: m[McpSchema.MODERN_META.clientCapabilities],
      logLevel: m[McpSchema.MODERN_META.logLevel],
      progressToken: m.progressToken
    })
  }

  legacyContextOf(request: JsonRpc.Request): RequestContext {
    const negotiated = this.session.negotiated
    return {
      era: "legacy",
      protocolVersion: Session.protocolVersion(negotiated),
      clientInfo: negotiated?.clientInfo,
      clientCapabilities: negotiated?.clientCapabilities ?? noCapabilities,
      logLevel: undefined,
      progressToken: progressTokenOf(request.params)
    }
  }

  reject(reply: Reply, id: JsonRpc.RequestId | null, error: JsonRpc.JsonRpcError) {
    return reply(this.errorFrame(id, error), rejectedWith(error))
  }

  initialize(request: JsonRpc.Request, reply: Reply): Effect.Effect<void> {
    return Effect.gen(this, function*() {
      if (this.pinned === "modern") {
        return yield* this.reject(
          reply,
          request.id,
          new JsonRpc.InvalidRequest({
            message:
              `Invalid Request: this connection speaks ${ProtocolVersion.LATEST_MODERN}, which has no initialize`,
            data: { supported: ProtocolVersion.MODERN }
          })
        )
      }
      this.pinned = "legacy"
      if (this.session.negotiated !== undefined) {
        return yield* this.reject(
          reply,
          request.id,
          new JsonRpc.InvalidRequest({
            message: "Invalid Request: the session is already initialized"
          })
        )
      }
      const decoded = initializeParams(request.params ?? {}, { errors: "all" })
      if (Either.isLeft(decoded)) return yield* this.reject(reply, request.id, JsonRpc.invalidParams(decoded.left))
      const params = decoded.right
      const protocolVersion = ProtocolVersion.negotiateLegacy(params.protocolVersion)
      this.session.negotiated = {
        protocolVersion,
        clientInfo: params.clientInfo,
        clientCapabilities: params.capabilities
      }
      // From now on the session hears about list changes.
      this.subscriber()
      yield* reply(
        JsonRpc.encodeResult(request.id, {
          protocolVersion,
          capabilities: this.server.capabilities,
          serverInfo: this.server.info,
          ...(this.server.instructions !== undefined ? { instructions: this.server.instructions } : {})
        }),
        answered
      )
    })
  }

  /**
   * Accepts a request: validates what can be validated at once (synchronously: this is the hot path), then runs it
   * inline or forks its one fiber.
   */
  handleRequest(
    request: JsonRpc.Request,
    sink: Sink,
    reply: Reply
  ): Effect.Effect<void> {
    if (request.method === McpMethod.initialize.name && !hasModernMeta(request.params)) {
      return this.initialize(request, reply)
    }
    const era: ProtocolVersion.Era = this.pinned ?? (hasModernMeta(request.params) ? "modern" : "legacy")
    this.pinned = era
    const spec = this.methods[request.method]
    if (spec === undefined || (spec.eras !== "both" && spec.eras !== era)) {
      return this.reject(
        reply,
        request.id,
        new JsonRpc.MethodNotFound({ message: `Method not found: ${request.method}` })
      )
    }
    let context: RequestContext
    if (era === "modern") {
      const modern = this.modernContext(request)
      if (Either.isLeft(modern)) return this.reject(reply, request.id, modern.left)
      context = modern.right
    } else {
      context = this.legacyContextOf(request)
    }
    const key = JsonRpc.idKey(request.id)
    if (this.inflightTable?.has(key) === true) {
      return this.reject(
        reply,
        request.id,
        new JsonRpc.InvalidRequest({
          message: `Invalid Request: request id ${JSON.stringify(request.id)} is already in flight`
        })
      )
    }
    // Modern multi round-trip: a retry brings the answers of this round and the signed state of earlier ones.
    const roundTrip = era === "modern" && spec.roundTrip
    if (!roundTrip || (request.params?.requestState === undefined && request.params?.inputResponses === undefined)) {
      return this.accept(request, sink, reply, spec, context, key, roundTrip, undefined)
    }
    const given = request.params.inputResponses
    if (given !== undefined && !Predicate.isRecord(given)) {
      return this.reject(
        reply,
        request.id,
        new JsonRpc.InvalidParams({ message: "Invalid params: inputResponses must be an object" })
      )
    }
    const state = request.params.requestState
    if (state === undefined) return this.accept(request, sink, reply, spec, context, key, roundTrip, { ...given })
    return Effect.flatMap(Clock.currentTimeMillis, (now) => {
      const verified = typeof state === "string"
        ? this.server.requestState.verify(state, {
          method: request.method,
          digest: ClientRequests.paramsDigest(request.params),
          principal: null
        }, now)
        : { ok: false as const, reason: "malformed" }
      if (!verified.ok) {
        return this.reject(
          reply,
          request.id,
          new JsonRpc.InvalidParams({
            message: `Invalid params: requestState rejected (${verified.reason})`,
            data: { reason: verified.reason }
          })
        )
      }
      return this.accept(request, sink, reply, spec, context, key, roundTrip, { ...verified.payload.r, ...given })
    })
  }

  /** Registers an accepted request (in flight, with its deadline) and runs it: inline, or in a fiber of its own. */
  accept(
    request: JsonRpc.Request,
    sink: Sink,
    reply: Reply,
    spec: Method,
    context: RequestContext,
    key: string,
    roundTrip: boolean,
    answers: Record<string, unknown> | undefined
  ): Effect.Effect<void> {
    const entry = new Entry(key, request.id, spec.longLived ? 0 : this.server.requestTimeoutMillis, reply, answers)
    // A one-shot dispatcher (one modern POST) carries one request: no table to find it in.
    if (!this.oneShot) {
      if (this.inflightTable === undefined) this.inflightTable = new Map()
      this.inflightTable.set(key, entry)
    }
    const mcp = this.makeMcpContext(request, context, entry, sink)
    const handled = spec.run(request.params, context, mcp, this, sink).pipe(
      Effect.matchCauseEffect({
        onSuccess: (result) => this.settle(entry, this.resultFrame(request.id, result, context, spec)),
        onFailure: (cause) => {
          const failure = Cause.failureOption(cause)
          if (Option.isSome(failure)) {
            return this.settle(entry, this.errorFrame(request.id, failure.value), failedWith(failure.value))
          }
          if (Cause.isInterruptedOnly(cause)) return this.settleInterrupted(entry)
          const input = roundTrip ? inputRequiredOf(cause) : undefined
          if (input !== undefined) {
            return Effect.flatMap(
              Clock.currentTimeMillis,
              (now) =>
                this.settle(
                  entry,
                  JsonRpc.encodeResult(request.id, this.inputRequiredResult(request, entry, input, now))
                )
            )
          }
          return Effect.flatMap(
            this.internalErrorFrame(request, cause),
            (frame) => this.settle(entry, frame, { code: JsonRpc.INTERNAL_ERROR, rejected: false })
          )
        }
      })
    )
    const fibers = this.options.fibers
    if (fibers === undefined) {
      // Inline: this fiber is the request's. Its deadline is registered in the same step, with the fiber's Clock.
      return Effect.withFiberRuntime<void>((fiber) => {
        entry.fiber = fiber
        const now = Context.get(fiber.currentDefaultServices, Clock.Clock).unsafeCurrentTimeMillis()
        this.server.deadlines.unsafeAdd(entry, entry.timeout, now)
        return Effect.onInterrupt(handled, () => this.settleInterrupted(entry))
      })
    }
    const deadline = this.server.deadlines.add(entry, entry.timeout)
    // The fiber starts uninterruptible just long enough to install its interruption handler, then runs the
    // handler interruptibly: a cancellation that arrives before the fiber has taken its first step (e.g. in the
    // same stdin chunk as the request) still settles the request instead of leaving it in the table.
    const permits = this.permits
    const run = permits === undefined
      ? Effect.interruptible(handled).pipe(Effect.onInterrupt(() => this.settleInterrupted(entry)))
      : Effect.flatMap(
        permits.withPermitsIfAvailable(1)(
          Effect.interruptible(handled).pipe(Effect.onInterrupt(() => this.settleInterrupted(entry)))
        ),
        (admitted) => (Option.isSome(admitted) ? Effect.void : this.settle(entry, this.busyFrame(request.id), busy))
      )
    return Effect.zipRight(
      deadline,
      Effect.map(Effect.uninterruptible(FiberSet.run(fibers, run)), (fiber) => {
        entry.fiber = fiber
      })
    )
  }

  /** An interrupted request settles without an answer, unless the interruption was its timeout. */
  settleInterrupted(entry: Entry): Effect.Effect<void> {
    if (entry.timedOut) {
      return this.settle(entry, this.timeoutFrame(entry), { code: JsonRpc.REQUEST_TIMEOUT, rejected: false })
    }
    if (entry.aborted !== undefined) {
      return this.settle(entry, this.errorFrame(entry.id, entry.aborted), failedWith(entry.aborted))
    }
    return this.settle(entry, undefined, entry.cancelled ? answered : interruptedOutcome)
  }

  // -----------------------------------------------------------------------------------------------------------
  // Notifications and responses
  // -----------------------------------------------------------------------------------------------------------

  handleNotification(notification: JsonRpc.Notification): Effect.Effect<void> {
    switch (notification.method) {
      case "notifications/cancelled": {
        const params = cancelledParams(notification.params ?? {})
        if (Either.isLeft(params)) {
          return Effect.logDebug("Ignored a malformed notifications/cancelled")
        }
        const entry = this.inflightTable?.get(JsonRpc.idKey(params.right.requestId))
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

  // -----------------------------------------------------------------------------------------------------------
  // Frames and batches
  // -----------------------------------------------------------------------------------------------------------

  handleOne(
    message: JsonRpc.Incoming | JsonRpc.Invalid,
    sink: Sink,
    reply: Reply
  ): Effect.Effect<void> {
    switch (message._tag) {
      case "Request":
        return this.handleRequest(message, sink, reply)
      case "Notification":
        return this.handleNotification(message)
      case "Response":
        return this.handleResponse(message)
      case "Invalid":
        return this.reject(reply, message.id, message.error)
    }
  }

  // -----------------------------------------------------------------------------------------------------------
  // Interceptors: with none registered, nothing below runs.
  // -----------------------------------------------------------------------------------------------------------

  interceptContext(
    direction: Interceptor.Context["direction"],
    requestId: JsonRpc.RequestId | null | undefined
  ): Interceptor.Context {
    return new MessageContext(this, direction, requestId)
  }

  idOf(message: Record<string, unknown>): JsonRpc.RequestId | null | undefined {
    return typeof message.id === "string" || typeof message.id === "number"
      ? message.id
      : message.id === null
      ? null
      : undefined
  }

  interceptInbound(json: unknown): Effect.Effect<Inbound> {
    if (!Predicate.isRecord(json)) return Exit.succeed({ _tag: "Pass", json })
    const id = this.idOf(json)
    const request = typeof json.method === "string" && id !== undefined && id !== null
    const verdict = Interceptor.runNow(
      this.server.interceptors(),
      json as Interceptor.Message,
      this.interceptContext("inbound", id)
    )
    return mapNow(verdict, (verdict): Inbound => {
      switch (verdict._tag) {
        case "Pass":
          return { _tag: "Pass", json: verdict.message }
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
            ? { _tag: "Answer", frame: JsonRpc.encodeResult(id!, verdict.result), outcome: answered }
            : { _tag: "Drop", request }
        case "Drop":
          return { _tag: "Drop", request }
      }
    })
  }

  interceptOne(message: unknown): Effect.Effect<unknown | undefined> {
    if (!Predicate.isRecord(message)) return Exit.succeed(message)
    const id = this.idOf(message)
    const response = id !== undefined && message.method === undefined
    const verdict = Interceptor.runNow(
      this.server.interceptors(),
      message as Interceptor.Message,
      this.interceptContext("outbound", id)
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

  /** An outbound frame through the chain: the frame to send, or undefined when it was dropped. */
  interceptOutbound(frame: string): Effect.Effect<string | undefined> {
    const message: unknown = JSON.parse(frame)
    if (!Array.isArray(message)) {
      return mapNow(
        this.interceptOne(message),
        (out) => out === undefined ? undefined : out === message ? frame : JSON.stringify(out)
      )
    }
    return Effect.map(Effect.forEach(message, (item) => this.interceptOne(item)), (outs) => {
      const kept = outs.filter((out) => out !== undefined)
      return kept.length === 0 ? undefined : JSON.stringify(kept)
    })
  }

  intercepted(sink: Sink): Sink {
    return new InterceptedSink(this, sink)
  }

  outboundSink(sink: Sink): Sink {
    return (this.server.interceptors().length === 0 ? sink : this.intercepted(sink))
  }

  singleReply(sink: Sink): Reply {
    return (frame, outcome) =>
      frame === undefined ? (sink.end?.(outcome.interrupted === true) ?? Effect.void) : sink.respond(frame, outcome)
  }

  handleBatch(items: ReadonlyArray<unknown>, sink: Sink): Effect.Effect<void> {
    return Effect.gen(this, function*() {
      const version = this.session.negotiated?.protocolVersion
      if (this.pinned !== "legacy" || !ProtocolVersion.allowsBatch(version)) {
        return yield* this.reject(
          this.singleReply(sink),
          null,
          new JsonRpc.InvalidRequest({
            message: `Invalid Request: JSON-RPC batches are only allowed in protocol version 2025-03-26${
              version === undefined ? "" : ` (this session negotiated ${version})`
            }`
          })
        )
      }
      if (items.length === 0) {
        return yield* this.reject(
          this.singleReply(sink),
          null,
          new JsonRpc.InvalidRequest({ message: "Invalid Request: empty batch" })
        )
      }
      const responses: Array<string> = []
      let admitted: ReadonlyArray<unknown> = items
      if (this.server.interceptors().length > 0) {
        const passed: Array<unknown> = []
        for (const item of items) {
          const verdict = yield* this.interceptInbound(item)
          if (verdict._tag === "Pass") passed.push(verdict.json)
          else if (verdict._tag === "Answer") responses.push(verdict.frame)
        }
        admitted = passed
      }
      const decoded = admitted.map(JsonRpc.decode)
      const dispatched: Array<JsonRpc.Incoming> = []
      for (const message of decoded) {
        if (message._tag === "Invalid") {
          responses.push(this.errorFrame(message.id, message.error))
        } else if (message._tag === "Request" && message.method === McpMethod.initialize.name) {
          responses.push(this.errorFrame(
            message.id,
            new JsonRpc.InvalidRequest({
              message: "Invalid Request: initialize must not be part of a batch"
            })
          ))
        } else {
          dispatched.push(message)
        }
      }
      // The batch's answer is one array, sent when its last request settles (or at once if none is pending).
      let pending = dispatched.filter((m) => m._tag === "Request").length
      const flush = () => (responses.length > 0 ? sink.respond(JsonRpc.encodeBatch(responses), answered) : Effect.void)
      const collect: Reply = (frame) =>
        Effect.suspend(() => {
          if (frame !== undefined) responses.push(frame)
          pending -= 1
          return pending === 0 ? flush() : Effect.void
        })
      if (pending === 0) {
        for (const message of dispatched) yield* this.handleOne(message, sink, collect)
        return yield* flush()
      }
      for (const message of dispatched) yield* this.handleOne(message, sink, collect)
    })
  }

  handleJson(json: unknown, given: Sink = this.options.send): Effect.Effect<void> {
    const sink = this.outboundSink(given)
    if (Array.isArray(json)) return this.handleBatch(json, sink)
    const reply = this.singleReply(sink)
    if (this.server.interceptors().length === 0) return this.handleOne(JsonRpc.decode(json), sink, reply)
    return Effect.suspend(() =>
      thenNow(this.interceptInbound(json), (verdict) => {
        switch (verdict._tag) {
          case "Pass":
            return this.handleOne(JsonRpc.decode(verdict.json), sink, reply)
          case "Answer":
            return reply(verdict.frame, verdict.outcome)
          case "Drop":
            return verdict.request ? reply(undefined, answered) : Effect.void
        }
      })
    )
  }

  handleText(text: string, sink: Sink = this.options.send): Effect.Effect<void> {
    const parsed = JsonRpc.parse(text)
    return Either.isLeft(parsed)
      ? this.reject(this.singleReply(this.outboundSink(sink)), parsed.left.id, parsed.left.error)
      : this.handleJson(parsed.right, sink)
  }
}

/** A sink whose frames pass the outbound interceptors first: one object per message, behaviour on the prototype. */
class InterceptedSink implements Sink {
  constructor(readonly engine: Engine, readonly sink: Sink) {}
  // Called on the wrapped sink, so a sink that is a class instance keeps its `this`.
  end(interrupted: boolean): Effect.Effect<void> {
    return this.sink.end?.(interrupted) ?? Effect.void
  }
  closeStream(): Effect.Effect<void> {
    return this.sink.closeStream?.() ?? Effect.void
  }
  notify(frame: string): Effect.Effect<void> {
    return Effect.suspend(() =>
      thenNow(this.engine.interceptOutbound(frame), (out) => (out === undefined ? Effect.void : this.sink.notify(out)))
    )
  }
  respond(frame: string, outcome: Outcome): Effect.Effect<void> {
    return Effect.suspend(() =>
      thenNow(
        this.engine.interceptOutbound(frame),
        (out) => (out === undefined ? (this.sink.end?.(false) ?? Effect.void) : this.sink.respond(out, outcome))
      )
    )
  }
}

/** `Effect.map`, applied at once when the Effect is already a value (an Exit): interceptor chains usually are. */
const mapNow = <A, B>(effect: Effect.Effect<A>, f: (a: A) => B): Effect.Effect<B> =>
  Exit.isExit(effect) && Exit.isSuccess(effect) ? Exit.succeed(f(effect.value as A)) : Effect.map(effect, f)

/** `Effect.flatMap`, applied at once when the Effect is already a value (an Exit). */
const thenNow = <A, B>(effect: Effect.Effect<A>, f: (a: A) => Effect.Effect<B>): Effect.Effect<B> =>
  Exit.isExit(effect) && Exit.isSuccess(effect) ? f(effect.value as A) : Effect.flatMap(effect, f)

const noop = () => {}
const noCapabilities: McpSchema.ClientCapabilities = {}

// One serverInfo `_meta` object per server, shared by its dispatchers.
const serverInfoMetas = new WeakMap<object, Record<string, unknown>>()
const serverInfoMetaOf = (server: McpServer["Type"]): Record<string, unknown> => {
  let meta = serverInfoMetas.get(server)
  if (meta === undefined) {
    meta = { [McpSchema.MODERN_META.serverInfo]: server.info }
    serverInfoMetas.set(server, meta)
  }
  return meta
}

/**
 * A dispatcher whose owner ends it (runs `close`: leaves the notification hub, interrupts its inline requests, fails
 * the questions waiting for the client) instead of a Scope: for a legacy HTTP session, which has no fiber of its
 * own and should cost as little as possible while idle.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeOwned = (
  options: MakeOptions,
  server: McpServer["Type"],
  session: Session.Session
): Dispatcher & { readonly close: Effect.Effect<void> } => new Engine(options, server, session)

/**
 * A dispatcher that runs requests inline and needs no Scope: for one modern request (an HTTP POST), which holds no
 * subscription and asks the client nothing over the wire (the modern era asks with `input_required`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeInline = (
  options: Omit<MakeOptions, "fibers">,
  server: McpServer["Type"],
  session: Session.Session
): Dispatcher => new Engine(options, server, session, true)

const serverInfoMetaJsons = new WeakMap<object, string>()
const finishes = new WeakMap<object, { readonly cacheable: ResultFrame.Finish; readonly plain: ResultFrame.Finish }>()

const serverInfoMetaJsonOf = (server: McpServer["Type"]): string => {
  let json = serverInfoMetaJsons.get(server)
  if (json === undefined) {
    json = JSON.stringify(serverInfoMetaOf(server))
    serverInfoMetaJsons.set(server, json)
  }
  return json
}

/**
 * Builds the dispatcher of one connection or legacy session; it leaves the notification hub when the Scope closes.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: MakeOptions): Effect.Effect<Dispatcher, never, McpServer | Scope.Scope> =>
  Effect.gen(function*() {
    const engine = new Engine(options, yield* McpServer, yield* Session.make)
    // Scope.addFinalizer, not Effect.addFinalizer: no FiberRefs to restore, so no diff to compute per session.
    yield* Scope.addFinalizer(yield* Effect.scope, engine.close)
    return engine
  })
