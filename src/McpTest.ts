/**
 * A test harness for servers built with this library: an in-memory client wired to the server in the current
 * context, with no sockets and no processes (the in-memory transport, transport/Memory). The server side is the same
 * Connection and Dispatcher every transport uses, so a tool that sleeps, retries or times out is tested under `TestClock` in milliseconds.
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
import * as McpMethod from "./protocol/McpMethod.js"
import type {
  CallToolResult,
  ClientCapabilities,
  Implementation,
  JsonObject,
  LoggingLevel,
  ProgressToken
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
  readonly method?: string
  readonly id?: RequestId | null
  readonly params?: any
  readonly result?: any
  readonly error?: JsonRpc.ErrorObject
}

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
export interface Client {
  readonly era: Era
  readonly protocolVersion: string
  /** The `initialize` result (legacy, when the harness initialized). */
  readonly initializeResult: any
  /** Sends a request and waits for its response; a JSON-RPC error fails with `RpcError`. */
  readonly request: (method: string, params?: JsonObject, options?: RequestOptions) => Effect.Effect<any, RpcError>
  readonly notify: (method: string, params?: JsonObject) => Effect.Effect<void>
  /** Sends one raw frame, exactly as given. */
  readonly sendRaw: (text: string) => Effect.Effect<void>
  readonly cancel: (requestId: RequestId, reason?: string) => Effect.Effect<void>
  readonly callTool: (
    name: string,
    args?: JsonObject,
    options?: RequestOptions
  ) => Effect.Effect<CallToolResult, RpcError>
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
export interface ConnectOptions {
  readonly era?: Era
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
  readonly onRequest?: (method: string, params: any) => Effect.Effect<unknown, RpcError>
}

/**
 * Connects an in-memory client to the `McpServer` in context. The connection lives as long as the Scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const connect = (options: ConnectOptions = {}): Effect.Effect<Client, RpcError, McpServer | Scope.Scope> =>
  Effect.gen(function*() {
    const era = options.era ?? "legacy"
    const capabilities = options.capabilities ?? {}
    const clientInfo = options.clientInfo ?? { name: "mcp-test", version: "0.0.0" }
    const scope = yield* Effect.scope
    const peer = yield* Memory.connect({
      ...(options.mailboxCapacity === undefined ? {} : { mailboxCapacity: options.mailboxCapacity }),
      ...(options.supervisor === undefined ? {} : { supervisor: options.supervisor })
    })
    // Bounded like every buffer here: a test that never reads keeps the newest 4096 messages.
    const messages = yield* Queue.sliding<ServerMessage>(4096)
    const pending = new Map<string, Deferred.Deferred<any, RpcError>>()

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

    const request = (method: string, params?: JsonObject, requestOptions?: RequestOptions) =>
      Effect.gen(function*() {
        const id = requestOptions?.id ?? nextId++
        const deferred = yield* Deferred.make<any, RpcError>()
        pending.set(JsonRpc.idKey(id), deferred)
        yield* sendRaw(JSON.stringify({ jsonrpc: "2.0", id, method, params: withMeta(params, requestOptions) }))
        return yield* Deferred.await(deferred)
      })

    const notify = (method: string, params?: JsonObject) =>
      sendRaw(JSON.stringify(params === undefined ? { jsonrpc: "2.0", method } : { jsonrpc: "2.0", method, params }))

    let initializeResult: unknown = undefined
    if (era === "legacy" && options.initialize !== false) {
      initializeResult = yield* request(McpMethod.initialize.name, { protocolVersion, capabilities, clientInfo })
      protocolVersion = (initializeResult as { protocolVersion: string }).protocolVersion
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
        request(McpMethod.callTool.name, args === undefined ? { name } : { name, arguments: args }, requestOptions),
      messages,
      respond: (id, result) => sendRaw(JSON.stringify({ jsonrpc: "2.0", id, result })),
      respondError: (id, error) => sendRaw(JSON.stringify({ jsonrpc: "2.0", id, error })),
      close: peer.close
    } satisfies Client
  })
