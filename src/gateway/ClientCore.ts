/**
 * The JSON-RPC client that every upstream transport shares: request ids, the table of requests in flight (each a
 * Deferred answered once), the progress tokens the client puts upstream and maps back to `hooks.progress`, the
 * upstream's own requests (ping answered here; sampling, elicitation, roots through the request's hooks or the
 * upstream's events) and its notifications, cancellation, and the limits of one upstream (requests in flight,
 * per-request timeout on Effect's clock).
 *
 * A transport gives the core what it reads (`receive`/`handle`, saying which request a message relates to when it
 * knows) and a way to write (`write` for notifications and answers; `deliver` per request). When the connection
 * goes, `close` answers every request in flight with `UpstreamError` ("closed") at once.
 *
 * @since 0.2.0
 */
import { Effect, Either, Fiber, FiberSet, Predicate } from "effect"
import type { Scope } from "effect"
import * as JsonRpc from "../protocol/JsonRpc.js"
import * as ProtocolVersion from "../protocol/ProtocolVersion.js"
import { VERSION } from "../Version.js"
import * as Upstream from "./Upstream.js"

/**
 * Who the gateway says it is upstream.
 *
 * @since 0.2.0
 * @category constants
 */
export const CLIENT_INFO = { name: "effect-mcp-server-gateway", version: VERSION } as const

/**
 * What the gateway declares as a client: it relays sampling, elicitation (form and URL) and roots to its own
 * clients.
 *
 * @since 0.2.0
 * @category constants
 */
export const CLIENT_CAPABILITIES = {
  sampling: {},
  elicitation: { form: {}, url: {} },
  roots: { listChanged: true }
} as const

/**
 * The requests an upstream may send its client (anything else is answered -32601).
 *
 * @since 0.2.0
 * @category constants
 */
export const CLIENT_METHODS: ReadonlySet<string> = new Set([
  "sampling/createMessage",
  "elicitation/create",
  "roots/list"
])

/** How long `notifications/cancelled` may take to go out. */
const CANCEL_TIMEOUT_MILLIS = 5_000

/**
 * A request in flight.
 *
 * @since 0.2.0
 * @category models
 */
export interface Pending {
  readonly id: number
  readonly method: string
  readonly hooks: Upstream.Hooks | undefined
  /** Waits for the answer (any number of waiters; an interrupted wait leaves nothing behind). */
  readonly answer: Effect.Effect<Upstream.Json, Upstream.UpstreamError | Upstream.UpstreamRpcError>
  /**
   * For a transport reading the request's own response (an HTTP POST's event stream): `done` once the answer is in
   * by any way, and `onDone` sets the reader's wake-up for that moment (`SseReader.Stop`).
   */
  readonly stop: {
    readonly done: () => boolean
    readonly onDone: (wake: (() => void) | undefined) => void
  }
}

type Answer = Effect.Effect<Upstream.Json, Upstream.UpstreamError | Upstream.UpstreamRpcError>

/**
 * A request in flight, with its settlement. Waiting is one `Effect.async`, not a Deferred: a Deferred copies the
 * Effect prototype into every instance, and with two per call it was the largest allocation of the stdio client
 * (CPU profile of an in-process client loop: `deferredUnsafeMake` 3.6% self, GC 23%).
 */
class Entry implements Pending {
  private settled = false
  private outcome: Answer | undefined = undefined
  private waiters: Array<(answer: Answer) => void> | undefined = undefined
  private wake: (() => void) | undefined = undefined
  readonly stop: Pending["stop"] = this
  readonly answer: Answer = Effect.async((resume) => {
    if (this.outcome !== undefined) return resume(this.outcome)
    ;(this.waiters ??= []).push(resume)
    return Effect.sync(() => {
      const index = this.waiters?.indexOf(resume) ?? -1
      if (index !== -1) this.waiters!.splice(index, 1)
    })
  })
  constructor(
    readonly id: number,
    readonly method: string,
    readonly hooks: Upstream.Hooks | undefined
  ) {}
  done() {
    return this.settled
  }
  onDone(wake: (() => void) | undefined) {
    this.wake = wake
  }
  settle(answer: Answer) {
    if (this.settled) return
    this.settled = true
    this.outcome = answer
    const waiters = this.waiters
    this.waiters = undefined
    if (waiters !== undefined) { for (const resume of waiters) resume(answer) }
    const wake = this.wake
    this.wake = undefined
    wake?.()
  }
}

/**
 * @since 0.2.0
 * @category models
 */
export interface Options {
  /** The upstream's name (errors and logs name it). */
  readonly upstream: string
  readonly events: Upstream.Events
  /** Writes a notification or an answer to the upstream. */
  readonly write: (frame: string) => Effect.Effect<void, Upstream.UpstreamError>
  /** Interrupting a request sends `notifications/cancelled` (legacy); false when the transport cancels itself. */
  readonly cancelByNotification: boolean
  /** Most requests in flight at once on this connection. */
  readonly maxPending: number
}

/**
 * @since 0.2.0
 * @category models
 */
export interface Core {
  /**
   * Sends a request with `deliver` and waits for its answer. `deliver` writes the request, and may read its own
   * response (an HTTP POST), ending once `pending.stop` is done.
   */
  readonly request: (
    method: string,
    params: Upstream.Json | undefined,
    hooks: Upstream.Hooks | undefined,
    deliver: (frame: string, pending: Pending) => Effect.Effect<void, Upstream.UpstreamError>,
    options?: { readonly id?: number }
  ) => Effect.Effect<Upstream.Json, Upstream.UpstreamError | Upstream.UpstreamRpcError>
  /** Allocates a request id (for requests a transport sends itself). */
  readonly nextId: () => number
  /** One frame of text from the upstream, related to a request when the transport knows which. */
  readonly receive: (text: string, related?: Pending) => Effect.Effect<void>
  /**
   * `receive` for a transport reading frames outside any fiber (a pipe): an answer is settled at once (undefined:
   * nothing left to do); anything else is the Effect to run, in order with the frames after it.
   */
  readonly receiveNow: (text: string) => Effect.Effect<void> | undefined
  /** Answers every request in flight with `UpstreamError` ("closed"), and refuses any later request. */
  readonly close: (message: string) => void
  /**
   * Gives up on a request still waiting: `notifications/cancelled` when the core cancels by notification. Run by an
   * interrupted request itself; a transport runs it first when it must tell the upstream before aborting its own
   * exchange (a legacy POST).
   */
  readonly cancel: (pending: Pending) => Effect.Effect<void>
  /**
   * The answer to request `id` (sent by the transport itself, never pending here) in a response body read whole:
   * its result, its error, or why there is none (`status` names an HTTP refusal). Other messages in the body are
   * handled as usual.
   */
  readonly answerIn: (
    text: string,
    id: number,
    method: string,
    status: number
  ) => Effect.Effect<Upstream.Json, Upstream.UpstreamError | Upstream.UpstreamRpcError>
  readonly inFlight: () => number
}

/**
 * `params` with the client's progress token in `_meta` (the request's id) when it has a progress hook; a token the
 * caller brought is removed otherwise (its progress could not be related to anything).
 *
 * @since 0.2.0
 * @category helpers
 */
export const withProgressToken = (
  params: Upstream.Json | undefined,
  hooks: Upstream.Hooks | undefined,
  token: number
): Upstream.Json | undefined => {
  const meta = params?._meta
  if (hooks?.progress !== undefined) {
    return { ...params, _meta: { ...(Predicate.isRecord(meta) ? meta : {}), progressToken: token } }
  }
  if (Predicate.isRecord(meta) && meta.progressToken !== undefined) {
    const { progressToken: _, ...rest } = meta
    return { ...params, _meta: rest }
  }
  return params
}

const progressOf = (params: Upstream.Json) => ({
  progress: typeof params.progress === "number" ? params.progress : 0,
  ...(typeof params.total === "number" ? { total: params.total } : {}),
  ...(typeof params.message === "string" ? { message: params.message } : {})
})

/**
 * The hook or event that answers an upstream request: the related request's hook, else that of the oldest request
 * in flight with one, else the upstream's events.
 */
const answererOf = (
  pending: Map<number, Pending>,
  related: Pending | undefined,
  events: Upstream.Events
): (method: string, params: Upstream.Json | undefined) => Effect.Effect<Upstream.Json, JsonRpc.ErrorObject> => {
  if (related !== undefined) return related.hooks?.request ?? events.request
  for (const p of pending.values()) if (p.hooks?.request !== undefined) return p.hooks.request
  return events.request
}

/**
 * Makes the client core of one connection; the fibers answering the upstream's requests live in the Scope.
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = (options: Options): Effect.Effect<Core, never, Scope.Scope> =>
  Effect.gen(function*() {
    const { events, upstream } = options
    const fibers = yield* FiberSet.make<unknown, never>()
    const runFork = yield* FiberSet.runtime(fibers)<never>()
    const pending = new Map<number, Entry>()
    // The upstream's requests being answered, by id key, so its `notifications/cancelled` can stop them.
    const answering = new Map<string, Fiber.RuntimeFiber<unknown, never>>()
    let next = 0
    const nextId = () => ++next

    const closed = (message: string) => new Upstream.UpstreamError({ upstream, reason: "closed", message })

    const fail = (p: Pending, error: Upstream.UpstreamError) => {
      const entry = pending.get(p.id)
      if (entry !== p) return
      pending.delete(p.id)
      entry.settle(Effect.fail(error))
    }

    let closedWith: string | undefined
    const close = (message: string) => {
      closedWith ??= message
      const all = [...pending.values()]
      pending.clear()
      const error = closed(message)
      for (const p of all) p.settle(Effect.fail(error))
    }

    const cancel = (p: Pending) =>
      Effect.suspend(() => {
        if (pending.get(p.id) !== p) return Effect.void
        pending.delete(p.id)
        if (!options.cancelByNotification) return Effect.void
        // Sent on a fiber of its own, bounded: the interrupted request does not wait for a slow upstream.
        const notice = options.write(
          JsonRpc.encodeNotification("notifications/cancelled", {
            requestId: p.id,
            reason: "The gateway's client cancelled the request"
          })
        )
        return Effect.sync(() => {
          runFork(Effect.ignore(Effect.timeout(notice, CANCEL_TIMEOUT_MILLIS)))
        })
      })

    const request: Core["request"] = (method, params, hooks, deliver, requestOptions) =>
      Effect.suspend(() => {
        if (closedWith !== undefined) return Effect.fail(closed(closedWith))
        if (pending.size >= options.maxPending) {
          return Effect.fail(
            new Upstream.UpstreamError({
              upstream,
              reason: "busy",
              message: `Upstream ${upstream}: ${options.maxPending} requests already in flight`
            })
          )
        }
        const id = requestOptions?.id ?? nextId()
        const p = new Entry(id, method, hooks)
        pending.set(id, p)
        const frame = JsonRpc.encodeRequest(id, method, withProgressToken(params, hooks, id) ?? {})
        // No race of the delivery with the answer (two more fibers per call: ~110 us of CPU, measured in-process
        // against a raw node:http upstream): a transport reading the request's own response stops at `p.stop`.
        const sent = Effect.tapError(deliver(frame, p), (error) => Effect.sync(() => fail(p, error)))
        return Effect.onInterrupt(Effect.zipRight(sent, p.answer), () => cancel(p))
      })

    const answer = (request: JsonRpc.Request, related: Pending | undefined): Effect.Effect<void> => {
      if (request.method === "ping") {
        return Effect.ignore(options.write(JsonRpc.encodeResult(request.id, {})))
      }
      if (!CLIENT_METHODS.has(request.method)) {
        return Effect.ignore(options.write(JsonRpc.encodeError(request.id, {
          code: JsonRpc.METHOD_NOT_FOUND,
          message: `Method not found: ${request.method}`
        })))
      }
      const answerer = answererOf(pending, related, events)
      const key = JsonRpc.idKey(request.id)
      const work = Effect.either(answerer(request.method, request.params)).pipe(
        Effect.flatMap((result) =>
          options.write(
            Either.isRight(result)
              ? JsonRpc.encodeResult(request.id, result.right)
              : JsonRpc.encodeError(request.id, result.left)
          )
        ),
        Effect.ignore,
        Effect.ensuring(Effect.sync(() => answering.delete(key)))
      )
      return Effect.sync(() => {
        answering.set(key, runFork(work))
      })
    }

    const outcome = (
      method: string,
      message: JsonRpc.Response
    ): Effect.Effect<Upstream.Json, Upstream.UpstreamError | Upstream.UpstreamRpcError> =>
      message.error !== undefined
        ? Effect.fail(new Upstream.UpstreamRpcError({ upstream, error: message.error }))
        : Predicate.isRecord(message.result) && !Array.isArray(message.result)
        ? Effect.succeed(message.result as Upstream.Json)
        : Effect.fail(
          new Upstream.UpstreamError({
            upstream,
            reason: "protocol",
            message: `Upstream ${upstream} answered ${method} with a result that is not an object`
          })
        )

    const handle = (message: JsonRpc.Incoming, related?: Pending): Effect.Effect<void> => {
      switch (message._tag) {
        case "Response": {
          const id = message.id
          const p = typeof id === "number" ? pending.get(id) : undefined
          if (p === undefined) {
            return Effect.logDebug("Upstream answered a request not in flight (cancelled or timed out)").pipe(
              Effect.annotateLogs({ upstream, id: String(id) })
            )
          }
          pending.delete(p.id)
          p.settle(outcome(p.method, message))
          return Effect.void
        }
        case "Notification": {
          const params = message.params
          if (message.method === "notifications/progress") {
            const token = params?.progressToken
            const p = pending.get(typeof token === "string" ? Number(token) : (token as number))
            const hook = p?.hooks?.progress
            return hook === undefined || params === undefined ? Effect.void : hook(progressOf(params))
          }
          if (message.method === "notifications/cancelled") {
            const requestId = params?.requestId
            const fiber = typeof requestId === "string" || typeof requestId === "number"
              ? answering.get(JsonRpc.idKey(requestId))
              : undefined
            return fiber === undefined ? Effect.void : Effect.asVoid(Fiber.interruptFork(fiber))
          }
          const hook = related?.hooks?.notification
          return hook !== undefined ? hook(message.method, params) : events.notification(message.method, params)
        }
        case "Request":
          return answer(message, related)
      }
    }

    const receive = (text: string, related?: Pending): Effect.Effect<void> => {
      const parsed = JsonRpc.parse(text)
      if (Either.isLeft(parsed)) {
        return Effect.logWarning("Upstream sent a message that is not JSON-RPC").pipe(
          Effect.annotateLogs({ upstream, error: parsed.left.error.message })
        )
      }
      const json = parsed.right
      if (Array.isArray(json)) {
        // A 2025-03-26 batch: each message on its own.
        return Effect.forEach(json, (item) => handleJson(item, related), { discard: true })
      }
      return handleJson(json, related)
    }

    const receiveNow = (text: string): Effect.Effect<void> | undefined => {
      const parsed = JsonRpc.parse(text)
      if (Either.isLeft(parsed) || Array.isArray(parsed.right)) return receive(text)
      const message = JsonRpc.decode(parsed.right)
      if (message._tag === "Response" && typeof message.id === "number") {
        const p = pending.get(message.id)
        if (p !== undefined) {
          pending.delete(p.id)
          p.settle(outcome(p.method, message))
          return undefined
        }
      }
      return message._tag === "Invalid" ? handleJson(parsed.right, undefined) : handle(message)
    }

    const handleJson = (json: unknown, related: Pending | undefined): Effect.Effect<void> => {
      const message = JsonRpc.decode(json)
      if (message._tag === "Invalid") {
        return Effect.logWarning("Upstream sent an invalid JSON-RPC message").pipe(
          Effect.annotateLogs({ upstream, error: message.error.message })
        )
      }
      return handle(message, related)
    }

    const answerIn: Core["answerIn"] = (text, id, method, status) => {
      const parsed = text.trim() === "" ? undefined : JsonRpc.parse(text)
      const json = parsed === undefined || Either.isLeft(parsed) ? [] : parsed.right
      let answer: JsonRpc.Response | undefined
      const others: Array<JsonRpc.Incoming> = []
      for (const item of Array.isArray(json) ? json : [json]) {
        const message = JsonRpc.decode(item)
        if (message._tag === "Response" && message.id === id && answer === undefined) answer = message
        else if (message._tag !== "Invalid") others.push(message)
      }
      const result = answer !== undefined ? outcome(method, answer) : Effect.fail(noAnswer(upstream, status))
      return others.length === 0
        ? result
        : Effect.zipRight(Effect.forEach(others, (message) => handle(message), { discard: true }), result)
    }

    return {
      request,
      nextId,
      receive,
      receiveNow,
      close,
      cancel,
      answerIn,
      inFlight: () => pending.size
    } satisfies Core
  })

/**
 * A response (HTTP `status`) that ended without the request's answer: "closed" after a 2xx, else "protocol".
 *
 * @since 0.2.0
 * @category errors
 */
export const noAnswer = (upstream: string, status: number): Upstream.UpstreamError =>
  new Upstream.UpstreamError({
    upstream,
    reason: status >= 200 && status < 300 ? "closed" : "protocol",
    message: status >= 200 && status < 300
      ? `Upstream ${upstream}: the response ended without an answer`
      : `Upstream ${upstream}: HTTP ${status}`
  })

/**
 * Counts one upstream's requests in flight (`Upstream.inFlight`). Its limits are the gateway's to enforce
 * (`Instances.call`: `maxInFlight` per instance with a Semaphore, `timeoutMillis` on the front server's timer), once:
 * a second Semaphore and an `Effect.timeoutFail` here (a fiber and a timer per call) cost more than the rest of the
 * client's path.
 *
 * @since 0.2.0
 * @category constructors
 */
export const limits = (): Effect.Effect<{
  readonly run: <A, E>(self: Effect.Effect<A, E>) => Effect.Effect<A, E>
  readonly inFlight: () => number
}> =>
  Effect.sync(() => {
    let inFlight = 0
    return {
      inFlight: () => inFlight,
      run: <A, E>(self: Effect.Effect<A, E>) =>
        Effect.suspend(() => {
          inFlight++
          return Effect.ensuring(
            self,
            Effect.sync(() => {
              inFlight--
            })
          )
        })
    }
  })

/**
 * The legacy handshake: `initialize` with the latest legacy version, the negotiated version checked and kept, then
 * `notifications/initialized`.
 *
 * @since 0.2.0
 * @category handshake
 */
export const initialize = (
  upstream: string,
  send: (params: Upstream.Json) => Effect.Effect<Upstream.Json, Upstream.UpstreamError | Upstream.UpstreamRpcError>,
  notifyInitialized: Effect.Effect<void, Upstream.UpstreamError>
): Effect.Effect<Upstream.Declared, Upstream.UpstreamError | Upstream.UpstreamRpcError> =>
  Effect.gen(function*() {
    const result = yield* send({
      protocolVersion: ProtocolVersion.LATEST_LEGACY,
      capabilities: CLIENT_CAPABILITIES,
      clientInfo: CLIENT_INFO
    })
    const declared = declaredOfInitialize(upstream, result)
    if (Either.isLeft(declared)) return yield* declared.left
    yield* notifyInitialized
    return declared.right
  })

/**
 * What an initialize result declares, or why it cannot be used (a version the gateway does not speak).
 *
 * @since 0.2.0
 * @category handshake
 */
export const declaredOfInitialize = (
  upstream: string,
  result: Upstream.Json
): Either.Either<Upstream.Declared, Upstream.UpstreamError> => {
  const version = result.protocolVersion
  if (typeof version !== "string" || !ProtocolVersion.isLegacy(version)) {
    return Either.left(
      new Upstream.UpstreamError({
        upstream,
        reason: "protocol",
        message: `Upstream ${upstream} answered initialize with an unsupported protocol version`
      })
    )
  }
  return Either.right({
    era: "legacy",
    protocolVersion: version,
    serverInfo: Predicate.isRecord(result.serverInfo) ? result.serverInfo : {},
    capabilities: Predicate.isRecord(result.capabilities) ? result.capabilities : {},
    instructions: typeof result.instructions === "string" ? result.instructions : undefined
  })
}
