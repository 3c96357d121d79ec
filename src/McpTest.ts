/**
 * A test harness for servers built with this library: an in-memory client wired to the server in the current
 * context, with no sockets and no processes (the in-memory transport, transport/Memory). The server side is the
 * same Connection and Dispatcher every transport uses, so a tool that sleeps, retries or times out is tested under
 * `TestClock` in milliseconds. Results are typed by method and era (`ResultOf`).
 *
 * ```ts
 * it.scoped("times out", () =>
 *   Effect.gen(function*() {
 *     const client = yield* McpTest.connect()
 *     const call = yield* Effect.fork(client.callTool("slow", {}))
 *     yield* TestClock.adjust("2 minutes")
 *     const exit = yield* Fiber.await(call)
 *   }).pipe(Effect.provide(MyServer)))
 * ```
 *
 * @since 0.1.0
 */
import type { Supervisor } from "effect"
import { Data, Deferred, Effect, Predicate, Queue, Scope } from "effect"
import type { RequestId } from "./protocol/JsonRpc.js"
import * as JsonRpc from "./protocol/JsonRpc.js"
import type {
  CallToolResult,
  ClientCapabilities,
  CompleteResult,
  DiscoverResult,
  GetPromptResult,
  Implementation,
  InitializeResult,
  JsonObject,
  LoggingLevel,
  ProgressToken,
  PromptDefinition,
  ReadResourceResult,
  ResourceDefinition,
  ResourceTemplateDefinition,
  ToolDefinition
} from "./protocol/McpSchema.js"
import { MODERN_META } from "./protocol/McpSchema.js"
import type { Era } from "./protocol/ProtocolVersion.js"
import { LATEST_LEGACY, LATEST_MODERN } from "./protocol/ProtocolVersion.js"
import type { McpServer } from "./server/McpServer.js"
import * as Memory from "./transport/Memory.js"

/**
 * A JSON-RPC error the server answered with.
 *
 * @since 0.1.0
 * @category errors
 */
export class RpcError extends Data.TaggedError("effect-mcp-server/McpTest/RpcError")<{
  readonly code: number
  readonly message: string
  readonly data?: unknown
}> {}

/**
 * A message the server sent that is not the response to one of our requests.
 *
 * @since 0.1.0
 * @category models
 */
export interface ServerMessage {
  readonly jsonrpc: "2.0"
  readonly method?: string
  readonly id?: RequestId | null
  /** A notification's or a request's params (MCP sends an object, or none). */
  readonly params?: JsonObject
  /** A response's result (its method is not known here). */
  readonly result?: unknown
  readonly error?: JsonRpc.ErrorObject
}

/**
 * What the server may add to any complete result besides the fields of its method: `_meta` (in the modern era, the
 * server's info) and, in the modern era, `resultType` and, on cacheable methods, `ttlMs` and `cacheScope`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ResultFields {
  readonly _meta?: JsonObject
  readonly resultType?: "complete"
  readonly ttlMs?: number
  readonly cacheScope?: "public" | "private"
}

/**
 * A question the server asks the client within a modern request (`elicitation/create`, `sampling/createMessage`,
 * `roots/list`).
 *
 * @since 0.1.0
 * @category models
 */
export interface InputRequest {
  readonly method: string
  readonly params?: JsonObject
}

/**
 * The modern answer of a request whose handler asked the client something: retry the request with the answers in
 * `inputResponses` (keyed as `inputRequests`) and `requestState` as given.
 *
 * @since 0.1.0
 * @category models
 */
export interface InputRequiredResult {
  readonly resultType: "input_required"
  readonly inputRequests: { readonly [key: string]: InputRequest }
  readonly requestState: string
  readonly _meta?: JsonObject
}

/**
 * The result of a method that answers with no fields of its own (`ping`, `logging/setLevel`,
 * `resources/subscribe`, `resources/unsubscribe`).
 *
 * @since 0.1.0
 * @category models
 */
export interface EmptyResult {}

/**
 * @since 0.1.0
 * @category models
 */
export interface PaginatedResult {
  /** Present when there is a next page: pass it as `cursor`. */
  readonly nextCursor?: string
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ListToolsResult extends PaginatedResult {
  readonly tools: ReadonlyArray<ToolDefinition>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ListResourcesResult extends PaginatedResult {
  readonly resources: ReadonlyArray<ResourceDefinition>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ListResourceTemplatesResult extends PaginatedResult {
  readonly resourceTemplates: ReadonlyArray<ResourceTemplateDefinition>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ListPromptsResult extends PaginatedResult {
  readonly prompts: ReadonlyArray<PromptDefinition>
}

/**
 * The result type of each request method the server answers (see McpMethod), by method name. A method not listed
 * here (one a gateway's handler table adds) is `unknown` to `request`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Results {
  readonly initialize: typeof InitializeResult.Type
  readonly ping: EmptyResult
  readonly "logging/setLevel": EmptyResult
  readonly "server/discover": typeof DiscoverResult.Type
  readonly "tools/list": ListToolsResult
  readonly "tools/call": CallToolResult
  readonly "resources/list": ListResourcesResult
  readonly "resources/templates/list": ListResourceTemplatesResult
  readonly "resources/read": typeof ReadResourceResult.Type
  readonly "resources/subscribe": EmptyResult
  readonly "resources/unsubscribe": EmptyResult
  readonly "subscriptions/listen": EmptyResult
  readonly "prompts/list": ListPromptsResult
  readonly "prompts/get": GetPromptResult
  readonly "completion/complete": CompleteResult
}

/**
 * The methods whose modern requests may be answered with `input_required` (see McpMethod's `roundTrip`).
 *
 * @since 0.1.0
 * @category models
 */
export type RoundTripMethod = "tools/call" | "resources/read" | "prompts/get"

/**
 * What `request(method)` succeeds with on a client of era `E`: the method's result type with the fields any result
 * may carry, or `unknown` for a method not in `Results`; on a modern client (or one whose era is not known), a
 * round-trip method may instead be answered with an `InputRequiredResult` (tell them apart by `resultType`, or
 * with `isInputRequired`). These types say what a client may rely on: the server may send more fields.
 *
 * @since 0.1.0
 * @category models
 */
export type ResultOf<M extends string, E extends Era = Era> = M extends keyof Results ?
    | (Results[M] & ResultFields)
    | (E extends "modern" ? M extends RoundTripMethod ? InputRequiredResult : never : never)
  : unknown

/**
 * Whether a result is a modern `input_required` answer.
 *
 * @since 0.1.0
 * @category guards
 */
export const isInputRequired = (result: unknown): result is InputRequiredResult =>
  Predicate.isRecord(result) && result.resultType === "input_required"

/**
 * @since 0.1.0
 * @category models
 */
export interface RequestOptions {
  /** Use this id instead of the next counter value (e.g. to cancel the request later). */
  readonly id?: RequestId
  readonly progressToken?: ProgressToken
  /** Modern only: the request's `_meta` logLevel. */
  readonly logLevel?: LoggingLevel
  /** Modern only: override the `_meta` entirely (to test the server's validation). */
  readonly meta?: JsonObject
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Client<E extends Era = Era> {
  readonly era: E
  readonly protocolVersion: string
  /** The `initialize` result: legacy, when the harness initialized; otherwise undefined. */
  readonly initializeResult: ResultOf<"initialize", "legacy"> | undefined
  /**
   * Sends a request and waits for its response; a JSON-RPC error fails with `RpcError`. The result is typed by the
   * method (`ResultOf`): `request("tools/list")` is a `ListToolsResult`; a method the library does not know is
   * `unknown`, for the test to check.
   */
  readonly request: <M extends string>(
    method: M,
    params?: JsonObject,
    options?: RequestOptions
  ) => Effect.Effect<ResultOf<M, E>, RpcError>
  readonly notify: (method: string, params?: JsonObject) => Effect.Effect<void>
  /** Sends one raw frame, exactly as given. */
  readonly sendRaw: (text: string) => Effect.Effect<void>
  readonly cancel: (requestId: RequestId, reason?: string) => Effect.Effect<void>
  readonly callTool: (
    name: string,
    args?: JsonObject,
    options?: RequestOptions
  ) => Effect.Effect<ResultOf<"tools/call", E>, RpcError>
  /** Notifications, and responses to no pending request (e.g. errors with id null), in arrival order. */
  readonly messages: Queue.Dequeue<ServerMessage>
  /** Answers a request the server sent us (sampling, elicitation, roots) that `onRequest` did not handle. */
  readonly respond: (id: RequestId, result: unknown) => Effect.Effect<void>
  readonly respondError: (id: RequestId, error: JsonRpc.ErrorObject) => Effect.Effect<void>
  /** Ends the connection as a vanished peer would. */
  readonly close: Effect.Effect<void>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ConnectOptions<E extends Era = Era> {
  /** The client's era: "legacy" (the default) or "modern"; it types the client's results (`ResultOf`). */
  readonly era?: E
  readonly protocolVersion?: string
  readonly capabilities?: ClientCapabilities
  readonly clientInfo?: Implementation
  /** Legacy: send `initialize` and `notifications/initialized` first. Default true. */
  readonly initialize?: boolean
  /** Supervise the server-side fibers of this connection (to count them). */
  readonly supervisor?: Supervisor.Supervisor<unknown>
  readonly mailboxCapacity?: number
  /**
   * Answers the server's requests (sampling, elicitation, roots) as a client's request handlers would; a failure
   * is sent back as a JSON-RPC error. Without it those requests arrive on `messages`, to be answered with
   * `respond`.
   */
  readonly onRequest?: (method: string, params: JsonObject | undefined) => Effect.Effect<unknown, RpcError>
}

/**
 * Connects an in-memory client to the `McpServer` in context. The connection lives as long as the Scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const connect = <E extends Era = "legacy">(
  options: ConnectOptions<E> = {}
): Effect.Effect<Client<E>, RpcError, McpServer | Scope.Scope> =>
  Effect.gen(function*() {
    // `E` is "legacy" exactly when no era is given (the default type argument), so this is the era `E` names.
    const era = (options.era ?? "legacy") as E
    const capabilities = options.capabilities ?? {}
    const clientInfo = options.clientInfo ?? { name: "mcp-test", version: "0.0.0" }
    const scope = yield* Effect.scope
    const peer = yield* Memory.connect({
      ...(options.mailboxCapacity === undefined ? {} : { mailboxCapacity: options.mailboxCapacity }),
      ...(options.supervisor === undefined ? {} : { supervisor: options.supervisor })
    })
    // Bounded like every buffer here: a test that never reads keeps the newest 4096 messages.
    const messages = yield* Queue.sliding<ServerMessage>(4096)
    // Results are held as the server sent them; `request` gives each the type of its method (ResultOf).
    const pending = new Map<string, Deferred.Deferred<unknown, RpcError>>()

    const route = (message: ServerMessage): Effect.Effect<void> => {
      const onRequest = options.onRequest
      if (onRequest !== undefined && message.method !== undefined && message.id !== undefined && message.id !== null) {
        const id = message.id
        return Effect.forkScoped(
          onRequest(message.method, message.params).pipe(
            Effect.matchEffect({
              onFailure: (error) =>
                sendRaw(JSON.stringify({ jsonrpc: "2.0", id, error: { code: error.code, message: error.message } })),
              onSuccess: (result) => sendRaw(JSON.stringify({ jsonrpc: "2.0", id, result }))
            })
          )
        ).pipe(Effect.asVoid, Effect.provideService(Scope.Scope, scope))
      }
      const isResponse = message.method === undefined && (message.result !== undefined || message.error !== undefined)
      if (isResponse && message.id !== undefined && message.id !== null) {
        const key = JsonRpc.idKey(message.id)
        const deferred = pending.get(key)
        if (deferred !== undefined) {
          pending.delete(key)
          return message.error !== undefined
            ? Deferred.fail(deferred, new RpcError(message.error)).pipe(Effect.asVoid)
            : Deferred.succeed(deferred, message.result).pipe(Effect.asVoid)
        }
      }
      return Queue.offer(messages, message)
    }

    yield* Effect.forkScoped(Effect.forever(Effect.flatMap(Queue.take(peer.fromServer), (frame) => {
      const parsed: unknown = JSON.parse(frame)
      return Array.isArray(parsed)
        ? Effect.forEach(parsed as Array<ServerMessage>, route, { discard: true })
        : route(parsed as ServerMessage)
    })))

    const sendRaw = peer.send
    let nextId = 1
    let protocolVersion = options.protocolVersion ?? (era === "modern" ? LATEST_MODERN : LATEST_LEGACY)

    const withMeta = (params: JsonObject | undefined, requestOptions: RequestOptions | undefined): JsonObject => {
      const base = params ?? {}
      const existing = Predicate.isRecord(base._meta) ? base._meta : {}
      if (era === "modern") {
        const meta = requestOptions?.meta ?? {
          ...existing,
          [MODERN_META.protocolVersion]: protocolVersion,
          [MODERN_META.clientCapabilities]: capabilities,
          [MODERN_META.clientInfo]: clientInfo,
          ...(requestOptions?.logLevel !== undefined ? { [MODERN_META.logLevel]: requestOptions.logLevel } : {}),
          ...(requestOptions?.progressToken !== undefined ? { progressToken: requestOptions.progressToken } : {})
        }
        return { ...base, _meta: meta }
      }
      return requestOptions?.progressToken !== undefined
        ? { ...base, _meta: { ...existing, progressToken: requestOptions.progressToken } }
        : base
    }

    const request = <M extends string>(
      method: M,
      params?: JsonObject,
      requestOptions?: RequestOptions
    ): Effect.Effect<ResultOf<M, E>, RpcError> =>
      Effect.gen(function*() {
        const id = requestOptions?.id ?? nextId++
        const deferred = yield* Deferred.make<unknown, RpcError>()
        pending.set(JsonRpc.idKey(id), deferred)
        yield* sendRaw(JSON.stringify({ jsonrpc: "2.0", id, method, params: withMeta(params, requestOptions) }))
        // The one unchecked step: the server's answer to `method` is taken to have that method's result type.
        return (yield* Deferred.await(deferred)) as ResultOf<M, E>
      })

    const notify = (method: string, params?: JsonObject) =>
      sendRaw(JSON.stringify(params === undefined ? { jsonrpc: "2.0", method } : { jsonrpc: "2.0", method, params }))

    let initializeResult: ResultOf<"initialize", "legacy"> | undefined = undefined
    if (era === "legacy" && options.initialize !== false) {
      const result: ResultOf<"initialize", "legacy"> = yield* request("initialize", {
        protocolVersion,
        capabilities,
        clientInfo
      })
      initializeResult = result
      protocolVersion = result.protocolVersion
      yield* notify("notifications/initialized")
    }

    return {
      era,
      protocolVersion,
      initializeResult,
      request,
      notify,
      sendRaw,
      cancel: (requestId, reason) =>
        notify("notifications/cancelled", reason === undefined ? { requestId } : { requestId, reason }),
      callTool: (name, args, requestOptions) =>
        request("tools/call", args === undefined ? { name } : { name, arguments: args }, requestOptions),
      messages,
      respond: (id, result) => sendRaw(JSON.stringify({ jsonrpc: "2.0", id, result })),
      respondError: (id, error) => sendRaw(JSON.stringify({ jsonrpc: "2.0", id, error })),
      close: peer.close
    } satisfies Client<E>
  })
