/**
 * The legacy era (2024-11-05 to 2025-11-25) of a remote Streamable HTTP upstream (HttpUpstream): `initialize` with a
 * session id from `Mcp-Session-Id`, later requests with the session id and `MCP-Protocol-Version`; answers JSON or
 * SSE (what comes on a POST's stream relates to its request; the upstream's requests answered by POSTing the
 * response); SEP-1699: a POST's event stream that ends before its answer after an event id is resumed with GET +
 * `Last-Event-ID` (`resume`); a GET stream for the rest, re-opened with `Last-Event-ID` and a backoff (405: none
 * offered); a 404 re-initializes once and retries; a cancelled request sends `notifications/cancelled` before its
 * POST is aborted; DELETE of the session when the Scope closes.
 *
 * @since 0.2.0
 */
import { Duration, Effect, Either, Schedule } from "effect"
import * as JsonRpc from "../protocol/JsonRpc.js"
import * as ProtocolVersion from "../protocol/ProtocolVersion.js"
import * as ClientCore from "./ClientCore.js"
import * as HttpRequest from "./HttpRequest.js"
import * as Lifecycle from "./Lifecycle.js"
import * as SseReader from "./SseReader.js"
import * as Upstream from "./Upstream.js"

/**
 * A connection to the upstream, of either era.
 *
 * @since 0.2.0
 * @category models
 */
export interface Connection {
  readonly request: (
    method: string,
    params: Upstream.Json | undefined,
    hooks: Upstream.Hooks | undefined
  ) => Effect.Effect<Upstream.Json, Upstream.UpstreamError | Upstream.UpstreamRpcError>
  readonly notify: (method: string, params: Upstream.Json | undefined) => Effect.Effect<void, Upstream.UpstreamError>
}

/**
 * Where a legacy POST's event stream stands: its last event id and reconnection time (SEP-1699).
 *
 * @since 0.2.0
 * @category models
 */
export interface Mark {
  lastEventId: string | undefined
  retry: number | undefined
}

/**
 * Resumes a legacy request's event stream that ended before its answer (`cause`: how it ended).
 *
 * @since 0.2.0
 * @category models
 */
export type Resumer = (
  pending: ClientCore.Pending,
  mark: Mark,
  cause: Upstream.UpstreamError
) => Effect.Effect<void, Upstream.UpstreamError>

/** Resumptions in a row that bring no event before a request's stream is given up. */
const RESUME_ATTEMPTS = 3
/** The wait before resuming when the server set no `retry`. */
const RESUME_DEFAULT_MILLIS = 1_000
/** The longest wait before resuming, whatever `retry` says. */
const RESUME_MAX_MILLIS = 10_000

/**
 * What one POST answered with, read whole: its status, headers and the JSON-RPC messages it carried.
 *
 * @since 0.2.0
 * @category models
 */
export interface Answer {
  readonly status: number
  readonly headers: HttpRequest.Headers
  readonly messages: ReadonlyArray<JsonRpc.Incoming>
}

/**
 * What the legacy connection uses of the HTTP upstream it belongs to (made once per upstream by HttpUpstream).
 *
 * @since 0.2.0
 * @category models
 */
export interface Shared {
  readonly config: Upstream.HttpConfig
  readonly events: Upstream.Events
  readonly upstream: string
  readonly maxBytes: number
  readonly client: HttpRequest.Client
  /** The config's headers, content type and accept: on every request. */
  readonly base: Record<string, string>
  readonly protocolError: (message: string) => Upstream.UpstreamError
  /** A POST whose answer is read whole (JSON, or SSE up to the first response). */
  readonly post: (headers: Record<string, string>, frame: string) => Effect.Effect<Answer, Upstream.UpstreamError>
  readonly resultOf: (answer: Answer) => Upstream.Json | undefined
  /** Bounded by the config's timeout. */
  readonly bounded: <A, E>(what: string, self: Effect.Effect<A, E>) => Effect.Effect<A, E | Upstream.UpstreamError>
  /** Reads one request's answer into the core (see HttpUpstream). */
  readonly answerInto: (
    core: ClientCore.Core,
    response: HttpRequest.Response,
    pending: ClientCore.Pending,
    resumable: Resumer | undefined
  ) => Effect.Effect<void, Upstream.UpstreamError>
}

/**
 * The legacy connection: handshake, requests, the GET stream; `up` is called once it is ready (and again after a
 * re-initialize).
 *
 * @since 0.2.0
 * @category constructors
 */
export const connect = (
  shared: Shared,
  up: (declared: Upstream.Declared, connection: Connection) => Effect.Effect<void>
) =>
  Effect.gen(function*() {
    const { config, events, upstream, client, base, protocolError, post, resultOf, bounded, answerInto } = shared
    let session: string | undefined
    let version: string = ProtocolVersion.LATEST_LEGACY
    const headers = (): Record<string, string> => ({
      ...base,
      "mcp-protocol-version": version,
      ...(session === undefined ? {} : { "mcp-session-id": session })
    })

    const handshake = Effect.gen(function*() {
      session = undefined
      const answer = yield* post(
        base,
        JsonRpc.encodeRequest(0, "initialize", {
          protocolVersion: ProtocolVersion.LATEST_LEGACY,
          capabilities: ClientCore.CLIENT_CAPABILITIES,
          clientInfo: ClientCore.CLIENT_INFO
        })
      )
      const response = answer.messages.find((m): m is JsonRpc.Response => m._tag === "Response")
      if (response?.error !== undefined) {
        return yield* new Upstream.UpstreamRpcError({ upstream, error: response.error })
      }
      const result = resultOf(answer)
      if (answer.status !== 200 || result === undefined) {
        return yield* protocolError(`initialize was answered with HTTP ${answer.status} and no result`)
      }
      const declared = ClientCore.declaredOfInitialize(upstream, result)
      if (Either.isLeft(declared)) {
        return yield* declared.left
      }
      session = HttpRequest.header(answer, "mcp-session-id")
      version = declared.right.protocolVersion
      yield* write(JsonRpc.encodeNotification("notifications/initialized", undefined))
      return declared.right
    })

    const write = (frame: string): Effect.Effect<void, Upstream.UpstreamError> =>
      client.send(
        "POST",
        headers(),
        frame,
        ({ status }) =>
          status >= 400 ? Effect.fail(protocolError(`a message was refused with HTTP ${status}`)) : Effect.void
      )

    const core = yield* ClientCore.make({
      upstream,
      events,
      write,
      cancelByNotification: true,
      maxPending: config.maxInFlight + 16
    })

    const resumer: Resumer = (pending, mark, cause) => resume(shared, core, pending, mark, headers, cause)

    const reinitializing = yield* Effect.makeSemaphore(1)
    const reinitialize = (stale: string | undefined) =>
      reinitializing.withPermits(1)(Effect.suspend(() => {
        if (session !== stale) return Effect.void
        return Effect.flatMap(handshake, (declared) => up(declared, connection))
      }))

    const attempt = (
      method: string,
      params: Upstream.Json | undefined,
      hooks: Upstream.Hooks | undefined,
      retried: boolean
    ): Effect.Effect<Upstream.Json, Upstream.UpstreamError | Upstream.UpstreamRpcError> =>
      Effect.suspend(() => {
        const sent = session
        let gone = false
        return core.request(
          method,
          params,
          hooks,
          (frame, pending) =>
            client.send(
              "POST",
              headers(),
              frame,
              (response) => {
                if (response.status === 404 && sent !== undefined) {
                  gone = true
                  return Effect.fail(
                    new Upstream.UpstreamError({
                      upstream,
                      reason: "closed",
                      message: `Upstream ${upstream}: the session ended (HTTP 404)`
                    })
                  )
                }
                return answerInto(core, response, pending, resumer)
              },
              { beforeAbort: core.cancel(pending) }
            )
        ).pipe(
          Effect.catchIf(
            (error) => gone && !retried && error._tag === "UpstreamError",
            () =>
              Effect.zipRight(
                Effect.logInfo("Upstream session ended: initializing again").pipe(
                  Effect.annotateLogs({ upstream })
                ),
                Effect.flatMap(reinitialize(sent), () => attempt(method, params, hooks, true))
              )
          )
        )
      })

    const connection: Connection = {
      request: (method, params, hooks) => attempt(method, params, hooks, false),
      notify: (method, params) => write(JsonRpc.encodeNotification(method, params))
    }

    const declared = yield* bounded("initialize", handshake)
    // The session is deleted upstream at the end (a server that does not allow it answers 405). One that is not
    // (no answer within 2 s, which bounds the gateway's shutdown; refused; unreachable) stays on the upstream: said
    // in the log, never silently.
    yield* Effect.addFinalizer(() =>
      session === undefined
        ? Effect.void
        : client.send("DELETE", headers(), undefined, ({ status }) =>
          status >= 400 && status !== 404 && status !== 405
            ? Effect.fail(protocolError(`DELETE of the session answered HTTP ${status}`))
            : Effect.void).pipe(
            Effect.timeoutFail({
              duration: Duration.seconds(2),
              onTimeout: () => protocolError("DELETE of the session was not answered within 2 s")
            }),
            Effect.catchAll((error) =>
              Effect.logWarning("Upstream session not deleted").pipe(
                Effect.annotateLogs({ upstream, reason: error.message })
              )
            )
          )
    )
    yield* Effect.forkScoped(getStream(shared, core, headers))
    yield* up(declared, connection)
  })

/** The legacy GET stream: re-opened with `Last-Event-ID` after a backoff; 405 (none offered) ends it. */
const getStream = (shared: Shared, core: ClientCore.Core, headers: () => Record<string, string>) =>
  Effect.gen(function*() {
    const { upstream, maxBytes, client } = shared
    const driver = yield* Schedule.driver(Lifecycle.backoff({ restartBaseMillis: 500, restartMaxMillis: 30_000 }))
    let lastEventId: string | undefined
    let sessionOf: string | undefined
    while (true) {
      const h = headers()
      if (h["mcp-session-id"] !== sessionOf) {
        sessionOf = h["mcp-session-id"]
        lastEventId = undefined
      }
      const { "content-type": _c, ...rest } = h
      const status = yield* client.send(
        "GET",
        {
          ...rest,
          accept: "text/event-stream",
          ...(lastEventId === undefined ? {} : { "last-event-id": lastEventId })
        },
        undefined,
        ({ body, res, status }) => {
          if (status !== 200 || body !== undefined) return Effect.succeed(status)
          return Effect.as(
            Effect.ignore(Effect.zipRight(
              driver.reset,
              SseReader.readSse(res, maxBytes, upstream, (event) => {
                if (event.id !== undefined) lastEventId = event.id
                return event.data === "" ? Effect.succeed(true) : Effect.as(core.receive(event.data), true)
              })
            )),
            200
          )
        },
        { longLived: true }
      ).pipe(Effect.catchAll(() => Effect.succeed(0)))
      if (status === 405) return
      yield* Effect.ignore(driver.next(undefined))
    }
  })

/**
 * SEP-1699 (2025-11-25): a legacy POST's event stream that ended, cleanly or cut off, before its answer but after
 * an event id is resumed with a GET carrying `Last-Event-ID`, after the `retry` the server set (default 1 s, at
 * most 10 s); what it brings relates to the same request, until the answer (a stream that ends again is resumed
 * again, from its own last id). A refusal (a status other than 200, or not an event stream) gives up at once
 * with `cause`, as do `RESUME_ATTEMPTS` attempts in a row that bring no event. The request's timeout (an
 * interruption) aborts the wait or the GET.
 */
const resume = (
  shared: Shared,
  core: ClientCore.Core,
  pending: ClientCore.Pending,
  mark: Mark,
  headers: () => Record<string, string>,
  cause: Upstream.UpstreamError
): Effect.Effect<void, Upstream.UpstreamError> =>
  Effect.gen(function*() {
    const { upstream, maxBytes, client } = shared
    const giveUp = (why: string) =>
      new Upstream.UpstreamError({
        upstream,
        reason: cause.reason,
        message: `${cause.message} (resuming it with Last-Event-ID: ${why})`
      })
    let fruitless = 0
    while (!pending.stop.done()) {
      if (fruitless >= RESUME_ATTEMPTS) return yield* giveUp(`${RESUME_ATTEMPTS} attempts brought nothing`)
      const delay = Math.min(mark.retry ?? RESUME_DEFAULT_MILLIS, RESUME_MAX_MILLIS)
      // The wait ends early if the answer comes another way (the session's GET stream, or the connection's end).
      if (delay > 0) yield* Effect.timeoutOption(Effect.exit(pending.answer), delay)
      if (pending.stop.done()) return
      const from = mark.lastEventId!
      let moved = false
      const { "content-type": _c, ...rest } = headers()
      const refusal = yield* client.send(
        "GET",
        { ...rest, accept: "text/event-stream", "last-event-id": from },
        undefined,
        ({ body, res, status }) => {
          if (status !== 200) return Effect.succeed(`HTTP ${status}`)
          if (body !== undefined) return Effect.succeed("not an event stream")
          return SseReader.readSse(res, maxBytes, upstream, (event) => {
            if (event.id !== undefined && event.id !== mark.lastEventId) {
              moved = true
              mark.lastEventId = event.id
            }
            if (event.retry !== undefined) mark.retry = event.retry
            if (event.data === "") return Effect.succeed(true)
            moved = true
            return Effect.map(core.receive(event.data, pending), () => !pending.stop.done())
          }, pending.stop).pipe(Effect.ignore, Effect.as(undefined))
        },
        { beforeAbort: core.cancel(pending) }
      ).pipe(Effect.catchAll(() => Effect.succeed(undefined)))
      if (refusal !== undefined) return yield* giveUp(refusal)
      fruitless = moved ? 0 : fruitless + 1
      if (!pending.stop.done()) {
        yield* Effect.logDebug("Upstream request stream ended before its answer: resuming").pipe(
          Effect.annotateLogs({ upstream, id: pending.id, lastEventId: mark.lastEventId })
        )
      }
    }
  })
