/**
 * The handlers the request engine runs, as a value: for each method of the protocol table (McpMethod) the code that
 * answers it. The engine decodes the params (with the method's fast check or Schema) and calls the handler; it
 * knows nothing else about what a method does. `local` answers from the server's own registry; a different table
 * (a gateway forwarding to upstream servers, say) is given to the server with `McpServer.make({ handlers })`.
 *
 * @since 0.1.0
 */
import { Context, Effect, Either, FiberRef, Queue, Ref, Schema } from "effect"
import * as JsonRpc from "../protocol/JsonRpc.js"
import * as McpMethod from "../protocol/McpMethod.js"
import * as McpSchema from "../protocol/McpSchema.js"
import * as ProtocolVersion from "../protocol/ProtocolVersion.js"
import type * as ClientRequests from "./ClientRequests.js"
import { McpContext } from "./McpContext.js"
import type { McpServer, Registry } from "./McpServer.js"
import * as Notifications from "./Notifications.js"
import type { RequestContext } from "./RequestContext.js"
import * as Resource from "./Resource.js"
import type * as Session from "./Session.js"
import type { InsufficientScope, Sink } from "./Sink.js"
import type { Tool } from "./Tool.js"

export type {
  /**
   * What the engine knows of a request when it runs its handler (see RequestContext).
   *
   * @since 0.1.0
   * @category models
   */
  RequestContext
} from "./RequestContext.js"

/**
 * A result before framing.
 *
 * @since 0.1.0
 * @category models
 */
export type Result = Record<string, unknown>

/**
 * The connection or session a handler runs for.
 *
 * @since 0.1.0
 * @category models
 */
export interface Env {
  readonly server: McpServer["Type"]
  readonly session: Session.Session
  /** The legacy session's entry in the notification hub, created on first use. */
  readonly subscriber: () => Notifications.Subscriber
  /**
   * Asks the session's client outside any request (legacy: a request on the connection's own stream, the session's
   * GET stream over HTTP; answered or failed like `McpContext.ask`, with the capability checked). Fails "closed"
   * where there is no such stream: before `initialize`, and in the modern era.
   */
  readonly askSession: (
    method: ClientRequests.ClientMethod,
    params: Record<string, unknown>
  ) => Effect.Effect<unknown, ClientRequests.ClientError | JsonRpc.MissingRequiredClientCapability>
}

/**
 * Answers one method, given its decoded params.
 *
 * @since 0.1.0
 * @category models
 */
export type Handler<A> = (
  params: A,
  context: RequestContext,
  mcp: McpContext["Type"],
  env: Env,
  sink: Sink
) => Effect.Effect<Result, JsonRpc.JsonRpcError>

/**
 * A method and its handler.
 *
 * @since 0.1.0
 * @category models
 */
export interface Entry<A = any> {
  readonly method: McpMethod.McpMethod<A>
  readonly run: Handler<A>
}

/**
 * A table of handlers: the methods it answers (others are -32601).
 *
 * @since 0.1.0
 * @category models
 */
export type Handlers = ReadonlyArray<Entry>

/**
 * @since 0.1.0
 * @category constructors
 */
export const handle = <A>(method: McpMethod.McpMethod<A>, run: Handler<A>): Entry<A> => ({ method, run })

/**
 * A method of the protocol table with what runs it: the handler behind the method's params decoding (its fast
 * check, else its Schema; -32602 naming the fields when neither accepts them).
 *
 * @since 0.1.0
 * @category models
 */
export interface Compiled extends McpMethod.McpMethod {
  readonly run: Handler<unknown>
}

const compileEntry = <A>(spec: McpMethod.McpMethod<A>, run: Handler<A>): Compiled => {
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

const compiled = new WeakMap<Handlers, Readonly<Record<string, Compiled>>>()

/**
 * A table by method name, its decoders built once per table (whatever the number of connections).
 *
 * @since 0.1.0
 * @category constructors
 */
export const compile = (handlers: Handlers): Readonly<Record<string, Compiled>> => {
  let methods = compiled.get(handlers)
  if (methods === undefined) {
    methods = Object.fromEntries(handlers.map((entry) => [entry.method.name, compileEntry(entry.method, entry.run)]))
    compiled.set(handlers, methods)
  }
  return methods
}

/**
 * The request's services: what the registration captured, plus its `McpContext`, as one Context. It is set on the
 * fiber and not restored: the fiber is the request's own (a forked request fiber, or the HTTP POST that carries it,
 * where only the answer is written afterwards; each request of a batch sets its own). `Effect.locally` would copy
 * the fiber's FiberRefs twice and add an acquire/release around every handler.
 */
const withMcp = <A, E>(
  effect: Effect.Effect<A, E, McpContext>,
  captured: Context.Context<never> | undefined,
  mcp: McpContext["Type"]
): Effect.Effect<A, E> =>
  Effect.zipRight(
    FiberRef.set(
      FiberRef.currentContext,
      captured === undefined ? Context.make(McpContext, mcp) : Context.add(captured, McpContext, mcp)
    ),
    effect as Effect.Effect<A, E>
  )

const paginate = <A>(
  items: ReadonlyArray<A>,
  cursor: string | undefined,
  kind: string,
  pageSize: number
): Either.Either<
  { readonly page: ReadonlyArray<A>; readonly nextCursor: string | undefined },
  JsonRpc.InvalidParams
> => {
  let offset = 0
  if (cursor !== undefined) {
    const decoded = Buffer.from(cursor, "base64url").toString("utf8")
    const match = /^([A-Za-z]+):(\d{1,9})$/.exec(decoded)
    offset = match !== null && match[1] === kind ? Number(match[2]) : -1
    if (offset < 0 || offset > items.length || Buffer.from(decoded).toString("base64url") !== cursor) {
      return Either.left(
        new JsonRpc.InvalidParams({ message: "Invalid params: cursor is not a cursor this server issued" })
      )
    }
  }
  const end = offset + pageSize
  return Either.right({
    page: items.slice(offset, end),
    nextCursor: end < items.length ? Buffer.from(`${kind}:${end}`).toString("base64url") : undefined
  })
}

const withCursor = (result: Result, nextCursor: string | undefined): Result =>
  nextCursor === undefined ? result : { ...result, nextCursor }

const shapeTool = (tool: Tool, version: string) => {
  const definition = tool.definition
  if (definition.outputSchema === undefined) return definition
  const keep = ProtocolVersion.hasStructuredOutput(version) &&
    (ProtocolVersion.isModern(version) || tool.structuredIsObject)
  if (keep) return definition
  const { outputSchema: _, ...rest } = definition
  return rest
}

const resourceNotFound = (uri: string, context: RequestContext): JsonRpc.JsonRpcError =>
  Resource.notFoundError(uri, context.protocolVersion)

const complete = (
  completer:
    | ((value: string, ctx: Readonly<Record<string, string>>) => Effect.Effect<ReadonlyArray<string>>)
    | undefined,
  params: McpSchema.CompleteParams
): Effect.Effect<Result> =>
  completer === undefined
    ? Effect.succeed({ completion: { values: [], hasMore: false } })
    : Effect.map(completer(params.argument.value, params.context?.arguments ?? {}), (all) => ({
      completion: {
        values: all.slice(0, 100),
        total: all.length,
        hasMore: all.length > 100
      }
    }))

/** A paginated, cacheable list method: `key` names both the result's array and the cursor's kind. */
const listMethod = <A>(
  spec: McpMethod.McpMethod<typeof McpSchema.PaginatedParams.Type>,
  key: string,
  items: (registry: Registry) => ReadonlyArray<A>,
  show: (item: A, context: RequestContext) => unknown
): Entry<typeof McpSchema.PaginatedParams.Type> =>
  handle(spec, (params, context, _mcp, env) =>
    Effect.flatMap(Ref.get(env.server.registry), (registry) => {
      const page = paginate(items(registry), params.cursor, key, env.server.pageSize)
      return Either.isLeft(page)
        ? Effect.fail(page.left)
        : Effect.succeed(withCursor(
          { [key]: page.right.page.map((item) => show(item, context)) },
          page.right.nextCursor
        ))
    }))

const SUBSCRIPTION_ID = McpSchema.MODERN_META.subscriptionId

/**
 * Modern `subscriptions/listen`: acknowledges the honoured subset, then forwards the subscriber's coalesced
 * notifications (tagged with the subscription id) until the client ends it (closing the stream or
 * `notifications/cancelled`: this fiber is interrupted) or the server ends it gracefully (the final result).
 */
const listen = (
  params: typeof McpSchema.ListenParams.Type,
  id: JsonRpc.RequestId,
  hub: Notifications.Hub,
  sink: Sink
): Effect.Effect<Result> =>
  Effect.gen(function*() {
    const wake = yield* Queue.dropping<void>(1)
    const wanted = params.notifications
    const lists = new Set<Notifications.ListKind>()
    if (wanted.toolsListChanged === true) lists.add("tools")
    if (wanted.promptsListChanged === true) lists.add("prompts")
    if (wanted.resourcesListChanged === true) lists.add("resources")
    const uris = [...new Set(wanted.resourceSubscriptions ?? [])].slice(0, Notifications.MAX_URIS_PER_SUBSCRIBER)
    const subscriber = new Notifications.Subscriber(lists, () => {
      Queue.unsafeOffer(wake, undefined)
    }, JSON.stringify(id))
    const honoured = {
      ...(lists.has("tools") ? { toolsListChanged: true } : {}),
      ...(lists.has("prompts") ? { promptsListChanged: true } : {}),
      ...(lists.has("resources") ? { resourcesListChanged: true } : {}),
      ...(wanted.resourceSubscriptions !== undefined ? { resourceSubscriptions: uris } : {})
    }
    return yield* Effect.acquireUseRelease(
      Effect.sync(() => {
        hub.add(subscriber)
        for (const uri of uris) hub.subscribe(subscriber, uri)
      }),
      () =>
        Effect.gen(function*() {
          yield* sink.notify(JsonRpc.encodeNotification("notifications/subscriptions/acknowledged", {
            notifications: honoured,
            _meta: { [SUBSCRIPTION_ID]: id }
          }))
          while (!subscriber.ended) {
            yield* Queue.take(wake)
            for (const frame of subscriber.take()) yield* sink.notify(frame)
          }
          yield* sink.notify(JsonRpc.encodeNotification("notifications/cancelled", {
            requestId: id,
            reason: "The server is shutting down"
          }))
          return { _meta: { [SUBSCRIPTION_ID]: id } }
        }),
      () => Effect.sync(() => hub.remove(subscriber))
    )
  })

/**
 * With authorization on (a principal), a tool, prompt or resource that declares scopes needs all of them: else
 * -32000 with `data` naming the required and the missing scopes (Streamable HTTP answers it 403 insufficient_scope,
 * naming them in WWW-Authenticate). Without authorization, scopes are not checked.
 */
const lackingScopes = (
  required: ReadonlyArray<string> | undefined,
  mcp: McpContext["Type"],
  what: string
): JsonRpc.JsonRpcError | undefined => {
  if (required === undefined) return undefined
  const principal = mcp.peer.principal
  if (principal === undefined) return undefined
  const missing = required.filter((scope) => !principal.scopes.includes(scope))
  if (missing.length === 0) return undefined
  const data: InsufficientScope = { error: "insufficient_scope", requiredScopes: required, missingScopes: missing }
  return new JsonRpc.ServerError({
    message: `Insufficient scope: ${what} needs the scope${required.length === 1 ? "" : "s"} ${
      required.join(" ")
    }; the token lacks ${missing.join(" ")}`,
    data
  })
}

/**
 * The local handlers: the server's own tools, resources, prompts and completions (the registry in McpServer),
 * logging, subscriptions and `subscriptions/listen`.
 *
 * @since 0.1.0
 * @category handlers
 */
export const local: Handlers = [
  handle(McpMethod.ping, () => Effect.succeed({})),
  handle(McpMethod.setLevel, (params, _context, _mcp, env) =>
    Effect.sync(() => {
      env.session.logLevel = params.level
      return {}
    })),
  handle(McpMethod.discover, (_params, _context, _mcp, env) =>
    Effect.succeed({
      supportedVersions: ProtocolVersion.MODERN,
      capabilities: env.server.capabilities,
      ...(env.server.instructions !== undefined ? { instructions: env.server.instructions } : {})
    })),
  listMethod(
    McpMethod.listTools,
    "tools",
    (registry) => [...registry.tools.values()],
    (tool, context) => shapeTool(tool, context.protocolVersion)
  ),
  handle(McpMethod.callTool, (params, context, mcp, env) => {
    const tool = env.server.currentRegistry().tools.get(params.name)
    if (tool === undefined) {
      return Effect.fail(
        new JsonRpc.InvalidParams({ message: `Unknown tool: ${params.name}`, data: { name: params.name } })
      )
    }
    const lacking = lackingScopes(tool.scopes, mcp, `the tool ${params.name}`)
    if (lacking !== undefined) return Effect.fail(lacking)
    return Effect.map(withMcp(tool.call(params.arguments), tool.context, mcp), (result) => {
      if (result.structuredContent === undefined) return result as Result
      const keep = ProtocolVersion.hasStructuredOutput(context.protocolVersion) &&
        (context.era === "modern" || tool.structuredIsObject)
      if (keep) return result as Result
      const { structuredContent: _, ...rest } = result
      return rest as Result
    })
  }),
  listMethod(McpMethod.listResources, "resources", (registry) => [...registry.resources.values()], (r) => r.definition),
  listMethod(
    McpMethod.listResourceTemplates,
    "resourceTemplates",
    (registry) => registry.templates,
    (t) => t.definition
  ),
  handle(McpMethod.readResource, (params, context, mcp, env) => {
    const registry = env.server.currentRegistry()
    const read = (
      effect: Effect.Effect<ReadonlyArray<McpSchema.ResourceContents>, JsonRpc.JsonRpcError, McpContext>,
      captured: Context.Context<never> | undefined
    ) => Effect.map(withMcp(effect, captured, mcp), (contents): Result => ({ contents }))
    const resource = registry.resources.get(params.uri)
    if (resource !== undefined) {
      const lacking = lackingScopes(resource.scopes, mcp, `the resource ${params.uri}`)
      return lacking !== undefined ? Effect.fail(lacking) : read(resource.read(params.uri), resource.context)
    }
    for (const template of registry.templates) {
      const matched = template.match(params.uri)
      if (matched !== undefined) {
        const lacking = lackingScopes(template.scopes, mcp, `the resource ${params.uri}`)
        return lacking !== undefined
          ? Effect.fail(lacking)
          : read(template.read(params.uri, matched), template.context)
      }
    }
    return Effect.fail(resourceNotFound(params.uri, context))
  }),
  listMethod(McpMethod.listPrompts, "prompts", (registry) => [...registry.prompts.values()], (p) => p.definition),
  handle(McpMethod.getPrompt, (params, _context, mcp, env) => {
    const prompt = env.server.currentRegistry().prompts.get(params.name)
    if (prompt === undefined) {
      return Effect.fail(
        new JsonRpc.InvalidParams({ message: `Unknown prompt: ${params.name}`, data: { name: params.name } })
      )
    }
    const lacking = lackingScopes(prompt.scopes, mcp, `the prompt ${params.name}`)
    if (lacking !== undefined) return Effect.fail(lacking)
    return withMcp(
      prompt.get(params.arguments) as Effect.Effect<Result, JsonRpc.JsonRpcError, McpContext>,
      prompt.context,
      mcp
    )
  }),
  handle(
    McpMethod.subscribe,
    (params, _context, _mcp, env) =>
      Effect.suspend(() =>
        env.server.notifications.subscribe(env.subscriber(), params.uri)
          ? Effect.succeed({})
          : Effect.fail(
            new JsonRpc.InvalidParams({
              message:
                `Invalid params: a session may hold at most ${Notifications.MAX_URIS_PER_SUBSCRIBER} subscriptions`
            })
          )
      )
  ),
  handle(McpMethod.unsubscribe, (params, _context, _mcp, env) =>
    Effect.sync(() => {
      env.server.notifications.unsubscribe(env.subscriber(), params.uri)
      return {}
    })),
  handle(
    McpMethod.listen,
    (params, _context, mcp, env, sink) => listen(params, mcp.requestId, env.server.notifications, sink)
  ),
  handle(
    McpMethod.complete,
    (params, _context, _mcp, env) =>
      Effect.flatMap(Ref.get(env.server.registry), (registry): Effect.Effect<Result, JsonRpc.JsonRpcError> => {
        const ref = params.ref
        if (ref.type === "ref/prompt") {
          const prompt = registry.prompts.get(ref.name)
          if (prompt === undefined) {
            return Effect.fail(new JsonRpc.InvalidParams({ message: `Unknown prompt: ${ref.name}` }))
          }
          return complete(prompt.completions[params.argument.name], params)
        }
        const template = registry.templates.find((t) => t.definition.uriTemplate === ref.uri)
        if (template !== undefined) return complete(template.completions[params.argument.name], params)
        if (registry.resources.has(ref.uri)) return complete(undefined, params)
        return Effect.fail(new JsonRpc.InvalidParams({ message: `Unknown resource template: ${ref.uri}` }))
      })
  )
]
