// Streamable HTTP, served in-process on 127.0.0.1 by HttpServer.layer over real sockets: the official SDK client,
// the modern era over fetch, every guard, sessions, admission and resumability.
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import { LoggingMessageNotificationSchema } from "@modelcontextprotocol/sdk/types.js"
import { Effect, Layer, ManagedRuntime, Ref } from "effect"
import http from "node:http"
import { afterEach, assert, describe, it } from "vitest"
import { HttpServer } from "../src/index.js"
import * as TestServer from "./fixtures/TestServer.js"

type Runtime = ManagedRuntime.ManagedRuntime<HttpServer.HttpServer | TestServer.Probe, unknown>
const runtimes: Array<Runtime> = []

const start = async (options: HttpServer.Options = {}, server: Partial<Parameters<typeof TestServer.layer>[0]> = {}) => {
  const runtime: Runtime = ManagedRuntime.make(
    HttpServer.layer({ port: 0, shutdownTimeout: "2 seconds", ...options }).pipe(
      Layer.provideMerge(TestServer.layer(server))
    )
  )
  runtimes.push(runtime)
  const info = await runtime.runPromise(HttpServer.HttpServer)
  const events = () => runtime.runPromise(Effect.flatMap(TestServer.Probe, (probe) => Ref.get(probe.events)))
  return { runtime, url: info.url, port: info.port, info, events }
}

afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((runtime) => runtime.dispose()))
})

const until = async (check: () => Promise<boolean> | boolean, what: string) => {
  for (let i = 0; i < 200; i++) {
    if (await check()) return
    await new Promise((r) => setTimeout(r, 10))
  }
  throw new Error(`timed out waiting for ${what}`)
}

const JSON_AND_SSE = { "content-type": "application/json", accept: "application/json, text/event-stream" }

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, { method: "POST", headers: { ...JSON_AND_SSE, ...headers }, body: typeof body === "string" ? body : JSON.stringify(body) })

const initialize = (version = "2025-11-25") => ({
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: version, capabilities: {}, clientInfo: { name: "http-test", version: "1" } }
})

const session = async (url: string, version = "2025-11-25") => {
  const res = await post(url, initialize(version))
  assert.strictEqual(res.status, 200)
  const id = res.headers.get("mcp-session-id")!
  await res.json()
  const ack = await post(url, { jsonrpc: "2.0", method: "notifications/initialized" }, { "mcp-session-id": id })
  assert.strictEqual(ack.status, 202)
  return id
}

const modernMeta = { "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {} }
const modernHeaders = (method: string, name?: string): Record<string, string> => ({
  "mcp-protocol-version": "2026-07-28",
  "mcp-method": method,
  ...(name !== undefined ? { "mcp-name": name } : {})
})

/** Reads SSE events from a fetch response until `stop` says so. */
const readEvents = async (res: Response, stop: (events: Array<{ id?: string; data: string }>) => boolean) => {
  const reader = res.body!.getReader()
  const decoder = new TextDecoder()
  const events: Array<{ id?: string; data: string }> = []
  let buffer = ""
  while (!stop(events)) {
    const { done, value } = await reader.read()
    if (done) break
    buffer += decoder.decode(value, { stream: true })
    let end: number
    while ((end = buffer.indexOf("\n\n")) !== -1) {
      const block = buffer.slice(0, end)
      buffer = buffer.slice(end + 2)
      const lines = block.split("\n")
      const data = lines.filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trim()).join("\n")
      const id = lines.find((l) => l.startsWith("id:"))?.slice(3).trim()
      if (lines.some((l) => l.startsWith("data:"))) events.push(id === undefined ? { data } : { id, data })
    }
  }
  return { events, cancel: () => reader.cancel() }
}

describe("Streamable HTTP with the official SDK client", () => {
  it("initialize, tools, structured output, logging, progress (SSE answers) and cancellation", async () => {
    const { url, events } = await start()
    const client = new Client({ name: "sdk", version: "1" })
    const transport = new StreamableHTTPClientTransport(new URL(url))
    await client.connect(transport)
    assert.match(transport.sessionId ?? "", /^[0-9a-f-]{36}$/)
    assert.strictEqual(client.getServerVersion()?.name, "test-server")
    assert.deepStrictEqual((await client.callTool({ name: "echo", arguments: { text: "hi" } })).content, [{ type: "text", text: "hi" }])
    await client.listTools()
    assert.deepStrictEqual((await client.callTool({ name: "add", arguments: { a: 1, b: 2 } })).structuredContent, { sum: 3 })

    const logs: Array<string> = []
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
      logs.push(n.params.level)
    })
    await client.setLoggingLevel("warning")
    await client.callTool({ name: "log_levels", arguments: {} })
    assert.deepStrictEqual(logs, ["warning", "error"])

    const progress: Array<number> = []
    const slept = await client.callTool({ name: "sleep", arguments: { ms: 60, steps: 3 } }, undefined, {
      onprogress: (p) => progress.push(p.progress)
    })
    assert.deepStrictEqual(slept.content, [{ type: "text", text: "slept" }])
    assert.isAtLeast(progress.length, 2)

    const controller = new AbortController()
    const cancelled = client.callTool({ name: "sleep", arguments: { ms: 10_000, steps: 100 } }, undefined, {
      signal: controller.signal,
      onprogress: () => controller.abort()
    })
    await cancelled.then(() => assert.fail("should have been cancelled"), () => undefined)
    await until(async () => (await events()).includes("sleep:interrupted"), "the cancelled handler's finalizer")
    await transport.terminateSession()
    await client.close()
  })
})

describe("modern era (2026-07-28) over HTTP", () => {
  it("discover, a JSON answer, an SSE answer, and the 400/404 errors", async () => {
    const { url } = await start()
    const discover = await post(url, { jsonrpc: "2.0", id: 1, method: "server/discover", params: { _meta: modernMeta } }, modernHeaders("server/discover"))
    assert.strictEqual(discover.status, 200)
    assert.strictEqual(((await discover.json()) as any).result.resultType, "complete")

    const call = await post(url, { jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "add", arguments: { a: 1, b: 2 }, _meta: modernMeta } }, modernHeaders("tools/call", "add"))
    assert.strictEqual(call.headers.get("content-type"), "application/json")
    assert.deepStrictEqual(((await call.json()) as any).result.structuredContent, { sum: 3 })

    const streamed = await post(url, {
      jsonrpc: "2.0",
      id: 3,
      method: "tools/call",
      params: { name: "sleep", arguments: { ms: 30, steps: 2 }, _meta: { ...modernMeta, progressToken: "p" } }
    }, modernHeaders("tools/call", "sleep"))
    assert.strictEqual(streamed.headers.get("content-type"), "text/event-stream")
    const { events } = await readEvents(streamed, (e) => e.some((x) => x.data.includes("\"id\":3")))
    assert.deepStrictEqual(events.map((e) => JSON.parse(e.data).method ?? "result"), ["notifications/progress", "notifications/progress", "result"])

    const mismatch = await post(url, { jsonrpc: "2.0", id: 4, method: "tools/call", params: { name: "add", arguments: {}, _meta: modernMeta } }, modernHeaders("tools/call", "echo"))
    assert.strictEqual(mismatch.status, 400)
    assert.strictEqual(((await mismatch.json()) as any).error.code, -32020)
    const base64Name = await post(url, { jsonrpc: "2.0", id: 5, method: "tools/call", params: { name: "echo", arguments: { text: "x" }, _meta: modernMeta } }, modernHeaders("tools/call", `=?base64?${Buffer.from("echo").toString("base64")}?=`))
    assert.strictEqual(base64Name.status, 200)
    await base64Name.json()
    const unknown = await post(url, { jsonrpc: "2.0", id: 6, method: "nope/nope", params: { _meta: modernMeta } }, modernHeaders("nope/nope"))
    assert.strictEqual(unknown.status, 404)
    assert.strictEqual(((await unknown.json()) as any).error.code, -32601)
    const version = { ...modernMeta, "io.modelcontextprotocol/protocolVersion": "2099-01-01" }
    const unsupported = await post(url, { jsonrpc: "2.0", id: 7, method: "tools/list", params: { _meta: version } }, { ...modernHeaders("tools/list"), "mcp-protocol-version": "2099-01-01" })
    assert.strictEqual(unsupported.status, 400)
    assert.strictEqual(((await unsupported.json()) as any).error.code, -32022)
    const capability = await post(url, { jsonrpc: "2.0", id: 8, method: "tools/call", params: { name: "needs_elicitation", arguments: {}, _meta: modernMeta } }, modernHeaders("tools/call", "needs_elicitation"))
    assert.strictEqual(capability.status, 400)
    assert.strictEqual(((await capability.json()) as any).error.code, -32021)
  })

  it("closing a request's SSE stream cancels it: its finalizer runs", async () => {
    const { url, events } = await start()
    const res = await post(url, {
      jsonrpc: "2.0",
      id: 1,
      method: "tools/call",
      params: { name: "sleep", arguments: { ms: 10_000, steps: 100 }, _meta: { ...modernMeta, progressToken: 1 } }
    }, modernHeaders("tools/call", "sleep"))
    const { cancel } = await readEvents(res, (e) => e.length >= 1)
    await cancel()
    await until(async () => (await events()).includes("sleep:interrupted"), "the cancelled handler's finalizer")
  })
})

describe("guards and bad input", () => {
  it("each refusal has its status and error, and the server goes on serving", async () => {
    const { url, port } = await start({ maxBodyBytes: 1000 })
    const sid = await session(url)
    const check = async (res: Response, status: number, code?: number) => {
      assert.strictEqual(res.status, status)
      const text = await res.text()
      if (code !== undefined) assert.strictEqual(JSON.parse(text).error.code, code, text)
    }
    await check(await post(url, initialize(), { origin: "http://evil.example" }), 403)
    await check(await fetch(url, { method: "POST", headers: { ...JSON_AND_SSE, accept: "application/json" }, body: "{}" }), 406)
    await check(await fetch(url, { method: "POST", headers: { ...JSON_AND_SSE, "content-type": "text/plain" }, body: "{}" }), 415)
    await check(await post(url, "x".repeat(2000)), 413, -32600)
    await check(await post(url, "{not json"), 400, -32700)
    await check(await post(url, { jsonrpc: "1.0", id: 1, method: "ping" }, { "mcp-session-id": sid }), 400, -32600)
    const put = await fetch(url, { method: "PUT" })
    assert.strictEqual(put.status, 405)
    assert.strictEqual(put.headers.get("allow"), "GET, POST, DELETE")
    await put.text()
    await check(await fetch(`http://127.0.0.1:${port}/nowhere`), 404)
    await check(await fetch(url, { headers: { accept: "application/json", "mcp-session-id": sid } }), 406)
    await check(await post(url, { jsonrpc: "2.0", id: 2, method: "tools/list" }), 400, -32000)
    await check(await post(url, { jsonrpc: "2.0", id: 2, method: "tools/list" }, { "mcp-session-id": "nope" }), 404, -32001)
    await check(await post(url, { jsonrpc: "2.0", id: 2, method: "tools/list" }, { "mcp-session-id": sid, "mcp-protocol-version": "1999-01-01" }), 400)
    await check(await post(url, [{ jsonrpc: "2.0", id: 3, method: "ping" }], { "mcp-session-id": sid }), 400, -32600)
    // A body over the limit without Content-Length is refused while it is read.
    const chunked = await new Promise<number>((resolve, reject) => {
      const req = http.request(url, { method: "POST", headers: { ...JSON_AND_SSE, "transfer-encoding": "chunked" } }, (res) => {
        res.resume()
        resolve(res.statusCode!)
      })
      req.on("error", reject)
      for (let i = 0; i < 10; i++) req.write("x".repeat(200))
      req.end()
    })
    assert.strictEqual(chunked, 413)
    // Still serving.
    const ok = await post(url, { jsonrpc: "2.0", id: 9, method: "ping" }, { "mcp-session-id": sid })
    assert.deepStrictEqual(((await ok.json()) as any).result, {})
    const health = await fetch(`http://127.0.0.1:${port}/health`)
    assert.deepStrictEqual(await health.json(), { status: "ok" })
  })

  it("slowloris: a client that never finishes its headers is cut off; others are served meanwhile", async () => {
    const { port, url } = await start({ headersTimeout: "300 millis", requestTimeout: "300 millis" })
    const net = await import("node:net")
    const slow = net.connect(port, "127.0.0.1")
    await new Promise<void>((resolve) => slow.once("connect", () => resolve()))
    slow.write("POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    const ended = new Promise<string>((resolve) => {
      let data = ""
      slow.on("data", (chunk) => (data += chunk))
      slow.once("close", () => resolve(data))
    })
    const served = await post(url, initialize())
    assert.strictEqual(served.status, 200)
    await served.text()
    const answer = await ended
    assert.match(answer, /^HTTP\/1\.1 408/)
  })

  it("a foreign Host is 403 on a loopback server unless allowed", async () => {
    const { port } = await start({ allowedHosts: ["mcp.example.com"] })
    const status = (host: string) =>
      new Promise<number>((resolve) => {
        http.request({ host: "127.0.0.1", port, path: "/mcp", method: "POST", headers: { ...JSON_AND_SSE, host } }, (res) => {
          res.resume()
          resolve(res.statusCode!)
        }).end(JSON.stringify(initialize()))
      })
    assert.strictEqual(await status("evil.example:80"), 403)
    assert.strictEqual(await status("mcp.example.com"), 200)
    assert.strictEqual(await status(`localhost:${port}`), 200)
  })

  it("batches are answered as one array in a 2025-03-26 session", async () => {
    const { url } = await start()
    const sid = await session(url, "2025-03-26")
    const res = await post(url, [
      { jsonrpc: "2.0", id: 1, method: "ping" },
      { jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "echo", arguments: { text: "b" } } }
    ], { "mcp-session-id": sid })
    const body = (await res.json()) as Array<any>
    assert.deepStrictEqual(body.map((m) => m.id).sort(), [1, 2])
  })
})

describe("sessions", () => {
  it("DELETE ends a session; the cap refuses new ones with 503 and Retry-After", async () => {
    const { url } = await start({ maxSessions: 2 })
    const a = await session(url)
    await session(url)
    const third = await post(url, initialize())
    assert.strictEqual(third.status, 503)
    assert.strictEqual(third.headers.get("retry-after"), "5")
    await third.text()
    const del = await fetch(url, { method: "DELETE", headers: { "mcp-session-id": a } })
    assert.strictEqual(del.status, 200)
    const after = await post(url, { jsonrpc: "2.0", id: 2, method: "ping" }, { "mcp-session-id": a })
    assert.strictEqual(after.status, 404)
    await after.text()
    assert.strictEqual((await post(url, initialize())).status, 200)
  })

  it("a new GET stream replaces the old one, which ends (no 409)", async () => {
    const { url } = await start()
    const sid = await session(url)
    const first = await fetch(url, { headers: { accept: "text/event-stream", "mcp-session-id": sid } })
    assert.strictEqual(first.status, 200)
    const firstEvents = readEvents(first, () => false)
    const second = await fetch(url, { headers: { accept: "text/event-stream", "mcp-session-id": sid } })
    assert.strictEqual(second.status, 200)
    const { events } = await firstEvents // ends when the server ends the replaced stream
    assert.deepStrictEqual(events.map((e) => e.data), [""]) // just the priming event
    await second.body?.cancel()
  })

  it("a client that drops a POST stream resumes it with Last-Event-ID and loses nothing", async () => {
    const { url } = await start()
    const sid = await session(url)
    const res = await post(url, { jsonrpc: "2.0", id: 5, method: "tools/call", params: { name: "sleep", arguments: { ms: 300, steps: 6 }, _meta: { progressToken: "t" } } }, { "mcp-session-id": sid })
    const first = await readEvents(res, (e) => e.length >= 3) // priming + 2 progress
    await first.cancel()
    const last = first.events.at(-1)!.id!
    const resumed = await fetch(url, { headers: { accept: "text/event-stream", "mcp-session-id": sid, "last-event-id": last } })
    const rest = await readEvents(resumed, () => false) // ends after the answer
    const all = [...first.events.slice(1), ...rest.events].map((e) => JSON.parse(e.data))
    assert.deepStrictEqual(all.filter((m) => m.method === "notifications/progress").map((m) => m.params.progress), [1, 2, 3, 4, 5, 6])
    assert.deepStrictEqual(all.at(-1).result, { content: [{ type: "text", text: "slept" }] })
    const foreign = await fetch(url, { headers: { accept: "text/event-stream", "mcp-session-id": sid, "last-event-id": "someone-else/1#1" } })
    assert.strictEqual(foreign.status, 400)
    await foreign.text()
  })
})

describe("admission", () => {
  it("test_max_clients_atomic: 10N GET streams race for N slots; exactly N are admitted, the rest get 503 at once", async () => {
    const N = 5
    const { url } = await start({ maxStreams: N })
    const sessions = await Promise.all(Array.from({ length: 10 * N }, () => session(url)))
    const responses = await Promise.all(sessions.map((sid) => fetch(url, { headers: { accept: "text/event-stream", "mcp-session-id": sid } })))
    const admitted = responses.filter((r) => r.status === 200)
    const refused = responses.filter((r) => r.status === 503)
    assert.strictEqual(admitted.length, N)
    assert.strictEqual(refused.length, 9 * N)
    for (const r of refused) {
      assert.strictEqual(r.headers.get("retry-after"), "1")
      assert.strictEqual(((await r.json()) as any).error.code, -32000)
    }
    for (const r of admitted) await r.body?.cancel()
    await until(async () => {
      const again = await fetch(url, { headers: { accept: "text/event-stream", "mcp-session-id": sessions[0]! } })
      const ok = again.status === 200
      if (ok) await again.body?.cancel()
      else await again.text()
      return ok
    }, "a freed slot")
  })

  it("in-flight requests per session: exactly the limit is admitted", async () => {
    const { url } = await start({ maxInFlightPerSession: 2 })
    const sid = await session(url)
    const calls = await Promise.all(Array.from({ length: 10 }, (_, i) =>
      post(url, { jsonrpc: "2.0", id: 100 + i, method: "tools/call", params: { name: "sleep", arguments: { ms: 300 } } }, { "mcp-session-id": sid })))
    const statuses = calls.map((r) => r.status)
    assert.strictEqual(statuses.filter((s) => s === 200).length, 2)
    assert.strictEqual(statuses.filter((s) => s === 503).length, 8)
    await Promise.all(calls.map((r) => r.text()))
  })
})
