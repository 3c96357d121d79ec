/**
 * The Streamable HTTP upstream client against a scripted legacy server (plain node:http on 127.0.0.1, written here
 * to misbehave on purpose): an answer that comes on the GET stream while the request's own POST stream stays open
 * (the client stops reading that stream, no race needed), and a JSON answer over the size limit (a clear error,
 * the pool still usable), a header value the client refuses (Down with the reason, no defect). Every wait is bounded.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as http from "node:http"
import * as HttpUpstream from "../src/gateway/HttpUpstream.js"
import type * as Upstream from "../src/gateway/Upstream.js"
import { common, recorder } from "./fixtures/UpstreamHarness.js"

interface Scripted {
  readonly port: number
  /** POSTs of requests (not notifications) whose connection closed, by JSON-RPC id. */
  readonly closedPosts: Array<number>
  /** Whether the session's GET stream is open. */
  readonly getOpen: () => boolean
}

/**
 * A legacy (2025-11-25) server: initialize answers JSON with a session; `tools/call` named `on_get` answers on the GET
 * stream and leaves its own POST stream open; `big` answers JSON of `bigBytes`; anything else answers JSON at once.
 */
const scripted = (bigBytes: number) =>
  Effect.acquireRelease(
    Effect.async<{ server: http.Server; scripted: Scripted }>((resume) => {
      const closedPosts: Array<number> = []
      let getStream: http.ServerResponse | undefined
      const json = (res: http.ServerResponse, body: unknown) => {
        const text = JSON.stringify(body)
        res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(text) })
        res.end(text)
      }
      const server = http.createServer((req, res) => {
        if (req.method === "GET") {
          res.writeHead(200, { "content-type": "text/event-stream" })
          res.write(": open\n\n")
          getStream = res
          return
        }
        if (req.method === "DELETE") {
          res.writeHead(200)
          res.end()
          return
        }
        let text = ""
        req.on("data", (chunk) => (text += chunk))
        req.on("end", () => {
          const message = JSON.parse(text)
          if (message.id === undefined) {
            res.writeHead(202)
            res.end()
            return
          }
          res.on("close", () => closedPosts.push(message.id))
          if (message.method === "initialize") {
            res.setHeader("mcp-session-id", "s1")
            return json(res, {
              jsonrpc: "2.0",
              id: message.id,
              result: {
                protocolVersion: "2025-11-25",
                capabilities: { tools: {} },
                serverInfo: { name: "scripted", version: "1" }
              }
            })
          }
          const name = message.params?.name
          if (name === "on_get") {
            res.writeHead(200, { "content-type": "text/event-stream" })
            res.write(": this stream will stay open\n\n")
            getStream?.write(
              `event: message\ndata: ${
                JSON.stringify({ jsonrpc: "2.0", id: message.id, result: { content: [{ type: "text", text: "got" }] } })
              }\n\n`
            )
            return
          }
          if (name === "big") {
            return json(res, {
              jsonrpc: "2.0",
              id: message.id,
              result: { content: [{ type: "text", text: "x".repeat(bigBytes) }] }
            })
          }
          return json(res, { jsonrpc: "2.0", id: message.id, result: { content: [{ type: "text", text: "ok" }] } })
        })
      })
      server.listen(0, "127.0.0.1", () =>
        resume(Effect.succeed({
          server,
          scripted: {
            port: (server.address() as { port: number }).port,
            closedPosts,
            getOpen: () => getStream !== undefined
          }
        })))
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map(({ scripted }) => scripted))

const config = (port: number): Upstream.HttpConfig => ({
  ...common("scripted", { timeoutMillis: 5_000 }),
  type: "http",
  url: `http://127.0.0.1:${port}/mcp`,
  headers: {}
})

const textOf = (result: Upstream.Json) => (result.content as Array<{ text: string }>)[0]!.text

describe("http upstream against a scripted legacy server", () => {
  it.live("an answer on the GET stream ends the request at once, and its still-open POST stream is closed", () =>
    Effect.gen(function*() {
      const server = yield* scripted(0)
      const upstream = yield* HttpUpstream.make(config(server.port), recorder().events, { era: "legacy" })
      yield* upstream.ready
      const opened = Date.now() + 3_000
      while (!server.getOpen() && Date.now() < opened) yield* Effect.sleep("10 millis")
      assert.isTrue(server.getOpen())
      // Only the GET stream's answer can end this request: its POST stream never carries it, never ends.
      const result = yield* upstream.request("tools/call", { name: "on_get", arguments: {} }).pipe(
        Effect.timeoutFail({
          duration: "3 seconds",
          onTimeout: () => new Error("the answer on the GET stream was missed")
        })
      )
      assert.strictEqual(textOf(result), "got")
      // The client let go of the POST stream it no longer needs (the server saw that connection close).
      const deadline = Date.now() + 3_000
      while (server.closedPosts.length < 2 && Date.now() < deadline) yield* Effect.sleep("20 millis")
      assert.strictEqual(server.closedPosts.length, 2) // initialize's answer (ended normally) and the open stream
      assert.strictEqual(upstream.inFlight(), 0)
    }).pipe(Effect.scoped))

  it.live("a header value the HTTP client refuses (a line break in the config's headers): Down with the reason, no defect", () =>
    Effect.gen(function*() {
      const server = yield* scripted(0)
      const upstream = yield* HttpUpstream.make(
        { ...config(server.port), headers: { authorization: "Bearer x\r\nx-injected: 1" } },
        recorder().events,
        { era: "legacy", restartBaseMillis: 10_000 }
      )
      const failed = yield* Effect.flip(upstream.ready)
      assert.strictEqual(failed._tag, "UpstreamError")
      const deadline = Date.now() + 3_000
      while (upstream.state()._tag !== "Down" && Date.now() < deadline) yield* Effect.sleep("20 millis")
      const state = upstream.state()
      assert.strictEqual(state._tag, "Down")
      assert.match(state._tag === "Down" ? state.reason : "", /POST \/mcp failed: .*header/i)
      assert.deepStrictEqual(server.closedPosts, []) // nothing reached the server
    }).pipe(Effect.scoped))

  it.live("a JSON answer over maxMessageBytes fails the request with a clear error; the next request works", () =>
    Effect.gen(function*() {
      const server = yield* scripted(8_000)
      const upstream = yield* HttpUpstream.make(config(server.port), recorder().events, {
        era: "legacy",
        maxMessageBytes: 4_096
      })
      yield* upstream.ready
      const failed = yield* Effect.flip(upstream.request("tools/call", { name: "big", arguments: {} }))
      assert.strictEqual(failed._tag, "UpstreamError")
      assert.include(failed._tag === "UpstreamError" ? failed.message : "", "over 4096 bytes")
      assert.strictEqual(textOf(yield* upstream.request("tools/call", { name: "small", arguments: {} })), "ok")
      assert.strictEqual(upstream.state()._tag, "Ready")
    }).pipe(Effect.scoped))
})
