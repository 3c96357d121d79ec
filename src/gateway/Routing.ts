/**
 * The gateway's handler table: each method answered from the upstreams (Catalog's view routes names and URIs),
 * the server's own registry first (an app's own tools beside proxied ones). A routed request runs on the front
 * request's fiber, so cancelling or timing out the front request interrupts the upstream request (which cancels it
 * upstream). While it runs, the upstream's progress and log messages go to the front request (`McpContext`
 * progress and log) and its questions (sampling, elicitation, roots) are asked of the front client (`McpContext`
 * ask: on a legacy front a request on the session's stream; on a modern front the round ends with
 * `input_required`, and the retry runs the upstream request again with the answer at hand).
 *
 * Errors: `tools/call` on an upstream that is down, busy or timed out is a tool result with `isError: true` naming
 * the upstream (the model reads it and may try something else; the protocol call itself worked); every other
 * method answers a JSON-RPC error (-32000, -32001 on a timeout, -32603 for nonsense) with `data.upstream`. An
 * upstream's own JSON-RPC error passes through as it is.
 *
 * @since 0.2.0
 */
import { Effect, Either } from "effect"
import * as JsonRpc from "../protocol/JsonRpc.js"
import * as McpMethod from "../protocol/McpMethod.js"
import type * as McpSchema from "../protocol/McpSchema.js"
import * as ProtocolVersion from "../protocol/ProtocolVersion.js"
import type * as ClientRequests from "../server/ClientRequests.js"
import * as Handlers from "../server/Handlers.js"
import type { McpContext } from "../server/McpContext.js"
import type { RequestContext } from "../server/RequestContext.js"
import * as Session from "../server/Session.js"
import type * as Catalog from "./Catalog.js"
import { paginate, routeUri } from "./Catalog.js"
import type * as Gateway from "./Gateway.js"
import * as Instances from "./Instances.js"
import * as Names from "./Names.js"
import { askError, passThrough, relay, rewriteBlock, rewriteList, toRpcError, unframed } from "./Relay.js"
import type * as Upstream from "./Upstream.js"

/**
 * @since 0.2.0
 * @category models
 */
export type Table = Handlers.Handlers

/**
 * Where the table finds the gateway's state (filled when the gateway has started, before any request).
 *
 * @since 0.2.0
 * @category models
 */
export interface Cell {
  state: Gateway.State | undefined
}

type Mcp = McpContext["Type"]
type Result = Handlers.Result

const localRun = <A>(method: McpMethod.McpMethod<A>): Handlers.Handler<A> =>
  Handlers.local.find((entry) => entry.method.name === method.name)!.run as Handlers.Handler<A>

const local = {
  callTool: localRun(McpMethod.callTool),
  readResource: localRun(McpMethod.readResource),
  getPrompt: localRun(McpMethod.getPrompt),
  complete: localRun(McpMethod.complete),
  listen: localRun(McpMethod.listen),
  subscribe: localRun(McpMethod.subscribe),
  unsubscribe: localRun(McpMethod.unsubscribe)
}

const sessionKeys = new WeakMap<Session.Session, string>()
let nextSession = 0

/** The front key of the request: the legacy session, else the modern principal, else none (shared). */
const keyOf = (mcp: Mcp, env: Handlers.Env): string | undefined => {
  if (mcp.era === "legacy") {
    let key = sessionKeys.get(env.session)
    if (key === undefined) {
      key = `session:${++nextSession}`
      sessionKeys.set(env.session, key)
    }
    return key
  }
  const subject = mcp.peer.principal?.subject
  return subject === undefined ? undefined : `principal:${subject}`
}

/** Asks the front legacy session's client (outside any call), the failure as the error object the upstream gets. */
const askerOf = (env: Handlers.Env): Gateway.Asker => (method, params) =>
  env.askSession(method as ClientRequests.ClientMethod, params ?? {}).pipe(
    Effect.map((result) => result as Upstream.Json),
    Effect.mapError(askError)
  )

const instance = (
  gateway: Gateway.State,
  upstream: string,
  mcp: Mcp,
  env: Handlers.Env
): Effect.Effect<Instances.Instance, Upstream.UpstreamError> => {
  const entry = gateway.byName.get(upstream)!
  const key = entry.config.isolation === "per-session" ? keyOf(mcp, env) : undefined
  return Instances.instanceFor(entry.pool, key, () => {
    if (key !== undefined && mcp.era === "legacy" && !key.startsWith("principal:")) {
      // Before the instance is made: an upstream may ask its client something as soon as it is up.
      gateway.askers.set(key, askerOf(env))
      Session.onEnd(env.session, () => gateway.endSession(key))
    }
  })
}

/** A request routed to `upstream`, its errors as JSON-RPC errors. */
const routed = (
  gateway: Gateway.State,
  upstream: string,
  method: string,
  params: Upstream.Json,
  mcp: Mcp,
  env: Handlers.Env,
  context?: RequestContext
): Effect.Effect<Upstream.Json, JsonRpc.JsonRpcError> =>
  Effect.mapError(
    Effect.flatMap(
      instance(gateway, upstream, mcp, env),
      (i) => relay(gateway.parking, i, method, params, mcp, context)
    ),
    toRpcError
  )

const withoutStructured = (definition: Upstream.Json, version: string): Upstream.Json => {
  if (definition.outputSchema === undefined || ProtocolVersion.hasStructuredOutput(version)) return definition
  const { outputSchema: _, ...rest } = definition
  return rest
}

const listOf = (
  cell: Cell,
  spec: McpMethod.McpMethod<typeof McpSchema.PaginatedParams.Type>,
  kind: Catalog.Kind,
  key: (item: Upstream.Json) => string,
  own: (env: Handlers.Env, version: string) => ReadonlyArray<Upstream.Json>,
  shape: (item: Upstream.Json, version: string) => Upstream.Json = (item) => item
): Handlers.Entry =>
  Handlers.handle(spec, (params, context, _mcp, env) =>
    Effect.suspend(() => {
      const gateway = cell.state!
      const version = context.protocolVersion
      const mine = own(env, version)
      const proxied = gateway.view.lists[kind]
      // A local item shadows a proxied one of the same name (the local registry may grow after the gateway starts).
      const names = mine.length === 0 ? undefined : new Set(mine.map(key))
      const items = [
        ...mine,
        ...(names === undefined ? proxied : proxied.filter((item) => !names.has(key(item)))).map((item) =>
          shape(item, version)
        )
      ]
      const page = paginate(items, key, kind, params.cursor, env.server.pageSize)
      if (Either.isLeft(page)) return Effect.fail(page.left)
      return Effect.succeed(
        page.right.nextCursor === undefined
          ? { [kind]: page.right.page }
          : { [kind]: page.right.page, nextCursor: page.right.nextCursor }
      )
    }))

const unknownName = (what: string, name: string) =>
  Effect.fail(new JsonRpc.InvalidParams({ message: `Unknown ${what}: ${name}`, data: { name } }))

/**
 * The gateway's handler table, reading its state from `cell`.
 *
 * @since 0.2.0
 * @category handlers
 */
export const table = (cell: Cell): Handlers.Handlers => [
  Handlers.handle(McpMethod.ping, () => Effect.succeed({})),
  Handlers.handle(McpMethod.discover, (_params, _context, _mcp, env) =>
    Effect.sync(() => ({
      supportedVersions: ProtocolVersion.MODERN,
      capabilities: env.server.capabilities,
      ...(env.server.instructions === undefined ? {} : { instructions: env.server.instructions })
    }))),
  Handlers.handle(McpMethod.setLevel, (params, _context, mcp, env) =>
    Effect.gen(function*() {
      // The front filters log messages by this session's level; upstreams are told too (a shared upstream: last
      // level set wins; a per-session one only when this session already has its instance).
      env.session.logLevel = params.level
      const gateway = cell.state!
      const targets = gateway.entries.filter((entry) => entry.declared?.capabilities.logging !== undefined)
      yield* Effect.forEach(targets, (entry) =>
        Effect.flatMap(
          Instances.existing(entry.pool, entry.config.isolation === "per-session" ? keyOf(mcp, env) : undefined),
          (target) =>
            target === undefined
              ? Effect.void
              : Effect.ignore(relay(gateway.parking, target, "logging/setLevel", { level: params.level }, mcp))
        ), { concurrency: "unbounded", discard: true })
      return {}
    })),
  listOf(
    cell,
    McpMethod.listTools,
    "tools",
    (t) => String(t.name),
    (env, version) =>
      [...env.server.currentRegistry().tools.values()].map((tool) =>
        withoutStructured(tool.definition as unknown as Upstream.Json, version)
      ),
    withoutStructured
  ),
  Handlers.handle(McpMethod.callTool, (params, context, mcp, env, sink) => {
    if (env.server.currentRegistry().tools.has(params.name)) return local.callTool(params, context, mcp, env, sink)
    const gateway = cell.state!
    const route = gateway.view.tools.get(params.name)
    if (route === undefined) return unknownName("tool", params.name)
    const forwarded = params.arguments === undefined
      ? { name: route.name }
      : { name: route.name, arguments: params.arguments }
    return Effect.flatMap(
      instance(gateway, route.upstream, mcp, env),
      (i) => relay(gateway.parking, i, "tools/call", forwarded, mcp, context)
    )
      .pipe(
        Effect.map((result): Result => {
          const rewrite = gateway.view.rewrites.get(route.upstream)
          let out = unframed(result)
          if (out.structuredContent !== undefined && !ProtocolVersion.hasStructuredOutput(context.protocolVersion)) {
            const { structuredContent: _, ...rest } = out
            out = rest
          }
          const content = rewriteList(rewrite, out.content, (block) => rewriteBlock(rewrite, block))
          return content === out.content ? out : { ...out, content }
        }),
        Effect.catchAll((error) =>
          error._tag === "UpstreamRpcError"
            ? Effect.fail(passThrough(error.error))
            : Effect.succeed({ content: [{ type: "text", text: error.message }], isError: true })
        )
      )
  }),
  listOf(
    cell,
    McpMethod.listPrompts,
    "prompts",
    (p) => String(p.name),
    (env) => [...env.server.currentRegistry().prompts.values()].map((p) => p.definition as unknown as Upstream.Json)
  ),
  Handlers.handle(McpMethod.getPrompt, (params, context, mcp, env, sink) => {
    if (env.server.currentRegistry().prompts.has(params.name)) return local.getPrompt(params, context, mcp, env, sink)
    const gateway = cell.state!
    const route = gateway.view.prompts.get(params.name)
    if (route === undefined) return unknownName("prompt", params.name)
    const forwarded = params.arguments === undefined
      ? { name: route.name }
      : { name: route.name, arguments: params.arguments }
    return Effect.map(routed(gateway, route.upstream, "prompts/get", forwarded, mcp, env, context), unframed)
  }),
  listOf(
    cell,
    McpMethod.listResources,
    "resources",
    (r) => String(r.uri),
    (env) => [...env.server.currentRegistry().resources.values()].map((r) => r.definition as unknown as Upstream.Json)
  ),
  listOf(
    cell,
    McpMethod.listResourceTemplates,
    "resourceTemplates",
    (t) => String(t.uriTemplate),
    (env) => env.server.currentRegistry().templates.map((t) => t.definition as unknown as Upstream.Json)
  ),
  Handlers.handle(McpMethod.readResource, (params, context, mcp, env, sink) => {
    const registry = env.server.currentRegistry()
    if (registry.resources.has(params.uri) || registry.templates.some((t) => t.match(params.uri) !== undefined)) {
      return local.readResource(params, context, mcp, env, sink)
    }
    const gateway = cell.state!
    const route = routeUri(gateway.view, params.uri)
    if (route === undefined) return local.readResource(params, context, mcp, env, sink)
    const rewrite = gateway.view.rewrites.get(route.upstream)
    return Effect.map(
      routed(gateway, route.upstream, "resources/read", { uri: route.name }, mcp, env, context),
      (result) => {
        const out = unframed(result)
        const contents = rewriteList(
          rewrite,
          out.contents,
          (c) =>
            typeof c === "object" && c !== null && typeof (c as Upstream.Json).uri === "string"
              ? { ...(c as Upstream.Json), uri: Names.frontUri(rewrite, (c as Upstream.Json).uri as string) }
              : c
        )
        return contents === out.contents ? out : { ...out, contents }
      }
    )
  }),
  Handlers.handle(McpMethod.subscribe, (params, context, mcp, env, sink) =>
    Effect.gen(function*() {
      const gateway = cell.state!
      const route = routeUri(gateway.view, params.uri)
      if (route !== undefined) {
        yield* routed(gateway, route.upstream, "resources/subscribe", { uri: route.name }, mcp, env)
      }
      return yield* local.subscribe(params, context, mcp, env, sink)
    })),
  Handlers.handle(McpMethod.unsubscribe, (params, context, mcp, env, sink) =>
    Effect.gen(function*() {
      // The upstream is told only for a per-session instance (a shared one may still serve other subscribers; its
      // updates for nobody are dropped by the hub).
      const gateway = cell.state!
      const route = routeUri(gateway.view, params.uri)
      if (route !== undefined && gateway.byName.get(route.upstream)?.config.isolation === "per-session") {
        yield* Effect.ignore(routed(gateway, route.upstream, "resources/unsubscribe", { uri: route.name }, mcp, env))
      }
      return yield* local.unsubscribe(params, context, mcp, env, sink)
    })),
  Handlers.handle(McpMethod.listen, (params, context, mcp, env, sink) =>
    Effect.gen(function*() {
      const gateway = cell.state!
      for (const uri of params.notifications.resourceSubscriptions ?? []) {
        const route = routeUri(gateway.view, uri)
        if (route === undefined) continue
        yield* Effect.ignore(routed(gateway, route.upstream, "resources/subscribe", { uri: route.name }, mcp, env))
      }
      return yield* local.listen(params, context, mcp, env, sink)
    })),
  Handlers.handle(McpMethod.complete, (params, context, mcp, env, sink) => {
    const registry = env.server.currentRegistry()
    const gateway = cell.state!
    const ref = params.ref
    const forward = (route: Catalog.Route | undefined, ownRef: Upstream.Json) =>
      route === undefined
        ? local.complete(params, context, mcp, env, sink)
        : Effect.map(
          routed(
            gateway,
            route.upstream,
            "completion/complete",
            {
              ref: ownRef,
              argument: params.argument,
              ...(params.context === undefined ? {} : { context: params.context })
            },
            mcp,
            env
          ),
          unframed
        )
    if (ref.type === "ref/prompt") {
      if (registry.prompts.has(ref.name)) return local.complete(params, context, mcp, env, sink)
      const route = gateway.view.prompts.get(ref.name)
      return forward(route, { type: "ref/prompt", name: route?.name ?? ref.name })
    }
    if (registry.resources.has(ref.uri) || registry.templates.some((t) => t.definition.uriTemplate === ref.uri)) {
      return local.complete(params, context, mcp, env, sink)
    }
    const route = gateway.view.templates.get(ref.uri) ?? gateway.view.resources.get(ref.uri)
    return forward(route, { type: "ref/resource", uri: route?.name ?? ref.uri })
  })
]
