/**
 * The MCP request methods as data: per method its params Schema and, where one is worth having, a hand-written
 * fast check of the usual shape; the eras that have it; whether its result is cacheable (modern `ttlMs`), whether it
 * is long-lived (no request timeout), whether it may answer `input_required` (modern multi round-trip), and which
 * param the modern `Mcp-Name` header must repeat. The request engine, the HTTP header checks and the tests read
 * this table; no other list of request methods exists.
 *
 * A fast check claims to accept a subset of what its Schema decodes, to the same value (for the Schema's fields);
 * The project's property tests check that claim with generated inputs.
 *
 * @since 0.1.0
 */
import { Predicate } from "effect"
import type { Schema } from "effect"
import * as McpSchema from "./McpSchema.js"

/**
 * @since 0.1.0
 * @category models
 */
export type Eras = "legacy" | "modern" | "both"

/**
 * @since 0.1.0
 * @category models
 */
export interface McpMethod<A = unknown> {
  readonly name: string
  readonly eras: Eras
  readonly params: Schema.Schema<A, any, never>
  /** The usual shape checked by hand, returning the params as decoded; undefined when the Schema must decide. */
  readonly fast: ((params: unknown) => A | undefined) | undefined
  /** Modern results carry `ttlMs`/`cacheScope`. */
  readonly cacheable: boolean
  /** Runs until the client or the server ends it (`subscriptions/listen`): no request timeout applies. */
  readonly longLived: boolean
  /** May answer `input_required` (modern multi round-trip requests). */
  readonly roundTrip: boolean
  /** The param the modern `Mcp-Name` header repeats. */
  readonly nameParam: "name" | "uri" | undefined
}

const define = <A, I>(
  name: string,
  params: Schema.Schema<A, I, never>,
  eras: Eras,
  options: {
    readonly fast?: (params: unknown) => A | undefined
    readonly cacheable?: boolean
    readonly longLived?: boolean
    readonly roundTrip?: boolean
    readonly nameParam?: "name" | "uri"
  } = {}
): McpMethod<A> => ({
  name,
  eras,
  params,
  fast: options.fast,
  cacheable: options.cacheable ?? false,
  longLived: options.longLived ?? false,
  roundTrip: options.roundTrip ?? false,
  nameParam: options.nameParam
})

/**
 * tools/call params of the usual shape: a string name, object arguments (plain JSON: no prototype other than
 * Object's), and an object `_meta` if any. Everything else goes to the Schema.
 *
 * @since 0.1.0
 * @category fast checks
 */
export const plainCallToolParams = (params: unknown): typeof McpSchema.CallToolParams.Type | undefined => {
  if (!Predicate.isRecord(params) || typeof params.name !== "string") return undefined
  const args = params.arguments
  // An own "__proto__" key (JSON.parse makes one) is dropped by the Schema: let the Schema have it.
  if (args !== undefined && (!Predicate.isRecord(args) || Object.hasOwn(args, "__proto__"))) return undefined
  const meta = params._meta
  if (meta !== undefined && (!Predicate.isRecord(meta) || Object.hasOwn(meta, "__proto__"))) return undefined
  return params as typeof McpSchema.CallToolParams.Type
}

const CAPABILITY_OBJECTS = ["experimental", "sampling", "elicitation", "tasks", "extensions"] as const
const PLAIN_CLIENT_INFO = new Set(["name", "version", "title"])

/**
 * The usual modern `_meta`, checked by hand (the Schema decode is the slow path, kept for anything unusual and for
 * its error messages): capabilities whose known entries are objects, client info of plain strings, a known log
 * level, a string or number progress token. Undefined when the Schema must decide.
 *
 * @since 0.1.0
 * @category fast checks
 */
export const plainModernMeta = (meta: Record<string, unknown>): {
  readonly clientCapabilities: McpSchema.ClientCapabilities
  readonly clientInfo: McpSchema.Implementation | undefined
  readonly logLevel: McpSchema.LoggingLevel | undefined
  readonly progressToken: McpSchema.ProgressToken | undefined
} | undefined => {
  const capabilities = meta[McpSchema.MODERN_META.clientCapabilities]
  // Own "__proto__" keys (JSON.parse makes them) are dropped by the Schema's records: the Schema decides those.
  if (!Predicate.isRecord(capabilities) || Object.hasOwn(capabilities, "__proto__")) return undefined
  for (const key of CAPABILITY_OBJECTS) {
    const value = capabilities[key]
    if (value !== undefined && (!Predicate.isRecord(value) || Object.hasOwn(value, "__proto__"))) return undefined
  }
  const roots = capabilities.roots
  if (roots !== undefined) {
    if (!Predicate.isRecord(roots)) return undefined
    for (const key in roots) if (key !== "listChanged") return undefined
    if (Object.hasOwn(roots, "__proto__")) return undefined
    if (roots.listChanged !== undefined && typeof roots.listChanged !== "boolean") return undefined
  }
  const info = meta[McpSchema.MODERN_META.clientInfo]
  if (info !== undefined) {
    if (!Predicate.isRecord(info) || typeof info.name !== "string" || typeof info.version !== "string") return undefined
    for (const key in info) if (!PLAIN_CLIENT_INFO.has(key) || typeof info[key] !== "string") return undefined
  }
  const level = meta[McpSchema.MODERN_META.logLevel]
  if (level !== undefined && !(typeof level === "string" && Object.hasOwn(McpSchema.loggingLevelRank, level))) {
    return undefined
  }
  const token = meta.progressToken
  if (token !== undefined && typeof token !== "string" && typeof token !== "number") return undefined
  return {
    clientCapabilities: capabilities as McpSchema.ClientCapabilities,
    clientInfo: info as McpSchema.Implementation | undefined,
    logLevel: level as McpSchema.LoggingLevel | undefined,
    progressToken: token as McpSchema.ProgressToken | undefined
  }
}

/**
 * @since 0.1.0
 * @category methods
 */
export const initialize = define("initialize", McpSchema.InitializeParams, "legacy")
/**
 * @since 0.1.0
 * @category methods
 */
export const ping = define("ping", McpSchema.EmptyParams, "legacy")
/**
 * @since 0.1.0
 * @category methods
 */
export const setLevel = define("logging/setLevel", McpSchema.SetLevelParams, "legacy")
/**
 * @since 0.1.0
 * @category methods
 */
export const discover = define("server/discover", McpSchema.EmptyParams, "modern", { cacheable: true })
/**
 * @since 0.1.0
 * @category methods
 */
export const listTools = define("tools/list", McpSchema.PaginatedParams, "both", { cacheable: true })
/**
 * @since 0.1.0
 * @category methods
 */
export const callTool = define("tools/call", McpSchema.CallToolParams, "both", {
  fast: plainCallToolParams,
  roundTrip: true,
  nameParam: "name"
})
/**
 * @since 0.1.0
 * @category methods
 */
export const listResources = define("resources/list", McpSchema.PaginatedParams, "both", { cacheable: true })
/**
 * @since 0.1.0
 * @category methods
 */
export const listResourceTemplates = define("resources/templates/list", McpSchema.PaginatedParams, "both", {
  cacheable: true
})
/**
 * @since 0.1.0
 * @category methods
 */
export const readResource = define("resources/read", McpSchema.ReadResourceParams, "both", {
  cacheable: true,
  roundTrip: true,
  nameParam: "uri"
})
/**
 * @since 0.1.0
 * @category methods
 */
export const listPrompts = define("prompts/list", McpSchema.PaginatedParams, "both", { cacheable: true })
/**
 * @since 0.1.0
 * @category methods
 */
export const getPrompt = define("prompts/get", McpSchema.GetPromptParams, "both", {
  roundTrip: true,
  nameParam: "name"
})
/**
 * @since 0.1.0
 * @category methods
 */
export const subscribe = define("resources/subscribe", McpSchema.SubscribeParams, "legacy")
/**
 * @since 0.1.0
 * @category methods
 */
export const unsubscribe = define("resources/unsubscribe", McpSchema.SubscribeParams, "legacy")
/**
 * @since 0.1.0
 * @category methods
 */
export const listen = define("subscriptions/listen", McpSchema.ListenParams, "modern", { longLived: true })
/**
 * @since 0.1.0
 * @category methods
 */
export const complete = define("completion/complete", McpSchema.CompleteParams, "both")

/**
 * Every request method a client may send.
 *
 * @since 0.1.0
 * @category methods
 */
export const all: ReadonlyArray<McpMethod> = [
  initialize,
  ping,
  setLevel,
  discover,
  listTools,
  callTool,
  listResources,
  listResourceTemplates,
  readResource,
  listPrompts,
  getPrompt,
  subscribe,
  unsubscribe,
  listen,
  complete
] as ReadonlyArray<McpMethod>

const byName: ReadonlyMap<string, McpMethod> = new Map(all.map((method) => [method.name, method]))

/**
 * The method of that name, if MCP has one. Typed `unknown`: anything a client sends can be looked up.
 *
 * @since 0.1.0
 * @category lookups
 */
export const get = (name: unknown): McpMethod | undefined => (typeof name === "string" ? byName.get(name) : undefined)

/**
 * The param the modern `Mcp-Name` header repeats for this method, if any.
 *
 * @since 0.1.0
 * @category lookups
 */
export const nameParamOf = (name: unknown): "name" | "uri" | undefined => get(name)?.nameParam
