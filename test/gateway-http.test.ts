// The gateway behind the real HTTP server, with scripted upstreams: the official SDK client lists and calls proxied
// tools, hears list_changed, answers an upstream's sampling request through the gateway; per-session upstreams
// follow legacy HTTP sessions (made on first use, closed on DELETE); /ready reports each upstream; tapes record
// every message and replay them as an upstream.
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import {
  CreateMessageRequestSchema,
  ResourceUpdatedNotificationSchema,
  ToolListChangedNotificationSchema
} from "@modelcontextprotocol/sdk/types.js"
import { Effect, Layer, ManagedRuntime } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { afterEach, assert, describe, it } from "vitest"
import type * as Upstream from "../src/gateway/Upstream.js"
import * as Upstreams from "../src/gateway/Upstreams.js"
import { Gateway, McpHttpServer, McpServer, Resource, Tape } from "../src/index.js"
import * as Fake from "./support/FakeUpstream.js"
import { JSON_AND_SSE, modernHeaders, modernMeta } from "./support/Messages.js"
import { connectSdk, resultText } from "./support/Sdk.js"
import { messagesOf, readSse } from "./support/Sse.js"
import { until } from "./support/Wait.js"

const runtimes: Array<ManagedRuntime.ManagedRuntime<unknown, unknown>> = []
afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((runtime) => runtime.dispose()))
})

const start = async (options: Gateway.Options, http: McpHttpServer.Options = {}) => {
  const runtime = ManagedRuntime.make(
    McpHttpServer.layer({ port: 0, shutdownTimeout: "2 seconds", ...http }).pipe(
      Layer.provideMerge(Gateway.layer(options))
    )
  )
  runtimes.push(runtime as ManagedRuntime.ManagedRuntime<unknown, unknown>)
  const info = await runtime.runPromise(McpHttpServer.McpHttpServer)
  return { runtime, url: info.url, port: info.port }
}

describe("Gateway over HTTP", () => {
  it("the SDK client lists and calls proxied tools, hears list_changed, and answers an upstream's sampling", async () => {
    const specs: Record<string, Fake.Spec> = {
      a: {
        tools: [{
          name: "ask",
          call: (_args, hooks) =>
            Effect.map(
              Effect.orDie(hooks.request!("sampling/createMessage", {
                messages: [{ role: "user", content: { type: "text", text: "2+2?" } }],
                maxTokens: 5
              })),
              (answer) => ({ content: [{ type: "text", text: `model said ${JSON.stringify(answer.content)}` }] })
            )
        }]
      },
      b: { tools: [{ name: "echo" }] }
    }
    const fake = Fake.make(specs)
    const { url } = await start({ upstreams: [Fake.config("a"), Fake.config("b")], connect: fake.connect })
    const client = new Client({ name: "sdk", version: "1.0.0" }, { capabilities: { sampling: {} } })
    client.setRequestHandler(CreateMessageRequestSchema, async () => ({
      role: "assistant",
      content: { type: "text", text: "4" },
      model: "test"
    }))
    let changed = 0
    client.setNotificationHandler(ToolListChangedNotificationSchema, async () => {
      changed++
    })
    await client.connect(new StreamableHTTPClientTransport(new URL(url)))
    try {
      assert.deepStrictEqual((await client.listTools()).tools.map((t) => t.name), ["a__ask", "b__echo"])
      assert.strictEqual(resultText(await client.callTool({ name: "b__echo", arguments: { x: 1 } })), "{\"x\":1}")
      assert.strictEqual(
        resultText(await client.callTool({ name: "a__ask", arguments: {} })),
        "model said {\"type\":\"text\",\"text\":\"4\"}"
      )
      // The GET stream is open once the SDK has listed; a change upstream reaches it.
      specs.b!.tools = [{ name: "echo" }, { name: "more" }]
      await until(
        async () => {
          await Effect.runPromise(fake.shared("b").events.notification("notifications/tools/list_changed", undefined))
          return changed > 0
        },
        "list_changed on the SDK client",
        5_000,
        100
      )
      assert.deepStrictEqual((await client.listTools()).tools.map((t) => t.name), ["a__ask", "b__echo", "b__more"])
    } finally {
      await client.close()
    }
  })

  it("per-session upstreams follow legacy HTTP sessions; /ready reports each upstream", async () => {
    const fake = Fake.make({ a: { tools: [{ name: "t" }] }, b: { tools: [{ name: "u" }], down: "spawn ENOENT" } })
    const { url, port } = await start({
      upstreams: [Fake.config("a", { isolation: "per-session" }), Fake.config("b")],
      connect: fake.connect
    })
    const one = await connectSdk(url, "one")
    const two = await connectSdk(url, "two")
    await one.callTool({ name: "a__t", arguments: {} })
    await two.callTool({ name: "a__t", arguments: {} })
    assert.deepStrictEqual(fake.counts("a"), { opened: 3, closed: 0 })
    const ready = await (await fetch(`http://127.0.0.1:${port}/ready`)).json()
    assert.deepStrictEqual(ready, {
      ready: true,
      sessions: 2,
      upstreams: {
        a: { state: "Ready", sessions: 2, inFlight: 0 },
        b: { state: "Down", reason: "spawn ENOENT", sessions: 0, inFlight: 0 }
      }
    })
    await (one.transport as StreamableHTTPClientTransport).terminateSession()
    await until(() => fake.counts("a").closed === 1, "the ended session's upstream closed")
    await two.close()
    await one.close()
  })

  it("a legacy session that expires closes its per-session upstream; shutdown closes the rest", async () => {
    const fake = Fake.make({ a: { tools: [{ name: "t" }] } })
    const { url } = await start(
      { upstreams: [Fake.config("a", { isolation: "per-session" })], connect: fake.connect },
      { sessionIdleTimeout: "300 millis" }
    )
    const client = await connectSdk(url, "idle")
    await client.callTool({ name: "t", arguments: {} })
    assert.deepStrictEqual(fake.counts("a"), { opened: 2, closed: 0 })
    // The SDK's GET stream keeps a session busy; without it, the session is idle and expires.
    await client.close()
    const other = await connectSdk(url, "other")
    await other.callTool({ name: "t", arguments: {} })
    await until(() => fake.counts("a").closed >= 1, "the idle session's upstream closed", 5_000, 50)
    await runtimes.pop()!.dispose()
    assert.deepStrictEqual(fake.counts("a"), { opened: 3, closed: 3 })
    await other.close()
  })

  it("--record writes every message as JSON lines; --replay serves the tape as an upstream", async () => {
    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tape-"))
    const file = Path.join(dir, "tape.jsonl")
    try {
      const fake = Fake.make({ a: { tools: [{ name: "echo" }] } })
      const recorded = await start({ upstreams: [Fake.config("a")], connect: fake.connect, record: file })
      const client = await connectSdk(recorded.url, "rec")
      assert.strictEqual(resultText(await client.callTool({ name: "echo", arguments: { n: 1 } })), "{\"n\":1}")
      await client.close()
      await runtimes.pop()!.dispose()
      const lines = Fs.readFileSync(file, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Tape.Line)
      const calls = lines.filter((l) =>
        l.message.method === "tools/call" ||
        lines.some((r) => r.message.method === "tools/call" && r.message.id === l.message.id && r !== l)
      )
      assert.deepStrictEqual(calls.map((l) => [l.direction, l.session, l.upstream]), [
        ["to-upstream", "shared", "a"],
        ["from-upstream", "shared", "a"]
      ])
      assert.deepStrictEqual(calls[1]!.message.result, { content: [{ type: "text", text: "{\"n\":1}" }] })
      assert.isTrue(lines.every((l) => typeof l.time === "string"))

      const tape = await Effect.runPromise(Tape.replay(file))
      assert.deepStrictEqual(tape.upstreams.map((u: Upstream.Config) => u.name), ["a"])
      const replayed = await start({ upstreams: tape.upstreams, connect: tape.connect })
      const again = await connectSdk(replayed.url, "replay")
      assert.deepStrictEqual((await again.listTools()).tools.map((t) => t.name), ["echo"])
      assert.strictEqual(resultText(await again.callTool({ name: "echo", arguments: { n: 1 } })), "{\"n\":1}")
      const refused = await again.callTool({ name: "nothing", arguments: {} }).then(
        () => "answered",
        (e: Error) => e.message
      )
      assert.include(refused, "Unknown tool: nothing")
      await again.close()
    } finally {
      Fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it("a front client subscribed to a resource of a modern upstream hears it change (the upstream's listen stream)", async () => {
    // The upstream: built with this library (it speaks 2026-07-28, so the gateway takes it as modern), with a
    // resource whose text changes.
    let text = "first"
    const upstream = ManagedRuntime.make(
      McpHttpServer.layer({ port: 0, shutdownTimeout: "1 second" }).pipe(
        Layer.provideMerge(
          Layer.merge(
            McpServer.resource(
              Resource.make({ uri: "note://one", name: "one", mimeType: "text/plain", read: Effect.sync(() => text) })
            ),
            McpServer.resource(Resource.make({ uri: "note://two", name: "two", read: Effect.succeed("two") }))
          ).pipe(Layer.provideMerge(McpServer.layer({ name: "notes", version: "1.0.0" })))
        )
      )
    )
    runtimes.push(upstream as ManagedRuntime.ManagedRuntime<unknown, unknown>)
    const info = await upstream.runPromise(McpHttpServer.McpHttpServer)
    const config: Upstream.HttpConfig = {
      name: "notes",
      type: "http",
      url: info.url,
      headers: {},
      isolation: "shared",
      maxSessions: 10,
      timeoutMillis: 10_000,
      maxInFlight: 10
    }
    const { url } = await start({ upstreams: [config], connect: Upstreams.make })
    const client = await connectSdk(url, "subscriber")
    const updated: Array<string> = []
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, async (n) => {
      updated.push(n.params.uri)
    })
    try {
      assert.deepStrictEqual((await client.listResources()).resources.map((r) => r.uri), ["note://one", "note://two"])
      await client.subscribeResource({ uri: "note://one" })
      text = "second"
      // Once subscribed, the upstream's very next update reaches the front client.
      await upstream.runPromise(McpServer.resourceUpdated("note://one"))
      await until(() => updated.length > 0, "notifications/resources/updated on the front client", 5_000)
      assert.deepStrictEqual(updated, ["note://one"])
      const read = await client.readResource({ uri: "note://one" })
      assert.strictEqual((read.contents[0] as { text: string }).text, "second")

      // A modern front client's subscriptions/listen: its resourceSubscriptions reach the upstream's stream too.
      const listen = await fetch(url, {
        method: "POST",
        headers: { ...JSON_AND_SSE, ...modernHeaders("subscriptions/listen") },
        body: JSON.stringify({
          jsonrpc: "2.0",
          id: 7,
          method: "subscriptions/listen",
          params: { notifications: { resourceSubscriptions: ["note://two"] }, _meta: modernMeta }
        })
      })
      assert.strictEqual(listen.status, 200)
      const stream = readSse(listen)
      try {
        const methods = () => messagesOf(stream.events).map((m) => `${m.method} ${m.params?.uri ?? ""}`.trim())
        await stream.readUntil(() => methods().includes("notifications/subscriptions/acknowledged"))
        await upstream.runPromise(McpServer.resourceUpdated("note://two"))
        await stream.readUntil(() => methods().includes("notifications/resources/updated note://two"))
        assert.deepStrictEqual(methods(), [
          "notifications/subscriptions/acknowledged",
          "notifications/resources/updated note://two"
        ])
      } finally {
        await stream.cancel()
      }
    } finally {
      await client.close()
    }
  })
})
