// Hostile and bursty clients against a real server on 127.0.0.1: DNS-rebinding names that almost pass, deeply
// nested messages on every HTTP transport, refused WebSocket handshakes, bursts, per-connection limits, peers that
// never read, oversized bodies and shutdown with requests in flight. Each test failed before its fix.
import http from "node:http"
import net from "node:net"
import { Effect } from "effect"
import { assert, describe, it } from "vitest"
import WebSocket from "ws"
import { HttpServer } from "../src/index.js"
import { initialize, JSON_AND_SSE, modernHeaders, modernMeta, post, session, start, until } from "./fixtures/Http.js"

const nest = (depth: number, leaf: string) => "[".repeat(depth) + leaf + "]".repeat(depth)

/** Status of one raw request with the given Host header (fetch would not let a test set Host). */
const rawStatus = (port: number, method: string, path: string, host: string, body?: string) =>
  new Promise<number>((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, path, method, headers: { ...JSON_AND_SSE, host } }, (res) => {
      res.resume()
      resolve(res.statusCode!)
      res.destroy()
    })
    req.once("error", reject)
    req.end(body)
  })

/** The status line a raw WebSocket upgrade gets (101 when accepted). */
const upgradeStatus = (port: number, headers: Record<string, string>) =>
  new Promise<number>((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1")
    let data = ""
    socket.on("data", (chunk) => {
      data += chunk.toString("latin1")
      const match = /^HTTP\/1\.1 (\d{3})/.exec(data)
      if (match !== null) {
        resolve(Number(match[1]))
        socket.destroy()
      }
    })
    socket.once("error", reject)
    socket.once("close", () => resolve(0))
    const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}`)
    socket.write(`GET /ws HTTP/1.1\r\n${lines.join("\r\n")}\r\n\r\n`)
  })

const wsHeaders = (host: string): Record<string, string> => ({
  host,
  connection: "Upgrade",
  upgrade: "websocket",
  "sec-websocket-version": "13",
  "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
  "sec-websocket-protocol": "mcp"
})

describe("DNS rebinding: only real loopback names pass on a loopback server", () => {
  const attacks = ["127.attacker.example", "127.0.0.1.nip.io", "127.0.0.1.evil.example:80", "127.1", "localhost.evil.example", "0x7f000001"]
  const loopback = ["127.0.0.1", "127.8.9.10", "localhost", "[::1]"]

  it("POST /mcp, GET /sse and the /ws upgrade refuse names that merely start like loopback", async () => {
    const { port } = await start()
    const body = JSON.stringify(initialize())
    for (const name of attacks) {
      assert.strictEqual(await rawStatus(port, "POST", "/mcp", name, body), 403, `POST /mcp Host ${name}`)
      assert.strictEqual(await rawStatus(port, "GET", "/sse", name), 403, `GET /sse Host ${name}`)
      assert.strictEqual(await upgradeStatus(port, wsHeaders(name)), 403, `/ws Host ${name}`)
    }
    for (const name of loopback) {
      const host = `${name}:${port}`
      assert.strictEqual(await rawStatus(port, "POST", "/mcp", host, body), 200, `POST /mcp Host ${host}`)
      assert.strictEqual(await upgradeStatus(port, wsHeaders(host)), 101, `/ws Host ${host}`)
    }
  })

  it("an Origin whose host merely starts with 127. is refused", async () => {
    const { url } = await start()
    const refused = await post(url, initialize(), { origin: "http://127.0.0.1.nip.io" })
    assert.strictEqual(refused.status, 403)
    await refused.text()
    const allowed = await post(url, initialize(), { origin: "http://127.0.0.1:1234" })
    assert.strictEqual(allowed.status, 200)
    await allowed.text()
  })
})

describe("deeply nested messages get a JSON-RPC error and leave nothing behind", () => {
  const deep = [
    { what: "id", text: (_id: number) => `{"jsonrpc":"2.0","id":${nest(3000, "1")},"method":"ping"}`, id: null },
    { what: "method", text: (id: number) => `{"jsonrpc":"2.0","id":${id},"method":${nest(3000, "\"x\"")}}`, id: "same" },
    { what: "params", text: (id: number) => `{"jsonrpc":"2.0","id":${id},"method":"ping","params":{"a":${nest(3000, "1")}}}`, id: "same" },
    {
      what: "arguments",
      text: (id: number) =>
        `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"echo","arguments":{"text":${nest(3000, "1")}}}}`,
      id: "same"
    }
  ] as const

  it("legacy session: 400 with -32600 and the id when readable; the id is free again", async () => {
    const { url } = await start()
    const sid = await session(url)
    for (const [i, input] of deep.entries()) {
      const id = 100 + i
      const res = await post(url, input.text(id), { "mcp-session-id": sid })
      assert.strictEqual(res.status, 400, input.what)
      const body = (await res.json()) as any
      assert.strictEqual(body.error.code, -32600, input.what)
      assert.strictEqual(body.id, input.id === null ? null : id, input.what)
      const again = await post(url, { jsonrpc: "2.0", id, method: "ping" }, { "mcp-session-id": sid })
      assert.strictEqual(again.status, 200, input.what)
      assert.deepStrictEqual(await again.json(), { jsonrpc: "2.0", id, result: {} }, input.what)
    }
  })

  it("modern: 400 with -32600", async () => {
    const { url } = await start()
    const res = await post(
      url,
      `{"jsonrpc":"2.0","id":3,"method":"ping","params":{"_meta":${JSON.stringify(modernMeta)},"x":${nest(3000, "1")}}}`,
      modernHeaders("ping")
    )
    assert.strictEqual(res.status, 400)
    const body = (await res.json()) as any
    assert.deepStrictEqual([body.id, body.error.code], [3, -32600])
  })

  it("WebSocket: answered on the connection, which lives on", async () => {
    const { port } = await start()
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, "mcp")
    await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject))
    const answers: Array<any> = []
    ws.on("message", (data) => answers.push(JSON.parse(data.toString())))
    const next = async () => {
      for (let i = 0; i < 300 && answers.length === 0; i++) await new Promise((r) => setTimeout(r, 10))
      assert.isAbove(answers.length, 0, "no answer on the WebSocket")
      return answers.shift()
    }
    ws.send(JSON.stringify(initialize("2025-06-18")))
    assert.strictEqual((await next()).id, 1)
    for (const [i, input] of deep.entries()) {
      const id = 200 + i
      ws.send(input.text(id))
      const answer = await next()
      assert.strictEqual(answer.error?.code, -32600, input.what)
      assert.strictEqual(answer.id, input.id === null ? null : id, input.what)
      ws.send(JSON.stringify({ jsonrpc: "2.0", id, method: "ping" }))
      assert.deepStrictEqual(await next(), { jsonrpc: "2.0", id, result: {} }, input.what)
    }
    ws.close()
  })
})

describe("refused WebSocket handshakes", () => {
  it("are answered 400 and leave no fiber behind; a plain GET /ws is 426", async () => {
    const { port, runtime } = await start()
    const active = () => runtime.runPromise(Effect.flatMap(HttpServer.HttpServer, (server) => server.activeRequests))
    const host = `127.0.0.1:${port}`
    const { "sec-websocket-key": _key, ...noKey } = wsHeaders(host)
    const refusals = [noKey, { ...wsHeaders(host), "sec-websocket-version": "12" }, { ...wsHeaders(host), upgrade: "websocket2" }]
    for (let round = 0; round < 100; round++) {
      const statuses = await Promise.all(refusals.map((headers) => upgradeStatus(port, headers)))
      assert.deepStrictEqual(statuses, [400, 400, 400])
    }
    await until(async () => (await active()) === 0, "no request fiber left after 300 refused handshakes")
    const plain = await fetch(`http://${host}/ws`)
    assert.strictEqual(plain.status, 426)
    assert.strictEqual(plain.headers.get("upgrade"), "websocket")
    await plain.text()
    assert.strictEqual(await upgradeStatus(port, wsHeaders(host)), 101)
  })
})
