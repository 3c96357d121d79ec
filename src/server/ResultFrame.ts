/**
 * The response frame of a successful result. Legacy results go out as they are. Modern results get
 * `resultType: "complete"`, the server info in `_meta` and, on cacheable methods, `ttlMs` (0 for
 * `resources/read` contents) and `cacheScope`. `finish` says it as an object; `frame` writes the same thing by
 * splicing those fields into the result's JSON (serialized once, the server info's JSON computed once per server)
 * instead of copying the result into a new object first: the hot path. The project's tests pin the two to
 * each other.
 *
 * @since 0.1.0
 */
import { Predicate } from "effect"
import * as JsonRpc from "../protocol/JsonRpc.js"

/**
 * @since 0.1.0
 * @category models
 */
export type Result = Record<string, unknown>

/**
 * What a modern result is finished with.
 *
 * @since 0.1.0
 * @category models
 */
export interface Finish {
  readonly cacheable: boolean
  readonly cacheTtlMs: number
  readonly cacheScope: string
  /** `{ "io.modelcontextprotocol/serverInfo": ... }` */
  readonly serverInfoMeta: Record<string, unknown>
  /** The same, serialized once. */
  readonly serverInfoMetaJson: string
}

/**
 * A modern result as an object.
 *
 * @since 0.1.0
 * @category framing
 */
export const finish = (result: Result, hints: Finish): Result => {
  const meta = Predicate.isRecord(result._meta) ? { ...result._meta, ...hints.serverInfoMeta } : hints.serverInfoMeta
  return hints.cacheable
    ? {
      ...result,
      resultType: "complete",
      ttlMs: result.contents !== undefined ? 0 : hints.cacheTtlMs,
      cacheScope: hints.cacheScope,
      _meta: meta
    }
    : { ...result, resultType: "complete", _meta: meta }
}

/**
 * A modern result's response frame: `JsonRpc.encodeResult(id, finish(result, hints))`, written faster.
 *
 * @since 0.1.0
 * @category framing
 */
export const frame = (id: JsonRpc.RequestId, result: Result, hints: Finish): string => {
  // A result with _meta of its own needs the merge; one with keys the splice writes would repeat them.
  if (result._meta !== undefined || "resultType" in result || "ttlMs" in result || "cacheScope" in result) {
    return JsonRpc.encodeResult(id, finish(result, hints))
  }
  const json = JSON.stringify(result)
  const extra = hints.cacheable
    ? `"resultType":"complete","ttlMs":${result.contents !== undefined ? 0 : hints.cacheTtlMs},"cacheScope":${
      JSON.stringify(hints.cacheScope)
    },"_meta":${hints.serverInfoMetaJson}`
    : `"resultType":"complete","_meta":${hints.serverInfoMetaJson}`
  return `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":${
    json === "{}" ? `{${extra}}` : `${json.slice(0, -1)},${extra}}`
  }}`
}
