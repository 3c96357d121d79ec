/**
 * The stdio upstream against real child processes nobody here wrote (`@modelcontextprotocol/server-everything`,
 * `@modelcontextprotocol/server-memory`) and our own server (`node dist/main.js --stdio`, for cancellation, whose
 * finalizer logs to stderr). Every wait is bounded. Needs `npm run build` first (the reference server).
 */
import { assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Scope } from "effect"
import { fileURLToPath } from "node:url"
import * as Instances from "../src/gateway/Instances.js"
import * as StdioUpstream from "../src/gateway/StdioUpstream.js"
import * as Upstream from "../src/gateway/Upstream.js"
import * as Upstreams from "../src/gateway/Upstreams.js"
import type { LogLine } from "./fixtures/UpstreamHarness.js"
import { alive, common, logCapture, recorder, textOf, waitUntil } from "./fixtures/UpstreamHarness.js"
import { assertBuilt, SERVER } from "./support/Dist.js"

const bin = (name: string) => fileURLToPath(new URL(`../node_modules/.bin/${name}`, import.meta.url))
const EVERYTHING = bin("mcp-server-everything")
const MEMORY = bin("mcp-server-memory")

const stdio = (
  name: string,
  command: string,
  args: ReadonlyArray<string>,
  overrides: Partial<Upstream.StdioConfig> = {}
): Upstream.StdioConfig => ({
  ...common(name),
  type: "stdio",
  command,
  args,
  env: {},
  cwd: undefined,
  ...overrides
})

const everything = (overrides: Partial<Upstream.StdioConfig> = {}) =>
  stdio("everything", EVERYTHING, ["stdio"], overrides)

/** The pid a child's stderr lines are annotated with (the first line that has one). */
const pidOf = (logs: ReadonlyArray<LogLine>, upstream: string): number | undefined => {
  const line = logs.find((l) => l.annotations.upstream === upstream && typeof l.annotations.pid === "number")
  return line?.annotations.pid as number | undefined
}

beforeAll(assertBuilt)

describe("stdio upstream: server-everything", () => {
  it.live("initialize, tools/list, tools/call echo; list_changed and roots/list reach the events", () => {
    const recorded = recorder()
    return Effect.gen(function*() {
      const upstream = yield* Upstreams.make(everything(), recorded.events)
      const declared = yield* upstream.ready
      assert.strictEqual(declared.era, "legacy")
      assert.strictEqual(declared.protocolVersion, "2025-11-25")
      assert.strictEqual(declared.serverInfo.name, "mcp-servers/everything")
      assert.isDefined(declared.capabilities.tools)
      const list = yield* upstream.request("tools/list", {})
      const names = (list.tools as Array<{ name: string }>).map((t) => t.name)
      assert.include(names, "echo")
      const echoed = yield* upstream.request("tools/call", { name: "echo", arguments: { message: "hi" } })
      assert.strictEqual(textOf(echoed), "Echo: hi")
      // After `initialized` the server registers the tools that need client capabilities (list_changed), and asks
      // for the roots outside any request.
      yield* waitUntil(
        () => recorded.notifications.some((n) => n.method === "notifications/tools/list_changed"),
        "notifications/tools/list_changed"
      )
      yield* waitUntil(() => recorded.requests.some((r) => r.method === "roots/list"), "roots/list")
      assert.deepStrictEqual(recorded.states.map((s) => s._tag), ["Ready"])
      assert.strictEqual(upstream.state()._tag, "Ready")
    }).pipe(Effect.scoped)
  })

  it.live("progress is relayed to the request's hook under the client's own token", () =>
    Effect.gen(function*() {
      const upstream = yield* Upstreams.make(everything(), recorder().events)
      const progress: Array<{ progress: number; total?: number }> = []
      const result = yield* upstream.request(
        "tools/call",
        {
          name: "trigger-long-running-operation",
          arguments: { duration: 0.3, steps: 3 },
          _meta: { progressToken: "front-token" }
        },
        { progress: (p) => Effect.sync(() => void progress.push(p)) }
      )
      assert.include(textOf(result), "Long running operation completed")
      assert.deepStrictEqual(progress, [{ progress: 1, total: 3 }, { progress: 2, total: 3 }, {
        progress: 3,
        total: 3
      }])
    }).pipe(Effect.scoped))

  it.live("sampling and elicitation reach hooks.request and the answers get back", () => {
    const recorded = recorder()
    return Effect.gen(function*() {
      const upstream = yield* Upstreams.make(everything(), recorded.events)
      yield* upstream.ready
      // The sampling and elicitation tools are registered once the server has seen `initialized`.
      yield* waitUntil(
        () => recorded.notifications.some((n) => n.method === "notifications/tools/list_changed"),
        "the conditional tools"
      )
      const asked: Array<string> = []
      const sampled = yield* upstream.request(
        "tools/call",
        { name: "trigger-sampling-request", arguments: { prompt: "hello" } },
        {
          request: (method, params) =>
            Effect.sync(() => {
              asked.push(method)
              const messages = params?.messages as Array<{ content: { text: string } }>
              return {
                role: "assistant",
                model: "test-model",
                content: { type: "text", text: `sampled: ${messages[0]!.content.text}` }
              }
            })
        }
      )
      assert.include(textOf(sampled), "sampled: Resource trigger-sampling-request context: hello")
      assert.include(textOf(sampled), "test-model")
      const elicited = yield* upstream.request(
        "tools/call",
        { name: "trigger-elicitation-request", arguments: {} },
        {
          request: (method) =>
            Effect.sync(() => {
              asked.push(method)
              return { action: "accept", content: { name: "Ada Lovelace", check: true } }
            })
        }
      )
      assert.include(JSON.stringify(elicited), "Ada Lovelace")
      assert.deepStrictEqual(asked, ["sampling/createMessage", "elicitation/create"])
    }).pipe(Effect.scoped)
  })

  it.live("kill -9 of the child mid-call: the call fails at once (closed), the child restarts and is Ready", () => {
    const recorded = recorder()
    const logs: Array<LogLine> = []
    return Effect.gen(function*() {
      const upstream = yield* Upstreams.make(everything(), recorded.events)
      yield* upstream.ready
      yield* waitUntil(() => pidOf(logs, "everything") !== undefined, "a stderr line with the child's pid")
      const pid = pidOf(logs, "everything")!
      const call = yield* Effect.fork(
        upstream.request("tools/call", {
          name: "trigger-long-running-operation",
          arguments: { duration: 30, steps: 3 }
        })
      )
      yield* waitUntil(() => upstream.inFlight() === 1, "the call in flight")
      yield* Effect.sleep(100)
      process.kill(pid, "SIGKILL")
      const started = Date.now()
      const error = yield* Effect.flip(Fiber.join(call)).pipe(Effect.timeoutFail({
        duration: 5_000,
        onTimeout: () => new Error("the call did not fail within 5 s of the kill")
      }))
      // At once: the tool would have run for 30 s; the exit answers it.
      assert.isBelow(Date.now() - started, 5_000)
      assert.strictEqual(error._tag, "UpstreamError")
      assert.strictEqual((error as Upstream.UpstreamError).reason, "closed")
      assert.include((error as Upstream.UpstreamError).message, "SIGKILL")
      yield* waitUntil(() => recorded.states.some((s) => s._tag === "Down"), "Down")
      yield* waitUntil(() => upstream.state()._tag === "Ready", "Ready again", 15_000)
      assert.deepStrictEqual(recorded.states.map((s) => s._tag), ["Ready", "Down", "Starting", "Ready"])
      const echoed = yield* upstream.request("tools/call", { name: "echo", arguments: { message: "again" } })
      assert.strictEqual(textOf(echoed), "Echo: again")
      assert.isFalse(alive(pid))
    }).pipe(Effect.scoped, Effect.provide(logCapture(logs)))
  })

  it.live("closing the Scope kills the whole process group; stderr lands in the log with the upstream's name", () => {
    const logs: Array<LogLine> = []
    return Effect.gen(function*() {
      const scope = yield* Scope.make()
      // A shell that leaves a grandchild behind (its pid on stderr), then becomes the server.
      const config = stdio("group", "/bin/sh", ["-c", `sleep 600 & echo "grandchild $!" >&2; exec ${EVERYTHING} stdio`])
      const upstream = yield* Upstreams.make(config, recorder().events).pipe(Scope.extend(scope))
      yield* upstream.ready
      yield* waitUntil(() => logs.some((l) => l.message.startsWith("grandchild ")), "the grandchild's pid")
      const line = logs.find((l) => l.message.startsWith("grandchild "))!
      assert.strictEqual(line.annotations.upstream, "group")
      assert.strictEqual(line.annotations.stream, "stderr")
      const grandchild = Number(line.message.split(" ")[1])
      const leader = line.annotations.pid as number
      assert.isTrue(alive(grandchild))
      assert.isTrue(alive(leader))
      assert.isTrue(logs.some((l) => l.message.includes("Starting default (STDIO) server")))
      yield* Scope.close(scope, Exit.void)
      yield* waitUntil(() => !alive(grandchild) && !alive(leader) && !alive(-leader), "the group gone", 5_000)
    }).pipe(Effect.provide(logCapture(logs)))
  })

  it.live("through the gateway's Instances: over maxInFlight refused at once (busy); past timeoutMillis timed out", () =>
    Effect.gen(function*() {
      const config = everything({ maxInFlight: 1, timeoutMillis: 1_500 })
      const instance = yield* Instances.open(config, "shared", Upstreams.make, recorder().events, yield* Effect.scope)
      const upstream = instance.upstream
      yield* upstream.ready
      const long = yield* Effect.fork(
        Instances.call(instance, "tools/call", {
          name: "trigger-long-running-operation",
          arguments: { duration: 10, steps: 2 }
        })
      )
      yield* waitUntil(() => upstream.inFlight() === 1, "one in flight")
      const busy = yield* Effect.flip(
        Instances.call(instance, "tools/call", { name: "echo", arguments: { message: "x" } })
      )
      assert.strictEqual(busy._tag, "UpstreamError")
      assert.strictEqual((busy as Upstream.UpstreamError).reason, "busy")
      const timedOut = yield* Effect.flip(Fiber.join(long))
      assert.strictEqual((timedOut as Upstream.UpstreamError).reason, "timeout")
      yield* waitUntil(() => upstream.inFlight() === 0, "the timed-out request gone")
      const echoed = yield* Instances.call(instance, "tools/call", { name: "echo", arguments: { message: "after" } })
      assert.strictEqual(textOf(echoed), "Echo: after")
    }).pipe(Effect.scoped))

  it.live("an unknown tool is the upstream's JSON-RPC error, passed through", () =>
    Effect.gen(function*() {
      const upstream = yield* Upstreams.make(everything(), recorder().events)
      const error = yield* Effect.flip(upstream.request("prompts/get", { name: "no-such-prompt" }))
      assert.strictEqual(error._tag, "UpstreamRpcError")
      assert.isNumber((error as Upstream.UpstreamRpcError).error.code)
    }).pipe(Effect.scoped))
})

describe("stdio upstream: other servers", () => {
  it.live("server-memory: tools/list and a call", () =>
    Effect.gen(function*() {
      const upstream = yield* Upstreams.make(
        stdio("memory", MEMORY, [], { env: { MEMORY_FILE_PATH: `/tmp/upstream13-memory-${process.pid}.jsonl` } }),
        recorder().events
      )
      const list = yield* upstream.request("tools/list", {})
      const names = (list.tools as Array<{ name: string }>).map((t) => t.name)
      assert.include(names, "create_entities")
      assert.include(names, "read_graph")
      const graph = yield* upstream.request("tools/call", { name: "read_graph", arguments: {} })
      assert.isArray(graph.content)
    }).pipe(Effect.scoped))

  it.live("cancellation reaches the upstream: our server's long_running_operation finalizer runs", () => {
    const logs: Array<LogLine> = []
    return Effect.gen(function*() {
      const upstream = yield* Upstreams.make(
        stdio("reference", process.execPath, [SERVER, "--stdio", "--log-format", "json"]),
        recorder().events
      )
      yield* upstream.ready
      const progressed: Array<number> = []
      const call = yield* Effect.fork(upstream.request(
        "tools/call",
        { name: "long_running_operation", arguments: { steps: 100, stepMs: 50 } },
        { progress: (p) => Effect.sync(() => void progressed.push(p.progress)) }
      ))
      yield* waitUntil(() => progressed.length >= 2, "two progress notifications")
      yield* Fiber.interrupt(call)
      assert.strictEqual(upstream.inFlight(), 0)
      yield* waitUntil(
        () => logs.some((l) => l.message.includes("long_running_operation.interrupted")),
        "the finalizer's log line from the child's stderr"
      )
      // The connection still serves.
      const echoed = yield* upstream.request("tools/call", { name: "echo", arguments: { text: "still" } })
      assert.strictEqual(textOf(echoed), "still")
    }).pipe(Effect.scoped, Effect.provide(logCapture(logs)))
  })

  it.live("a command that cannot run is Down with why, never failing the caller's fiber", () => {
    const recorded = recorder()
    return Effect.gen(function*() {
      const upstream = yield* StdioUpstream.make(
        stdio("missing", "/nonexistent/upstream-binary", [], { timeoutMillis: 3_000 }),
        recorded.events,
        { restartBaseMillis: 5_000 }
      )
      yield* waitUntil(() => upstream.state()._tag === "Down", "Down")
      const state = upstream.state()
      assert.include(state._tag === "Down" ? state.reason : "", "ENOENT")
      const error = yield* Effect.flip(upstream.request("tools/list", {}))
      assert.strictEqual((error as Upstream.UpstreamError).reason, "unavailable")
    }).pipe(Effect.scoped)
  })
})
