/**
 * The stdio transport end to end: real child processes of `node dist/main.js --stdio` spoken to in newline-delimited
 * JSON. Every error case checks the exact code and id, and that the same process still answers afterwards.
 * Needs `npm run build` first.
 */
import { afterEach, assert, beforeAll, describe, it } from "@effect/vitest"
import { randomBytes } from "node:crypto"
import type { Message, StdioProcess } from "./fixtures/StdioProcess.js"
import { killAll, spawnServer } from "./fixtures/StdioProcess.js"
import { assertBuilt } from "./support/Dist.js"
import { logAnnotations } from "./support/Logs.js"
import { nest } from "./support/Messages.js"
import { assertError } from "./support/Rpc.js"

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

const DEFAULT_MAX_BYTES = 4 * 1024 * 1024

beforeAll(assertBuilt)

afterEach(() => {
  killAll()
})

/** Checks the server still serves this process: a fresh ping is answered with an empty result. */
const stillServes = async (server: StdioProcess, id: string | number) => {
  const response = await server.request(id, "ping")
  assert.strictEqual(response.error, undefined, JSON.stringify(response))
  assert.deepStrictEqual(response.result, {})
}

const messagesWithId = (server: StdioProcess, id: string | number | null) =>
  server.messages.filter((m) => typeof m === "object" && m !== null && !Array.isArray(m) && (m as Message).id === id)

const interruptedEvents = (server: StdioProcess) =>
  logAnnotations(server.logs()).filter((a) => a.event === "long_running_operation.interrupted")

describe("stdio: malformed input", () => {
  it("an invalid JSON line is answered with -32700 and id null", async () => {
    const server = spawnServer()
    await server.initialize("2025-11-25")
    server.sendRaw("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\n")
    assertError(await server.waitForId(null), null, -32700)
    server.sendRaw("this is not json\n")
    await server.waitFor(() => (messagesWithId(server, null).length >= 2 ? true : undefined), "the second -32700")
    assertError(messagesWithId(server, null)[1] as Message, null, -32700)
    await stillServes(server, 2)
  })

  it("a 5 MiB line is refused with -32600, id null and data.maxBytes; the next request is served", async () => {
    const server = spawnServer()
    await server.initialize("2025-11-25")
    const text = "a".repeat(5 * 1024 * 1024)
    server.send({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "echo", arguments: { text } } })
    const refused = await server.waitForId(null, 20_000)
    assertError(refused, null, -32600)
    assert.deepStrictEqual(refused.error!.data, { maxBytes: DEFAULT_MAX_BYTES })
    // The discarded request is never answered under its own id.
    await stillServes(server, 2)
    assert.strictEqual(messagesWithId(server, 1).length, 0)
    const echo = await server.request(3, "tools/call", { name: "echo", arguments: { text: "after" } })
    assert.deepStrictEqual(echo.result?.content, [{ type: "text", text: "after" }])
  })

  it("--max-message-bytes 1000 refuses a 2000-byte line the same way, and accepts one of exactly 1000", async () => {
    const server = spawnServer(["--stdio", "--max-message-bytes", "1000"])
    await server.initialize("2025-11-25")
    const envelope = (text: string) =>
      JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "echo", arguments: { text } } })
    const overhead = envelope("").length
    const big = envelope("b".repeat(2000 - overhead))
    assert.strictEqual(Buffer.byteLength(big), 2000)
    server.sendRaw(big + "\n")
    const refused = await server.waitForId(null)
    assertError(refused, null, -32600)
    assert.deepStrictEqual(refused.error!.data, { maxBytes: 1000 })
    await stillServes(server, 2)
    assert.strictEqual(messagesWithId(server, 1).length, 0)
    // The limit is inclusive: a line of exactly 1000 bytes is served.
    const exact = envelope("c".repeat(1000 - overhead)).replace("\"id\":1", "\"id\":4")
    assert.strictEqual(Buffer.byteLength(exact), 1000)
    server.sendRaw(exact + "\n")
    const served = await server.waitForId(4)
    assert.strictEqual(served.error, undefined, JSON.stringify(served.error))
    assert.deepStrictEqual(served.result?.content, [{ type: "text", text: "c".repeat(1000 - overhead) }])
  })

  it("a binary line is answered with -32700 and id null", async () => {
    const server = spawnServer()
    await server.initialize("2025-11-25")
    const random = [...randomBytes(256)].filter((byte) => byte !== 0x0a)
    server.sendRaw(Buffer.from([0x00, 0xff, 0xfe, 0x80, 0xc3, 0x28, 0x7b, 0x22, ...random, 0x0a]))
    assertError(await server.waitForId(null), null, -32700)
    await stillServes(server, 1)
    assert.deepStrictEqual(server.unparsed, [])
  })

  it("an unknown method is -32601 with the request's id", async () => {
    const server = spawnServer()
    await server.initialize("2025-11-25")
    assertError(await server.request("u-1", "no/such/method", {}), "u-1", -32601)
    assertError(await server.request(41, "tools/nope"), 41, -32601)
    await stillServes(server, 42)
  })

  it("params of the wrong shape are -32602 and the message names the field", async () => {
    const server = spawnServer()
    await server.initialize("2025-11-25")
    const response = await server.request(5, "tools/call", { name: 42 })
    assertError(response, 5, -32602)
    assert.include(response.error!.message, "name")
    const issues = (response.error!.data as { issues: Array<{ path: string }> }).issues
    assert.isTrue(issues.some((issue) => issue.path === "name"), JSON.stringify(issues))
    await stillServes(server, 6)
  })
})

describe("stdio: request ids and cancellation", () => {
  it("a request whose id is in flight is refused with -32600; a cancelled request is never answered", async () => {
    const server = spawnServer()
    await server.initialize("2025-11-25")
    server.send({
      jsonrpc: "2.0",
      id: 7,
      method: "tools/call",
      params: { name: "long_running_operation", arguments: { steps: 50, stepMs: 100 } }
    })
    server.send({ jsonrpc: "2.0", id: 7, method: "ping" })
    const duplicate = await server.waitForId(7)
    assertError(duplicate, 7, -32600)
    assert.include(duplicate.error!.message, "in flight")
    // The same id as a string is a different request.
    const stringSeven = await server.request("7", "ping")
    assert.deepStrictEqual(stringSeven.result, {})

    server.send({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: 7, reason: "test" } })
    await server.waitFor(() => (interruptedEvents(server).length > 0 ? true : undefined), "the handler's finalizer log")
    await sleep(500)
    const sevens = messagesWithId(server, 7)
    assert.strictEqual(sevens.length, 1, JSON.stringify(sevens))
    assert.deepStrictEqual(sevens[0], duplicate)

    // Once cancelled, the id is free again, and the server still serves.
    server.send({ jsonrpc: "2.0", id: 7, method: "ping" })
    const reused = await server.waitFor(
      () => (messagesWithId(server, 7).length > 1 ? messagesWithId(server, 7)[1] as Message : undefined),
      "the answer to the reused id 7"
    )
    assert.deepStrictEqual(reused.result, {})
    await stillServes(server, 8)
  })
})

/**
 * A notifications/cancelled that arrives in the same chunk as its request is handled before the request's fiber has
 * run its first step. These tests pin what the client must see in that case: the same as any other cancellation.
 */
describe("stdio: a cancellation that arrives together with its request", () => {
  const line = (message: unknown) => JSON.stringify(message) + "\n"
  const longRequest = (id: number) => ({
    jsonrpc: "2.0",
    id,
    method: "tools/call",
    params: { name: "long_running_operation", arguments: { steps: 1, stepMs: 600_000 } }
  })
  const cancel = (id: number) => ({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: id } })

  it("frees the id, and closing stdin does not wait for the drain timeout", async () => {
    const server = spawnServer()
    await server.initialize("2025-11-25")
    server.sendRaw(line(longRequest(1)) + line(cancel(1)))
    await sleep(500)
    const reused = await server.request(1, "ping")
    assert.strictEqual(reused.error, undefined, `id 1 should be free after its cancellation: ${JSON.stringify(reused)}`)
    assert.deepStrictEqual(reused.result, {})
    server.closeStdin()
    const exit = await server.waitForExit()
    assert.strictEqual(exit.code, 0)
    const warned = server.logs().some((l) =>
      typeof l === "object" && String(l.message).includes("did not finish in time")
    )
    assert.isFalse(warned, `nothing should have been in flight at EOF:\n${server.stderr()}`)
  })

  it("is never answered, not even by the request timeout", async () => {
    const server = spawnServer(["--stdio", "--request-timeout-ms", "300"])
    await server.initialize("2025-11-25")
    server.sendRaw(line(longRequest(1)) + line(cancel(1)))
    // A witness instead of a sleep: request 3 comes later and is not cancelled, so once its timeout answer is out,
    // request 1's deadline has passed too. A ping after it flushes anything written in the same tick.
    server.send(longRequest(3))
    assertError(await server.waitForId(3), 3, -32001)
    await stillServes(server, 2)
    assert.deepStrictEqual(messagesWithId(server, 1), [], "a cancelled request must not be answered")
  })

  it("in a 2025-03-26 batch, the batch is still answered with the other requests' responses", async () => {
    const server = spawnServer()
    await server.initialize("2025-03-26")
    server.sendRaw(line([longRequest(1), { jsonrpc: "2.0", id: 2, method: "ping" }]) + line(cancel(1)))
    const answer = await server.waitFor(
      () => server.messages.find((m): m is Array<Message> => Array.isArray(m)),
      "the batch answer",
      5_000
    )
    assert.deepStrictEqual(answer, [{ jsonrpc: "2.0", id: 2, result: {} }])
  })
})

describe("stdio: batches", () => {
  const batch = [
    { jsonrpc: "2.0", id: 10, method: "ping" },
    { jsonrpc: "2.0", id: 11, method: "tools/call", params: { name: "add", arguments: { a: 2, b: 3 } } }
  ]

  it("after initializing with 2025-03-26 a batch gets one array with both answers", async () => {
    const server = spawnServer()
    const init = await server.initialize("2025-03-26")
    assert.strictEqual(init.result?.protocolVersion, "2025-03-26")
    server.send(batch)
    const answer = await server.waitFor(
      () => server.messages.find((m): m is Array<Message> => Array.isArray(m)),
      "the batch answer"
    )
    assert.strictEqual(answer.length, 2)
    const byId = new Map(answer.map((m) => [m.id, m]))
    assert.deepStrictEqual(byId.get(10)?.result, {})
    assert.deepStrictEqual(byId.get(11)?.result?.content, [{ type: "text", text: "{\"sum\":5}" }])
    for (const m of answer) assert.strictEqual(m.jsonrpc, "2.0")
    // Nothing was answered outside the array.
    assert.strictEqual(messagesWithId(server, 10).length, 0)
    assert.strictEqual(messagesWithId(server, 11).length, 0)
    await stillServes(server, 12)
  })

  it("after initializing with 2025-06-18 a batch is refused with -32600 and id null", async () => {
    const server = spawnServer()
    const init = await server.initialize("2025-06-18")
    assert.strictEqual(init.result?.protocolVersion, "2025-06-18")
    server.send(batch)
    assertError(await server.waitForId(null), null, -32600)
    await stillServes(server, 12)
    assert.isFalse(server.messages.some((m) => Array.isArray(m)))
    assert.strictEqual(messagesWithId(server, 10).length, 0)
    assert.strictEqual(messagesWithId(server, 11).length, 0)
  })
})

describe("stdio: streams and lifecycle", () => {
  it("stdout carries only JSON-RPC messages; logs go to stderr", async () => {
    const server = spawnServer()
    await server.initialize("2025-03-26")
    await server.request(1, "logging/setLevel", { level: "debug" })
    await server.request(2, "tools/call", { name: "log", arguments: { level: "info", message: "hello" } })
    await server.request(3, "tools/call", {
      name: "long_running_operation",
      arguments: { steps: 3, stepMs: 10 },
      _meta: { progressToken: "p" }
    })
    server.sendRaw("garbage\n")
    await server.waitForId(null)
    server.send([{ jsonrpc: "2.0", id: 4, method: "ping" }, { jsonrpc: "2.0", method: "notifications/whatever" }])
    await server.waitFor(() => server.messages.find((m) => Array.isArray(m)), "the batch answer")
    await server.request(5, "no/such/method")
    await server.request(6, "tools/call", { name: "fail", arguments: {} })
    server.closeStdin()
    const exit = await server.waitForExit()
    assert.strictEqual(exit.code, 0)

    assert.deepStrictEqual(server.unparsed, [])
    assert.isAbove(server.lines.length, 8)
    for (const line of server.lines) {
      const parsed = JSON.parse(line) as Message | Array<Message>
      for (const message of Array.isArray(parsed) ? parsed : [parsed]) {
        assert.strictEqual(message.jsonrpc, "2.0", line)
      }
    }
    // The notifications really went to stdout, as JSON-RPC.
    const methods = server.messages.flatMap((
      m
    ) => (!Array.isArray(m) && (m as Message).method ? [(m as Message).method] : []))
    assert.include(methods, "notifications/message")
    assert.include(methods, "notifications/progress")

    const logs = server.logs()
    const serving = logs.find((line) => typeof line === "object" && line.message === "Serving MCP over stdio")
    assert.isDefined(serving, server.stderr())
    // No stdout message leaked onto stderr, and every stderr line is a JSON log line.
    for (const line of logs) assert.isObject(line, String(line))
    assert.notInclude(server.stderr(), "\"jsonrpc\"")
  })

  it("closing stdin exits 0 after answering the requests sent just before (the drain)", async () => {
    const server = spawnServer()
    await server.initialize("2025-11-25")
    server.send({
      jsonrpc: "2.0",
      id: 1,
      method: "tools/call",
      params: { name: "long_running_operation", arguments: { steps: 3, stepMs: 100 } }
    })
    server.send({ jsonrpc: "2.0", id: 2, method: "ping" })
    server.closeStdin()
    const exit = await server.waitForExit()
    assert.strictEqual(exit.code, 0)
    assert.strictEqual(exit.signal, null)
    const long = messagesWithId(server, 1) as Array<Message>
    assert.strictEqual(long.length, 1)
    assert.deepStrictEqual(long[0]!.result?.content, [{ type: "text", text: "Finished 3 steps" }])
    assert.deepStrictEqual((messagesWithId(server, 2)[0] as Message).result, {})
    assert.strictEqual(interruptedEvents(server).length, 0)
  })

  it("a request sent in the same write as the end of stdin is answered", async () => {
    const server = spawnServer()
    server.child.stdin.end(
      JSON.stringify({
        jsonrpc: "2.0",
        id: "i",
        method: "initialize",
        params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "t", version: "1" } }
      }) + "\n" + JSON.stringify({ jsonrpc: "2.0", id: "last", method: "ping" })
    )
    const exit = await server.waitForExit()
    assert.strictEqual(exit.code, 0)
    assert.strictEqual((messagesWithId(server, "i")[0] as Message).result?.protocolVersion, "2025-11-25")
    // The last line has no trailing newline: EOF ends it.
    assert.deepStrictEqual((messagesWithId(server, "last")[0] as Message | undefined)?.result, {})
  })

  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    it(`${signal}: requests in flight get the grace, then an error answer and the finalizer; exit 0`, async () => {
      const server = spawnServer(["--stdio", "--shutdown-timeout-ms", "1000"])
      await server.initialize("2025-11-25")
      server.send({
        jsonrpc: "2.0",
        id: 1,
        method: "tools/call",
        params: { name: "long_running_operation", arguments: { steps: 50, stepMs: 100 } }
      })
      server.send({
        jsonrpc: "2.0",
        id: 3,
        method: "tools/call",
        params: { name: "long_running_operation", arguments: { steps: 2, stepMs: 100 } }
      })
      // Frames are handled in order: once this ping is answered, the long requests' fibers are running.
      await stillServes(server, 2)
      server.child.kill(signal)
      const exit = await server.waitForExit()
      assert.strictEqual(exit.code, 0, `signal ${exit.signal}; stderr:\n${server.stderr()}`)
      assert.strictEqual(interruptedEvents(server).length, 1, server.stderr())
      // The short one finished within the grace; the long one was interrupted and answered, not dropped.
      assert.deepStrictEqual((messagesWithId(server, 3)[0] as Message).result?.content, [{
        type: "text",
        text: "Finished 2 steps"
      }])
      const long = messagesWithId(server, 1) as Array<Message>
      assert.strictEqual(long.length, 1)
      assert.strictEqual(long[0]!.error?.code, -32000)
      assert.include(long[0]!.error?.message, "shutting down")
    })
  }

  it("a second SIGTERM during the graceful shutdown exits at once with 143, on purpose", async () => {
    const server = spawnServer(["--stdio", "--shutdown-timeout-ms", "20000"])
    await server.initialize("2025-11-25")
    server.send({
      jsonrpc: "2.0",
      id: 1,
      method: "tools/call",
      params: { name: "long_running_operation", arguments: { steps: 50, stepMs: 1000 } }
    })
    await stillServes(server, 2)
    server.child.kill("SIGTERM")
    await new Promise((r) => setTimeout(r, 200))
    assert.strictEqual(server.child.exitCode, null, "still draining after the first signal")
    server.child.kill("SIGTERM")
    const exit = await server.waitForExit()
    assert.deepStrictEqual([exit.code, exit.signal], [143, null], server.stderr())
    assert.include(server.stderr(), "Second SIGTERM")
  })

  it("a burst of 3,000 requests in one write is answered in full, in order", async () => {
    const server = spawnServer()
    await server.initialize("2025-11-25")
    const lines = Array.from(
      { length: 3000 },
      (_, i) =>
        JSON.stringify({
          jsonrpc: "2.0",
          id: 10_000 + i,
          method: "tools/call",
          params: { name: "add", arguments: { a: i, b: 1 } }
        })
    )
    server.sendRaw(lines.join("\n") + "\n")
    await server.waitForId(12_999, 20_000)
    for (let i = 0; i < 3000; i++) {
      const answer = messagesWithId(server, 10_000 + i) as Array<Message>
      assert.strictEqual(answer.length, 1, `id ${10_000 + i}`)
      assert.deepStrictEqual(answer[0]!.result?.structuredContent, { sum: i + 1 })
    }
  })

  it("deeply nested lines get -32600 (with the id when readable); stdout stays JSON-RPC and the process lives", async () => {
    const server = spawnServer()
    await server.initialize("2025-11-25")
    server.sendRaw(`{"jsonrpc":"2.0","id":${nest(3000, "1")},"method":"ping"}\n`)
    assertError(await server.waitForId(null), null, -32600)
    server.sendRaw(`{"jsonrpc":"2.0","id":5,"method":${nest(3000, "\"x\"")}}\n`)
    assertError(await server.waitForId(5), 5, -32600)
    const deep = `{"text":${nest(3000, "1")}}`
    server.sendRaw(`{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"echo","arguments":${deep}}}\n`)
    assertError(await server.waitForId(6), 6, -32600)
    // The ids are free again, and the server still answers.
    for (const id of [5, 6]) {
      server.send({ jsonrpc: "2.0", id, method: "ping" })
      const pong = await server.waitFor(() => messagesWithId(server, id)[1] as Message | undefined, `ping ${id}`)
      assert.deepStrictEqual(pong.result, {}, `ping ${id}`)
    }
    assert.strictEqual(server.child.exitCode, null)
    // Every stdout line was JSON-RPC.
    assert.deepStrictEqual(server.unparsed, [])
  })

  it("stdin closed with a long request in flight and --drain-timeout-ms 200: exits 0 and the finalizer runs", async () => {
    const server = spawnServer(["--stdio", "--drain-timeout-ms", "200"])
    await server.initialize("2025-11-25")
    server.send({
      jsonrpc: "2.0",
      id: 1,
      method: "tools/call",
      params: { name: "long_running_operation", arguments: { steps: 50, stepMs: 100 } }
    })
    await stillServes(server, 2)
    server.closeStdin()
    const exit = await server.waitForExit()
    assert.strictEqual(exit.code, 0, server.stderr())
    assert.strictEqual(interruptedEvents(server).length, 1, server.stderr())
    // Interrupted at the end of the drain, and answered rather than dropped.
    const answers = messagesWithId(server, 1) as Array<any>
    assert.strictEqual(answers.length, 1)
    assert.strictEqual(answers[0].error.code, -32000)
    assert.include(answers[0].error.message, "did not finish in time")
    const logs = server.logs()
    assert.isTrue(
      logs.some((line) => typeof line === "object" && String(line.message).includes("Requests still in flight")),
      server.stderr()
    )
  })
})
