/**
 * Modern multi round-trip (MRTR): a handler that asks the client something ends its round with
 * `input_required` (the question, and a signed `requestState` carrying the answers so far); the client retries the
 * request with `inputResponses` and that state, and the handler runs again, finding the answers. The state is
 * bound to the method, the params' digest, the principal and an expiry, and accepted once (ClientRequests).
 *
 * @since 0.1.0
 */
import { Cause, Clock, Effect, Either, Option, Predicate } from "effect"
import * as JsonRpc from "../protocol/JsonRpc.js"
import * as ClientRequests from "./ClientRequests.js"

/**
 * Whether a request is a retry (it brings `requestState` or `inputResponses`).
 *
 * @since 0.1.0
 * @category reading
 */
export const isRetry = (params: Record<string, unknown> | undefined): params is Record<string, unknown> =>
  params !== undefined && (params.requestState !== undefined || params.inputResponses !== undefined)

/**
 * What a retry brings: the answers (this round's `inputResponses` over those of the verified `requestState`) and
 * the value the handler carried from its last round (`McpContext.carry`), verified with the state.
 *
 * @since 0.2.0
 * @category models
 */
export interface Round {
  readonly answers: Record<string, unknown>
  readonly carried: string | undefined
}

/**
 * The round a retry brings (see `Round`), or the -32602 that refuses it.
 *
 * @since 0.1.0
 * @category reading
 */
export const answersOf = (
  method: string,
  params: Record<string, unknown>,
  codec: ClientRequests.StateCodec,
  principal: string | null
): Effect.Effect<Either.Either<Round, JsonRpc.JsonRpcError>> => {
  const given = params.inputResponses
  if (given !== undefined && !Predicate.isRecord(given)) {
    return Effect.succeed(
      Either.left(new JsonRpc.InvalidParams({ message: "Invalid params: inputResponses must be an object" }))
    )
  }
  const state = params.requestState
  if (state === undefined) return Effect.succeed(Either.right({ answers: { ...given }, carried: undefined }))
  if (typeof state !== "string") return Effect.succeed(Either.left(refused("malformed")))
  return Effect.map(
    Effect.flatMap(
      Clock.currentTimeMillis,
      (now) => codec.verify(state, { method, digest: ClientRequests.paramsDigest(params), principal }, now)
    ),
    (verified) =>
      verified.ok
        ? Either.right({
          answers: { ...verified.payload.r, ...given },
          carried: typeof verified.payload.h === "string" ? verified.payload.h : undefined
        })
        : Either.left(refused(verified.reason))
  )
}

const refused = (reason: string) =>
  new JsonRpc.InvalidParams({ message: `Invalid params: requestState rejected (${reason})`, data: { reason } })

/**
 * The question a round ended with, if its cause is one (`ClientRequests.InputRequired` is a defect, so a handler's
 * `catchAll` cannot swallow it).
 *
 * @since 0.1.0
 * @category reading
 */
export const inputRequiredOf = (cause: Cause.Cause<unknown>): ClientRequests.InputRequired | undefined =>
  Option.getOrUndefined(
    Cause.find(
      cause,
      (c) => c._tag === "Die" && ClientRequests.isInputRequired(c.defect) ? Option.some(c.defect) : Option.none()
    )
  )

/**
 * The response that ends a round: `input_required` with the question and the signed state of the answers so far
 * (and of what the handler carries to its next round, when it set something).
 *
 * @since 0.1.0
 * @category framing
 */
export const inputRequiredFrame = (
  request: JsonRpc.Request,
  input: ClientRequests.InputRequired,
  answers: Record<string, unknown> | undefined,
  codec: ClientRequests.StateCodec,
  principal: string | null,
  serverInfoMeta: Record<string, unknown>,
  carry?: string | undefined
): Effect.Effect<string> =>
  Effect.map(Clock.currentTimeMillis, (now) =>
    JsonRpc.encodeResult(request.id, {
      resultType: "input_required",
      inputRequests: { [input.key]: { method: input.method, params: input.params } },
      requestState: codec.sign({
        m: request.method,
        d: ClientRequests.paramsDigest(request.params),
        p: principal,
        r: answers ?? {},
        ...(carry === undefined ? {} : { h: carry })
      }, now),
      _meta: serverInfoMeta
    }))
