// The method table as data, and the claim every hand-written fast check makes: it accepts only what its Schema
// decodes, and to the same value (for the Schema's fields). Checked with generated inputs: values the Schema
// describes (effect/Arbitrary), the same values damaged one field at a time, and arbitrary JSON.
import { describe, expect, it } from "@effect/vitest"
import { Arbitrary, Either, FastCheck as fc, Schema } from "effect"
import { McpMethod, McpSchema } from "../src/index.js"

const RUNS = 5000

/** Objects near a valid value: a field removed, replaced by arbitrary JSON, or an extra field added. */
const damaged = <A>(valid: fc.Arbitrary<A>) =>
  fc.tuple(valid, fc.nat(), fc.jsonValue(), fc.constantFrom("drop", "replace", "extra")).map(
    ([value, index, junk, how]) => {
      if (typeof value !== "object" || value === null) return junk
      const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) }
      const keys = Object.keys(copy)
      const key = keys.length === 0 ? "extra" : keys[index % keys.length]!
      if (how === "drop") delete copy[key]
      else if (how === "replace") copy[key] = junk
      else copy[`x${index}`] = junk
      return copy
    }
  )

const inputs = <A, I>(schema: Schema.Schema<A, I, never>) =>
  fc.oneof(
    Arbitrary.make(schema) as fc.Arbitrary<unknown>,
    damaged(Arbitrary.make(schema) as fc.Arbitrary<unknown>),
    fc.jsonValue(),
    fc.anything()
  )

const pick = (value: unknown, keys: ReadonlyArray<string>) => {
  const record = value as Record<string, unknown>
  return Object.fromEntries(keys.filter((key) => record[key] !== undefined).map((key) => [key, record[key]]))
}

describe("McpMethod: the table", () => {
  it("names are unique, and the methods that carry Mcp-Name, round trips and long-lived requests are the known ones", () => {
    const names = McpMethod.all.map((m) => m.name)
    expect(new Set(names).size).toBe(names.length)
    expect(McpMethod.all.filter((m) => m.roundTrip).map((m) => m.name).sort()).toEqual([
      "prompts/get",
      "resources/read",
      "tools/call"
    ])
    expect(McpMethod.nameParamOf("tools/call")).toBe("name")
    expect(McpMethod.nameParamOf("prompts/get")).toBe("name")
    expect(McpMethod.nameParamOf("resources/read")).toBe("uri")
    expect(McpMethod.nameParamOf("tools/list")).toBeUndefined()
    expect(McpMethod.nameParamOf({ toString: null })).toBeUndefined()
    expect(McpMethod.all.filter((m) => m.longLived).map((m) => m.name)).toEqual(["subscriptions/listen"])
    expect(McpMethod.get("nope")).toBeUndefined()
    expect(McpMethod.get(42)).toBeUndefined()
  })
})

describe("McpMethod: fast checks accept only what the Schema decodes, to the same value", () => {
  for (const method of McpMethod.all.filter((m) => m.fast !== undefined)) {
    it(method.name, () => {
      const decode = Schema.decodeUnknownEither(method.params)
      const fields = Object.keys((method.params as unknown as { fields: Record<string, unknown> }).fields)
      let accepted = 0
      fc.assert(
        fc.property(inputs(method.params), (params) => {
          const fast = method.fast!(params)
          if (fast === undefined) return
          accepted++
          const decoded = decode(params)
          expect(Either.isRight(decoded), JSON.stringify(params)).toBe(true)
          if (Either.isRight(decoded)) expect(pick(fast, fields)).toEqual(pick(decoded.right, fields))
        }),
        { numRuns: RUNS }
      )
      // The check must not be vacuous: the generated inputs include many it accepts.
      expect(accepted).toBeGreaterThan(RUNS / 10)
    })
  }

  it("modern _meta", () => {
    const decode = Schema.decodeUnknownEither(McpSchema.ModernRequestMeta)
    const M = McpSchema.MODERN_META
    let accepted = 0
    fc.assert(
      fc.property(inputs(McpSchema.ModernRequestMeta), (meta) => {
        if (typeof meta !== "object" || meta === null || Array.isArray(meta)) return
        // The engine checks the protocol version itself before it asks the fast check about the rest.
        if (typeof (meta as Record<string, unknown>)[M.protocolVersion] !== "string") return
        const fast = McpMethod.plainModernMeta(meta as Record<string, unknown>)
        if (fast === undefined) return
        accepted++
        const decoded = decode(meta)
        expect(Either.isRight(decoded), JSON.stringify(meta)).toBe(true)
        if (Either.isLeft(decoded)) return
        const d = decoded.right
        expect(fast.clientCapabilities).toEqual(d[M.clientCapabilities])
        expect(fast.clientInfo).toEqual(d[M.clientInfo])
        expect(fast.logLevel).toEqual(d[M.logLevel])
        expect(fast.progressToken).toEqual(d.progressToken)
      }),
      { numRuns: RUNS }
    )
    expect(accepted).toBeGreaterThan(RUNS / 10)
  })
})
