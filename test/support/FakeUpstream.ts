/**
 * A scripted, in-process upstream for the gateway's tests: implements `Upstream.Upstream` from a spec (tools with
 * their behaviour, prompts, resources, templates, paginated lists), records every request, counts instances opened
 * and closed, and lets a test change its state or lists and emit notifications. Deterministic: no process, no socket.
 */
import type { Scope } from "effect"
import { Effect } from "effect"
import type * as Gateway from "../../src/gateway/Gateway.js"
import * as Upstream from "../../src/gateway/Upstream.js"

type Json = Upstream.Json
type Failure = Upstream.UpstreamError | Upstream.UpstreamRpcError

export interface ToolSpec {
  readonly name: string
  readonly description?: string
  readonly call?: (args: Json, hooks: Upstream.Hooks, instance: FakeInstance) => Effect.Effect<Json, Failure>
}

export interface Spec {
  tools?: ReadonlyArray<ToolSpec>
  prompts?: ReadonlyArray<{ readonly name: string }>
  resources?: ReadonlyArray<{ readonly uri: string; readonly name: string; readonly text?: string }>
  templates?: ReadonlyArray<{ readonly uriTemplate: string; readonly name: string }>
  readonly instructions?: string
  readonly capabilities?: Json
  /** Items per page of each list (default: all on one page). */
  readonly pageSize?: number
  /** Starts Down with this reason. */
  readonly down?: string
  /** The era it declares (default legacy). */
  readonly era?: "modern" | "legacy"
}

export interface FakeInstance {
  readonly name: string
  readonly key: number
  readonly events: Upstream.Events
  readonly requests: Array<{ readonly method: string; readonly params: Json | undefined }>
  readonly interrupted: Array<string>
  setState: (state: Upstream.State) => Effect.Effect<void>
  closed: boolean
}

const echo: ToolSpec["call"] = (args) => Effect.succeed({ content: [{ type: "text", text: JSON.stringify(args) }] })

export const make = (specs: Record<string, Spec>) => {
  const instances: Array<FakeInstance> = []
  const declared = (name: string, spec: Spec): Upstream.Declared => ({
    era: spec.era ?? "legacy",
    protocolVersion: spec.era === "modern" ? "2026-07-28" : "2025-06-18",
    serverInfo: { name, version: "1.0.0" },
    capabilities: spec.capabilities ?? {
      ...(spec.tools !== undefined ? { tools: { listChanged: true } } : {}),
      ...(spec.prompts !== undefined ? { prompts: {} } : {}),
      ...(spec.resources !== undefined || spec.templates !== undefined ? { resources: { subscribe: true } } : {}),
      completions: {},
      logging: {}
    },
    instructions: spec.instructions
  })

  const connect: Gateway.Connect = (config, events): Effect.Effect<Upstream.Upstream, never, Scope.Scope> =>
    Effect.gen(function*() {
      const spec = specs[config.name]!
      let state: Upstream.State = spec.down !== undefined
        ? { _tag: "Down", reason: spec.down, since: 0 }
        : { _tag: "Ready", declared: declared(config.name, spec) }
      let inFlight = 0
      const instance: FakeInstance = {
        name: config.name,
        key: instances.length,
        events,
        requests: [],
        interrupted: [],
        closed: false,
        setState: (next) =>
          Effect.suspend(() => {
            state = next
            return events.state(next)
          })
      }
      instances.push(instance)
      yield* Effect.addFinalizer(() => Effect.sync(() => (instance.closed = true)))
      const page = (kind: string, items: ReadonlyArray<Json>, params: Json | undefined): Json => {
        const size = spec.pageSize ?? 1000
        const start = typeof params?.cursor === "string" ? Number(params.cursor) : 0
        const end = start + size
        return end < items.length
          ? { [kind]: items.slice(start, end), nextCursor: String(end) }
          : { [kind]: items.slice(start) }
      }
      const rpc = (code: number, message: string) =>
        Effect.fail(new Upstream.UpstreamRpcError({ upstream: config.name, error: { code, message } }))
      const answer = (
        method: string,
        params: Json | undefined,
        hooks: Upstream.Hooks
      ): Effect.Effect<Json, Failure> => {
        switch (method) {
          case "tools/list":
            return Effect.succeed(page(
              "tools",
              (spec.tools ?? []).map((t) => ({
                name: t.name,
                ...(t.description === undefined ? {} : { description: t.description }),
                inputSchema: { type: "object" }
              })),
              params
            ))
          case "prompts/list":
            return Effect.succeed(page("prompts", (spec.prompts ?? []).map((p) => ({ ...p })), params))
          case "resources/list":
            return Effect.succeed(
              page("resources", (spec.resources ?? []).map(({ name, uri }) => ({ name, uri })), params)
            )
          case "resources/templates/list":
            return Effect.succeed(page("resourceTemplates", (spec.templates ?? []).map((t) => ({ ...t })), params))
          case "tools/call": {
            const tool = (spec.tools ?? []).find((t) => t.name === params?.name)
            if (tool === undefined) return rpc(-32602, `Unknown tool: ${String(params?.name)}`)
            return (tool.call ?? echo)((params?.arguments ?? {}) as Json, hooks, instance)
          }
          case "prompts/get": {
            if (!(spec.prompts ?? []).some((p) => p.name === params?.name)) return rpc(-32602, "Unknown prompt")
            return Effect.succeed({
              messages: [{ role: "user", content: { type: "text", text: `${config.name}:${String(params?.name)}` } }]
            })
          }
          case "resources/read": {
            const uri = String(params?.uri)
            const resource = (spec.resources ?? []).find((r) => r.uri === uri)
            return Effect.succeed({ contents: [{ uri, text: resource?.text ?? `${config.name} read ${uri}` }] })
          }
          case "completion/complete":
            return Effect.succeed({ completion: { values: [`${config.name}:${JSON.stringify(params?.ref)}`] } })
          default:
            return Effect.succeed({})
        }
      }
      return {
        name: config.name,
        config,
        state: () => state,
        ready: Effect.suspend(() =>
          state._tag === "Ready"
            ? Effect.succeed(state.declared)
            : Effect.fail(
              new Upstream.UpstreamError({
                upstream: config.name,
                reason: "unavailable",
                message: `Upstream "${config.name}" is down: ${state._tag === "Down" ? state.reason : "starting"}`
              })
            )
        ),
        request: (method, params, hooks) =>
          Effect.suspend(() => {
            instance.requests.push({ method, params })
            if (state._tag === "Down") {
              return Effect.fail(
                new Upstream.UpstreamError({ upstream: config.name, reason: "closed", message: "gone" })
              )
            }
            inFlight++
            return answer(method, params, hooks ?? {}).pipe(
              Effect.onInterrupt(() => Effect.sync(() => instance.interrupted.push(method))),
              Effect.ensuring(Effect.sync(() => inFlight--))
            )
          }),
        notify: () => Effect.void,
        inFlight: () => inFlight
      } satisfies Upstream.Upstream
    })

  return {
    connect,
    instances,
    /** Instances of `name` made so far, and how many of them are closed. */
    counts: (name: string) => {
      const mine = instances.filter((i) => i.name === name)
      return { opened: mine.length, closed: mine.filter((i) => i.closed).length }
    },
    shared: (name: string) => instances.find((i) => i.name === name)!
  }
}

/** A config for a fake upstream. */
export const config = (name: string, overrides: Partial<Upstream.Common> = {}): Upstream.Config => ({
  name,
  type: "stdio",
  command: "fake",
  args: [],
  env: {},
  cwd: undefined,
  isolation: "shared",
  maxSessions: 10,
  timeoutMillis: 60_000,
  maxInFlight: 10,
  ...overrides
})
