/**
 * What the gateway says of its upstreams: the capabilities and instructions it declares (`initialize`,
 * `server/discover`), and each upstream's state (`/ready`, the `Gateway` service).
 *
 * @since 0.2.0
 */
import type * as Gateway from "./Gateway.js"
import type * as Upstream from "./Upstream.js"

const isObject = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/**
 * @since 0.2.0
 * @category models
 */
export interface Status {
  readonly state: Upstream.State["_tag"]
  readonly reason?: string
  readonly sessions: number
  readonly inFlight: number
}

const mergeInto = (target: Record<string, unknown>, source: Record<string, unknown>) => {
  for (const [key, value] of Object.entries(source)) {
    const existing = target[key]
    target[key] = isObject(existing) && isObject(value) ? { ...existing, ...value } : value
  }
}

/**
 * What the gateway declares: the union of the upstreams' capabilities (those Ready so far), the kinds the server's
 * own registry serves, `listChanged` on every list (the gateway relays changes), and logging (it forwards
 * `logging/setLevel`).
 *
 * @since 0.2.0
 * @category capabilities
 */
export const capabilities = (gateway: Gateway.State): Record<string, unknown> => {
  const result: Record<string, unknown> = { logging: {} }
  const registry = gateway.server.currentRegistry()
  if (registry.tools.size > 0) result.tools = {}
  if (registry.prompts.size > 0) result.prompts = {}
  if (registry.resources.size > 0 || registry.templates.length > 0) result.resources = {}
  if (registry.prompts.size > 0 || registry.templates.length > 0) result.completions = {}
  for (const entry of gateway.entries) if (entry.declared !== undefined) mergeInto(result, entry.declared.capabilities)
  for (const kind of ["tools", "prompts", "resources"]) {
    if (isObject(result[kind])) result[kind] = { ...(result[kind] as object), listChanged: true }
  }
  return result
}

/**
 * The instructions: the server's own, then each upstream's (prefixed with its name when there are several).
 *
 * @since 0.2.0
 * @category capabilities
 */
export const instructions = (gateway: Gateway.State, own: string | undefined): string | undefined => {
  const parts = own === undefined ? [] : [own]
  const several = gateway.entries.length > 1
  for (const entry of gateway.entries) {
    const text = entry.declared?.instructions
    if (text !== undefined && text !== "") parts.push(several ? `${entry.config.name}: ${text}` : text)
  }
  return parts.length === 0 ? undefined : parts.join("\n\n")
}

/**
 * Each upstream's state: its shared instance's, the per-session instances open and the requests in flight.
 *
 * @since 0.2.0
 * @category observation
 */
export const status = (gateway: Gateway.State): Record<string, Status> =>
  Object.fromEntries(gateway.entries.map((entry) => {
    const state = entry.pool.shared.upstream.state()
    return [entry.config.name, {
      state: state._tag,
      ...(state._tag === "Down" ? { reason: state.reason } : {}),
      sessions: entry.pool.sessions.size,
      inFlight: entry.pool.shared.upstream.inFlight()
    }]
  }))
