/**
 * Asking the client: sampling, elicitation and roots, in both eras.
 *
 * - Legacy: a JSON-RPC request to the client on the request's own stream; the dispatcher correlates the reply
 *   through its pending table (see Dispatcher).
 * - Modern (multi round-trip requests): the handler's question ends the round with `input_required`; the client
 *   retries with `inputResponses` and the `requestState` this module signs. The handler runs again from the start
 *   and finds the answers it asked for, in the order it asked.
 *
 * `requestState` is attacker-controlled input when it comes back, so it is integrity-protected with HMAC-SHA256
 * and bound to the method, a digest of the params, the principal (when there is one) and an expiry; a state is
 * accepted once (replay is refused). It carries the answers of earlier rounds, so the client need only send the
 * newest ones.
 *
 * @since 0.1.0
 */
import { Context, Data, Effect, Layer, Predicate } from "effect"
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto"
import * as JsonRpc from "../protocol/JsonRpc.js"
import type { ClientCapabilities } from "../protocol/McpSchema.js"

/**
 * The client could not answer: it answered with an error, did not answer in time, or the question was cancelled.
 * Unhandled in a tool, it becomes that tool's `isError` result.
 *
 * @since 0.1.0
 * @category errors
 */
export class ClientError extends Data.TaggedError("effect-mcp-server/ClientError")<{
  readonly message: string
  readonly reason: "error" | "timeout" | "closed"
  readonly code?: number
  readonly data?: unknown
}> {}

/**
 * Thrown (as a defect, so a handler's `catchAll` cannot swallow it) when a modern handler asks for an input the
 * client has not supplied yet: the dispatcher turns it into an `input_required` result.
 *
 * @since 0.1.0
 * @category models
 */
export class InputRequired {
  readonly _tag = "effect-mcp-server/InputRequired"
  constructor(
    readonly key: string,
    readonly method: string,
    readonly params: unknown
  ) {}
}

/**
 * @since 0.1.0
 * @category guards
 */
export const isInputRequired = (u: unknown): u is InputRequired => u instanceof InputRequired

/**
 * The methods a server may ask, with what they need of the client.
 *
 * @since 0.1.0
 * @category models
 */
export type ClientMethod = "sampling/createMessage" | "elicitation/create" | "roots/list"

const missing = (capability: Record<string, unknown>, what: string) =>
  new JsonRpc.MissingRequiredClientCapability({
    message: `Missing required client capability: ${what}`,
    data: { requiredCapabilities: capability }
  })

/**
 * Checks that the client declared what the question needs: the server must not ask for what the client cannot
 * give (sampling with tools needs `sampling.tools`; URL elicitation needs `elicitation.url`; an empty
 * `elicitation` object means form mode only).
 *
 * @since 0.1.0
 * @category validation
 */
export const checkCapability = (
  method: ClientMethod,
  params: Record<string, unknown>,
  capabilities: ClientCapabilities
): JsonRpc.MissingRequiredClientCapability | undefined => {
  switch (method) {
    case "sampling/createMessage": {
      const sampling = capabilities.sampling
      if (!Predicate.isRecord(sampling)) return missing({ sampling: {} }, "sampling")
      if ((params.tools !== undefined || params.toolChoice !== undefined) && sampling.tools === undefined) {
        return missing({ sampling: { tools: {} } }, "sampling.tools")
      }
      return undefined
    }
    case "elicitation/create": {
      const elicitation = capabilities.elicitation
      if (!Predicate.isRecord(elicitation)) return missing({ elicitation: {} }, "elicitation")
      const mode = params.mode === "url" ? "url" : "form"
      const declared = Object.keys(elicitation).length === 0 ? { form: {} } : elicitation
      if (declared[mode] === undefined) return missing({ elicitation: { [mode]: {} } }, `elicitation.${mode}`)
      return undefined
    }
    case "roots/list":
      return Predicate.isRecord(capabilities.roots) ? undefined : missing({ roots: {} }, "roots")
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// requestState
// ---------------------------------------------------------------------------------------------------------------------

/**
 * What a signed state binds and carries.
 *
 * @since 0.1.0
 * @category models
 */
export interface StatePayload {
  /** The originating method. */
  readonly m: string
  /** SHA-256 of the canonical params (without `_meta`, `inputResponses`, `requestState`). */
  readonly d: string
  /** The principal, when the transport knows one. */
  readonly p: string | null
  /** Expiry, epoch milliseconds. */
  readonly e: number
  /** Nonce: a state is accepted once. */
  readonly n: string
  /** Answers given in earlier rounds, by input key. */
  readonly r: Record<string, unknown>
  /** What the handler kept for its next round (`McpContext.carry`), if anything. */
  readonly h?: string
}

const canonical = (value: unknown): string => {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`
  if (Predicate.isRecord(value)) {
    return `{${
      Object.keys(value).sort().filter((k) => value[k] !== undefined).map((k) =>
        `${JSON.stringify(k)}:${canonical(value[k])}`
      ).join(",")
    }}`
  }
  return JSON.stringify(value) ?? "null"
}

/** The digest a state binds: the params as the client sent them, minus what changes between rounds. */
export const paramsDigest = (params: Record<string, unknown> | undefined): string => {
  const { _meta: _m, inputResponses: _i, requestState: _s, ...rest } = params ?? {}
  return createHash("sha256").update(canonical(rest)).digest("base64url")
}

/**
 * @since 0.1.0
 * @category models
 */
export interface StateCodec {
  readonly sign: (payload: Omit<StatePayload, "n" | "e">, now: number) => string
  /** The verified payload, or why it was refused. Claims the state's nonce in the NonceStore. */
  readonly verify: (
    state: string,
    expected: { readonly method: string; readonly digest: string; readonly principal: string | null },
    now: number
  ) => Effect.Effect<Verified>
}

/**
 * @since 0.1.0
 * @category models
 */
export type Verified =
  | { readonly ok: true; readonly payload: StatePayload }
  | { readonly ok: false; readonly reason: string }

/**
 * Where used `requestState` nonces are remembered until they expire, so a state is accepted once. In memory per
 * process by default; replicas that verify each other's states (a shared `--request-state-key`) share one by
 * providing another layer (e.g. Redis `SET NX PX`).
 *
 * @since 0.1.0
 * @category models
 */
export interface NonceStore {
  /** Claims `nonce` until `expiry` (epoch ms); false when it was claimed before (a replay). */
  readonly claim: (nonce: string, expiry: number, now: number) => Effect.Effect<boolean>
}

/**
 * A NonceStore in memory, remembering at most `max` nonces (the oldest is forgotten past it). States all live
 * equally long, so the oldest entry expires first and forgetting is a walk from the front of an insertion-ordered Map.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemoryNonces = (max = 100_000): NonceStore => {
  const used = new Map<string, number>()
  return {
    claim: (nonce, expiry, now) =>
      Effect.sync(() => {
        for (const [old, until] of used) {
          if (until > now && used.size < max) break
          used.delete(old)
        }
        if (used.has(nonce)) return false
        used.set(nonce, expiry)
        return true
      })
  }
}

/**
 * The NonceStore servers in this context use: one in memory per process unless a layer provides another.
 *
 * @since 0.1.0
 * @category tags
 */
export class Nonces extends Context.Reference<Nonces>()("effect-mcp-server/Nonces", {
  defaultValue: (): NonceStore => makeMemoryNonces()
}) {}

/**
 * Provides a NonceStore.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerNonces = (store: NonceStore): Layer.Layer<Nonces> => Layer.succeed(Nonces, store)

/**
 * A codec with a key (from config, or random per process) and a lifetime for each state.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeStateCodec = (options: {
  readonly key?: string | undefined
  readonly ttlMillis: number
  /** Where used nonces are remembered. Default: a new in-memory store. */
  readonly nonces?: NonceStore
}): StateCodec => {
  const key = options.key !== undefined && options.key !== "" ? Buffer.from(options.key, "utf8") : randomBytes(32)
  const nonces = options.nonces ?? makeMemoryNonces()
  const mac = (body: string) => createHmac("sha256", key).update(body).digest()
  const refused = (reason: string): Effect.Effect<Verified> => Effect.succeed({ ok: false, reason })
  return {
    sign: (payload, now) => {
      const full: StatePayload = { ...payload, e: now + options.ttlMillis, n: randomBytes(12).toString("base64url") }
      const body = Buffer.from(JSON.stringify(full)).toString("base64url")
      return `v1.${body}.${mac(body).toString("base64url")}`
    },
    verify: (state, expected, now) => {
      const parts = state.split(".")
      if (parts.length !== 3 || parts[0] !== "v1") return refused("malformed")
      const given = Buffer.from(parts[2]!, "base64url")
      const wanted = mac(parts[1]!)
      if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) return refused("tampered")
      let payload: StatePayload
      try {
        payload = JSON.parse(Buffer.from(parts[1]!, "base64url").toString("utf8"))
      } catch {
        return refused("malformed")
      }
      if (payload.e <= now) return refused("expired")
      if (payload.m !== expected.method || payload.d !== expected.digest) return refused("issued for another request")
      if (payload.p !== expected.principal) return refused("issued to another principal")
      return Effect.map(
        nonces.claim(payload.n, payload.e, now),
        (fresh): Verified => (fresh ? { ok: true, payload } : { ok: false, reason: "already used" })
      )
    }
  }
}
