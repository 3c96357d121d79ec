/**
 * Runs the official MCP conformance suite (@modelcontextprotocol/conformance, a devDependency) against the
 * conformance fixture (test/fixtures/ConformanceServer.ts) served over Streamable HTTP on a free port of
 * 127.0.0.1, prints one row per scenario and the line `N passed, M failed`.
 *
 *   npm run conformance            (= vite-node scripts/run-conformance.ts)
 *
 * Exit code 0 when every scenario passed except those listed in EXPECTED_FAILURES (each with the reason and the
 * issue that brings the feature); 1 otherwise, so a regression or an unexpected failure is visible.
 */
import { Layer, ManagedRuntime } from "effect"
import { spawn } from "node:child_process"
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { McpHttpServer } from "../src/index.js"
import * as ConformanceServer from "../test/fixtures/ConformanceServer.js"

/** Scenarios that fail today for a known reason: a feature that a later issue brings. */
export const EXPECTED_FAILURES: Readonly<Record<string, string>> = {}

export interface ScenarioResult {
  readonly scenario: string
  readonly passed: boolean
  readonly checks: { readonly ok: number; readonly failed: number; readonly warnings: number }
  readonly firstProblem: string | undefined
}

const here = dirname(fileURLToPath(import.meta.url))
const require = createRequire(import.meta.url)
const cli = require.resolve("@modelcontextprotocol/conformance/dist/index.js")
const nodeArgs = Number(process.versions.node.split(".")[0]) < 22
  ? ["--import", join(here, "conformance", "register.mjs")]
  : []

const run = (args: ReadonlyArray<string>, timeoutMs: number) =>
  new Promise<{ code: number | null; stdout: string }>((resolve) => {
    const child = spawn(process.execPath, [...nodeArgs, cli, ...args], { stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    child.stdout.on("data", (chunk) => (stdout += chunk))
    child.stderr.on("data", (chunk) => (stdout += chunk))
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs)
    child.on("exit", (code) => {
      clearTimeout(timer)
      resolve({ code, stdout })
    })
  })

const findChecks = (dir: string, scenario: string): string | undefined => {
  if (!existsSync(dir)) return undefined
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name)
    if (entry.isDirectory()) {
      if (entry.name.startsWith(`server-${scenario}-`) && existsSync(join(full, "checks.json"))) {
        return join(full, "checks.json")
      }
      const nested = findChecks(full, scenario)
      if (nested !== undefined) return nested
    }
  }
  return undefined
}

/** Runs every server scenario against `url`; a scenario passes when none of its checks is a FAILURE. */
export const runConformance = async (url: string): Promise<ReadonlyArray<ScenarioResult>> => {
  const list = await run(["list", "--server"], 60_000)
  const scenarios = [...list.stdout.matchAll(/^ {2}- (\S+)/gm)].map((m) => m[1]!)
  if (scenarios.length === 0) throw new Error(`could not list the conformance scenarios:\n${list.stdout}`)
  const out = mkdtempSync(join(tmpdir(), "mcp-conformance-"))
  try {
    // One process for the whole suite; any scenario it did not finish is retried alone.
    await run(["server", "--url", url, "--suite", "all", "-o", join(out, "suite")], 180_000)
    const results: Array<ScenarioResult> = []
    for (const scenario of scenarios) {
      let file = findChecks(join(out, "suite"), scenario)
      if (file === undefined) {
        await run(["server", "--url", url, "--scenario", scenario, "-o", join(out, scenario)], 60_000)
        file = findChecks(join(out, scenario), scenario)
      }
      if (file === undefined) {
        results.push({
          scenario,
          passed: false,
          checks: { ok: 0, failed: 1, warnings: 0 },
          firstProblem: "no result (timeout or crash)"
        })
        continue
      }
      const checks = JSON.parse(readFileSync(file, "utf8")) as Array<
        { status: string; id: string; errorMessage?: string; description?: string }
      >
      const failed = checks.filter((c) => c.status === "FAILURE")
      const warnings = checks.filter((c) => c.status === "WARNING")
      const problem = failed[0] ?? warnings[0]
      // A scenario none of whose checks succeeded proves nothing: it does not count as passed.
      results.push({
        scenario,
        passed: failed.length === 0 && checks.some((c) => c.status === "SUCCESS"),
        checks: {
          ok: checks.filter((c) => c.status === "SUCCESS").length,
          failed: failed.length,
          warnings: warnings.length
        },
        firstProblem: !checks.some((c) => c.status === "SUCCESS")
          ? `no check succeeded (${checks.map((c) => c.status).join(", ") || "none ran"})`
          : problem === undefined
          ? undefined
          : `${problem.status === "WARNING" ? "[warn] " : ""}${problem.id}: ${
            String(problem.errorMessage ?? problem.description ?? "").replace(/\s+/g, " ").slice(0, 140)
          }`
      })
    }
    return results
  } finally {
    rmSync(out, { recursive: true, force: true })
  }
}

/** The table and the summary line. */
export const report = (results: ReadonlyArray<ScenarioResult>): string => {
  const rows = results.map((r) => {
    const expected = EXPECTED_FAILURES[r.scenario]
    const verdict = r.passed ? "PASS" : expected !== undefined ? "XFAIL" : "FAIL"
    const detail = !r.passed && expected !== undefined ? `expected: ${expected}` : r.firstProblem ?? ""
    return `${r.scenario.padEnd(32)} ${
      verdict.padEnd(6)
    } ${r.checks.ok}/${r.checks.failed}/${r.checks.warnings} ${detail}`
  })
  const passed = results.filter((r) => r.passed).length
  return [
    `${"SCENARIO".padEnd(32)} RESULT CHECKS (ok/failed/warn)`,
    ...rows,
    `${passed} passed, ${results.length - passed} failed`
  ].join("\n")
}

/** Scenarios that failed without being expected to, and expected failures that now pass (to update the list). */
export const surprises = (results: ReadonlyArray<ScenarioResult>) => ({
  unexpectedFailures: results.filter((r) => !r.passed && EXPECTED_FAILURES[r.scenario] === undefined).map((r) =>
    r.scenario
  ),
  unexpectedPasses: results.filter((r) => r.passed && EXPECTED_FAILURES[r.scenario] !== undefined).map((r) =>
    r.scenario
  )
})

/** Serves the fixture on a free port for the duration of `use`. */
export const withFixture = async <A>(use: (url: string) => Promise<A>): Promise<A> => {
  const runtime = ManagedRuntime.make(
    McpHttpServer.layer({ port: 0, host: "127.0.0.1" }).pipe(Layer.provide(ConformanceServer.layer))
  )
  try {
    const server = await runtime.runPromise(McpHttpServer.McpHttpServer)
    // The dns-rebinding scenario needs a localhost URL.
    return await use(`http://localhost:${server.port}/mcp`)
  } finally {
    await runtime.dispose()
  }
}

/** The `npm run conformance` entry (scripts/run-conformance.ts). */
export const main = async () => {
  const results = await withFixture(runConformance)
  console.log(report(results))
  const { unexpectedFailures, unexpectedPasses } = surprises(results)
  if (unexpectedPasses.length > 0) {
    console.log(`now passing (remove from EXPECTED_FAILURES): ${unexpectedPasses.join(", ")}`)
  }
  if (unexpectedFailures.length > 0) console.log(`unexpected failures: ${unexpectedFailures.join(", ")}`)
  process.exitCode = unexpectedFailures.length > 0 ? 1 : 0
}
