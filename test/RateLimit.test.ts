/**
 * Rate limits on tools/call (RateLimit): token buckets per caller and per tool, refilled on Effect's Clock (so
 * TestClock drives them), refused before the handler runs: -32000 with the retry time in `data` in the engine
 * (McpTest, WebSocket, a call in a session), 429 with Retry-After over Streamable HTTP (modern and legacy POSTs).
 */
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Layer, TestClock } from "effect"
import { request as httpRequest } from "node:http"
import { it as vit } from "vitest"
import { McpTest, RateLimit } from "../src/index.js"
import { start as startHttp } from "./fixtures/Http.js"
import { startServer } from "./fixtures/MainProcess.js"
import * as TestServer from "./fixtures/TestServer.js"
import { initialize, JSON_AND_SSE, modernHeaders, modernMeta } from "./support/Messages.js"
import { rpcError } from "./support/Rpc.js"
import { openWebSocket } from "./support/WebSocket.js"

const limited = (options: RateLimit.Options) => Layer.merge(TestServer.layer(), RateLimit.layer(options))

/** An error of a limit refused over real time: the retry time is at most the refill time, and close to it. */
const assertExceeded = (
  error: any,
  limit: number,
  windowMs: number,
  scope: "caller" | "tool",
  retryAfterMs: number
) => {
  assert.strictEqual(error.code, -32000)
  assert.deepStrictEqual({ ...error.data, retryAfterMs: 0 }, { retryAfterMs: 0, limit, windowMs, scope })
  assert.isAtMost(error.data.retryAfterMs, retryAfterMs)
  assert.isAbove(error.data.retryAfterMs, retryAfterMs - 1000)
  assert.strictEqual(
    error.message,
    `Rate limit exceeded: at most ${limit} tools/call per ${windowMs} ms per ${scope}; retry in ${error.data.retryAfterMs} ms`
  )
}

const exceeded = (limit: number, windowMs: number, scope: "caller" | "tool", retryAfterMs: number) => ({
  code: -32000,
  message:
    `Rate limit exceeded: at most ${limit} tools/call per ${windowMs} ms per ${scope}; retry in ${retryAfterMs} ms`,
  data: { retryAfterMs, limit, windowMs, scope }
})

describe("RateLimit in the engine (McpTest, TestClock)", () => {
  it.scoped("per caller: past the bucket, -32000 with the retry time; the bucket refills with the clock", () =>
    Effect.gen(function*() {
      const client = yield* McpTest.connect()
      yield* client.callTool("echo", { text: "a" })
      yield* client.callTool("add", { a: 1, b: 2 })
      // Two calls per second: a token every 500 ms.
      assert.deepStrictEqual(yield* rpcError(client.callTool("echo", { text: "b" })), exceeded(2, 1000, "caller", 500))
      // Other methods are not limited.
      yield* client.request("tools/list", {})
      yield* TestClock.adjust("499 millis")
      assert.deepStrictEqual(yield* rpcError(client.callTool("echo", { text: "c" })), exceeded(2, 1000, "caller", 1))
      yield* TestClock.adjust("1 millis")
      yield* client.callTool("echo", { text: "d" })
      assert.deepStrictEqual(yield* rpcError(client.callTool("echo", { text: "e" })), exceeded(2, 1000, "caller", 500))
      // A full window refills the bucket, no further.
      yield* TestClock.adjust("10 seconds")
      yield* client.callTool("echo", { text: "f" })
      yield* client.callTool("echo", { text: "g" })
      assert.strictEqual((yield* rpcError(client.callTool("echo", { text: "h" }))).code, -32000)
    }).pipe(Effect.provide(limited({ perCaller: { calls: 2, windowMillis: 1000 } }))))

  it.scoped("per tool: one bucket per tool name across callers; other tools unaffected", () =>
    Effect.gen(function*() {
      const a = yield* McpTest.connect()
      const b = yield* McpTest.connect({ era: "modern" })
      yield* a.callTool("echo", { text: "a" })
      assert.deepStrictEqual(yield* rpcError(b.callTool("echo", { text: "b" })), exceeded(1, 60_000, "tool", 60_000))
      assert.deepStrictEqual(yield* rpcError(a.callTool("echo", { text: "c" })), exceeded(1, 60_000, "tool", 60_000))
      yield* b.callTool("add", { a: 1, b: 2 })
      yield* TestClock.adjust("60 seconds")
      yield* b.callTool("echo", { text: "d" })
    }).pipe(Effect.provide(limited({ perTool: { calls: 1, windowMillis: 60_000 } }))))

  it.scoped("a refused call never reaches its handler", () =>
    Effect.gen(function*() {
      const client = yield* McpTest.connect()
      yield* client.callTool("sleep", { ms: 0 })
      assert.strictEqual((yield* rpcError(client.callTool("sleep", { ms: 0 }))).code, -32000)
      assert.strictEqual((yield* rpcError(client.callTool("sleep", { ms: 0 }))).code, -32000)
      assert.deepStrictEqual(yield* TestServer.events, ["sleep:start"])
    }).pipe(Effect.provide(limited({ perCaller: { calls: 1, windowMillis: 1000 } }))))

  it.scoped("without a layer (or with zero calls) nothing is limited", () =>
    Effect.gen(function*() {
      const client = yield* McpTest.connect()
      for (let i = 0; i < 20; i++) yield* client.callTool("echo", { text: "x" })
    }).pipe(
      Effect.provide(Layer.merge(TestServer.layer(), RateLimit.layer({ perCaller: { calls: 0, windowMillis: 1 } })))
    ))

  it.effect("the memory store: a bucket per key, refilled continuously, bounded in keys", () =>
    Effect.gen(function*() {
      const store = RateLimit.makeMemoryStore(2)
      const take = (key: string) =>
        store.tokenBucket({ key, tokens: 1, limit: 2, refillRate: Duration.millis(100), allowOverflow: false })
      assert.deepStrictEqual([yield* take("a"), yield* take("a"), yield* take("a")], [1, 0, -1])
      yield* TestClock.adjust("50 millis")
      assert.strictEqual(yield* take("a"), -0.5)
      yield* take("b")
      // A third key drops the least recently used one ("a"), which starts again full.
      yield* take("c")
      assert.strictEqual(yield* take("a"), 1)
    }))

  it("caller keys: the principal's subject, else the remote address, else the transport", () => {
    const principal = { subject: "alice", clientId: undefined, scopes: [], expiresAt: undefined }
    assert.strictEqual(
      RateLimit.callerKey({ transport: "http", remoteAddress: "10.0.0.1", principal }),
      "principal:alice"
    )
    assert.strictEqual(
      RateLimit.callerKey({ transport: "http", remoteAddress: "10.0.0.1", principal: undefined }),
      "address:10.0.0.1"
    )
    assert.strictEqual(
      RateLimit.callerKey({ transport: "stdio", remoteAddress: undefined, principal: undefined }),
      "transport:stdio"
    )
  })

  it("address keys: IPv4 whole, IPv4-mapped IPv6 as IPv4, IPv6 by its /64, anything odd kept whole", () => {
    const cases: ReadonlyArray<readonly [string, string]> = [
      ["10.0.0.1", "10.0.0.1"],
      ["::ffff:10.0.0.1", "10.0.0.1"],
      ["::FFFF:127.0.0.1", "127.0.0.1"],
      ["2001:db8:0:1:aaaa:bbbb:cccc:dddd", "2001:db8:0:1::/64"],
      ["2001:DB8:0:1::1", "2001:db8:0:1::/64"],
      ["2001:0db8:0000:0001:0000:0000:0000:0002", "2001:db8:0:1::/64"],
      ["2001:db8::", "2001:db8:0:0::/64"],
      ["::1", "0:0:0:0::/64"],
      ["fe80::1%eth0", "fe80::1%eth0"],
      ["1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7:8:9"],
      ["1::2::3", "1::2::3"],
      ["1:2:3:4:5:6:7::8", "1:2:3:4:5:6:7::8"],
      ["12345::1", "12345::1"]
    ]
    for (const [address, key] of cases) assert.strictEqual(RateLimit.addressKey(address), key, address)
    // Two addresses of one /64 share a bucket; the next /64 does not.
    assert.strictEqual(
      RateLimit.addressKey("2001:db8:1:2::a"),
      RateLimit.addressKey("2001:db8:1:2:ffff:ffff:ffff:ffff")
    )
    assert.notStrictEqual(RateLimit.addressKey("2001:db8:1:2::a"), RateLimit.addressKey("2001:db8:1:3::a"))
  })
})

interface Answer {
  readonly status: number
  readonly headers: Record<string, string | Array<string> | undefined>
  readonly body: any
}

/** A POST over node:http, from `localAddress` (127.0.0.1 unless told). */
const postFrom = (url: string, body: unknown, headers: Record<string, string>, localAddress = "127.0.0.1") =>
  new Promise<Answer>((resolve, reject) => {
    const req = httpRequest(url, { method: "POST", headers: { ...JSON_AND_SSE, ...headers }, localAddress }, (res) => {
      let text = ""
      res.setEncoding("utf8")
      res.on("data", (chunk) => (text += chunk))
      res.on("end", () =>
        resolve({
          status: res.statusCode!,
          headers: res.headers,
          body: text === "" ? undefined : JSON.parse(text)
        }))
    })
    req.on("error", reject)
    req.end(JSON.stringify(body))
  })

const modernCall = (id: number, name: string, args: Record<string, unknown>) => ({
  jsonrpc: "2.0",
  id,
  method: "tools/call",
  params: { name, arguments: args, _meta: modernMeta }
})

describe("RateLimit over HTTP", () => {
  vit(
    "a modern POST over the limit is 429 with Retry-After, before dispatch; another address is not limited",
    async () => {
      const { events, url } = await startHttp({}, {}, [], { perCaller: { calls: 1, windowMillis: 60_000 } })
      const headers = modernHeaders("tools/call", "sleep")
      const first = await postFrom(url, modernCall(1, "sleep", { ms: 0 }), headers)
      assert.strictEqual(first.status, 200)
      const second = await postFrom(url, modernCall(2, "sleep", { ms: 0 }), headers)
      assert.strictEqual(second.status, 429)
      assert.strictEqual(second.headers["retry-after"], "60")
      assert.strictEqual(second.body.id, 2)
      assertExceeded(second.body.error, 1, 60_000, "caller", 60_000)
      assert.deepStrictEqual(await events(), ["sleep:start"])
      // Another caller (another remote address) has a bucket of its own.
      const other = await postFrom(url, modernCall(3, "sleep", { ms: 0 }), headers, "127.0.0.2")
      assert.strictEqual(other.status, 200)
      assert.deepStrictEqual(await events(), ["sleep:start", "sleep:start"])
      // Methods other than tools/call are not limited.
      const list = await postFrom(
        url,
        { jsonrpc: "2.0", id: 4, method: "tools/list", params: { _meta: modernMeta } },
        modernHeaders("tools/list")
      )
      assert.strictEqual(list.status, 200)
    }
  )

  vit(
    "a legacy session POST over the limit is 429 with Retry-After (seconds, rounded up), handler not run",
    async () => {
      const { events, url } = await startHttp({}, {}, [], { perTool: { calls: 2, windowMillis: 2500 } })
      const init = await postFrom(url, initialize("2025-06-18"), {})
      assert.strictEqual(init.status, 200)
      const sid = init.headers["mcp-session-id"] as string
      const headers = { "mcp-session-id": sid, "mcp-protocol-version": "2025-06-18" }
      await postFrom(url, { jsonrpc: "2.0", method: "notifications/initialized" }, headers)
      const call = (id: number) =>
        postFrom(
          url,
          { jsonrpc: "2.0", id, method: "tools/call", params: { name: "sleep", arguments: { ms: 0 } } },
          headers
        )
      assert.strictEqual((await call(2)).status, 200)
      assert.strictEqual((await call(3)).status, 200)
      const refused = await call(4)
      assert.strictEqual(refused.status, 429)
      // A token every 1250 ms: Retry-After is 2 seconds.
      assert.strictEqual(refused.headers["retry-after"], "2")
      assert.strictEqual(refused.body.error.code, -32000)
      assert.strictEqual(refused.body.error.data.scope, "tool")
      assert.isAtMost(refused.body.error.data.retryAfterMs, 1250)
      assert.isAbove(refused.body.error.data.retryAfterMs, 1000)
      assert.deepStrictEqual(await events(), ["sleep:start", "sleep:start"])
    }
  )

  vit("a WebSocket call over the limit gets the JSON-RPC error, and the socket stays open", async () => {
    const { events, port } = await startHttp({}, {}, [], { perCaller: { calls: 1, windowMillis: 60_000 } })
    const socket = await openWebSocket(`ws://127.0.0.1:${port}/ws`)
    const answers: Array<any> = []
    socket.on("message", (data) => answers.push(JSON.parse(data.toString())))
    const answerTo = async (id: number) => {
      for (let i = 0; i < 200 && !answers.some((a) => a.id === id); i++) await new Promise((r) => setTimeout(r, 10))
      return answers.find((a) => a.id === id)
    }
    socket.send(JSON.stringify(initialize("2025-06-18")))
    await answerTo(1)
    socket.send(JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }))
    const call = (id: number) =>
      socket.send(
        JSON.stringify({ jsonrpc: "2.0", id, method: "tools/call", params: { name: "sleep", arguments: { ms: 0 } } })
      )
    call(2)
    assert.property(await answerTo(2), "result")
    call(3)
    assertExceeded((await answerTo(3)).error, 1, 60_000, "caller", 60_000)
    socket.send(JSON.stringify({ jsonrpc: "2.0", id: 4, method: "ping" }))
    assert.deepStrictEqual((await answerTo(4)).result, {})
    assert.deepStrictEqual(await events(), ["sleep:start"])
    socket.close()
  })
})

describe("RateLimit flags (dist)", () => {
  vit("--rate-limit-calls and --rate-limit-window-ms reach the limiter", async () => {
    const { port } = await startServer(["--rate-limit-calls", "2", "--rate-limit-window-ms", "10000"])
    const url = `http://127.0.0.1:${port}/mcp`
    const headers = modernHeaders("tools/call", "echo")
    const call = (id: number) => postFrom(url, modernCall(id, "echo", { text: "hi" }), headers)
    assert.strictEqual((await call(1)).status, 200)
    assert.strictEqual((await call(2)).status, 200)
    const refused = await call(3)
    assert.strictEqual(refused.status, 429)
    assert.strictEqual(refused.headers["retry-after"], "5")
    assertExceeded(refused.body.error, 2, 10_000, "caller", 5000)
  })

  vit("--rate-limit-tool-calls limits each tool across callers", async () => {
    const { port } = await startServer(["--rate-limit-tool-calls", "1"])
    const url = `http://127.0.0.1:${port}/mcp`
    const echo = (id: number, from: string) =>
      postFrom(url, modernCall(id, "echo", { text: "hi" }), modernHeaders("tools/call", "echo"), from)
    assert.strictEqual((await echo(1, "127.0.0.1")).status, 200)
    const refused = await echo(2, "127.0.0.2")
    assert.strictEqual(refused.status, 429)
    assert.strictEqual(refused.headers["retry-after"], "60")
    assertExceeded(refused.body.error, 1, 60_000, "tool", 60_000)
    const add = await postFrom(url, modernCall(3, "add", { a: 1, b: 2 }), modernHeaders("tools/call", "add"))
    assert.strictEqual(add.status, 200)
  })
})
