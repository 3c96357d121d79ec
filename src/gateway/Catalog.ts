/**
 * What each upstream serves (tools, prompts, resources, resource templates: every page, fetched when it becomes
 * Ready and again on its `list_changed`), and the front's view of all of them: items renamed (Names), routes from
 * a front name or URI back to the upstream and its own name, and the gateway's pagination (cursors name the last
 * item of the page, so a page boundary survives items added or removed elsewhere in the list).
 *
 * @since 0.2.0
 */
import { Effect, Either } from "effect"
import * as JsonRpc from "../protocol/JsonRpc.js"
import * as UriTemplate from "../server/UriTemplate.js"
import * as Names from "./Names.js"
import type * as Upstream from "./Upstream.js"

/**
 * @since 0.2.0
 * @category models
 */
export type Kind = "tools" | "prompts" | "resources" | "resourceTemplates"

/**
 * @since 0.2.0
 * @category models
 */
export type Lists = { readonly [K in Kind]: ReadonlyArray<Upstream.Json> }

/**
 * @since 0.2.0
 * @category constants
 */
export const empty: Lists = { tools: [], prompts: [], resources: [], resourceTemplates: [] }

const methods: Readonly<Record<Kind, string>> = {
  tools: "tools/list",
  prompts: "prompts/list",
  resources: "resources/list",
  resourceTemplates: "resources/templates/list"
}

/** At most this many pages per list (a server that never stops paging is cut off, with a warning). */
const MAX_PAGES = 100

const fetchList = (
  upstream: Upstream.Upstream,
  kind: Kind
): Effect.Effect<ReadonlyArray<Upstream.Json>, Upstream.UpstreamError | Upstream.UpstreamRpcError> =>
  Effect.gen(function*() {
    const items: Array<Upstream.Json> = []
    let cursor: string | undefined = undefined
    for (let page = 0; page < MAX_PAGES; page++) {
      const result: Upstream.Json = yield* upstream.request(methods[kind], cursor === undefined ? {} : { cursor })
      const list = result[kind]
      if (Array.isArray(list)) {
        for (const item of list) if (typeof item === "object" && item !== null) items.push(item as Upstream.Json)
      }
      cursor = typeof result.nextCursor === "string" && result.nextCursor !== "" ? result.nextCursor : undefined
      if (cursor === undefined) return items
    }
    yield* Effect.logWarning("Upstream list has more pages than the gateway reads; the rest is left out").pipe(
      Effect.annotateLogs({ upstream: upstream.name, method: methods[kind], pages: MAX_PAGES })
    )
    return items
  })

/**
 * Every list the upstream declared (by its capabilities), all pages. A list it fails to give is empty, with a
 * warning.
 *
 * @since 0.2.0
 * @category fetching
 */
export const fetch = (upstream: Upstream.Upstream, capabilities: Upstream.Json): Effect.Effect<Lists> => {
  const one = (kind: Kind, capability: string) =>
    capabilities[capability] === undefined ? Effect.succeed([]) : fetchList(upstream, kind).pipe(
      Effect.catchAll((error) =>
        Effect.as(
          Effect.logWarning("Cannot list an upstream's items").pipe(
            Effect.annotateLogs({ upstream: upstream.name, method: methods[kind], error: errorText(error) })
          ),
          []
        )
      )
    )
  return Effect.all({
    tools: one("tools", "tools"),
    prompts: one("prompts", "prompts"),
    resources: one("resources", "resources"),
    resourceTemplates: one("resourceTemplates", "resources")
  }, { concurrency: 4 })
}

/**
 * @since 0.2.0
 * @category errors
 */
export const errorText = (error: Upstream.UpstreamError | Upstream.UpstreamRpcError): string =>
  error._tag === "UpstreamError" ? error.message : `${error.error.code} ${error.error.message}`

/**
 * Where a front name or URI goes.
 *
 * @since 0.2.0
 * @category models
 */
export interface Route {
  readonly upstream: string
  /** The upstream's own name (tools, prompts) or URI (resources, templates). */
  readonly name: string
}

/**
 * The front's view of every upstream's catalog.
 *
 * @since 0.2.0
 * @category models
 */
export interface View {
  readonly lists: Lists
  readonly tools: ReadonlyMap<string, Route>
  readonly prompts: ReadonlyMap<string, Route>
  readonly resources: ReadonlyMap<string, Route>
  /** Front URI template -> route (the upstream's template). */
  readonly templates: ReadonlyMap<string, Route>
  /** Matchers of each upstream's templates, in order, against the upstream's own URIs. */
  readonly matchers: ReadonlyArray<{ readonly upstream: string; readonly template: UriTemplate.UriTemplate }>
  readonly rewrites: ReadonlyMap<string, Names.UriRewrite>
  /** Names claimed twice (the later item is left out of the view). */
  readonly collisions: ReadonlyArray<string>
}

const schemesOf = (lists: Lists): ReadonlySet<string> => {
  const schemes = new Set<string>()
  for (const r of lists.resources) if (typeof r.uri === "string") schemes.add(Names.schemeOf(r.uri) ?? "")
  for (const t of lists.resourceTemplates) {
    if (typeof t.uriTemplate === "string") schemes.add(Names.schemeOf(t.uriTemplate) ?? "")
  }
  schemes.delete("")
  return schemes
}

/**
 * Builds the view of the catalogs (in config order), the names `taken` (the gateway's own tools and prompts)
 * reserved first. Several upstreams: names prefixed and shared schemes rewritten; one: everything unchanged.
 *
 * @since 0.2.0
 * @category constructors
 */
export const view = (
  catalogs: ReadonlyArray<readonly [string, Lists]>,
  taken: { readonly tools: ReadonlyArray<string>; readonly prompts: ReadonlyArray<string> }
): View => {
  const prefixed = catalogs.length > 1
  const rewrites = prefixed
    ? Names.sharedSchemes(new Map(catalogs.map(([name, lists]) => [name, schemesOf(lists)])))
    : new Map<string, Names.UriRewrite>()
  const collisions: Array<string> = []
  const named = (kind: "tools" | "prompts", label: string) => {
    const routes = new Map<string, Route>()
    const items: Array<Upstream.Json> = []
    const owners = new Map<string, Names.Named>()
    for (const name of taken[kind]) owners.set(name, { origin: "the gateway's own", name, front: name })
    for (const [upstream, lists] of catalogs) {
      for (const item of lists[kind]) {
        if (typeof item.name !== "string") continue
        const front = Names.front(prefixed, upstream, item.name)
        const entry: Names.Named = { origin: `upstream "${upstream}"`, name: item.name, front }
        const first = owners.get(front)
        if (first !== undefined) {
          collisions.push(...Names.collisions(label, [first, entry]))
          continue
        }
        owners.set(front, entry)
        routes.set(front, { upstream, name: item.name })
        items.push(front === item.name ? item : { ...item, name: front })
      }
    }
    return { routes, items }
  }
  const tools = named("tools", "Tool")
  const prompts = named("prompts", "Prompt")
  const resources = new Map<string, Route>()
  const resourceItems: Array<Upstream.Json> = []
  const templates = new Map<string, Route>()
  const templateItems: Array<Upstream.Json> = []
  const matchers: Array<{ readonly upstream: string; readonly template: UriTemplate.UriTemplate }> = []
  for (const [upstream, lists] of catalogs) {
    const rewrite = rewrites.get(upstream)
    for (const item of lists.resources) {
      if (typeof item.uri !== "string") continue
      const front = Names.frontUri(rewrite, item.uri)
      if (resources.has(front)) {
        collisions.push(
          `Resource "${front}" is served by upstream "${resources.get(front)!.upstream}" and "${upstream}"`
        )
        continue
      }
      resources.set(front, { upstream, name: item.uri })
      resourceItems.push(front === item.uri ? item : { ...item, uri: front })
    }
    for (const item of lists.resourceTemplates) {
      if (typeof item.uriTemplate !== "string") continue
      const front = Names.frontUri(rewrite, item.uriTemplate)
      if (templates.has(front)) continue
      templates.set(front, { upstream, name: item.uriTemplate })
      templateItems.push(front === item.uriTemplate ? item : { ...item, uriTemplate: front })
      try {
        matchers.push({ upstream, template: UriTemplate.make(item.uriTemplate) })
      } catch {
        // A malformed template routes nothing by matching; it is still listed as the upstream gave it.
      }
    }
  }
  return {
    lists: { tools: tools.items, prompts: prompts.items, resources: resourceItems, resourceTemplates: templateItems },
    tools: tools.routes,
    prompts: prompts.routes,
    resources,
    templates,
    matchers,
    rewrites,
    collisions
  }
}

/**
 * The upstream and its own URI for a front URI: an exact resource of the catalog, else the upstream whose URI
 * prefix it carries, else the first upstream with a template that matches it.
 *
 * @since 0.2.0
 * @category routing
 */
export const routeUri = (view: View, uri: string): Route | undefined => {
  const exact = view.resources.get(uri)
  if (exact !== undefined) return exact
  for (const [upstream, rewrite] of view.rewrites) {
    const own = Names.upstreamUri(rewrite, uri)
    if (own !== undefined) return { upstream, name: own }
  }
  for (const { template, upstream } of view.matchers) {
    if (template.match(uri) !== undefined) {
      const rewrite = view.rewrites.get(upstream)
      const scheme = Names.schemeOf(uri)
      // A URI of a rewritten scheme without this upstream's prefix belongs to another upstream.
      if (rewrite !== undefined && scheme !== undefined && rewrite.schemes.has(scheme)) continue
      return { upstream, name: uri }
    }
  }
  return undefined
}

/**
 * One page of `items`, after the item the cursor names (`key` reads an item's name). Cursors are
 * `base64url(kind:name)`; a cursor naming an item no longer listed is -32602 (the client starts over).
 *
 * @since 0.2.0
 * @category pagination
 */
export const paginate = <A>(
  items: ReadonlyArray<A>,
  key: (item: A) => string,
  kind: string,
  cursor: string | undefined,
  pageSize: number
): Either.Either<
  { readonly page: ReadonlyArray<A>; readonly nextCursor: string | undefined },
  JsonRpc.InvalidParams
> => {
  let start = 0
  if (cursor !== undefined) {
    const decoded = Buffer.from(cursor, "base64url").toString("utf8")
    const at = decoded.startsWith(`${kind}:`)
      ? items.findIndex((item) => key(item) === decoded.slice(kind.length + 1))
      : -1
    if (at < 0 || Buffer.from(decoded).toString("base64url") !== cursor) {
      return Either.left(
        new JsonRpc.InvalidParams({
          message: "Invalid params: cursor is not a cursor this server issued (or its item is gone)"
        })
      )
    }
    start = at + 1
  }
  const page = items.slice(start, start + pageSize)
  const last = page[page.length - 1]
  return Either.right({
    page,
    nextCursor: start + pageSize < items.length && last !== undefined
      ? Buffer.from(`${kind}:${key(last)}`).toString("base64url")
      : undefined
  })
}
