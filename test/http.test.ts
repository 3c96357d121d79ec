// Streamable HTTP, served in-process on 127.0.0.1 by McpHttpServer.layer over real sockets: the official SDK client,
// the modern era over fetch, every guard, sessions, admission and resumability.
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import { LoggingMessageNotificationSchema } from "@modelcontextprotocol/sdk/types.js"
import { Effect } from "effect"
import http from "node:http"
import { assert, describe, it } from "vitest"
import { Interceptor } from "../src/index.js"
import { post, session, start } from "./fixtures/Http.js"
import { initialize, JSON_AND_SSE, modernHeaders, modernMeta } from "./support/Messages.js"
import { readEvents } from "./support/Sse.js"
import { until } from "./support/Wait.js"

describe("Streamable HTTP with the official SDK client", () => {
  it("initialize, tools, structured output, logging, progress (SSE answers) and cancellation", async () => {
    const { url, events } = await start()
    const client = new Client({ name: "sdk", version: "1" })
    const transport = new StreamableHTTPClientTransport(new URL(url))
    await client.connect(transport)
    assert.match(transport.sessionId ?? "", /^[0-9a-f-]{36}$/)
    assert.strictEqual(client.getServerVersion()?.name, "test-server")
    assert.deepStrictEqual((await client.callTool({ name: "echo", arguments: { text: "hi" } })).content, [{
      type: "text",
      text: "hi"
    }])
    await client.listTools()
    assert.deepStrictEqual((await client.callTool({ name: "add", arguments: { a: 1, b: 2 } })).structuredContent, {
      sum: 3
    })

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
    const discover = await post(url, {
      jsonrpc: "2.0",
      id: 1,
      method: "server/discover",
      params: { _meta: modernMeta }
    }, modernHeaders("server/discover"))
    assert.strictEqual(discover.status, 200)
    assert.strictEqual(((await discover.json()) as any).result.resultType, "complete")

    const call = await post(url, {
      jsonrpc: "2.0",
      id: 2,
      method: "tools/call",
      params: { name: "add", arguments: { a: 1, b: 2 }, _meta: modernMeta }
    }, modernHeaders("tools/call", "add"))
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
    assert.deepStrictEqual(events.map((e) => JSON.parse(e.data).method ?? "result"), [
      "notifications/progress",
      "notifications/progress",
      "result"
    ])

    const mismatch = await post(url, {
      jsonrpc: "2.0",
      id: 4,
      method: "tools/call",
      params: { name: "add", arguments: {}, _meta: modernMeta }
    }, modernHeaders("tools/call", "echo"))
    assert.strictEqual(mismatch.status, 400)
    assert.strictEqual(((await mismatch.json()) as any).error.code, -32020)
    const base64Name = await post(url, {
      jsonrpc: "2.0",
      id: 5,
      method: "tools/call",
      params: { name: "echo", arguments: { text: "x" }, _meta: modernMeta }
    }, modernHeaders("tools/call", `=?base64?${Buffer.from("echo").toString("base64")}?=`))
    assert.strictEqual(base64Name.status, 200)
    await base64Name.json()
    const unknown = await post(
      url,
      { jsonrpc: "2.0", id: 6, method: "nope/nope", params: { _meta: modernMeta } },
      modernHeaders("nope/nope")
    )
    assert.strictEqual(unknown.status, 404)
    assert.strictEqual(((await unknown.json()) as any).error.code, -32601)
    const version = { ...modernMeta, "io.modelcontextprotocol/protocolVersion": "2099-01-01" }
    const unsupported = await post(url, { jsonrpc: "2.0", id: 7, method: "tools/list", params: { _meta: version } }, {
      ...modernHeaders("tools/list"),
      "mcp-protocol-version": "2099-01-01"
    })
    assert.strictEqual(unsupported.status, 400)
    assert.strictEqual(((await unsupported.json()) as any).error.code, -32022)
    const capability = await post(url, {
      jsonrpc: "2.0",
      id: 8,
      method: "tools/call",
      params: { name: "needs_elicitation", arguments: {}, _meta: modernMeta }
    }, modernHeaders("tools/call", "needs_elicitation"))
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
    await check(
      await fetch(url, { method: "POST", headers: { ...JSON_AND_SSE, accept: "application/json" }, body: "{}" }),
      406
    )
    await check(
      await fetch(url, { method: "POST", headers: { ...JSON_AND_SSE, "content-type": "text/plain" }, body: "{}" }),
      415
    )
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
    await check(
      await post(url, { jsonrpc: "2.0", id: 2, method: "tools/list" }, { "mcp-session-id": "nope" }),
      404,
      -32001
    )
    await check(
      await post(url, { jsonrpc: "2.0", id: 2, method: "tools/list" }, {
        "mcp-session-id": sid,
        "mcp-protocol-version": "1999-01-01"
      }),
      400
    )
    await check(await post(url, [{ jsonrpc: "2.0", id: 3, method: "ping" }], { "mcp-session-id": sid }), 400, -32600)
    // A body over the limit without Content-Length is refused while it is read.
    const chunked = await new Promise<number>((resolve, reject) => {
      const req = http.request(
        url,
        { method: "POST", headers: { ...JSON_AND_SSE, "transfer-encoding": "chunked" } },
        (res) => {
          res.resume()
          resolve(res.statusCode!)
        }
      )
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
        http.request(
          { host: "127.0.0.1", port, path: "/mcp", method: "POST", headers: { ...JSON_AND_SSE, host } },
          (res) => {
            res.resume()
            resolve(res.statusCode!)
          }
        ).end(JSON.stringify(initialize()))
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
    const res = await post(url, {
      jsonrpc: "2.0",
      id: 5,
      method: "tools/call",
      params: { name: "sleep", arguments: { ms: 300, steps: 6 }, _meta: { progressToken: "t" } }
    }, { "mcp-session-id": sid })
    const first = await readEvents(res, (e) => e.length >= 3) // priming + 2 progress
    await first.cancel()
    const last = first.events.at(-1)!.id!
    const resumed = await fetch(url, {
      headers: { accept: "text/event-stream", "mcp-session-id": sid, "last-event-id": last }
    })
    const rest = await readEvents(resumed, () => false) // ends after the answer
    const all = [...first.events.slice(1), ...rest.events].map((e) => JSON.parse(e.data))
    assert.deepStrictEqual(all.filter((m) => m.method === "notifications/progress").map((m) => m.params.progress), [
      1,
      2,
      3,
      4,
      5,
      6
    ])
    assert.deepStrictEqual(all.at(-1).result, { content: [{ type: "text", text: "slept" }] })
    const foreign = await fetch(url, {
      headers: { accept: "text/event-stream", "mcp-session-id": sid, "last-event-id": "someone-else/1#1" }
    })
    assert.strictEqual(foreign.status, 400)
    await foreign.text()
  })
})

describe("interceptors over legacy HTTP", () => {
  it("a request an interceptor drops is answered 202 with no body; the session goes on", async () => {
    const { url } = await start({}, {}, [{
      name: "drops",
      inbound: (message) =>
        Effect.succeed(
          (message.params?.arguments as { text?: string } | undefined)?.text === "drop-me"
            ? Interceptor.Drop
            : Interceptor.Continue
        )
    }])
    const sid = await session(url)
    const dropped = await post(url, {
      jsonrpc: "2.0",
      id: 1,
      method: "tools/call",
      params: { name: "echo", arguments: { text: "drop-me" } }
    }, { "mcp-session-id": sid })
    assert.strictEqual(dropped.status, 202)
    assert.strictEqual(await dropped.text(), "")
    const kept = await post(url, {
      jsonrpc: "2.0",
      id: 2,
      method: "tools/call",
      params: { name: "echo", arguments: { text: "kept" } }
    }, { "mcp-session-id": sid })
    assert.strictEqual(kept.status, 200)
    assert.deepStrictEqual(((await kept.json()) as any).result.content, [{ type: "text", text: "kept" }])
  })
})

describe("admission", () => {
  it("test_max_clients_atomic: 10N GET streams race for N slots; exactly N are admitted, the rest get 503 at once", async () => {
    const N = 5
    const { url } = await start({ maxStreams: N })
    const sessions = await Promise.all(Array.from({ length: 10 * N }, () => session(url)))
    const responses = await Promise.all(
      sessions.map((sid) => fetch(url, { headers: { accept: "text/event-stream", "mcp-session-id": sid } }))
    )
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

  it("streams per session: resumed answer streams are admitted up to the limit; the session's own GET stream always is (it replaces itself)", async () => {
    const { url } = await start({ maxStreamsPerSession: 2 })
    const sid = await session(url)
    // Four slow calls answered over SSE; each client drops its stream after the first progress event.
    const lastIds = await Promise.all(Array.from({ length: 4 }, async (_, i) => {
      const res = await post(url, {
        jsonrpc: "2.0",
        id: 40 + i,
        method: "tools/call",
        params: { name: "sleep", arguments: { ms: 3000, steps: 30 }, _meta: { progressToken: `s${i}` } }
      }, { "mcp-session-id": sid })
      const first = await readEvents(res, (e) => e.length >= 2) // priming + 1 progress
      await first.cancel()
      return first.events.at(-1)!.id!
    }))
    const resumed = await Promise.all(
      lastIds.map((last) =>
        fetch(url, { headers: { accept: "text/event-stream", "mcp-session-id": sid, "last-event-id": last } })
      )
    )
    assert.deepStrictEqual(resumed.map((r) => r.status).sort(), [200, 200, 503, 503])
    // The standalone stream is not counted against the session's limit, and a new one replaces the old.
    const gets: Array<Response> = []
    for (let i = 0; i < 3; i++) {
      const get = await fetch(url, { headers: { accept: "text/event-stream", "mcp-session-id": sid } })
      assert.strictEqual(get.status, 200)
      gets.push(get)
    }
    const replaced = await readEvents(gets[0]!, () => false) // ends: replaced by the next GET
    assert.isArray(replaced.events)
    for (const r of [...resumed, ...gets.slice(1)]) await r.body?.cancel()
  })

  it("in-flight requests per session: exactly the limit is admitted", async () => {
    const { url } = await start({ maxInFlightPerSession: 2 })
    const sid = await session(url)
    const calls = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        post(url, {
          jsonrpc: "2.0",
          id: 100 + i,
          method: "tools/call",
          params: { name: "sleep", arguments: { ms: 300 } }
        }, { "mcp-session-id": sid }))
    )
    const statuses = calls.map((r) => r.status)
    assert.strictEqual(statuses.filter((s) => s === 200).length, 2)
    assert.strictEqual(statuses.filter((s) => s === 503).length, 8)
    await Promise.all(calls.map((r) => r.text()))
  })
})
