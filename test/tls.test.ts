// TLS and HTTP/2: McpHttpServer with `tls` (ALPN h2 and http/1.1) and `h2c` (cleartext HTTP/2 by prior knowledge
// beside HTTP/1.1), in process and as `node dist/main.js --tls-cert F --tls-key F`. Spoken to with Node's http2
// client, curl (--http2 / --http1.1), the official SDK client over HTTPS (undici, with and without h2) and a wss
// WebSocket. A self-signed certificate for localhost and 127.0.0.1 is made with the openssl binary.
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import { execFile, execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as http from "node:http"
import * as http2 from "node:http2"
import * as os from "node:os"
import * as path from "node:path"
import { promisify } from "node:util"
import { Agent, fetch as undiciFetch } from "undici"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import * as H2 from "../src/http/Http2.js"
import * as Sse from "../src/http/Sse.js"
import { McpServer } from "../src/index.js"
import { selfSigned } from "./fixtures/Certificate.js"
import { start } from "./fixtures/Http.js"
import { startServer } from "./fixtures/MainProcess.js"
import { initialize, JSON_AND_SSE, modernHeaders, modernMeta } from "./support/Messages.js"
import { parseSse } from "./support/Sse.js"
import { until } from "./support/Wait.js"
import { openWebSocket } from "./support/WebSocket.js"

const run = promisify(execFile)

let dir = ""
let cert = Buffer.alloc(0)
let key = Buffer.alloc(0)
let certFile = ""
let keyFile = ""

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "mcp-tls-"))
  ;({ certFile, keyFile } = selfSigned(dir))
  cert = fs.readFileSync(certFile)
  key = fs.readFileSync(keyFile)
})

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true })
})

const hasCurl = (() => {
  try {
    execFileSync("curl", ["--version"], { stdio: "ignore" })
    return true
  } catch {
    return false
  }
})()

const startTls = (options: Parameters<typeof start>[0] = {}) => start({ tls: { cert, key }, ...options })

/** An HTTP/2 connection to `origin` (https: trusting the test certificate; http: prior-knowledge h2c). */
const connect = (origin: string) =>
  new Promise<http2.ClientHttp2Session>((resolve, reject) => {
    const session = http2.connect(origin, { ca: cert })
    session.once("connect", () => resolve(session))
    session.once("error", reject)
  })

interface Answer {
  readonly status: number
  readonly headers: http2.IncomingHttpHeaders
  readonly body: string
}

/** One request on an HTTP/2 connection, its whole answer. */
const request = (
  session: http2.ClientHttp2Session,
  method: string,
  urlPath: string,
  headers: Record<string, string> = {},
  body?: unknown
) =>
  new Promise<Answer>((resolve, reject) => {
    const stream = session.request({ ":method": method, ":path": urlPath, ...headers })
    let responseHeaders: http2.IncomingHttpHeaders = {}
    let text = ""
    stream.setEncoding("utf8")
    stream.on("response", (h) => (responseHeaders = h))
    stream.on("data", (chunk: string) => (text += chunk))
    stream.on(
      "end",
      () => resolve({ status: Number(responseHeaders[":status"]), headers: responseHeaders, body: text })
    )
    stream.on("error", reject)
    stream.end(body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body))
  })

const jsonOf = (answer: Answer): any =>
  answer.headers["content-type"] === "text/event-stream"
    ? parseSse(answer.body).map((e) => JSON.parse(e.data)).at(-1)
    : JSON.parse(answer.body)

/** A legacy session made over the HTTP/2 connection. */
const legacySession = async (session: http2.ClientHttp2Session, version = "2025-06-18") => {
  const init = await request(session, "POST", "/mcp", JSON_AND_SSE, initialize(version))
  assert.strictEqual(init.status, 200, init.body)
  const sid = init.headers["mcp-session-id"] as string
  const ack = await request(session, "POST", "/mcp", { ...JSON_AND_SSE, "mcp-session-id": sid }, {
    jsonrpc: "2.0",
    method: "notifications/initialized"
  })
  assert.strictEqual(ack.status, 202)
  return sid
}

/** A session's GET stream on the HTTP/2 connection: its status and the SSE text so far, and whether it ended. */
const openGet = (session: http2.ClientHttp2Session, sid: string) =>
  new Promise<
    { status: number; text: () => string; ended: Promise<boolean>; stream: http2.ClientHttp2Stream }
  >((resolve, reject) => {
    const stream = session.request({
      ":method": "GET",
      ":path": "/mcp",
      accept: "text/event-stream",
      "mcp-session-id": sid
    })
    let text = ""
    stream.setEncoding("utf8")
    stream.on("data", (chunk: string) => (text += chunk))
    const ended = new Promise<boolean>((r) => {
      stream.on("end", () => r(true))
      stream.on("close", () => r(false))
    })
    stream.on("error", () => {})
    stream.once("response", (h) => resolve({ status: Number(h[":status"]), text: () => text, ended, stream }))
    stream.once("error", reject)
  })

describe("HTTPS with HTTP/2 and HTTP/1.1 (in process)", () => {
  it("Node's http2 client: modern POST (JSON and SSE answers), legacy session, health; ALPN h2", async () => {
    const { url } = await startTls()
    assert.match(url, /^https:\/\/127\.0\.0\.1:\d+\/mcp$/)
    const session = await connect(new URL(url).origin)
    assert.strictEqual(session.alpnProtocol, "h2")
    const call = await request(session, "POST", "/mcp", { ...JSON_AND_SSE, ...modernHeaders("tools/call", "add") }, {
      jsonrpc: "2.0",
      id: 1,
      method: "tools/call",
      params: { name: "add", arguments: { a: 1, b: 2 }, _meta: modernMeta }
    })
    assert.strictEqual(call.status, 200, call.body)
    assert.deepStrictEqual(jsonOf(call).result.structuredContent, { sum: 3 })
    // An answer that streams (progress first): SSE on the POST's own HTTP/2 stream.
    const streamed = await request(session, "POST", "/mcp", {
      ...JSON_AND_SSE,
      ...modernHeaders("tools/call", "log_levels")
    }, {
      jsonrpc: "2.0",
      id: 2,
      method: "tools/call",
      params: {
        name: "log_levels",
        arguments: {},
        _meta: { ...modernMeta, "io.modelcontextprotocol/logLevel": "debug" }
      }
    })
    assert.strictEqual(streamed.status, 200, streamed.body)
    assert.isDefined(jsonOf(streamed).result)

    const sid = await legacySession(session)
    const echo = await request(session, "POST", "/mcp", { ...JSON_AND_SSE, "mcp-session-id": sid }, {
      jsonrpc: "2.0",
      id: 3,
      method: "tools/call",
      params: { name: "echo", arguments: { text: "over h2" } }
    })
    assert.deepStrictEqual(jsonOf(echo).result.content, [{ type: "text", text: "over h2" }])
    // Never a connection-specific header over HTTP/2.
    for (const answer of [call, streamed, echo]) {
      assert.isUndefined(answer.headers.connection)
      assert.isUndefined(answer.headers["keep-alive"])
      assert.isUndefined(answer.headers["transfer-encoding"])
    }
    const deleted = await request(session, "DELETE", "/mcp", { "mcp-session-id": sid })
    assert.strictEqual(deleted.status, 200)
    const health = await request(session, "GET", "/health")
    assert.strictEqual(health.status, 200)
    session.close()
  })

  it("every guard applies over h2: :authority and Host checked, Origin, Accept, Content-Type, 413, 100-continue", async () => {
    const warnings: Array<string> = []
    const onWarning = (w: Error) => warnings.push(w.message)
    process.on("warning", onWarning)
    try {
      const { url } = await startTls({ maxBodyBytes: 1000 })
      const session = await connect(new URL(url).origin)
      const init = initialize("2025-06-18")
      const foreign = await request(
        session,
        "POST",
        "/mcp",
        { ...JSON_AND_SSE, ":authority": "evil.example:443" },
        init
      )
      assert.strictEqual(foreign.status, 403)
      assert.include(foreign.body, "evil.example")
      const hostDiffers = await request(session, "POST", "/mcp", { ...JSON_AND_SSE, host: "evil.example" }, init)
      assert.strictEqual(hostDiffers.status, 403)
      const origin = await request(session, "POST", "/mcp", { ...JSON_AND_SSE, origin: "https://evil.example" }, init)
      assert.strictEqual(origin.status, 403)
      const accept = await request(session, "POST", "/mcp", { "content-type": "application/json" }, init)
      assert.strictEqual(accept.status, 406)
      const type = await request(session, "POST", "/mcp", { ...JSON_AND_SSE, "content-type": "text/plain" }, init)
      assert.strictEqual(type.status, 415)
      const big = await request(session, "POST", "/mcp", JSON_AND_SSE, JSON.stringify({ pad: "x".repeat(5000) }))
      assert.strictEqual(big.status, 413)
      // Expect: 100-continue with a Content-Length over the limit: 413 at once, without `connection: close`.
      const cont = await new Promise<Answer>((resolve, reject) => {
        const stream = session.request({
          ":method": "POST",
          ":path": "/mcp",
          ...JSON_AND_SSE,
          "content-length": "5000",
          expect: "100-continue"
        })
        let headers: http2.IncomingHttpHeaders = {}
        let body = ""
        stream.on("response", (h) => (headers = h))
        stream.on("data", (c) => (body += c))
        stream.on("end", () => resolve({ status: Number(headers[":status"]), headers, body }))
        stream.on("error", reject)
      })
      assert.strictEqual(cont.status, 413)
      assert.isUndefined(cont.headers.connection)
      const ws = await request(session, "GET", "/ws")
      assert.strictEqual(ws.status, 426)
      assert.isUndefined(ws.headers.upgrade)
      // The connection is still usable after every refusal.
      assert.strictEqual((await request(session, "GET", "/health")).status, 200)
      session.close()
      await new Promise((r) => setTimeout(r, 50))
      assert.deepStrictEqual(warnings.filter((w) => w.includes("connection header")), [])
    } finally {
      process.off("warning", onWarning)
    }
  })

  it("20 legacy sessions' GET streams on ONE HTTP/2 connection all get events; shutdown: GOAWAY and event: shutdown on each", async () => {
    const { url, runtime, openStreams } = await startTls({ shutdownTimeout: "3 seconds" })
    const server = await runtime.runPromise(McpServer.McpServer)
    const session = await connect(new URL(url).origin)
    let goaway = false
    let endedBeforeGoaway = 0
    session.on("goaway", () => (goaway = true))
    session.on("error", () => {})
    const sids = await Promise.all(Array.from({ length: 20 }, () => legacySession(session)))
    const streams = await Promise.all(sids.map((sid) => openGet(session, sid)))
    for (const s of streams) assert.strictEqual(s.status, 200)
    assert.strictEqual(await openStreams(), 20)
    server.notifications.listChanged("tools")
    await until(
      () => streams.every((s) => s.text().includes("notifications/tools/list_changed")),
      "list_changed on all 20 streams"
    )
    const disposed = runtime.dispose()
    const ended = await Promise.all(streams.map((s) => s.ended.then((clean) => (goaway || endedBeforeGoaway++, clean))))
    await disposed
    // GOAWAY first (no new streams), then each stream ends with its final event.
    assert.isTrue(goaway, "the client got a GOAWAY")
    assert.strictEqual(endedBeforeGoaway, 0)
    assert.deepStrictEqual(ended, Array(20).fill(true))
    for (const s of streams) assert.include(s.text(), "event: shutdown")
    session.destroy()
  })

  it("--max-streams applies per stream over one HTTP/2 connection (503 past it)", async () => {
    const { url } = await startTls({ maxStreams: 3 })
    const session = await connect(new URL(url).origin)
    const sids = await Promise.all(Array.from({ length: 4 }, () => legacySession(session)))
    const streams = []
    for (const sid of sids) streams.push(await openGet(session, sid))
    assert.deepStrictEqual(streams.map((s) => s.status), [200, 200, 200, 503])
    session.destroy()
  })

  it("a stream the client resets is freed: its writer does not wait for a drain that never comes", async () => {
    const { url, runtime, openStreams, activeRequests } = await startTls()
    const server = await runtime.runPromise(McpServer.McpServer)
    const session = await connect(new URL(url).origin)
    const sids = await Promise.all(Array.from({ length: 5 }, () => legacySession(session, "2025-11-25")))
    const streams = await Promise.all(sids.map((sid) => openGet(session, sid)))
    assert.strictEqual(await openStreams(), 5)
    for (const s of streams) s.stream.close(http2.constants.NGHTTP2_CANCEL)
    for (let i = 0; i < 20; i++) server.notifications.listChanged(i % 2 === 0 ? "tools" : "prompts")
    await until(async () => (await openStreams()) === 0, "the reset streams to be dropped")
    await until(async () => (await activeRequests()) === 0, "no fiber left on them")
    // The connection still serves.
    assert.strictEqual((await request(session, "GET", "/health")).status, 200)
    session.close()
  })

  it("the official SDK client over HTTPS (undici): HTTP/2 and HTTP/1.1", async () => {
    const { url } = await startTls()
    for (const allowH2 of [true, false]) {
      const dispatcher = new Agent({ connect: { ca: cert }, allowH2 })
      const client = new Client({ name: "sdk", version: "1" })
      const transport = new StreamableHTTPClientTransport(new URL(url), {
        fetch: (input, init) => undiciFetch(input as string, { ...(init as object), dispatcher }) as never
      })
      await client.connect(transport)
      assert.strictEqual(client.getServerVersion()?.name, "test-server")
      const echoed = await client.callTool({ name: "echo", arguments: { text: `h2 ${allowH2}` } })
      assert.deepStrictEqual(echoed.content, [{ type: "text", text: `h2 ${allowH2}` }])
      await client.listTools()
      await transport.terminateSession()
      await client.close()
      await dispatcher.close()
    }
  })

  it("WebSocket over wss (HTTP/1.1 by ALPN), and HTTP/1.1 requests on the same port", async () => {
    const { url, port } = await startTls()
    const socket = await openWebSocket(`wss://127.0.0.1:${port}/ws`, { ca: cert })
    const answer = new Promise<any>((resolve) => socket.once("message", (data) => resolve(JSON.parse(String(data)))))
    socket.send(JSON.stringify(initialize("2025-06-18")))
    assert.strictEqual((await answer).result.protocolVersion, "2025-06-18")
    socket.close()
    const foreign = await openWebSocket(`wss://127.0.0.1:${port}/ws`, { ca: cert, headers: { host: "evil.example" } })
      .then(() => "open", (error: Error) => error.message)
    assert.include(foreign, "403")
    // HTTP/1.1 over TLS (https module: ALPN http/1.1).
    const https = await import("node:https")
    const status = await new Promise<{ status: number; version: string }>((resolve, reject) => {
      const req = https.request(new URL(url), {
        method: "POST",
        ca: cert,
        headers: JSON_AND_SSE
      }, (res) => {
        res.resume()
        resolve({ status: res.statusCode!, version: res.httpVersion })
      })
      req.on("error", reject)
      req.end(JSON.stringify(initialize("2025-06-18")))
    })
    assert.deepStrictEqual(status, { status: 200, version: "1.1" })
  })
})

describe("Http2.CompatResponse", () => {
  it("a stalled HTTP/2 reader is cut by the SSE keep-alive (writableNeedDrain and destroyed read from the stream)", async () => {
    const server = http2.createSecureServer({ cert, key, Http2ServerResponse: H2.CompatResponse })
    const seen = new Promise<{ needDrain: unknown; destroyed: unknown }>((resolve) =>
      server.on("request", (_req, res) => {
        Sse.open(res as never)
        const chunk = Sse.comment("x".repeat(16 * 1024))
        for (let i = 0; i < 1000 && res.write(chunk); i++);
        const needDrain = (res as { writableNeedDrain?: unknown }).writableNeedDrain
        const liveness: Sse.Liveness = { pending: -1 }
        Sse.keepAlive(res as never, liveness)
        Sse.keepAlive(res as never, liveness)
        resolve({ needDrain, destroyed: res.stream.destroyed && (res as { destroyed?: unknown }).destroyed })
      })
    )
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r))
    const session = await connect(`https://localhost:${(server.address() as { port: number }).port}`)
    session.on("error", () => {})
    const stream = session.request({ ":path": "/" })
    stream.on("error", () => {})
    stream.pause()
    assert.deepStrictEqual(await seen, { needDrain: true, destroyed: true })
    session.destroy()
    await new Promise((r) => server.close(r))
  })
})

describe("h2c: cleartext HTTP/2 beside HTTP/1.1 (in process)", () => {
  it("prior-knowledge HTTP/2 and HTTP/1.1 on one port; WebSocket over HTTP/1.1; shutdown sends GOAWAY", async () => {
    const { url, port, runtime } = await start({ h2c: true })
    assert.match(url, /^http:\/\//)
    const session = await connect(`http://127.0.0.1:${port}`)
    session.on("error", () => {})
    let goaway = false
    session.on("goaway", () => (goaway = true))
    const sid = await legacySession(session)
    const get = await openGet(session, sid)
    assert.strictEqual(get.status, 200)
    let goawayBeforeShutdownEvent: boolean | undefined
    get.stream.on("data", () => {
      if (goawayBeforeShutdownEvent === undefined && get.text().includes("event: shutdown")) {
        goawayBeforeShutdownEvent = goaway
      }
    })
    const foreign = await request(session, "GET", "/mcp", { ":authority": "evil.example", accept: "text/event-stream" })
    assert.strictEqual(foreign.status, 403)
    // HTTP/1.1 on the same port.
    const res = await fetch(url, {
      method: "POST",
      headers: JSON_AND_SSE,
      body: JSON.stringify(initialize("2025-06-18"))
    })
    assert.strictEqual(res.status, 200)
    await res.text()
    const socket = await openWebSocket(`ws://127.0.0.1:${port}/ws`)
    socket.close()
    // A connection that sends a body in several small pieces and HTTP/1.1 keep-alive both still work.
    const agent = new http.Agent({ keepAlive: true })
    for (let i = 0; i < 2; i++) {
      const status = await new Promise<number>((resolve, reject) => {
        const req = http.request({ host: "127.0.0.1", port, path: "/health", agent }, (r) => {
          r.resume()
          resolve(r.statusCode!)
        })
        req.on("error", reject)
        req.end()
      })
      assert.strictEqual(status, 200)
    }
    agent.destroy()
    const disposed = runtime.dispose()
    assert.isTrue(await get.ended)
    assert.isTrue(goawayBeforeShutdownEvent, "GOAWAY before the stream's final event")
    await disposed
    assert.include(get.text(), "event: shutdown")
    session.destroy()
  })
})

describe("node dist/main.js --tls-cert --tls-key", () => {
  it.skipIf(!hasCurl)("curl --http2 -k and --http1.1 -k; SIGTERM exits 0", async () => {
    const { child, exit, port } = await startServer(["--tls-cert", certFile, "--tls-key", keyFile])
    const body = JSON.stringify(initialize("2025-06-18"))
    for (const [flag, version] of [["--http2", "2"], ["--http1.1", "1.1"]] as const) {
      const { stdout } = await run("curl", [
        "-sk",
        flag,
        "-w",
        "\n%{http_version} %{http_code}",
        "-H",
        "content-type: application/json",
        "-H",
        "accept: application/json, text/event-stream",
        "-d",
        body,
        `https://localhost:${port}/mcp`
      ])
      const lines = stdout.trim().split("\n")
      assert.strictEqual(lines.at(-1), `${version} 200`, stdout)
      assert.strictEqual(JSON.parse(lines[0]!).result.protocolVersion, "2025-06-18")
      const foreign = await run("curl", [
        "-sk",
        flag,
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "-H",
        "host: evil.example",
        "-H",
        "accept: text/event-stream",
        `https://127.0.0.1:${port}/mcp`
      ])
      assert.strictEqual(foreign.stdout, "403")
    }
    child.kill("SIGTERM")
    assert.deepStrictEqual(await exit, { code: 0, signal: null })
  })

  it.skipIf(!hasCurl)("--h2c: curl --http2-prior-knowledge and --http1.1 on one port", async () => {
    const { child, exit, port } = await startServer(["--h2c"])
    for (const [flag, version] of [["--http2-prior-knowledge", "2"], ["--http1.1", "1.1"]] as const) {
      const { stdout } = await run("curl", [
        "-s",
        flag,
        "-o",
        "/dev/null",
        "-w",
        "%{http_version} %{http_code}",
        `http://127.0.0.1:${port}/health`
      ])
      assert.strictEqual(stdout, `${version} 200`)
    }
    child.kill("SIGTERM")
    assert.deepStrictEqual(await exit, { code: 0, signal: null })
  })

  it("--tls-cert without --tls-key is a configuration error; so is an unreadable file", async () => {
    const { spawnSync } = await import("node:child_process")
    const { SERVER } = await import("./support/Dist.js")
    const alone = spawnSync(process.execPath, [SERVER, "--port", "0", "--tls-cert", certFile], {
      encoding: "utf8",
      timeout: 15_000
    })
    assert.strictEqual(alone.status, 1)
    assert.include(alone.stderr, "--tls-key is missing")
    const missing = spawnSync(process.execPath, [
      SERVER,
      "--port",
      "0",
      "--tls-cert",
      certFile,
      "--tls-key",
      path.join(dir, "nope.pem")
    ], {
      encoding: "utf8",
      timeout: 15_000
    })
    assert.strictEqual(missing.status, 1)
    assert.include(missing.stderr, "cannot read")
  })
})
