/**
 * The service users build on: server identity and options, and the registry of tools, resources, templates and
 * prompts. Features register themselves as Layers, so a server is a `Layer.mergeAll` of feature layers provided
 * with `McpServer.layer(...)`; handlers may require the application's own services, captured when the feature
 * layer is built.
 *
 * @since 0.1.0
 */
import type { Scope } from "effect"
import { Config, Context, Duration, Effect, Layer, Redacted, Ref } from "effect"
import type { Implementation, ServerCapabilities } from "../protocol/McpSchema.js"
import * as Settings from "../Settings.js"
import * as ClientRequests from "./ClientRequests.js"
import * as Deadlines from "./Deadlines.js"
import type { Handlers } from "./Handlers.js"
import * as Notifications from "./Notifications.js"
import type { Prompt } from "./Prompt.js"
import type { Resource, ResourceTemplate } from "./Resource.js"
import type { Tool } from "./Tool.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly name: string
  readonly version: string
  readonly title?: string
  readonly instructions?: string
  /** Items per page of every list method. Default 100. */
  readonly pageSize?: number
  /** A request still running after this long is interrupted and answered with -32001. Default 60 s. */
  readonly requestTimeout?: Duration.DurationInput
  /** Modern `ttlMs` on cacheable results (lists, discover). Default 60000. */
  readonly cacheTtlMs?: number
  /** Modern `cacheScope` on cacheable results. Default "public". */
  readonly cacheScope?: "public" | "private"
  /** How long a question to the client (sampling, elicitation, roots) may wait for its answer. Default 5 minutes. */
  readonly clientRequestTimeout?: Duration.DurationInput
  /** The HMAC key for modern `requestState`. Default: random per process (states do not survive a restart). */
  readonly requestStateKey?: string
  /** How long a modern `requestState` stays valid. Default 10 minutes. */
  readonly requestStateTtl?: Duration.DurationInput
  /** What answers each method; default `Handlers.local` (this server's own registry). */
  readonly handlers?: Handlers
}

/**
 * The registry: insertion-ordered, so listings are deterministic.
 *
 * @since 0.1.0
 * @category models
 */
export interface Registry {
  readonly tools: ReadonlyMap<string, Tool>
  readonly resources: ReadonlyMap<string, Resource>
  readonly templates: ReadonlyArray<ResourceTemplate>
  readonly prompts: ReadonlyMap<string, Prompt>
}

const emptyRegistry: Registry = { tools: new Map(), resources: new Map(), templates: [], prompts: new Map() }

/**
 * @since 0.1.0
 * @category tags
 */
export class McpServer extends Context.Tag("effect-mcp-server/McpServer")<McpServer, {
  readonly info: Implementation
  readonly instructions: string | undefined
  readonly pageSize: number
  readonly requestTimeoutMillis: number
  readonly cacheTtlMs: number
  readonly cacheScope: "public" | "private"
  readonly capabilities: ServerCapabilities
  readonly registry: Ref.Ref<Registry>
  /** The registry as of now, read without an Effect (the hot path reads it once per request). */
  readonly currentRegistry: () => Registry
  readonly addTool: (tool: Tool) => Effect.Effect<void>
  readonly addResource: (resource: Resource) => Effect.Effect<void>
  readonly addResourceTemplate: (template: ResourceTemplate) => Effect.Effect<void>
  readonly addPrompt: (prompt: Prompt) => Effect.Effect<void>
  /** Adds or replaces a tool while serving; clients are told the list changed. */
  readonly putTool: (tool: Tool) => Effect.Effect<void>
  /** Removes a tool; true if there was one (clients are then told the list changed). */
  readonly removeTool: (name: string) => Effect.Effect<boolean>
  readonly putResource: (resource: Resource) => Effect.Effect<void>
  readonly removeResource: (uri: string) => Effect.Effect<boolean>
  readonly putResourceTemplate: (template: ResourceTemplate) => Effect.Effect<void>
  readonly removeResourceTemplate: (uriTemplate: string) => Effect.Effect<boolean>
  readonly putPrompt: (prompt: Prompt) => Effect.Effect<void>
  readonly removePrompt: (name: string) => Effect.Effect<boolean>
  /** Sends `notifications/resources/updated` to the clients subscribed to `uri`; returns how many. */
  readonly resourceUpdated: (uri: string) => Effect.Effect<number>
  /** Sends `notifications/<kind>/list_changed` to every client that listens (the put/remove methods do it). */
  readonly listChanged: (kind: Notifications.ListKind) => Effect.Effect<number>
  /** The fan-out of unsolicited notifications. */
  readonly notifications: Notifications.Hub
  readonly clientRequestTimeoutMillis: number
  readonly requestState: ClientRequests.StateCodec
  /** The server's one timer: request timeouts and questions to the client. */
  readonly deadlines: Deadlines.Deadlines
  /** The handler table the engine runs (undefined: `Handlers.local`). */
  readonly handlers: Handlers | undefined
}>() {}

const withDuplicateCheck = <K, V>(map: ReadonlyMap<K, V>, key: K, value: V, what: string): ReadonlyMap<K, V> => {
  if (map.has(key)) throw new Error(`Duplicate ${what}: ${String(key)}`)
  return new Map(map).set(key, value)
}

/**
 * Builds the service.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options): Effect.Effect<McpServer["Type"], never, Scope.Scope> =>
  Effect.gen(function*() {
    const deadlines = yield* Deadlines.make
    const registry = yield* Ref.make(emptyRegistry)
    // Adding is a pure update of an immutable registry; a duplicate name throws inside it: a defect, since it is a
    // programming error found when the server's layers are built.
    // The Ref is the source of truth; `current` mirrors it for synchronous reads on the request path.
    let current = emptyRegistry
    const update = (f: (registry: Registry) => Registry) =>
      Effect.map(Ref.updateAndGet(registry, f), (next) => {
        current = next
      })
    const hub = new Notifications.Hub()
    // Changes are published on the bus (local by default: straight to this hub), which delivers them to the hub.
    const bus = yield* (yield* Notifications.NotificationBus).make(Notifications.deliverTo(hub))
    // Changes made while serving: the registry is swapped, then listeners are told (they re-read the list).
    const change = <A>(kind: Notifications.ListKind, f: (registry: Registry) => readonly [A, Registry]) =>
      Effect.flatMap(
        Ref.modify(registry, (r) => {
          const [a, next] = f(r)
          return [[a, next] as const, next]
        }),
        ([a, next]) => {
          current = next
          // A removal of something absent (false) changed nothing: no list_changed for it.
          return a === false ? Effect.succeed(a) : Effect.as(bus.publish({ _tag: "ListChanged", kind }), a)
        }
      )
    const without = <K, V>(map: ReadonlyMap<K, V>, key: K): ReadonlyMap<K, V> => {
      const next = new Map(map)
      next.delete(key)
      return next
    }
    const info: Implementation = options.title === undefined
      ? { name: options.name, version: options.version }
      : { name: options.name, version: options.version, title: options.title }
    return McpServer.of({
      handlers: options.handlers,
      info,
      instructions: options.instructions,
      pageSize: Math.max(1, options.pageSize ?? Settings.pageSize.default),
      requestTimeoutMillis: Duration.toMillis(
        Duration.decode(options.requestTimeout ?? Settings.requestTimeoutMs.default)
      ),
      cacheTtlMs: Math.max(0, options.cacheTtlMs ?? Settings.cacheTtlMs.default),
      cacheScope: options.cacheScope ?? "public",
      capabilities: {
        tools: { listChanged: true },
        resources: { subscribe: true, listChanged: true },
        prompts: { listChanged: true },
        completions: {},
        logging: {}
      },
      registry,
      currentRegistry: () => current,
      addTool: (tool) => update((r) => ({ ...r, tools: withDuplicateCheck(r.tools, tool.name, tool, "tool") })),
      addResource: (resource) =>
        update((r) => ({
          ...r,
          resources: withDuplicateCheck(r.resources, resource.definition.uri, resource, "resource")
        })),
      addResourceTemplate: (template) =>
        update((r) => {
          if (r.templates.some((t) => t.definition.uriTemplate === template.definition.uriTemplate)) {
            throw new Error(`Duplicate resource template: ${template.definition.uriTemplate}`)
          }
          return { ...r, templates: [...r.templates, template] }
        }),
      addPrompt: (prompt) =>
        update((r) => ({ ...r, prompts: withDuplicateCheck(r.prompts, prompt.definition.name, prompt, "prompt") })),
      putTool: (tool) => change("tools", (r) => [undefined, { ...r, tools: new Map(r.tools).set(tool.name, tool) }]),
      removeTool: (name) =>
        change("tools", (r) => r.tools.has(name) ? [true, { ...r, tools: without(r.tools, name) }] : [false, r]),
      putResource: (resource) =>
        change("resources", (r) => [undefined, {
          ...r,
          resources: new Map(r.resources).set(resource.definition.uri, resource)
        }]),
      removeResource: (uri) =>
        change("resources", (r) =>
          r.resources.has(uri) ? [true, { ...r, resources: without(r.resources, uri) }] : [false, r]),
      putResourceTemplate: (template) =>
        change("resources", (r) => {
          // Replaced in place (listings keep their order), or added at the end.
          const at = r.templates.findIndex((t) =>
            t.definition.uriTemplate === template.definition.uriTemplate
          )
          const templates = at < 0 ? [...r.templates, template] : r.templates.map((t, i) => (i === at ? template : t))
          return [undefined, { ...r, templates }]
        }),
      removeResourceTemplate: (uriTemplate) =>
        change("resources", (r) => {
          const templates = r.templates.filter((t) => t.definition.uriTemplate !== uriTemplate)
          return templates.length === r.templates.length ? [false, r] : [true, { ...r, templates }]
        }),
      putPrompt: (prompt) =>
        change("prompts", (r) => [undefined, {
          ...r,
          prompts: new Map(r.prompts).set(prompt.definition.name, prompt)
        }]),
      removePrompt: (name) =>
        change(
          "prompts",
          (r) => r.prompts.has(name) ? [true, { ...r, prompts: without(r.prompts, name) }] : [false, r]
        ),
      resourceUpdated: (uri) => bus.publish({ _tag: "ResourceUpdated", uri }),
      listChanged: (kind) => bus.publish({ _tag: "ListChanged", kind }),
      notifications: hub,
      clientRequestTimeoutMillis: Duration.toMillis(
        Duration.decode(options.clientRequestTimeout ?? Settings.clientRequestTimeoutMs.default)
      ),
      deadlines,
      requestState: ClientRequests.makeStateCodec({
        key: options.requestStateKey,
        ttlMillis: Duration.toMillis(Duration.decode(options.requestStateTtl ?? "10 minutes")),
        nonces: yield* ClientRequests.Nonces
      })
    })
  })

/**
 * The server as a Layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<McpServer> => Layer.scoped(McpServer, make(options))

/**
 * The server with its tunables read from `effect/Config` (`MCP_PAGE_SIZE`, `MCP_REQUEST_TIMEOUT_MS`,
 * `MCP_CACHE_TTL_MS`), falling back to `options` and then the defaults.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (options: Options): Layer.Layer<McpServer, never> =>
  Layer.scoped(
    McpServer,
    Effect.gen(function*() {
      const c = yield* Config.all({
        pageSize: Settings.pageSize.config,
        requestTimeout: Settings.requestTimeoutMs.config,
        cacheTtlMs: Settings.cacheTtlMs.config,
        clientRequestTimeout: Settings.clientRequestTimeoutMs.config,
        requestStateKey: Settings.requestStateKey.config
      })
      return yield* make({
        ...options,
        ...Settings.optional("pageSize", c.pageSize),
        ...Settings.optionalWith("requestTimeout", c.requestTimeout, Duration.millis),
        ...Settings.optional("cacheTtlMs", c.cacheTtlMs),
        ...Settings.optionalWith("clientRequestTimeout", c.clientRequestTimeout, Duration.millis),
        ...Settings.optionalWith("requestStateKey", c.requestStateKey, Redacted.value)
      })
    }).pipe(Effect.orDie)
  )

// Registration. Each captures the handler's services from the layer that registers it, so the registry holds
// handlers that need nothing but the request's McpContext.

const captured = <A extends object, R>(
  value: A,
  wrap: (value: A, context: Context.Context<R>) => A,
  add: (server: McpServer["Type"], value: A) => Effect.Effect<void>
): Layer.Layer<never, never, McpServer | R> =>
  Layer.effectDiscard(Effect.gen(function*() {
    const server = yield* McpServer
    const context = yield* Effect.context<R>()
    yield* add(server, wrap(value, context))
  }))

/**
 * Registers a tool made with `Tool.make`.
 *
 * @since 0.1.0
 * @category registration
 */
export const tool = <R>(tool: Tool<R>): Layer.Layer<never, never, McpServer | R> =>
  captured(
    tool as Tool<never>,
    (t, context: Context.Context<R>) => ({ ...t, context: context as Context.Context<never> }),
    (server, t) => server.addTool(t)
  )

/**
 * Registers a resource made with `Resource.make`.
 *
 * @since 0.1.0
 * @category registration
 */
export const resource = <R>(resource: Resource<R>): Layer.Layer<never, never, McpServer | R> =>
  captured(
    resource as Resource<never>,
    (r, context: Context.Context<R>) => ({ ...r, context: context as Context.Context<never> }),
    (server, r) => server.addResource(r)
  )

/**
 * Registers a resource template made with `Resource.template`.
 *
 * @since 0.1.0
 * @category registration
 */
export const resourceTemplate = <R>(template: ResourceTemplate<R>): Layer.Layer<never, never, McpServer | R> =>
  captured(
    template as ResourceTemplate<never>,
    (t, context: Context.Context<R>) => ({
      ...t,
      context: context as Context.Context<never>,
      completions: Object.fromEntries(
        Object.entries(t.completions).map(([name, complete]) => [
          name,
          (value: string, ctx: Readonly<Record<string, string>>) => Effect.provide(complete(value, ctx), context)
        ])
      )
    }),
    (server, t) => server.addResourceTemplate(t)
  )

/**
 * Registers a prompt made with `Prompt.make`.
 *
 * @since 0.1.0
 * @category registration
 */
export const prompt = <R>(prompt: Prompt<R>): Layer.Layer<never, never, McpServer | R> =>
  captured(
    prompt as Prompt<never>,
    (p, context: Context.Context<R>) => ({
      ...p,
      context: context as Context.Context<never>,
      completions: Object.fromEntries(
        Object.entries(p.completions).map(([name, complete]) => [
          name,
          (value: string, ctx: Readonly<Record<string, string>>) => Effect.provide(complete(value, ctx), context)
        ])
      )
    }),
    (server, p) => server.addPrompt(p)
  )

// Changing the server while it serves. Each change tells the clients that listen that the list changed.

/**
 * Adds or replaces a tool while serving (its handler needs nothing but the request's `McpContext`).
 *
 * @since 0.1.0
 * @category runtime
 */
export const putTool = (tool: Tool): Effect.Effect<void, never, McpServer> =>
  Effect.flatMap(McpServer, (server) => server.putTool(tool))

/**
 * @since 0.1.0
 * @category runtime
 */
export const removeTool = (name: string): Effect.Effect<boolean, never, McpServer> =>
  Effect.flatMap(McpServer, (server) => server.removeTool(name))

/**
 * @since 0.1.0
 * @category runtime
 */
export const putResource = (resource: Resource): Effect.Effect<void, never, McpServer> =>
  Effect.flatMap(McpServer, (server) => server.putResource(resource))

/**
 * @since 0.1.0
 * @category runtime
 */
export const removeResource = (uri: string): Effect.Effect<boolean, never, McpServer> =>
  Effect.flatMap(McpServer, (server) => server.removeResource(uri))

/**
 * @since 0.1.0
 * @category runtime
 */
export const putResourceTemplate = (template: ResourceTemplate): Effect.Effect<void, never, McpServer> =>
  Effect.flatMap(McpServer, (server) => server.putResourceTemplate(template))

/**
 * @since 0.1.0
 * @category runtime
 */
export const removeResourceTemplate = (uriTemplate: string): Effect.Effect<boolean, never, McpServer> =>
  Effect.flatMap(McpServer, (server) => server.removeResourceTemplate(uriTemplate))

/**
 * @since 0.1.0
 * @category runtime
 */
export const putPrompt = (prompt: Prompt): Effect.Effect<void, never, McpServer> =>
  Effect.flatMap(McpServer, (server) => server.putPrompt(prompt))

/**
 * @since 0.1.0
 * @category runtime
 */
export const removePrompt = (name: string): Effect.Effect<boolean, never, McpServer> =>
  Effect.flatMap(McpServer, (server) => server.removePrompt(name))

/**
 * Tells the clients subscribed to `uri` (legacy `resources/subscribe`, modern `subscriptions/listen`) that it
 * changed. Returns how many subscribers were signalled.
 *
 * @since 0.1.0
 * @category runtime
 */
export const resourceUpdated = (uri: string): Effect.Effect<number, never, McpServer> =>
  Effect.flatMap(McpServer, (server) => server.resourceUpdated(uri))
