/**
 * A remote Streamable HTTP upstream, of either era.
 *
 * - **Era detection.** `server/discover` the modern way (2026-07-28 `_meta` keys, `MCP-Protocol-Version`,
 *   `Mcp-Method`); a server that answers it with a result listing 2026-07-28 is modern. Anything else (an error, an
 *   unrecognized body, a 4xx) means legacy: `initialize` at the latest legacy version, the session id from
 *   `Mcp-Session-Id`, `notifications/initialized`.
 * - **Modern.** Each request is a stateless POST carrying `_meta` and the headers (`Mcp-Name` for the named
 *   methods); the answer is JSON or the POST's own SSE stream (its notifications related to the request). An
 *   `input_required` result is answered through `hooks.request` (else `Events.request`) and the request retried
 *   with `inputResponses` and the `requestState` echoed. Cancelling aborts the POST. `list_changed` and resource
 *   updates arrive on a `subscriptions/listen` stream that is re-opened whenever it ends; `resources/subscribe` and
 *   `unsubscribe` (which a modern server does not have) change the set of URIs it carries (at most 1,000; a change
 *   re-opens it, the old one closed once the new one is acknowledged).
 * - **Legacy** (HttpLegacy.ts). Requests POST with the session id and `MCP-Protocol-Version`; answers as JSON or SSE
 *   (what comes on a POST's stream relates to its request; the upstream's requests are answered by POSTing the
 *   response); a POST's stream that ends before its answer after an event id is resumed with GET + `Last-Event-ID`
 *   (SEP-1699: after its `retry`, at most 10 s; a refusal or 3 attempts in a row that bring nothing give up); a GET
 *   stream carries the rest (re-opened with `Last-Event-ID` and a backoff; 405 means the server offers none); a 404
 *   re-initializes once and retries; cancelling sends `notifications/cancelled`; closing the Scope DELETEs the
 *   session.
 *
 * `config.headers` go on every request. Bodies and events are bounded.
 *
 * @since 0.2.0
 */
import { Deferred, Effect, Either, Fiber, FiberId, Predicate, Queue, Schedule } from "effect"
import type { Scope } from "effect"
import * as JsonRpc from "../protocol/JsonRpc.js"
import * as McpMethod from "../protocol/McpMethod.js"
import { MODERN_META } from "../protocol/McpSchema.js"
import * as ProtocolVersion from "../protocol/ProtocolVersion.js"
import * as Stdio from "../transport/Stdio.js"
import * as ClientCore from "./ClientCore.js"
import * as HttpLegacy from "./HttpLegacy.js"
import type { Answer, Connection, Mark, Resumer } from "./HttpLegacy.js"
import * as HttpRequest from "./HttpRequest.js"
import * as Lifecycle from "./Lifecycle.js"
import * as SseReader from "./SseReader.js"
import * as Subscriptions from "./Subscriptions.js"
import * as Upstream from "./Upstream.js"

/**
 * @since 0.2.0
 * @category models
 */
export interface Options extends Lifecycle.RestartOptions {
  /** `auto` (default) detects the era; `modern` or `legacy` skip the detection. */
  readonly era?: "auto" | "modern" | "legacy"
  /** Largest response body or event accepted. Default 4 MiB. */
  readonly maxMessageBytes?: number
  /** Most `input_required` rounds of one modern request. Default 8. */
  readonly maxRounds?: number
}

const ACCEPT = "application/json, text/event-stream"
const PLAIN_HEADER = /^[\x21-\x7E](?:[\x20-\x7E]*[\x21-\x7E])?$/
const SENTINEL = /^=\?base64\?.*\?=$/

/**
 * A header value as SEP-2243 sends it: plain printable ASCII as is, anything else as `=?base64?...?=`.
 *
 * @since 0.2.0
 * @category helpers
 */
export const encodeHeaderValue = (value: string): string =>
  PLAIN_HEADER.test(value) && !SENTINEL.test(value)
    ? value
    : `=?base64?${Buffer.from(value, "utf8").toString("base64")}?=`

const modernMeta = {
  [MODERN_META.protocolVersion]: ProtocolVersion.LATEST_MODERN,
  [MODERN_META.clientCapabilities]: ClientCore.CLIENT_CAPABILITIES,
  [MODERN_META.clientInfo]: ClientCore.CLIENT_INFO
}

/**
 * `params` with the modern `_meta` keys.
 *
 * @since 0.2.0
 * @category helpers
 */
export const withModernMeta = (params: Upstream.Json | undefined): Upstream.Json => {
  const meta = params?._meta
  return { ...params, _meta: Predicate.isRecord(meta) ? { ...meta, ...modernMeta } : modernMeta }
}

/**
 * The upstream of a Streamable HTTP config, supervised in the Scope.
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = (
  config: Upstream.HttpConfig,
  events: Upstream.Events,
  options: Options = {}
): Effect.Effect<Upstream.Upstream, never, Scope.Scope> =>
  Effect.gen(function*() {
    const upstream = config.name
    const maxBytes = options.maxMessageBytes ?? Stdio.DEFAULT_MAX_MESSAGE_BYTES
    const maxRounds = options.maxRounds ?? 8
    const client = yield* HttpRequest.make(new URL(config.url), upstream, maxBytes)
    const base: Record<string, string> = {
      ...config.headers,
      "content-type": "application/json",
      accept: ACCEPT
    }

    const protocolError = (message: string) =>
      new Upstream.UpstreamError({ upstream, reason: "protocol", message: `Upstream ${upstream}: ${message}` })

    const modernHeaders = (method: string, params: Upstream.Json | undefined): Record<string, string> => {
      const nameParam = McpMethod.nameParamOf(method)
      const name = nameParam === undefined ? undefined : params?.[nameParam]
      return {
        ...base,
        "mcp-protocol-version": ProtocolVersion.LATEST_MODERN,
        "mcp-method": encodeHeaderValue(method),
        ...(typeof name === "string" ? { "mcp-name": encodeHeaderValue(name) } : {})
      }
    }

    /** The messages of a response read whole (JSON, or SSE up to the first response). */
    const readAnswer = (
      { body, headers, res, status }: HttpRequest.Response
    ): Effect.Effect<Answer, Upstream.UpstreamError> =>
      Effect.gen(function*() {
        const messages: Array<JsonRpc.Incoming> = []
        const take = (text: string) => {
          const parsed = JsonRpc.parse(text)
          if (Either.isLeft(parsed)) return
          for (const json of Array.isArray(parsed.right) ? parsed.right : [parsed.right]) {
            const message = JsonRpc.decode(json)
            if (message._tag !== "Invalid") messages.push(message)
          }
        }
        if (body === undefined) {
          yield* SseReader.readSse(res, maxBytes, upstream, (event) =>
            Effect.sync(() => {
              if (event.data !== "") take(event.data)
              return !messages.some((m) => m._tag === "Response")
            }))
        } else if (body.trim() !== "") {
          take(body)
        }
        return { status, headers, messages }
      })

    const post = (headers: Record<string, string>, frame: string) => client.send("POST", headers, frame, readAnswer)

    const resultOf = (answer: Answer): Upstream.Json | undefined => {
      const response = answer.messages.find((m): m is JsonRpc.Response => m._tag === "Response")
      return response !== undefined && response.error === undefined && Predicate.isRecord(response.result)
        ? response.result as Upstream.Json
        : undefined
    }

    // Reaching the upstream (discover, initialize) is bounded by the config's timeout, like any request.
    const bounded = <A, E>(what: string, self: Effect.Effect<A, E>) =>
      Effect.timeoutFail(self, {
        duration: config.timeoutMillis,
        onTimeout: () =>
          new Upstream.UpstreamError({
            upstream,
            reason: "timeout",
            message: `Upstream ${upstream} did not answer ${what} within ${config.timeoutMillis} ms`
          })
      })

    // -- era detection ------------------------------------------------------------------------------------------

    const discover = Effect.gen(function*() {
      const answer = yield* post(
        modernHeaders("server/discover", undefined),
        JsonRpc.encodeRequest(0, "server/discover", { _meta: modernMeta })
      )
      const result = answer.status === 200 ? resultOf(answer) : undefined
      const versions = result?.supportedVersions
      if (result === undefined || !Array.isArray(versions) || !versions.includes(ProtocolVersion.LATEST_MODERN)) {
        return undefined
      }
      const meta = result._meta
      const serverInfo = Predicate.isRecord(meta) ? meta[MODERN_META.serverInfo] : undefined
      const declared: Upstream.Declared = {
        era: "modern",
        protocolVersion: ProtocolVersion.LATEST_MODERN,
        serverInfo: Predicate.isRecord(serverInfo) ? serverInfo : {},
        capabilities: Predicate.isRecord(result.capabilities) ? result.capabilities : {},
        instructions: typeof result.instructions === "string" ? result.instructions : undefined
      }
      return declared
    })

    // -- modern -------------------------------------------------------------------------------------------------

    const modern = (declared: Upstream.Declared) =>
      Effect.gen(function*() {
        const notify = (method: string, params: Upstream.Json | undefined) =>
          client.send(
            "POST",
            modernHeaders(method, params),
            JsonRpc.encodeNotification(method, withModernMeta(params)),
            () => Effect.void
          )
        const core = yield* ClientCore.make({
          upstream,
          events,
          // A modern upstream never asks its client anything over JSON-RPC, and a modern client sends no responses:
          // an answer to such a request is dropped.
          write: () =>
            Effect.logDebug("A modern upstream sent a request: not answered").pipe(Effect.annotateLogs({ upstream })),
          cancelByNotification: false,
          maxPending: config.maxInFlight + 16
        })

        // The POST is sent before the core knows of it: a JSON answer (the common case) is read and decoded in
        // place; only an event stream (progress, log messages on the way) makes it a request pending in the core,
        // under the same id.
        const call = (method: string, params: Upstream.Json, hooks: Upstream.Hooks | undefined) =>
          Effect.suspend(() => {
            const id = core.nextId()
            const frame = JsonRpc.encodeRequest(id, method, ClientCore.withProgressToken(params, hooks, id) ?? {})
            return client.send("POST", modernHeaders(method, params), frame, (response) =>
              response.body === undefined
                ? core.request(
                  method,
                  params,
                  hooks,
                  (_frame, pending) => answerInto(core, response, pending, undefined),
                  { id }
                )
                : core.answerIn(response.body, id, method, response.status))
          })

        const round = (
          method: string,
          params: Upstream.Json,
          hooks: Upstream.Hooks | undefined,
          left: number
        ): Effect.Effect<Upstream.Json, Upstream.UpstreamError | Upstream.UpstreamRpcError> =>
          Effect.flatMap(
            call(method, params, hooks),
            (result) => {
              if (result.resultType !== "input_required") return Effect.succeed(result)
              if (left <= 0) {
                return Effect.fail(protocolError(`${method} asked for input more than ${maxRounds} times`))
              }
              const inputRequests = Predicate.isRecord(result.inputRequests) ? result.inputRequests : {}
              const ask = hooks?.request ?? events.request
              return Effect.forEach(Object.entries(inputRequests), ([key, value]): Effect.Effect<
                readonly [string, Upstream.Json],
                Upstream.UpstreamError | Upstream.UpstreamRpcError
              > => {
                const question = Predicate.isRecord(value) ? value : {}
                const questionParams = Predicate.isRecord(question.params)
                  ? question.params as Upstream.Json
                  : undefined
                return typeof question.method === "string"
                  ? Effect.map(
                    Effect.mapError(
                      ask(question.method, questionParams),
                      (error) => new Upstream.UpstreamRpcError({ upstream, error })
                    ),
                    (answer) => [key, answer] as const
                  )
                  : Effect.fail(protocolError(`${method} asked an input request without a method`))
              }).pipe(
                Effect.flatMap((answers) => {
                  const { inputResponses: _i, requestState: _s, ...rest } = params
                  return round(
                    method,
                    {
                      ...rest,
                      inputResponses: Object.fromEntries(answers),
                      ...(result.requestState === undefined ? {} : { requestState: result.requestState })
                    },
                    hooks,
                    left - 1
                  )
                })
              )
            }
          )

        yield* Effect.forkScoped(listenLoop(core, listChanged(declared.capabilities), subscriptions))

        return {
          // A modern upstream has no resources/subscribe: its subscriptions ride on the listen stream.
          request: (method, params, hooks) =>
            method === "resources/subscribe"
              ? subscriptions.subscribe(params)
              : method === "resources/unsubscribe"
              ? subscriptions.unsubscribe(params)
              : round(method, withModernMeta(params), hooks, maxRounds),
          notify
        } satisfies Connection
      })

    const listChanged = (capabilities: Upstream.Json) => {
      const offers = (key: string) => {
        const capability = capabilities[key]
        return Predicate.isRecord(capability) && capability.listChanged === true
      }
      const wanted = {
        ...(offers("tools") ? { toolsListChanged: true } : {}),
        ...(offers("prompts") ? { promptsListChanged: true } : {}),
        ...(offers("resources") ? { resourcesListChanged: true } : {})
      }
      return Object.keys(wanted).length === 0 ? undefined : wanted
    }

    /**
     * One `subscriptions/listen` stream, read to its end: `acknowledged` runs with the URIs its acknowledgement
     * honoured, the other notifications go to the events. Its result says why it was refused (undefined when it
     * was an event stream).
     */
    const listenOnce = (
      core: ClientCore.Core,
      notifications: Upstream.Json,
      acknowledged: (honoured: ReadonlyArray<string>) => Effect.Effect<void>
    ): Effect.Effect<string | undefined> =>
      Effect.suspend(() => {
        const id = core.nextId()
        const params = withModernMeta({ notifications })
        return client.send(
          "POST",
          modernHeaders("subscriptions/listen", params),
          JsonRpc.encodeRequest(id, "subscriptions/listen", params),
          ({ body, res, status }) => {
            if (body !== undefined) return Effect.succeed(refusalOf(status, body))
            return Effect.as(
              SseReader.readSse(res, maxBytes, upstream, (event) => {
                const parsed = event.data === "" ? undefined : JsonRpc.parse(event.data)
                if (parsed === undefined || Either.isLeft(parsed)) return Effect.succeed(true)
                const message = JsonRpc.decode(parsed.right)
                if (message._tag === "Response") return Effect.succeed(false)
                if (message._tag !== "Notification") return Effect.succeed(true)
                if (message.method === "notifications/subscriptions/acknowledged") {
                  const honoured = message.params?.notifications
                  const uris = Predicate.isRecord(honoured) ? honoured.resourceSubscriptions : undefined
                  return Effect.as(
                    acknowledged(Array.isArray(uris) ? uris.filter(Predicate.isString) : []),
                    true
                  )
                }
                return Effect.as(events.notification(message.method, message.params), true)
              }).pipe(Effect.ignore),
              undefined
            )
          },
          { longLived: true }
        ).pipe(Effect.catchAll((error) => Effect.succeed(error.message)))
      })

    /**
     * The `subscriptions/listen` stream (list_changed the upstream offers, and the resource subscriptions),
     * re-opened (after a backoff) whenever it ends, and with the new set whenever the subscriptions change: the
     * stream it replaces is closed once the new one is acknowledged. None is open while nothing is wanted.
     */
    const listenLoop = (
      core: ClientCore.Core,
      lists: Upstream.Json | undefined,
      subscriptions: Subscriptions.Subscriptions
    ) =>
      Effect.gen(function*() {
        const driver = yield* Schedule.driver(Lifecycle.backoff({ restartBaseMillis: 500, restartMaxMillis: 30_000 }))
        // The acknowledged stream now carrying the notifications.
        let serving: Fiber.RuntimeFiber<string | undefined> | undefined
        subscriptions.honoured.clear()
        while (true) {
          const version = subscriptions.version
          const uris = [...subscriptions.uris]
          if (lists === undefined && uris.length === 0) {
            if (serving !== undefined) yield* Fiber.interrupt(serving)
            serving = undefined
            subscriptions.honoured.clear()
            yield* Queue.take(subscriptions.changed)
            continue
          }
          const acked = Deferred.unsafeMake<void>(FiberId.none)
          const stream = yield* Effect.fork(listenOnce(
            core,
            { ...lists, ...(uris.length > 0 ? { resourceSubscriptions: uris } : {}) },
            (honoured) =>
              Effect.zipRight(
                driver.reset,
                Effect.sync(() => {
                  subscriptions.acknowledged(version, honoured)
                  Deferred.unsafeDone(acked, Effect.void)
                })
              )
          ))
          const opened = yield* Effect.raceFirst(
            Effect.as(Deferred.await(acked), undefined),
            Effect.map(Fiber.join(stream), (why) => why ?? "it ended before its acknowledgement")
          )
          if (opened === undefined) {
            // The new stream carries everything now: the one it replaces closes.
            if (serving !== undefined) yield* Fiber.interrupt(serving)
            serving = stream
            let next: "changed" | "ended"
            do {
              next = yield* Effect.raceFirst(
                Effect.as(Fiber.await(stream), "ended" as const),
                Effect.as(Queue.take(subscriptions.changed), "changed" as const)
              )
            } while (next === "changed" && subscriptions.version === version)
            if (next === "changed") continue
            serving = undefined
          } else {
            subscriptions.refused(version, opened)
            yield* Effect.logDebug("Upstream listen stream refused").pipe(
              Effect.annotateLogs({ upstream, reason: opened })
            )
          }
          yield* Effect.ignore(driver.next(undefined))
        }
      })

    /** Why a listen request was answered without a stream: its status and JSON-RPC error, if any. */
    const refusalOf = (status: number, body: string): string => {
      const parsed = JsonRpc.parse(body)
      const message = Either.isRight(parsed) ? JsonRpc.decode(parsed.right) : undefined
      return message?._tag === "Response" && message.error !== undefined
        ? `HTTP ${status}: ${message.error.message}`
        : `HTTP ${status}`
    }

    /**
     * Reads one request's answer into the core: JSON, or the POST's SSE stream (its messages related to the
     * request). A response that ends without the answer fails the request (closed), except a 202 (legacy: the
     * answer comes on the GET stream) and, legacy too (`resumable`), an event stream that ended, cleanly or cut
     * off, after an event id: that one is resumed (SEP-1699).
     */
    const answerInto = (
      core: ClientCore.Core,
      { body, res, status }: HttpRequest.Response,
      pending: ClientCore.Pending,
      resumable: Resumer | undefined
    ): Effect.Effect<void, Upstream.UpstreamError> =>
      Effect.suspend(() => {
        if (status === 202 && resumable !== undefined) return Effect.void
        const answered = () =>
          pending.stop.done()
            ? Effect.void
            : Effect.fail(ClientCore.noAnswer(upstream, status))
        if (body !== undefined) {
          return Effect.flatMap(body.trim() === "" ? Effect.void : core.receive(body, pending), answered)
        }
        const mark: Mark | undefined = resumable === undefined
          ? undefined
          : { lastEventId: undefined, retry: undefined }
        const read = Effect.flatMap(
          SseReader.readSse(
            res,
            maxBytes,
            upstream,
            (event) => {
              if (mark !== undefined) {
                mark.lastEventId = event.id
                mark.retry = event.retry
              }
              return event.data === ""
                ? Effect.succeed(true)
                : Effect.map(core.receive(event.data, pending), () => !pending.stop.done())
            },
            pending.stop
          ),
          answered
        )
        return mark === undefined
          ? read
          : Effect.catchIf(
            read,
            (error) =>
              error.reason === "closed" && status === 200 && mark.lastEventId !== undefined &&
              !pending.stop.done(),
            (error) => resumable!(pending, mark, error)
          )
      })

    const shared: HttpLegacy.Shared = {
      config,
      events,
      upstream,
      maxBytes,
      client,
      base,
      protocolError,
      post,
      resultOf,
      bounded,
      answerInto
    }

    // -- supervision --------------------------------------------------------------------------------------------

    // A modern upstream's resource subscriptions outlive its connections: a new one's listen stream carries them.
    const subscriptions = yield* Subscriptions.make(upstream)
    const era = options.era ?? "auto"
    // A request that could not reach the upstream at all ends the connection: Down, then reached again (the era
    // detected anew) after the backoff.
    let lost = Deferred.unsafeMake<string>(FiberId.none)
    const watch = (connection: Connection): Connection => ({
      request: (method, params, hooks) =>
        Effect.tapError(connection.request(method, params, hooks), (error) =>
          error._tag === "UpstreamError" && error.reason === "unavailable"
            ? Deferred.succeed(lost, error.message)
            : Effect.void),
      notify: connection.notify
    })
    const connect: Lifecycle.Connect<Connection> = (up) =>
      Effect.gen(function*() {
        lost = Deferred.unsafeMake<string>(FiberId.none)
        const watched = (declared: Upstream.Declared, connection: Connection) =>
          up(declared, watch(connection))
        const declared = era === "legacy" ? undefined : yield* bounded("server/discover", discover)
        if (declared !== undefined) {
          const connection = yield* modern(declared)
          yield* watched(declared, connection)
        } else if (era === "modern") {
          return yield* protocolError("server/discover did not answer with 2026-07-28")
        } else {
          yield* HttpLegacy.connect(shared, watched)
        }
        return yield* Deferred.await(lost)
      })

    const supervised = yield* Lifecycle.supervise(config, events, connect, options)

    return yield* Lifecycle.upstream(config, supervised, {
      request: (c, method, params, hooks) =>
        c.request(method, params, hooks),
      notify: (c, method, params) => c.notify(method, params)
    })
  })
