/**
 * The interceptor chain over the real Connection and Dispatcher (McpTest): every action in both directions, the
 * order and context the chain sees, contained failures, and the built-ins.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Logger, Queue, Random, TestClock } from "effect"
import { Interceptor, McpTest } from "../src/index.js"
import * as TestServer from "./fixtures/TestServer.js"
import { rpcError } from "./support/Rpc.js"
import { settle } from "./support/Settle.js"

const text = (result: { readonly content: ReadonlyArray<unknown> }) => (result.content[0] as { text: string }).text

const withChain = (...interceptors: ReadonlyArray<Interceptor.Interceptor>) => {
  const server = TestServer.layer()
  return Layer.merge(server, Interceptor.layer(...interceptors).pipe(Layer.provide(server)))
}

const isCall = (message: Interceptor.Message, tool: string) =>
  message.method === "tools/call" && message.params?.name === tool

describe("inbound", () => {
  it.scoped("continue and modify: the handler sees the rewritten message", () =>
    Effect.gen(function*() {
      const client = yield* McpTest.connect()
      assert.strictEqual(text(yield* client.callTool("echo", { text: "original" })), "rewritten")
      assert.deepStrictEqual(yield* client.request("ping"), {})
    }).pipe(Effect.provide(withChain(
      { name: "noop", inbound: () => Effect.succeed(Interceptor.Continue) },
      {
        name: "rewrite",
        inbound: (message) =>
          Effect.succeed(
            isCall(message, "echo")
              ? Interceptor.modify({ ...message, params: { ...message.params, arguments: { text: "rewritten" } } })
              : Interceptor.Continue
          )
      }
    ))))

  it.scoped("block answers a request with the error and the handler never runs; a blocked notification vanishes", () =>
    Effect.gen(function*() {
      const client = yield* McpTest.connect()
      const error = yield* rpcError(client.callTool("sleep", { ms: 10 }))
      assert.deepStrictEqual(error, { code: -32001, message: "nope" })
      assert.notInclude(yield* Effect.flatMap(TestServer.Probe, (p) => p.events.get), "sleep:start")
      yield* client.notify("notifications/roots/list_changed")
      assert.deepStrictEqual(yield* client.request("ping"), {})
    }).pipe(Effect.provide(withChain({
      name: "block",
      inbound: (message) =>
        Effect.succeed(
          isCall(message, "sleep") || message.method === "notifications/roots/list_changed"
            ? Interceptor.block({ code: -32001, message: "nope" })
            : Interceptor.Continue
        )
    }))))

  it.scoped("respond mocks the answer without running the handler", () =>
    Effect.gen(function*() {
      const client = yield* McpTest.connect()
      assert.deepStrictEqual(yield* client.request("tools/list"), {
        tools: [{ name: "mock", inputSchema: { type: "object" } }]
      })
    }).pipe(Effect.provide(withChain({
      name: "mock",
      inbound: (message) =>
        Effect.succeed(
          message.method === "tools/list"
            ? Interceptor.respond({ tools: [{ name: "mock", inputSchema: { type: "object" } }] })
            : Interceptor.Continue
        )
    }))))

  it.scoped("delay holds the message for that long (TestClock)", () =>
    Effect.gen(function*() {
      const client = yield* McpTest.connect()
      const call = yield* Effect.fork(client.callTool("echo", { text: "late" }))
      yield* settle
      assert.isNull(call.unsafePoll())
      yield* TestClock.adjust("999 millis")
      yield* settle
      assert.isNull(call.unsafePoll())
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(text(yield* Fiber.join(call)), "late")
    }).pipe(Effect.provide(withChain({
      name: "delay",
      inbound: (message) =>
        Effect.succeed(isCall(message, "echo") ? Interceptor.delay("1 second") : Interceptor.Continue)
    }))))

  it.scoped("drop: the request is never answered, the connection goes on", () =>
    Effect.gen(function*() {
      const client = yield* McpTest.connect()
      const dropped = yield* Effect.fork(client.callTool("echo", { text: "x" }, { id: "dropped" }))
      assert.deepStrictEqual(yield* client.request("ping"), {})
      yield* settle
      assert.isNull(dropped.unsafePoll())
      assert.deepStrictEqual([...(yield* Queue.takeAll(client.messages))], [])
      yield* Fiber.interrupt(dropped)
    }).pipe(Effect.provide(withChain({
      name: "drop",
      inbound: (message) => Effect.succeed(isCall(message, "echo") ? Interceptor.Drop : Interceptor.Continue)
    }))))
})

describe("outbound", () => {
  it.scoped("modify, block and respond rewrite the answer; drop removes a notification", () =>
    Effect.gen(function*() {
      const client = yield* McpTest.connect()
      assert.strictEqual(text(yield* client.callTool("echo", { text: "modify" })), "modified")
      assert.deepStrictEqual(yield* rpcError(client.callTool("echo", { text: "block" })), {
        code: -32000,
        message: "withheld"
      })
      assert.deepStrictEqual(yield* client.callTool("echo", { text: "respond" }), {
        content: [{ type: "text", text: "mocked" }]
      })
      // Progress notifications are dropped, the answer still comes.
      const slept = yield* Effect.fork(client.callTool("sleep", { ms: 30, steps: 3 }, { progressToken: "p" }))
      yield* TestClock.adjust("30 millis")
      assert.strictEqual(text(yield* Fiber.join(slept)), "slept")
      assert.deepStrictEqual([...(yield* Queue.takeAll(client.messages))], [])
    }).pipe(Effect.provide(withChain({
      name: "outbound",
      outbound: (message) => {
        if (message.method === "notifications/progress") return Effect.succeed(Interceptor.Drop)
        const said = (message.result as { content?: Array<{ text?: string }> } | undefined)?.content?.[0]?.text
        switch (said) {
          case "modify":
            return Effect.succeed(
              Interceptor.modify({ ...message, result: { content: [{ type: "text", text: "modified" }] } })
            )
          case "block":
            return Effect.succeed(Interceptor.block({ code: -32000, message: "withheld" }))
          case "respond":
            return Effect.succeed(Interceptor.respond({ content: [{ type: "text", text: "mocked" }] }))
          default:
            return Effect.succeed(Interceptor.Continue)
        }
      }
    }))))
})

describe("batches (2025-03-26)", () => {
  it.scoped("each message of a batch passes the chain both ways", () =>
    Effect.gen(function*() {
      const client = yield* McpTest.connect({ protocolVersion: "2025-03-26" })
      yield* client.sendRaw(JSON.stringify([
        { jsonrpc: "2.0", id: "a", method: "tools/call", params: { name: "echo", arguments: { text: "modify" } } },
        { jsonrpc: "2.0", id: "b", method: "tools/call", params: { name: "echo", arguments: { text: "keep" } } },
        { jsonrpc: "2.0", id: "c", method: "tools/call", params: { name: "sleep", arguments: { ms: 1 } } }
      ]))
      const answers = [
        yield* Queue.take(client.messages),
        yield* Queue.take(client.messages),
        yield* Queue.take(client.messages)
      ]
      const byId = Object.fromEntries(answers.map((m) => [m.id, m]))
      assert.deepStrictEqual(byId.a!.result, { content: [{ type: "text", text: "modified" }] })
      assert.deepStrictEqual(byId.b!.result, { content: [{ type: "text", text: "keep" }] })
      assert.deepStrictEqual(byId.c!.error, { code: -32001, message: "blocked in" })
    }).pipe(Effect.provide(withChain({
      name: "both",
      inbound: (message) =>
        Effect.succeed(
          isCall(message, "sleep") ? Interceptor.block({ code: -32001, message: "blocked in" }) : Interceptor.Continue
        ),
      outbound: (message) =>
        Effect.succeed(
          (message.result as { content?: Array<{ text?: string }> } | undefined)?.content?.[0]?.text === "modify"
            ? Interceptor.modify({ ...message, result: { content: [{ type: "text", text: "modified" }] } })
            : Interceptor.Continue
        )
    }))))
})

describe("order, context and failures", () => {
  it.scoped("interceptors run in order and share the message's metadata; the context describes the message", () =>
    Effect.gen(function*() {
      const client = yield* McpTest.connect()
      yield* client.callTool("echo", { text: "hi" }, { id: 42 })
      const inbound = seen.filter((s) => s.direction === "inbound" && s.requestId === 42)
      assert.deepStrictEqual(inbound, [{
        direction: "inbound",
        requestId: 42,
        era: "legacy",
        version: "2025-11-25",
        transport: "memory",
        first: "a"
      }])
      const outbound = seen.filter((s) => s.direction === "outbound" && s.requestId === 42)
      assert.strictEqual(outbound.length, 1)
      assert.strictEqual(outbound[0]!.first, "a")
    }).pipe(Effect.provide(withChain(
      {
        name: "a",
        inbound: (_, context) =>
          Effect.sync(() => context.metadata.set("first", "a")).pipe(Effect.as(Interceptor.Continue)),
        outbound: (_, context) =>
          Effect.sync(() => context.metadata.set("first", "a")).pipe(Effect.as(Interceptor.Continue))
      },
      {
        name: "b",
        inbound: (_, context) => record(context),
        outbound: (_, context) => record(context)
      }
    ))))

  it.scoped("a failing or dying interceptor harms only its message (-32603), and is logged", () =>
    Effect.gen(function*() {
      const client = yield* McpTest.connect()
      assert.deepStrictEqual(yield* rpcError(client.callTool("echo", { text: "die-in" })), {
        code: -32603,
        message: "Internal error"
      })
      assert.deepStrictEqual(yield* rpcError(client.callTool("echo", { text: "die-out" })), {
        code: -32603,
        message: "Internal error"
      })
      assert.strictEqual(text(yield* client.callTool("echo", { text: "fine" })), "fine")
      assert.isTrue(logs.some((line) => line.includes("Interceptor failed") && line.includes("dies")))
    }).pipe(
      Effect.provide(withChain({
        name: "dies",
        inbound: (message) =>
          (message.params?.arguments as { text?: string } | undefined)?.text === "die-in"
            ? Effect.die(new Error("inbound bug"))
            : Effect.succeed(Interceptor.Continue),
        outbound: (message) =>
          (message.result as { content?: Array<{ text?: string }> } | undefined)?.content?.[0]?.text === "die-out"
            ? Effect.die(new Error("outbound bug"))
            : Effect.succeed(Interceptor.Continue)
      })),
      Effect.provide(Logger.replace(Logger.defaultLogger, collecting))
    ))
})

describe("plain values and Effects in one chain", () => {
  const argText = (message: Interceptor.Message) =>
    (message.params?.arguments as { text?: string } | undefined)?.text ?? ""
  const withText = (message: Interceptor.Message, value: string): Interceptor.Message => ({
    ...message,
    params: { ...message.params, arguments: { text: value } }
  })

  it.scoped("keeps the order across interceptors that answer with values and with real Effects; a throw is contained", () =>
    Effect.gen(function*() {
      const client = yield* McpTest.connect()
      assert.strictEqual(text(yield* client.callTool("echo", { text: "a" })), "a123")
      assert.deepStrictEqual(yield* rpcError(client.callTool("echo", { text: "throw" })), {
        code: -32603,
        message: "Internal error"
      })
      assert.strictEqual(text(yield* client.callTool("echo", { text: "b" })), "b123")
      assert.isTrue(logs.some((line) => line.includes("Interceptor failed") && line.includes("throws")))
    }).pipe(
      Effect.provide(withChain(
        {
          name: "value-1",
          inbound: (m) =>
            Effect.succeed(isCall(m, "echo") ? Interceptor.modify(withText(m, `${argText(m)}1`)) : Interceptor.Continue)
        },
        {
          name: "throws",
          inbound: (m) => {
            if (argText(m) === "throw1") throw new Error("sync bug")
            return Effect.succeed(Interceptor.Continue)
          }
        },
        {
          name: "effect-2",
          inbound: (m) =>
            Effect.zipRight(
              Effect.yieldNow(),
              Effect.sync(
                () => (isCall(m, "echo") ? Interceptor.modify(withText(m, `${argText(m)}2`)) : Interceptor.Continue)
              )
            )
        },
        {
          name: "value-3",
          inbound: (m) =>
            Effect.succeed(isCall(m, "echo") ? Interceptor.modify(withText(m, `${argText(m)}3`)) : Interceptor.Continue)
        }
      )),
      Effect.provide(Logger.replace(Logger.defaultLogger, collecting))
    ))
})

describe("built-ins", () => {
  it.scoped("methods: an allow list refuses the rest with -32601; a deny list refuses those listed", () =>
    Effect.gen(function*() {
      const client = yield* McpTest.connect()
      assert.deepStrictEqual(yield* client.request("ping"), {})
      const refused = yield* rpcError(client.request("tools/list"))
      assert.deepStrictEqual(refused, { code: -32601, message: "Method not allowed: tools/list" })
    }).pipe(
      Effect.provide(withChain(Interceptor.methods({ allow: ["initialize", "notifications/initialized", "ping"] })))
    ))

  it.scoped("methods: deny", () =>
    Effect.gen(function*() {
      const client = yield* McpTest.connect()
      assert.strictEqual((yield* rpcError(client.callTool("echo", { text: "x" }))).code, -32601)
      assert.deepStrictEqual(yield* client.request("ping"), {})
    }).pipe(Effect.provide(withChain(Interceptor.methods({ deny: ["tools/call"] })))))

  it.scoped("faults: probability 1 always hits the chosen methods, with a seeded Random; 0 never does", () =>
    Effect.gen(function*() {
      const client = yield* McpTest.connect()
      for (let i = 0; i < 5; i++) {
        assert.deepStrictEqual(yield* rpcError(client.callTool("echo", { text: "x" })), {
          code: -32000,
          message: "injected"
        })
      }
      assert.deepStrictEqual(yield* client.request("ping"), {})
    }).pipe(
      Effect.provide(withChain(
        Interceptor.faults({ probability: 1, error: { code: -32000, message: "injected" }, methods: ["tools/call"] }),
        Interceptor.faults({ probability: 0, drop: true })
      )),
      Effect.withRandom(Random.make("seed"))
    ))

  it.scoped("logger: one structured line per message in each direction", () =>
    Effect.gen(function*() {
      const client = yield* McpTest.connect()
      logs.length = 0
      yield* client.callTool("echo", { text: "x" }, { id: "log-me" })
      assert.isTrue(logs.some((line) => line.includes("<- tools/call") && line.includes("log-me")))
      assert.isTrue(logs.some((line) => line.includes("-> result") && line.includes("log-me")))
    }).pipe(
      Effect.provide(withChain(Interceptor.logger())),
      Effect.provide(Logger.replace(Logger.defaultLogger, collecting))
    ))
})

interface Seen {
  readonly direction: string
  readonly requestId: unknown
  readonly era?: string | undefined
  readonly version?: string | undefined
  readonly transport?: string
  readonly first: unknown
}
const seen: Array<Seen> = []
const record = (context: Interceptor.Context) =>
  Effect.sync(() => {
    seen.push({
      direction: context.direction,
      requestId: context.requestId,
      ...(context.direction === "inbound"
        ? { era: context.era, version: context.protocolVersion, transport: context.transport }
        : {}),
      first: context.metadata.get("first")
    })
    return Interceptor.Continue
  })

const logs: Array<string> = []
const collecting = Logger.make(({ annotations, message }) => {
  logs.push(`${String(message)} ${JSON.stringify(Object.fromEntries(annotations))}`)
})
