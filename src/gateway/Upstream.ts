/**
 * An upstream: a client connection from the gateway to one MCP server it fronts (a stdio child process, a remote
 * Streamable HTTP endpoint of either era, or an old HTTP+SSE endpoint). This module is the contract between the
 * upstream clients (`StdioUpstream`, `HttpUpstream`, `SseUpstream`, made by `Upstreams.make`) and the gateway's
 * handler table (`Gateway`): the client hides the transport and the era (initialize or not, sessions, re-initialize
 * on 404, progress tokens, MRTR rounds), the gateway decides names, routes and what reaches which front client.
 *
 * @since 0.2.0
 */
import { Data } from "effect"
import type { Effect } from "effect"
import type * as JsonRpc from "../protocol/JsonRpc.js"

/**
 * A result or params object as it travels: plain JSON.
 *
 * @since 0.2.0
 * @category models
 */
export type Json = Record<string, unknown>

/**
 * How the gateway reaches one upstream, from the `mcpServers` config.
 *
 * @since 0.2.0
 * @category models
 */
export type Config = StdioConfig | HttpConfig | SseConfig

/**
 * @since 0.2.0
 * @category models
 */
export interface Common {
  /** The upstream's name in the config (the key under `mcpServers`). */
  readonly name: string
  /** `shared`: one upstream connection for every front client; `per-session`: one per front session. */
  readonly isolation: "shared" | "per-session"
  /** Per-session isolation: at most this many upstream instances at once. */
  readonly maxSessions: number
  /** A request unanswered after this long is cancelled upstream and answered with an error. */
  readonly timeoutMillis: number
  /** Requests in flight on this upstream at once; past it a request is refused at once. */
  readonly maxInFlight: number
}

/**
 * @since 0.2.0
 * @category models
 */
export interface StdioConfig extends Common {
  readonly type: "stdio"
  readonly command: string
  readonly args: ReadonlyArray<string>
  /** Added to the gateway's environment (a child does not inherit secrets it was not given: see StdioUpstream). */
  readonly env: Readonly<Record<string, string>>
  readonly cwd: string | undefined
}

/**
 * @since 0.2.0
 * @category models
 */
export interface HttpConfig extends Common {
  readonly type: "http"
  readonly url: string
  /** Sent with every request (the upstream's own credentials; the front client's token is never forwarded). */
  readonly headers: Readonly<Record<string, string>>
}

/**
 * @since 0.2.0
 * @category models
 */
export interface SseConfig extends Common {
  readonly type: "sse"
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
}

/**
 * What an upstream declared when it was reached (legacy: the initialize result; modern: `server/discover`).
 *
 * @since 0.2.0
 * @category models
 */
export interface Declared {
  readonly era: "modern" | "legacy"
  /** The negotiated legacy version, or the modern version used. */
  readonly protocolVersion: string
  readonly serverInfo: Json
  readonly capabilities: Json
  readonly instructions: string | undefined
}

/**
 * @since 0.2.0
 * @category models
 */
export type State =
  | { readonly _tag: "Starting" }
  | { readonly _tag: "Ready"; readonly declared: Declared }
  | { readonly _tag: "Down"; readonly reason: string; readonly since: number }

/**
 * The upstream could not answer: not reachable, gone mid-request, timed out, or it spoke nonsense. The gateway
 * answers its front request with an error naming the upstream.
 *
 * @since 0.2.0
 * @category errors
 */
export class UpstreamError extends Data.TaggedError("UpstreamError")<{
  readonly upstream: string
  readonly reason: "unavailable" | "closed" | "timeout" | "busy" | "protocol"
  readonly message: string
}> {}

/**
 * The upstream answered with a JSON-RPC error: passed through to the front client as it is.
 *
 * @since 0.2.0
 * @category errors
 */
export class UpstreamRpcError extends Data.TaggedError("UpstreamRpcError")<{
  readonly upstream: string
  readonly error: JsonRpc.ErrorObject
}> {}

/**
 * What the upstream sends about one request while it runs. The client relates a message to a request when the
 * transport says so (a progress token it assigned, the POST's SSE stream, a modern `input_required` round). A
 * transport that does not relate server-to-client requests (stdio, a legacy GET stream) gives them to the hooks of
 * the oldest request in flight that has a `request` hook, else to `Events.request`.
 *
 * @since 0.2.0
 * @category models
 */
export interface Hooks {
  /** `notifications/progress` for this request (the client puts its own progress token upstream and maps back). */
  readonly progress?: (
    progress: { readonly progress: number; readonly total?: number; readonly message?: string }
  ) => Effect.Effect<void>
  /** Other notifications related to this request (`notifications/message` on a POST's stream, for instance). */
  readonly notification?: (method: string, params: Json | undefined) => Effect.Effect<void>
  /**
   * A request of the upstream to its client while this request runs (`sampling/createMessage`, `elicitation/create`,
   * `roots/list`): the result, or the JSON-RPC error to answer with. A modern upstream's `input_required` round is
   * answered through this too, and the request retried with the answers.
   */
  readonly request?: (method: string, params: Json | undefined) => Effect.Effect<Json, JsonRpc.ErrorObject>
}

/**
 * What the upstream sends that belongs to no request: `notifications/tools/list_changed` (and the other lists),
 * `notifications/resources/updated`, log messages, and its requests to the client outside a request.
 *
 * @since 0.2.0
 * @category models
 */
export interface Events {
  readonly notification: (method: string, params: Json | undefined) => Effect.Effect<void>
  readonly request: (method: string, params: Json | undefined) => Effect.Effect<Json, JsonRpc.ErrorObject>
  /** The state changed (a restarted child is `Ready` again: its lists may have changed). */
  readonly state: (state: State) => Effect.Effect<void>
}

/**
 * A client connection to one upstream. Made in a Scope (`Upstreams.make(config, events)`); closing the Scope ends
 * it (a child's process group is killed, a legacy HTTP session is deleted, streams are closed).
 *
 * @since 0.2.0
 * @category models
 */
export interface Upstream {
  readonly name: string
  readonly config: Config
  readonly state: () => State
  /** Waits until the upstream is Ready (fails when it is Down, or not Ready within the config's timeout). */
  readonly ready: Effect.Effect<Declared, UpstreamError>
  /**
   * Sends a request (the client adds what its era needs: `_meta` version keys and headers on a modern upstream, the
   * session id on a legacy one) and waits for the answer. Interrupting it cancels the request upstream
   * (`notifications/cancelled`, or the modern POST aborted). An upstream that goes away answers every request in
   * flight with `UpstreamError` ("closed"), never leaving one waiting.
   */
  readonly request: (
    method: string,
    params: Json | undefined,
    hooks?: Hooks
  ) => Effect.Effect<Json, UpstreamError | UpstreamRpcError>
  readonly notify: (method: string, params: Json | undefined) => Effect.Effect<void, UpstreamError>
  /** Requests in flight now. */
  readonly inFlight: () => number
}
