// The spliced modern result frame is pinned to the plain one: for any result, ResultFrame.frame writes exactly
// what JsonRpc.encodeResult(id, ResultFrame.finish(result)) says (compared as parsed JSON: key order may differ).
import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import { JsonRpc } from "../src/index.js"
import * as ResultFrame from "../src/server/ResultFrame.js"

const serverInfoMeta = { "io.modelcontextprotocol/serverInfo": { name: "s", version: "1" } }
const hints = (cacheable: boolean, cacheTtlMs: number, cacheScope: string): ResultFrame.Finish => ({
  cacheable,
  cacheTtlMs,
  cacheScope,
  serverInfoMeta,
  serverInfoMetaJson: JSON.stringify(serverInfoMeta)
})

const key = fc.oneof(
  fc.string(),
  fc.constantFrom("content", "contents", "_meta", "resultType", "ttlMs", "cacheScope", "__proto__", "isError")
)
const result = fc.dictionary(key, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 6 }) as fc.Arbitrary<ResultFrame.Result>
const id = fc.oneof(fc.string(), fc.integer())

describe("ResultFrame", () => {
  it("frame equals encodeResult(finish(result)) for any result, id and hints", () => {
    fc.assert(
      fc.property(
        result,
        id,
        fc.boolean(),
        fc.nat(),
        fc.constantFrom("public", "private"),
        (r, i, cacheable, ttl, scope) => {
          const h = hints(cacheable, ttl, scope)
          expect(JSON.parse(ResultFrame.frame(i, r, h))).toEqual(
            JSON.parse(JsonRpc.encodeResult(i, ResultFrame.finish(r, h)))
          )
        }
      ),
      { numRuns: 5000 }
    )
  })

  it("finish: resultType, server info merged into the result's own _meta, cache hints only where cacheable", () => {
    const finished = ResultFrame.finish({ contents: [], _meta: { mine: 1 } }, hints(true, 60_000, "public"))
    expect(finished).toEqual({
      contents: [],
      resultType: "complete",
      ttlMs: 0,
      cacheScope: "public",
      _meta: { mine: 1, ...serverInfoMeta }
    })
    expect(ResultFrame.finish({ content: [] }, hints(false, 60_000, "public"))).toEqual({
      content: [],
      resultType: "complete",
      _meta: serverInfoMeta
    })
  })
})
