/**
 * Tapes: what passed between the gateway and its upstreams, as JSON lines, and a tape served back as a mock
 * upstream. A line is `{ "time", "direction", "session", "upstream", "message" }`: `direction` is `to-upstream`,
 * `from-upstream` or `state` (the upstream became Ready: `message` is what it declared); `session` is the front key
 * of the upstream instance (`shared`, `session:N`, `principal:SUBJECT`); `message` is a JSON-RPC message (request
 * ids numbered by the tape; the upstream client's own ids are its business). Recording writes each line
 * synchronously (a debugging aid, not a hot-path feature).
 *
 * Replay answers each request with the recorded answer of the same method and params (in recorded order when the
 * same request was recorded several times, the last one repeated), else the first recorded answer of the method,
 * else a -32601 error saying the tape has none. Notifications are not replayed.
 *
 * @since 0.2.0
 */
import type { Scope } from "effect"
import { Data, Effect } from "effect"
import * as Fs from "node:fs"
import * as GatewayConfig from "./GatewayConfig.js"
import type { Connect } from "./Instances.js"
import * as Upstream from "./Upstream.js"

/**
 * @since 0.2.0
 * @category errors
 */
export class TapeError extends Data.TaggedError("TapeError")<{ readonly message: string }> {}

/**
 * An open tape being written.
 *
 * @since 0.2.0
 * @category models
 */
export interface Writer {
  readonly write: (line: Line) => void
  readonly nextId: () => number
}

/**
 * @since 0.2.0
 * @category models
 */
export interface Line {
  readonly time: string
  readonly direction: "to-upstream" | "from-upstream" | "state"
  readonly session: string
  readonly upstream: string
  readonly message: Record<string, unknown>
}

/**
 * Opens (truncates) a tape for writing; closed with the Scope.
 *
 * @since 0.2.0
 * @category recording
 */
export const open = (file: string): Effect.Effect<Writer, TapeError, Scope.Scope> =>
  Effect.map(
    Effect.acquireRelease(
      Effect.try({
        try: () => Fs.openSync(file, "w"),
        catch: (error) => new TapeError({ message: `${file}: cannot open the tape for writing: ${String(error)}` })
      }),
      (fd) => Effect.sync(() => Fs.closeSync(fd))
    ),
    (fd) => {
      let id = 0
      return {
        write: (line) => {
          try {
            Fs.writeSync(fd, `${JSON.stringify(line)}\n`)
          } catch {
            // A full disk must not fail the traffic it records.
          }
        },
        nextId: () => ++id
      }
    }
  )

/**
 * A connector whose upstreams write every message to the tape.
 *
 * @since 0.2.0
 * @category recording
 */
export const recording = (connect: Connect, tape: Writer, session: string): Connect => (config, events) => {
  const line = (direction: Line["direction"], message: Record<string, unknown>) =>
    tape.write({ time: new Date().toISOString(), direction, session, upstream: config.name, message })
  const asked = (
    answer: (
      method: string,
      params: Upstream.Json | undefined
    ) => Effect.Effect<Upstream.Json, { code: number; message: string }>
  ) =>
  (method: string, params: Upstream.Json | undefined) => {
    const id = `u${tape.nextId()}`
    line("from-upstream", { jsonrpc: "2.0", id, method, ...(params === undefined ? {} : { params }) })
    return answer(method, params).pipe(
      Effect.tapBoth({
        onSuccess: (result) => Effect.sync(() => line("to-upstream", { jsonrpc: "2.0", id, result })),
        onFailure: (error) => Effect.sync(() => line("to-upstream", { jsonrpc: "2.0", id, error }))
      })
    )
  }
  const recorded: Upstream.Events = {
    notification: (method, params) =>
      Effect.zipRight(
        Effect.sync(() =>
          line("from-upstream", { jsonrpc: "2.0", method, ...(params === undefined ? {} : { params }) })
        ),
        events.notification(method, params)
      ),
    request: asked(events.request),
    state: (state) =>
      Effect.zipRight(
        Effect.sync(() => {
          if (state._tag === "Ready") line("state", { ...state.declared })
        }),
        events.state(state)
      )
  }
  return Effect.map(connect(config, recorded), (upstream): Upstream.Upstream => ({
    ...upstream,
    request: (method, params, hooks) =>
      Effect.suspend(() => {
        const id = tape.nextId()
        line("to-upstream", { jsonrpc: "2.0", id, method, ...(params === undefined ? {} : { params }) })
        const wrapped: Upstream.Hooks | undefined = hooks === undefined ? undefined : {
          ...hooks,
          ...(hooks.progress === undefined ? {} : {
            progress: (p) =>
              Effect.zipRight(
                Effect.sync(() =>
                  line("from-upstream", { jsonrpc: "2.0", method: "notifications/progress", params: p })
                ),
                hooks.progress!(p)
              )
          }),
          ...(hooks.notification === undefined ? {} : {
            notification: (m, p) =>
              Effect.zipRight(
                Effect.sync(() =>
                  line("from-upstream", { jsonrpc: "2.0", method: m, ...(p === undefined ? {} : { params: p }) })
                ),
                hooks.notification!(m, p)
              )
          }),
          ...(hooks.request === undefined ? {} : { request: asked(hooks.request) })
        }
        return upstream.request(method, params, wrapped).pipe(
          Effect.tapBoth({
            onSuccess: (result) => Effect.sync(() => line("from-upstream", { jsonrpc: "2.0", id, result })),
            onFailure: (error) =>
              Effect.sync(() =>
                line("from-upstream", {
                  jsonrpc: "2.0",
                  id,
                  error: error._tag === "UpstreamRpcError"
                    ? error.error
                    : { code: -32000, message: error.message, data: { reason: error.reason } }
                })
              )
          }),
          Effect.onInterrupt(() =>
            Effect.sync(() =>
              line("to-upstream", { jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: id } })
            )
          )
        )
      }),
    notify: (method, params) =>
      Effect.zipRight(
        Effect.sync(() => line("to-upstream", { jsonrpc: "2.0", method, ...(params === undefined ? {} : { params }) })),
        upstream.notify(method, params)
      )
  }))
}

/** Canonical JSON (keys sorted), so params match whatever order they were written in. */
const canonical = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    typeof v === "object" && v !== null && !Array.isArray(v)
      ? Object.fromEntries(
        Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      )
      : v)

interface Recorded {
  readonly exact: Map<string, Array<Record<string, unknown>>>
  readonly byMethod: Map<string, Record<string, unknown>>
  declared: Upstream.Declared | undefined
}

/**
 * A recorded tape as a connector (each upstream answered from its own lines) and the upstreams it names (as
 * configs, for `--replay` without `--gateway`).
 *
 * @since 0.2.0
 * @category replay
 */
export const replay = (
  file: string
): Effect.Effect<{ readonly connect: Connect; readonly upstreams: ReadonlyArray<Upstream.Config> }, TapeError> =>
  Effect.try({
    try: () => Fs.readFileSync(file, "utf8"),
    catch: (error) => new TapeError({ message: `${file}: cannot read the tape: ${String(error)}` })
  }).pipe(
    Effect.flatMap((text) =>
      Effect.try({
        try: () => index(text),
        catch: (error) =>
          new TapeError({ message: `${file}: ${error instanceof Error ? error.message : String(error)}` })
      })
    ),
    Effect.map((tapes) => ({
      upstreams: [...tapes.keys()].map((name): Upstream.Config => ({
        name,
        type: "stdio",
        command: "replay",
        args: [file],
        env: {},
        cwd: undefined,
        isolation: "shared",
        maxSessions: GatewayConfig.defaults.maxSessions,
        timeoutMillis: GatewayConfig.defaults.timeoutMillis,
        maxInFlight: GatewayConfig.defaults.maxInFlight
      })),
      connect: (config, events) =>
        Effect.succeed(replayed(config, tapes.get(config.name) ?? tapes.values().next().value, events))
    }))
  )

const index = (text: string): Map<string, Recorded> => {
  const tapes = new Map<string, Recorded>()
  const pending = new Map<string, { readonly key: string; readonly method: string }>()
  text.split("\n").forEach((raw, n) => {
    if (raw.trim() === "") return
    let line: Line
    try {
      line = JSON.parse(raw) as Line
    } catch {
      throw new Error(`line ${n + 1}: not JSON`)
    }
    let tape = tapes.get(line.upstream)
    if (tape === undefined) {
      tape = { exact: new Map(), byMethod: new Map(), declared: undefined }
      tapes.set(line.upstream, tape)
    }
    const message = line.message ?? {}
    if (line.direction === "state") tape.declared = message as unknown as Upstream.Declared
    else if (line.direction === "to-upstream" && typeof message.method === "string" && message.id !== undefined) {
      pending.set(`${line.upstream}/${String(message.id)}`, {
        key: `${message.method}\u0000${canonical(message.params ?? {})}`,
        method: message.method
      })
    } else if (line.direction === "from-upstream" && message.method === undefined && message.id !== undefined) {
      const request = pending.get(`${line.upstream}/${String(message.id)}`)
      if (request === undefined) return
      const answers = tape.exact.get(request.key) ?? []
      answers.push(message)
      tape.exact.set(request.key, answers)
      if (!tape.byMethod.has(request.method)) tape.byMethod.set(request.method, message)
    }
  })
  if (tapes.size === 0) throw new Error("the tape records no upstream")
  return tapes
}

const replayed = (config: Upstream.Config, tape: Recorded | undefined, events: Upstream.Events): Upstream.Upstream => {
  const recorded = tape ?? { exact: new Map(), byMethod: new Map(), declared: undefined }
  const used = new Map<string, number>()
  const methods = new Set([...recorded.byMethod.keys()])
  const declared: Upstream.Declared = recorded.declared ?? {
    era: "legacy",
    protocolVersion: "2025-06-18",
    serverInfo: { name: config.name, version: "replay" },
    capabilities: {
      ...(methods.has("tools/list") ? { tools: {} } : {}),
      ...(methods.has("prompts/list") ? { prompts: {} } : {}),
      ...(methods.has("resources/list") ? { resources: {} } : {})
    },
    instructions: undefined
  }
  const state: Upstream.State = { _tag: "Ready", declared }
  return {
    name: config.name,
    config,
    state: () => state,
    ready: Effect.as(events.state(state), declared),
    request: (method, params) =>
      Effect.suspend(() => {
        const key = `${method}\u0000${canonical(params ?? {})}`
        const answers = recorded.exact.get(key)
        let answer = recorded.byMethod.get(method)
        if (answers !== undefined) {
          const n = used.get(key) ?? 0
          used.set(key, n + 1)
          answer = answers[Math.min(n, answers.length - 1)]
        }
        if (answer === undefined) {
          return Effect.fail(
            new Upstream.UpstreamRpcError({
              upstream: config.name,
              error: { code: -32601, message: `The tape has no answer for ${method}` }
            })
          )
        }
        return answer.error !== undefined
          ? Effect.fail(
            new Upstream.UpstreamRpcError({
              upstream: config.name,
              error: answer.error as { code: number; message: string }
            })
          )
          : Effect.succeed((answer.result ?? {}) as Upstream.Json)
      }),
    notify: () => Effect.void,
    inFlight: () => 0
  }
}
