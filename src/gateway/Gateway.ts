/**
 * Gateway mode: this server in front of other MCP servers. `layer({ upstreams, connect })` is an `McpServer` whose
 * handler table (Routing) answers from the upstreams, with the server's own registry mixed in, so an app adds its
 * own tools to proxied ones:
 *
 * ```ts
 * const App = McpServer.tool(myTool).pipe(
 *   Layer.provideMerge(Gateway.layer({ upstreams, connect: Upstreams.make, server: { name: "app", version: "1.0.0" } }))
 * )
 * ```
 *
 * At start every upstream is connected (its shared instance), waited for (each at most its `timeoutMillis`) and its
 * lists fetched; a name claimed twice stops the start with a `GatewayError` naming both owners. An upstream down at
 * start is served when it comes up. Each upstream's lists are fetched again on its `list_changed` and whenever it
 * becomes Ready again (a restarted child), coalesced by one refresh fiber per upstream, and a change is published
 * as `list_changed` to the front. `initialize` and `server/discover` declare the union of what the upstreams
 * declared; `/ready` shows each upstream's state (`Readiness`).
 *
 * @since 0.2.0
 */
import type { Scope } from "effect"
import { Context, Data, Effect, FiberSet, Layer, LogLevel, Queue } from "effect"
import * as Routes from "../http/Routes.js"
import type * as JsonRpc from "../protocol/JsonRpc.js"
import * as McpServer from "../server/McpServer.js"
import * as Notifications from "../server/Notifications.js"
import { VERSION } from "../Version.js"
import * as Catalog from "./Catalog.js"
import * as Instances from "./Instances.js"
import * as Intercepted from "./Intercepted.js"
import * as Names from "./Names.js"
import * as Parking from "./Parking.js"
import * as Report from "./Report.js"
import * as Routing from "./Routing.js"
import * as Tape from "./Tape.js"
import type * as Upstream from "./Upstream.js"

export type {
  /**
   * @since 0.2.0
   * @category models
   */
  Connect
} from "./Instances.js"

/**
 * The gateway could not start (names claimed twice, a tape that cannot be written).
 *
 * @since 0.2.0
 * @category errors
 */
export class GatewayError extends Data.TaggedError("GatewayError")<{ readonly message: string }> {}

/**
 * @since 0.2.0
 * @category models
 */
export interface Options {
  readonly upstreams: ReadonlyArray<Upstream.Config>
  readonly connect: Instances.Connect
  /** The front server's identity and tunables (its handlers are the gateway's). */
  readonly server?: Omit<McpServer.Options, "handlers">
  /** Writes every message to and from the upstreams to this file as JSON lines (see Tape). */
  readonly record?: string
  /** Interceptor chains per upstream name, on the messages to and from it (see Intercepted). */
  readonly interceptors?: Intercepted.Chains
}

/**
 * One configured upstream as the gateway keeps it.
 *
 * @since 0.2.0
 * @category models
 */
export interface Entry {
  readonly config: Upstream.Config
  readonly pool: Instances.Pool
  lists: Catalog.Lists
  declared: Upstream.Declared | undefined
  started: boolean
  readonly wake: Queue.Queue<void>
}

/**
 * The gateway's state, read by its handlers.
 *
 * @since 0.2.0
 * @category models
 */
export interface State {
  readonly entries: ReadonlyArray<Entry>
  readonly byName: ReadonlyMap<string, Entry>
  view: Catalog.View
  readonly server: McpServer.McpServer["Type"]
  /** Forks a fiber the gateway's Scope owns (session ends, refreshes). */
  readonly run: (effect: Effect.Effect<void>) => void
  /** Front session keys -> the per-session upstreams that made an instance for it. */
  readonly endSession: (key: string) => void
  /** Upstream requests of modern front requests, parked while their clients answer a question. */
  readonly parking: Parking.Parking
  /**
   * Front legacy sessions that have per-session upstreams, by key: how to ask their client (`Env.askSession`), for
   * what such an upstream asks outside any call (`roots/list` at its start, say). Removed when the session ends.
   */
  readonly askers: Map<string, Asker>
}

/**
 * Asks one front session's client.
 *
 * @since 0.2.0
 * @category models
 */
export type Asker = (
  method: string,
  params: Upstream.Json | undefined
) => Effect.Effect<Upstream.Json, JsonRpc.ErrorObject>

/**
 * The gateway in context: each upstream's state, for `/ready` and observation.
 *
 * @since 0.2.0
 * @category tags
 */
export class Gateway extends Context.Tag("effect-mcp-server/Gateway")<Gateway, {
  readonly status: () => Record<string, Report.Status>
}>() {}

const LEVELS: Record<string, LogLevel.LogLevel> = {
  debug: LogLevel.Debug,
  info: LogLevel.Info,
  notice: LogLevel.Info,
  warning: LogLevel.Warning
}

/** What an upstream sends outside a request, for one of its instances. */
const eventsFor = (state: () => State, name: string, key: string): Upstream.Events => ({
  notification: (method, params) =>
    Effect.suspend(() => {
      const gateway = state()
      const entry = gateway.byName.get(name)
      if (entry === undefined) return Effect.void
      if (method.endsWith("/list_changed") && method !== "notifications/roots/list_changed") {
        return Queue.offer(entry.wake, undefined)
      }
      if (method === "notifications/resources/updated" && typeof params?.uri === "string") {
        const uri = Names.frontUri(gateway.view.rewrites.get(name), params.uri)
        return Effect.asVoid(gateway.server.resourceUpdated(uri))
      }
      if (method === "notifications/message") {
        const level = LEVELS[String(params?.level)] ?? LogLevel.Error
        return Effect.logWithLevel(level, "Upstream log message").pipe(
          Effect.annotateLogs({ upstream: name, session: key, logger: params?.logger, data: params?.data })
        )
      }
      return Effect.logDebug("Upstream notification not relayed").pipe(Effect.annotateLogs({ upstream: name, method }))
    }),
  // Outside any call: a per-session upstream's front legacy session is asked on its own stream; a shared upstream
  // has no one front client to ask.
  request: (method, params) =>
    Effect.suspend(() => {
      const ask = state().askers.get(key)
      return ask !== undefined ? ask(method, params) : Effect.fail({
        code: -32601,
        message: key === "shared"
          ? `The gateway has no front request to relay ${method} to (it relays requests made during a call)`
          : `The gateway has no front session stream to relay ${method} to`
      })
    }),
  state: (next) =>
    Effect.suspend(() => {
      const entry = state().byName.get(name)
      if (entry === undefined) return Effect.void
      return Effect.zipRight(
        Effect.logInfo("Upstream state").pipe(
          Effect.annotateLogs({
            upstream: name,
            session: key,
            state: next._tag,
            ...("reason" in next ? { reason: next.reason } : {})
          })
        ),
        next._tag === "Ready" && key === "shared" && entry.started ? Queue.offer(entry.wake, undefined) : Effect.void
      )
    })
})

/** How long an upstream request waits for its modern client to come back with an answer (its own timeout, too). */
const PARK_MILLIS = 10 * 60_000
/** Upstream requests waiting for their modern clients at once. */
const MAX_PARKED = 1_000

const sameList = (a: ReadonlyArray<unknown>, b: ReadonlyArray<unknown>) =>
  a.length === b.length && JSON.stringify(a) === JSON.stringify(b)

const rebuild = (gateway: State): ReadonlyArray<Notifications.ListKind> => {
  const registry = gateway.server.currentRegistry()
  const before = gateway.view.lists
  gateway.view = Catalog.view(
    gateway.entries.map((entry) => [entry.config.name, entry.lists] as const),
    { tools: [...registry.tools.keys()], prompts: [...registry.prompts.keys()] }
  )
  const after = gateway.view.lists
  const changed: Array<Notifications.ListKind> = []
  if (!sameList(before.tools, after.tools)) changed.push("tools")
  if (!sameList(before.prompts, after.prompts)) changed.push("prompts")
  if (!sameList(before.resources, after.resources) || !sameList(before.resourceTemplates, after.resourceTemplates)) {
    changed.push("resources")
  }
  return changed
}

/** Waits for the upstream and fetches its lists (empty while it is down). */
const load = (entry: Entry): Effect.Effect<void> =>
  Effect.matchEffect(entry.pool.shared.upstream.ready, {
    onFailure: (error) =>
      Effect.logWarning("Upstream not ready; its tools, prompts and resources are listed once it is").pipe(
        Effect.annotateLogs({ upstream: entry.config.name, error: error.message })
      ),
    onSuccess: (declared) =>
      Effect.map(Catalog.fetch(entry.pool.shared.upstream, declared.capabilities), (lists) => {
        entry.declared = declared
        entry.lists = lists
      })
  })

/** One upstream's refresh fiber: each wake-up (coalesced) fetches its lists again and tells the front. */
const refresher = (gateway: State, entry: Entry): Effect.Effect<never> =>
  Effect.forever(Effect.gen(function*() {
    yield* Queue.take(entry.wake)
    yield* load(entry)
    const changed = rebuild(gateway)
    for (const message of gateway.view.collisions) {
      yield* Effect.logError("Upstream item left out: name collision").pipe(Effect.annotateLogs({ collision: message }))
    }
    for (const kind of changed) yield* gateway.server.listChanged(kind)
  }))

/**
 * Starts the gateway over a server (its handler table must be `Routing.table` of the same cell): connects every
 * upstream, fetches the catalogs, checks names, forks the refreshers.
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = (
  options: Options,
  server: McpServer.McpServer["Type"],
  cell: Routing.Cell
): Effect.Effect<State, GatewayError, Scope.Scope> =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const fibers = yield* FiberSet.make()
    const runFork = yield* FiberSet.runtime(fibers)<never>()
    const tape = options.record === undefined ? undefined : yield* Effect.mapError(
      Tape.open(options.record),
      (error) => new GatewayError({ message: error.message })
    )
    const connect = (key: string): Instances.Connect => {
      const recorded = tape === undefined ? options.connect : Tape.recording(options.connect, tape, key)
      return options.interceptors === undefined
        ? recorded
        : Intercepted.intercepting(recorded, options.interceptors, key)
    }
    const entries: Array<Entry> = []
    const byName = new Map<string, Entry>()
    const parking = yield* Parking.make({ ttlMillis: PARK_MILLIS, max: MAX_PARKED })
    const gateway: State = {
      entries,
      byName,
      parking,
      askers: new Map(),
      view: Catalog.view([], { tools: [], prompts: [] }),
      server,
      run: (effect) => {
        runFork(effect)
      },
      endSession: (key) => {
        gateway.askers.delete(key)
        for (const entry of entries) {
          if (entry.pool.sessions.has(key)) runFork(Instances.close(entry.pool, key))
        }
      }
    }
    cell.state = gateway
    const current = () => gateway
    const timing: Instances.Timing = { deadlines: server.deadlines, frontTimeoutMillis: server.requestTimeoutMillis }
    for (const config of options.upstreams) {
      const shared = yield* Instances.open(
        config,
        "shared",
        connect("shared"),
        eventsFor(current, config.name, "shared"),
        scope,
        timing
      )
      const pool: Instances.Pool = {
        config,
        shared,
        sessions: new Map(),
        open: (key) => Instances.open(config, key, connect(key), eventsFor(current, config.name, key), scope, timing)
      }
      const entry: Entry = {
        config,
        pool,
        lists: Catalog.empty,
        declared: undefined,
        started: false,
        wake: yield* Queue.dropping<void>(1)
      }
      entries.push(entry)
      byName.set(config.name, entry)
    }
    yield* Effect.forEach(entries, load, { concurrency: "unbounded", discard: true })
    rebuild(gateway)
    if (gateway.view.collisions.length > 0) {
      return yield* new GatewayError({
        message: `Gateway names collide: ${gateway.view.collisions.join("; ")}`
      })
    }
    for (const entry of entries) {
      entry.started = true
      yield* FiberSet.run(fibers, refresher(gateway, entry))
    }
    yield* Effect.logInfo("Gateway started").pipe(
      Effect.annotateLogs({
        upstreams: entries.map((e) => e.config.name).join(","),
        tools: gateway.view.lists.tools.length,
        prompts: gateway.view.lists.prompts.length,
        resources: gateway.view.lists.resources.length
      })
    )
    return gateway
  })

const over = (options: Options, cell: Routing.Cell) =>
  Layer.scopedContext(Effect.gen(function*() {
    const base = yield* McpServer.McpServer
    const gateway = yield* make(options, base, cell)
    // The same service, but what initialize and discover declare is read from the upstreams when asked.
    const server: McpServer.McpServer["Type"] = Object.defineProperties({ ...base }, {
      capabilities: { get: () => Report.capabilities(gateway), enumerable: true },
      instructions: { get: () => Report.instructions(gateway, base.instructions), enumerable: true }
    })
    const service = Gateway.of({ status: () => Report.status(gateway) })
    return Context.make(McpServer.McpServer, server).pipe(
      Context.add(Gateway, service),
      Context.add(Routes.Readiness, { detail: () => ({ upstreams: Report.status(gateway) }) })
    )
  }))

const build = (
  options: Options,
  base: (handlers: Routing.Table) => Layer.Layer<McpServer.McpServer>
): Layer.Layer<McpServer.McpServer | Gateway | Routes.Readiness, GatewayError> =>
  Layer.unwrapEffect(Effect.sync(() => {
    const cell: Routing.Cell = { state: undefined }
    return over(options, cell).pipe(Layer.provide(base(Routing.table(cell))))
  }))

const serverOptions = (options: Options) => ({ name: "effect-mcp-server-gateway", version: VERSION, ...options.server })

/**
 * The gateway as the app's `McpServer` (plus the `Gateway` service and the `/ready` detail).
 *
 * @since 0.2.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<McpServer.McpServer | Gateway | Routes.Readiness, GatewayError> =>
  build(options, (handlers) => McpServer.layer({ ...serverOptions(options), handlers }))

/**
 * `layer` with the server's tunables read from the settings (page size, timeouts: see `McpServer.layerConfig`).
 *
 * @since 0.2.0
 * @category layers
 */
export const layerConfig = (
  options: Options
): Layer.Layer<McpServer.McpServer | Gateway | Routes.Readiness, GatewayError> =>
  build(options, (handlers) => McpServer.layerConfig({ ...serverOptions(options), handlers }))
