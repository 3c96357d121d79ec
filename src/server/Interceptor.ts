/**
 * The message interceptor chain: every inbound and outbound JSON-RPC message passes each interceptor in order.
 * An interceptor sees the message and a context (direction, era, version, session, transport, principal, request
 * id, and a metadata map shared along the chain for that message) and answers with an action:
 *
 * - `Continue`: pass it on unchanged;
 * - `Modify`: pass on this message instead;
 * - `Block`: refuse it with a JSON-RPC error (a request is answered with it; an outbound response is replaced by
 *   it; a notification is dropped);
 * - `Respond`: answer an inbound request with this result without running the handler (outbound: replace the
 *   response's result);
 * - `Delay`: wait, then go on with the next interceptor (inbound messages of one connection keep their order);
 * - `Drop`: the message vanishes (chaos testing: the peer sees nothing).
 *
 * An interceptor that fails or dies harms only its message: a request gets -32603, an outbound response becomes
 * -32603, a notification is dropped, and the failure is logged.
 *
 * Interceptors are registered as Layers (`Interceptor.layer(a, b, c)` keeps that order); with none registered the
 * chain costs nothing on the hot path.
 *
 * @since 0.1.0
 */
import { Cause, Context as EffectContext, Duration, Effect, Exit, Layer, Random } from "effect"
import type { ErrorObject, RequestId } from "../protocol/JsonRpc.js"
import * as JsonRpc from "../protocol/JsonRpc.js"
import type { Era } from "../protocol/ProtocolVersion.js"
import type { Peer } from "./Peer.js"

/**
 * A JSON-RPC message as plain JSON.
 *
 * @since 0.1.0
 * @category models
 */
export interface Message {
  readonly jsonrpc?: "2.0"
  readonly id?: RequestId | null
  readonly method?: string
  readonly params?: Record<string, unknown>
  readonly result?: unknown
  readonly error?: ErrorObject
  readonly [key: string]: unknown
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Context {
  readonly direction: "inbound" | "outbound"
  readonly era: Era | undefined
  readonly protocolVersion: string | undefined
  /** The legacy session id, when the transport has one (HTTP). */
  readonly sessionId: string | undefined
  readonly transport: string
  /** The authenticated principal's subject, when authorization is configured. */
  readonly principal: string | undefined
  /** Who is asking: transport, session, principal, remote address. */
  readonly peer: Peer
  /** The id of the request this message is or answers; undefined for notifications. */
  readonly requestId: RequestId | null | undefined
  /** Shared by the interceptors of this message's chain. */
  readonly metadata: Map<string, unknown>
}

/**
 * @since 0.1.0
 * @category models
 */
export type Action =
  | { readonly _tag: "Continue" }
  | { readonly _tag: "Modify"; readonly message: Message }
  | { readonly _tag: "Block"; readonly error: ErrorObject }
  | { readonly _tag: "Respond"; readonly result: unknown }
  | { readonly _tag: "Delay"; readonly duration: Duration.DurationInput }
  | { readonly _tag: "Drop" }

/**
 * @since 0.1.0
 * @category constructors
 */
export const Continue: Action = { _tag: "Continue" }
/**
 * @since 0.1.0
 * @category constructors
 */
export const Drop: Action = { _tag: "Drop" }
/**
 * @since 0.1.0
 * @category constructors
 */
export const modify = (message: Message): Action => ({ _tag: "Modify", message })
/**
 * @since 0.1.0
 * @category constructors
 */
export const block = (error: ErrorObject): Action => ({ _tag: "Block", error })
/**
 * @since 0.1.0
 * @category constructors
 */
export const respond = (result: unknown): Action => ({ _tag: "Respond", result })
/**
 * @since 0.1.0
 * @category constructors
 */
export const delay = (duration: Duration.DurationInput): Action => ({ _tag: "Delay", duration })

/**
 * @since 0.1.0
 * @category models
 */
export interface Interceptor {
  readonly name: string
  readonly inbound?: (message: Message, context: Context) => Effect.Effect<Action>
  readonly outbound?: (message: Message, context: Context) => Effect.Effect<Action>
}

/**
 * What the chain decided for one message.
 *
 * @since 0.1.0
 * @category models
 */
export type Verdict =
  | { readonly _tag: "Pass"; readonly message: Message; readonly changed: boolean }
  | { readonly _tag: "Block"; readonly error: ErrorObject }
  | { readonly _tag: "Respond"; readonly result: unknown }
  | { readonly _tag: "Drop" }

const internal: ErrorObject = { code: JsonRpc.INTERNAL_ERROR, message: "Internal error" }

const logFailure =
  (chain: ReadonlyArray<Interceptor>, at: number, message: Message, context: Context) =>
  (cause: Cause.Cause<unknown>): Effect.Effect<Verdict> => {
    if (Cause.isInterruptedOnly(cause)) return Effect.failCause(cause as Cause.Cause<never>)
    return Effect.as(
      Effect.logError("Interceptor failed; the message is refused").pipe(
        Effect.annotateLogs({
          interceptor: chain[at]?.name ?? "unknown",
          direction: context.direction,
          method: message.method,
          cause: Cause.pretty(cause)
        })
      ),
      { _tag: "Block", error: internal } as const
    )
  }

/**
 * Runs the chain over one message. Never fails: an interceptor's failure or defect is logged and blocks the
 * message with -32603.
 *
 * @since 0.1.0
 * @category running
 */
export const run = (
  chain: ReadonlyArray<Interceptor>,
  message: Message,
  context: Context
): Effect.Effect<Verdict> => Effect.suspend(() => runNow(chain, message, context))

/**
 * `run`, started now rather than when the Effect runs, for the dispatcher's hot path. Interceptors that answer with
 * an Effect that is already a value (`Effect.succeed(Continue)`, as most do) are applied in one synchronous loop,
 * and the chain's answer is then itself a completed Effect (an `Exit`) that the caller may read without running
 * it: a chain of no-op interceptors costs a few function calls per message. The first interceptor that needs the
 * runtime (a real Effect, a `Delay`) continues the chain as Effects.
 *
 * @since 0.1.0
 * @category running
 */
export const runNow = (
  chain: ReadonlyArray<Interceptor>,
  message: Message,
  context: Context
): Effect.Effect<Verdict> => runFrom(chain, 0, message, false, message, context)

const verdictOf = (action: Action & { readonly _tag: "Block" | "Respond" | "Drop" }): Verdict =>
  action._tag === "Block"
    ? { _tag: "Block", error: action.error }
    : action._tag === "Respond"
    ? { _tag: "Respond", result: action.result }
    : { _tag: "Drop" }

/**
 * The chain from interceptor `from` on, with the message as the earlier ones left it: a loop while answers are
 * values (no closure on that path), then, from the first answer that needs the runtime, the rest as Effects.
 */
const runFrom = (
  chain: ReadonlyArray<Interceptor>,
  from: number,
  given: Message,
  givenChanged: boolean,
  original: Message,
  context: Context
): Effect.Effect<Verdict> => {
  let current = given
  let changed = givenChanged
  for (let at = from; at < chain.length; at++) {
    const interceptor = chain[at]!
    const f = context.direction === "inbound" ? interceptor.inbound : interceptor.outbound
    if (f === undefined) continue
    let answer: Effect.Effect<Action>
    try {
      answer = f(current, context)
    } catch (defect) {
      return logFailure(chain, at, original, context)(Cause.die(defect))
    }
    if (Exit.isExit(answer) && Exit.isSuccess(answer)) {
      const action = answer.value as Action
      if (action._tag === "Continue") continue
      if (action._tag === "Modify") {
        current = action.message
        changed = true
        continue
      }
      if (action._tag !== "Delay") return Exit.succeed(verdictOf(action))
    }
    const next = at + 1
    const before = current
    const wasChanged = changed
    return Effect.catchAllCause(
      Effect.flatMap(answer, (action): Effect.Effect<Verdict> => {
        switch (action._tag) {
          case "Continue":
            return runFrom(chain, next, before, wasChanged, original, context)
          case "Modify":
            return runFrom(chain, next, action.message, true, original, context)
          case "Delay":
            return Effect.zipRight(
              Effect.sleep(action.duration),
              Effect.suspend(() => runFrom(chain, next, before, wasChanged, original, context))
            )
          default:
            return Effect.succeed(verdictOf(action))
        }
      }),
      logFailure(chain, at, original, context)
    )
  }
  return Exit.succeed({ _tag: "Pass", message: current, changed })
}

/**
 * The interceptor chain every server component reads when it is built (the engine of each connection, session and
 * POST): empty unless a layer provides one.
 *
 * @since 0.1.0
 * @category tags
 */
export class Interceptors extends EffectContext.Reference<Interceptors>()("effect-mcp-server/Interceptors", {
  defaultValue: (): ReadonlyArray<Interceptor> => []
}) {}

/**
 * Provides interceptors, in the given order, after those of the chain in the context where the layer is built
 * (so `Interceptor.layer(c).pipe(Layer.provide(Interceptor.layer(a, b)))` runs a, b, c).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (...interceptors: ReadonlyArray<Interceptor>): Layer.Layer<Interceptors> =>
  Layer.effect(Interceptors, Effect.map(Interceptors, (before) => [...before, ...interceptors]))

// ---------------------------------------------------------------------------------------------------------------------
// Built-ins
// ---------------------------------------------------------------------------------------------------------------------

/**
 * Logs every message (method, id, direction, transport, era, session) at the given level, without params or
 * results unless `bodies` is set.
 *
 * @since 0.1.0
 * @category built-ins
 */
export const logger = (options: { readonly level?: "Debug" | "Info"; readonly bodies?: boolean } = {}): Interceptor => {
  const log = (message: Message, context: Context) => {
    const text = `${context.direction === "inbound" ? "<-" : "->"} ${
      message.method ?? (message.error !== undefined ? "error" : "result")
    }`
    const effect = options.level === "Debug" ? Effect.logDebug(text) : Effect.logInfo(text)
    return effect.pipe(
      Effect.annotateLogs({
        direction: context.direction,
        transport: context.transport,
        ...(message.method !== undefined ? { method: message.method } : {}),
        ...(context.requestId !== undefined ? { id: context.requestId } : {}),
        ...(context.era !== undefined ? { era: context.era } : {}),
        ...(context.sessionId !== undefined ? { sessionId: context.sessionId } : {}),
        ...(message.error !== undefined ? { code: message.error.code } : {}),
        ...(options.bodies === true ? { message } : {})
      }),
      Effect.as(Continue)
    )
  }
  return { name: "logger", inbound: log, outbound: log }
}

const methodNotAllowed = (method: string): ErrorObject => ({
  code: JsonRpc.METHOD_NOT_FOUND,
  message: `Method not allowed: ${method}`
})

/**
 * Lets through only inbound requests and notifications whose method is listed (`allow`), or refuses those listed
 * (`deny`). A refused request is answered with -32601; a refused notification is dropped. Responses from the
 * client always pass.
 *
 * @since 0.1.0
 * @category built-ins
 */
export const methods = (
  options: { readonly allow: ReadonlyArray<string> } | { readonly deny: ReadonlyArray<string> }
): Interceptor => {
  const allow = "allow" in options ? new Set(options.allow) : undefined
  const deny = "deny" in options ? new Set(options.deny) : undefined
  return {
    name: "methods",
    inbound: (message) => {
      const method = message.method
      if (method === undefined) return Effect.succeed(Continue)
      const refused = allow !== undefined ? !allow.has(method) : deny!.has(method)
      return Effect.succeed(refused ? block(methodNotAllowed(method)) : Continue)
    }
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export interface FaultOptions {
  /** The chance (0..1) that a message is hit. */
  readonly probability: number
  /** Which faults, chosen uniformly among those enabled. */
  readonly delay?: Duration.DurationInput
  readonly error?: ErrorObject
  readonly drop?: boolean
  /** Only messages with these methods (requests and notifications); all when omitted. */
  readonly methods?: ReadonlyArray<string>
  /** Which direction. Default inbound. */
  readonly direction?: "inbound" | "outbound" | "both"
}

/**
 * Injects faults for chaos tests: with the given probability a message is delayed, refused with an error, or
 * dropped. Randomness comes from Effect's `Random`, so a test can seed it.
 *
 * @since 0.1.0
 * @category built-ins
 */
export const faults = (options: FaultOptions): Interceptor => {
  const kinds: Array<Action> = []
  if (options.delay !== undefined) kinds.push(delay(options.delay))
  if (options.error !== undefined) kinds.push(block(options.error))
  if (options.drop === true) kinds.push(Drop)
  const only = options.methods === undefined ? undefined : new Set(options.methods)
  const step = (message: Message): Effect.Effect<Action> => {
    if (kinds.length === 0) return Effect.succeed(Continue)
    if (only !== undefined && (message.method === undefined || !only.has(message.method))) {
      return Effect.succeed(Continue)
    }
    return Effect.flatMap(Random.next, (roll) =>
      roll >= options.probability
        ? Effect.succeed(Continue)
        : Effect.map(Random.nextIntBetween(0, kinds.length), (i) => kinds[i]!))
  }
  const direction = options.direction ?? "inbound"
  return {
    name: "faults",
    ...(direction !== "outbound" ? { inbound: step } : {}),
    ...(direction !== "inbound" ? { outbound: step } : {})
  }
}
