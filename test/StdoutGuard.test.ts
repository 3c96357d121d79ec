/**
 * `Stdio.guardStdout` in process: while it is in place the console's stdout methods write to stderr, and each is
 * put back however the guarded effect ends; guards nest and overlap; a method someone else replaced meanwhile is
 * left to them; `Stdio.serve` over streams other than the process's stdout leaves the console alone. (The child
 * process tests in test/stdio-recipe.test.ts run it as a user's program.)
 */
import { afterEach, assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Layer, Logger, Schema } from "effect"
import { PassThrough } from "node:stream"
import { vi } from "vitest"
import { McpServer, Stdio, Tool } from "../src/index.js"
import { initialize } from "./support/Messages.js"
import { until } from "./support/Wait.js"

const METHODS = ["log", "info", "debug", "dir", "dirxml"] as const

type Methods = Record<typeof METHODS[number], unknown>

const current = (): Methods => ({
  log: console.log,
  info: console.info,
  debug: console.debug,
  dir: console.dir,
  dirxml: console.dirxml
})

/** True when no method is what it was in `before`. */
const allReplaced = (before: Methods) => METHODS.every((method) => console[method] !== before[method])

/** What the process's stdout and stderr are sent while `effect` runs (nothing reaches the real streams). */
const capture = <A, E, R>(
  effect: Effect.Effect<A, E, R>
): Effect.Effect<{ readonly stdout: string; readonly stderr: string }, E, R> =>
  Effect.suspend(() => {
    let stdout = ""
    let stderr = ""
    return Effect.acquireUseRelease(
      Effect.sync(() => [
        vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
          stdout += String(chunk)
          return true
        }),
        vi.spyOn(process.stderr, "write").mockImplementation((chunk) => {
          stderr += String(chunk)
          return true
        })
      ]),
      () => effect,
      (spies) => Effect.sync(() => spies.forEach((spy) => spy.mockRestore()))
    ).pipe(Effect.map(() => ({ stdout, stderr })))
  })

afterEach(() => {
  vi.restoreAllMocks()
})

describe("Stdio.guardStdout", () => {
  it.effect("console output goes to stderr while the guard is in place; the console is put back after", () =>
    Effect.gen(function*() {
      const before = current()
      const written = yield* Stdio.guardStdout(capture(Effect.sync(() => {
        assert.isTrue(allReplaced(before))
        console.log("to-log")
        console.info("to-info")
        console.debug("to-debug")
        console.dir({ to: "dir" })
        console.dirxml("to-dirxml")
        console.table([{ to: "table" }])
        console.count("to-count")
      })))
      assert.strictEqual(written.stdout, "")
      for (const text of ["to-log", "to-info", "to-debug", "{ to: 'dir' }", "to-dirxml", "table", "to-count: 1"]) {
        assert.include(written.stderr, text)
      }
      assert.deepStrictEqual(current(), before)
    }))

  it.effect("Effect's default and pretty loggers write through the redirected console, in every fiber", () =>
    Effect.gen(function*() {
      const written = yield* Stdio.guardStdout(capture(Effect.gen(function*() {
        yield* Effect.log("from-default-logger")
        yield* Effect.log("from-pretty-logger").pipe(Effect.provide(Logger.pretty))
        yield* Fiber.join(yield* Effect.forkDaemon(Effect.log("from-a-daemon")))
      }))).pipe(
        // @effect/vitest takes the default logger away; a program has it.
        Effect.provide(Logger.add(Logger.defaultLogger))
      )
      assert.strictEqual(written.stdout, "")
      for (const text of ["from-default-logger", "from-pretty-logger", "from-a-daemon"]) {
        assert.include(written.stderr, text)
      }
    }))

  it.effect("the console is put back after a failure, a defect and an interruption", () =>
    Effect.gen(function*() {
      const before = current()
      const failed = yield* Effect.exit(Stdio.guardStdout(Effect.fail("boom")))
      assert.isTrue(Exit.isFailure(failed))
      assert.deepStrictEqual(current(), before)
      const died = yield* Effect.exit(Stdio.guardStdout(Effect.dieMessage("defect")))
      assert.isTrue(Exit.isFailure(died))
      assert.deepStrictEqual(current(), before)
      const started = yield* Deferred.make<void>()
      const fiber = yield* Effect.fork(
        Stdio.guardStdout(Effect.zipRight(Deferred.succeed(started, void 0), Effect.never))
      )
      yield* Deferred.await(started)
      assert.isTrue(allReplaced(before))
      yield* Fiber.interrupt(fiber)
      assert.deepStrictEqual(current(), before)
    }))

  it.effect("overlapping guards share one redirection, put back when the last ends", () =>
    Effect.gen(function*() {
      const before = current()
      const endFirst = yield* Deferred.make<void>()
      const endSecond = yield* Deferred.make<void>()
      const inFirst = yield* Deferred.make<void>()
      const inSecond = yield* Deferred.make<void>()
      const first = yield* Effect.fork(
        Stdio.guardStdout(Effect.zipRight(Deferred.succeed(inFirst, void 0), Deferred.await(endFirst)))
      )
      yield* Deferred.await(inFirst)
      const redirected = current()
      const second = yield* Effect.fork(
        Stdio.guardStdout(Effect.zipRight(Deferred.succeed(inSecond, void 0), Deferred.await(endSecond)))
      )
      yield* Deferred.await(inSecond)
      // The second guard found the console redirected already: it changed nothing.
      assert.deepStrictEqual(current(), redirected)
      yield* Deferred.succeed(endFirst, void 0)
      yield* Fiber.join(first)
      assert.deepStrictEqual(current(), redirected)
      yield* Deferred.succeed(endSecond, void 0)
      yield* Fiber.join(second)
      assert.deepStrictEqual(current(), before)
      // Nested: the same.
      yield* Stdio.guardStdout(Stdio.guardStdout(Effect.void))
      assert.deepStrictEqual(current(), before)
      yield* Stdio.guardStdout(Effect.zipRight(
        Stdio.guardStdout(Effect.void),
        Effect.sync(() => assert.isTrue(allReplaced(before)))
      ))
      assert.deepStrictEqual(current(), before)
    }))

  it.effect("a method someone else replaced during the guard is left as they set it; the others are put back", () =>
    Effect.gen(function*() {
      const before = current()
      const theirs = () => {}
      try {
        yield* Stdio.guardStdout(Effect.sync(() => {
          console.info = theirs
        }))
        assert.strictEqual(console.info, theirs)
        assert.deepStrictEqual({ ...current(), info: before.info }, before)
      } finally {
        console.info = before.info as typeof console.info
      }
    }))
})

describe("Stdio.serve and the console", () => {
  /** Says whether `console.log` is, while a request is served, what it was when the test began. */
  const Probe = Tool.make({
    name: "probe",
    parameters: Schema.Struct({}),
    handler: () =>
      Effect.sync(() => (METHODS.every((method) => console[method] === before?.[method]) ? "kept" : "replaced"))
  })
  let before: Methods | undefined
  const server = McpServer.tool(Probe).pipe(Layer.provideMerge(McpServer.layer({ name: "probe", version: "1" })))

  it.live("over streams other than the process's stdout, the console is left alone", () =>
    Effect.gen(function*() {
      before = current()
      const stdin = new PassThrough()
      const stdout = new PassThrough()
      let output = ""
      stdout.setEncoding("utf8").on("data", (chunk: string) => (output += chunk))
      for (
        const message of [
          initialize(),
          { jsonrpc: "2.0", method: "notifications/initialized" },
          { jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "probe", arguments: {} } }
        ]
      ) {
        stdin.write(JSON.stringify(message) + "\n")
      }
      const serving = yield* Effect.fork(Stdio.serve({ stdin, stdout }))
      yield* Effect.promise(() => until(() => output.includes("\"id\":2"), "the answer to the probe"))
      stdin.end()
      yield* Fiber.join(serving)
      const answers = output.split("\n").filter((line) => line !== "").map((line) => JSON.parse(line) as Answer)
      assert.deepStrictEqual(answers.find((m) => m.id === 2)?.result?.content, [{ type: "text", text: "kept" }])
      assert.deepStrictEqual(current(), before)
    }).pipe(Effect.provide(server)))
})

interface Answer {
  readonly id?: unknown
  readonly result?: { readonly content?: unknown }
}
