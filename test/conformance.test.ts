// The official MCP conformance suite (@modelcontextprotocol/conformance) against the conformance fixture, served
// over Streamable HTTP on 127.0.0.1. `npm run conformance` runs the same and prints the table.
import { assert, describe, it } from "vitest"
import { EXPECTED_FAILURES, report, runConformance, surprises, withFixture } from "../scripts/conformance.js"

describe("official conformance suite", () => {
  it("every scenario passes except the expected failures, each of which names its reason", async () => {
    const results = await withFixture(runConformance)
    console.log(report(results))
    assert.isAtLeast(results.length, 30, "the suite lists its server scenarios")
    const { unexpectedFailures, unexpectedPasses } = surprises(results)
    assert.deepStrictEqual(unexpectedFailures, [], "scenarios that failed without being expected to")
    assert.deepStrictEqual(unexpectedPasses, [], "expected failures that now pass: update EXPECTED_FAILURES")
    for (const scenario of ["dns-rebinding-protection", "server-sse-multiple-streams", "tools-call-with-progress"]) {
      assert.isTrue(results.find((r) => r.scenario === scenario)?.passed, scenario)
    }
    assert.strictEqual(results.filter((r) => !r.passed).length, Object.keys(EXPECTED_FAILURES).length)
  }, 240_000)
})
