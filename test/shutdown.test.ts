// test_shutdown_no_deadlock: `node dist/main.js` with hundreds of open SSE streams, WebSockets and in-flight calls
// gets SIGTERM; it must exit 0, every client must see a clean end, and no finalizer may be skipped.
import http from "node:http"
import { assert, describe, it } from "vitest"
import { startServer } from "./fixtures/MainProcess.js"
import { initialize as initializeRequest, JSON_AND_SSE } from "./support/Messages.js"
import { openWebSocket } from "./support/WebSocket.js"

const agent = new http.Agent({ keepAlive: true, maxSockets: 512 })

const request = (port: number, method: string, headers: Record<string, string>, body?: unknown) =>
  new Promise<http.IncomingMessage>((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, path: "/mcp", method, agent, headers }, resolve)
    req.on("error", reject)
    req.end(body === undefined ? undefined : JSON.stringify(body))
  })

const text = (res: http.IncomingMessage) =>
  new Promise<{ body: string; clean: boolean }>((resolve) => {
    let body = ""
    let clean = false
    res.on("data", (chunk) => (body += chunk))
    res.on("end", () => (clean = true))
    res.on("close", () => resolve({ body, clean }))
    res.on("error", () => resolve({ body, clean: false }))
  })

/** Resolves once the body so far includes `text`. */
const seen = (res: http.IncomingMessage, text: string) =>
  new Promise<void>((resolve) => {
    let body = ""
    res.on("data", (chunk) => {
      body += chunk
      if (body.includes(text)) resolve()
    })
  })

const initialize = async (port: number) => {
  const res = await request(port, "POST", JSON_AND_SSE, initializeRequest("2025-11-25"))
  await text(res)
  return res.headers["mcp-session-id"] as string
}

describe("graceful shutdown", () => {
  it(
    "test_shutdown_no_deadlock: 300 SSE streams, 50 WebSockets and 20 calls in flight; SIGTERM exits 0 and every client ends cleanly",
    async () => {
      const { child, exit, port, stderr } = await startServer(["--shutdown-timeout-ms", "3000"])
      const sessions = await Promise.all(Array.from({ length: 300 }, () => initialize(port)))
      const streams = await Promise.all(
        sessions.map((sid) =>
          request(port, "GET", { accept: "text/event-stream", "mcp-session-id": sid }).then((res) => {
            assert.strictEqual(res.statusCode, 200)
            return { done: text(res) }
          })
        )
      )
      const sockets = await Promise.all(Array.from({ length: 50 }, async () => {
        const socket = await openWebSocket(`ws://127.0.0.1:${port}/ws`)
        return { closed: new Promise<number>((resolve) => socket.once("close", (code) => resolve(code))) }
      }))
      // 20 long calls, each on its own session, streaming progress (so they are SSE answers when SIGTERM comes).
      const calls = await Promise.all(
        sessions.slice(0, 20).map((sid, i) =>
          request(port, "POST", { ...JSON_AND_SSE, "mcp-session-id": sid }, {
            jsonrpc: "2.0",
            id: 100 + i,
            method: "tools/call",
            params: {
              name: "long_running_operation",
              arguments: { steps: 100, stepMs: 100 },
              _meta: { progressToken: i }
            }
          }).then((res) => ({ done: text(res), progressed: seen(res, "notifications/progress") }))
        )
      )
      // Every call is under way, streaming progress, before the signal.
      await Promise.all(calls.map((c) => c.progressed))

      const signalled = Date.now()
      child.kill("SIGTERM")
      const { code } = await exit
      const elapsed = Date.now() - signalled
      console.log(`SIGTERM to exit with 300 SSE streams, 50 WebSockets and 20 calls in flight: ${elapsed} ms`)
      assert.strictEqual(code, 0)
      assert.isBelow(elapsed, 10_000, "well inside any sane deadline (the configured one is 3 s)")

      const ended = await Promise.all(streams.map((s) => s.done))
      assert.strictEqual(
        ended.filter((s) => s.clean && s.body.includes("event: shutdown")).length,
        300,
        "every SSE stream got its final event and a clean end"
      )
      const codes = await Promise.all(sockets.map((s) => s.closed))
      assert.deepStrictEqual([...new Set(codes)], [1001])
      const answers = await Promise.all(calls.map((c) => c.done))
      for (const [i, answer] of answers.entries()) {
        assert.isTrue(answer.clean, `call ${i} ended cleanly`)
        assert.match(
          answer.body,
          new RegExp(`"id":${100 + i},"error":\\{"code":-32000,"message":"Server shutting down`)
        )
      }
      const finalizers = stderr().filter((l) => l.annotations?.event === "long_running_operation.interrupted")
      assert.strictEqual(finalizers.length, 20, "every interrupted handler's finalizer ran")
      assert.isDefined(stderr().find((l) => l.message === "HTTP server closed"))
    },
    60_000
  )

  it("an idle server exits 0 on SIGINT, and /ready reports readiness until then", async () => {
    const { child, exit, port } = await startServer([])
    const ready = await new Promise<{ status: number; body: string }>((resolve) => {
      http.get(
        { host: "127.0.0.1", port, path: "/ready" },
        (res) => text(res).then(({ body }) => resolve({ status: res.statusCode!, body }))
      )
    })
    assert.strictEqual(ready.status, 200)
    assert.deepStrictEqual(JSON.parse(ready.body), { ready: true, sessions: 0 })
    child.kill("SIGINT")
    assert.strictEqual((await exit).code, 0)
  })
})
