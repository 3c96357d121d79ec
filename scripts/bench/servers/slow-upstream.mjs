// A remote Streamable HTTP upstream for the gateway bench (scripts/bench/gateway.mjs): one tool, `sleep10`, that
// waits 10 ms and answers its `text` argument. Prints "READY <url>" on stdout.
//   SLOW_IMPL=lib (default): this project's library (dist/index.js, so `npm run build` first), both eras.
//   SLOW_IMPL=sdk: the official SDK 1.x, one McpServer + transport per session (legacy era), JSON responses.
// PORT (default 0: a free one); listens on 127.0.0.1 only. SIGTERM ends it.
import http from "node:http"

const port = Number(process.env.PORT ?? 0)
const impl = process.env.SLOW_IMPL ?? "lib"
const limit = Number(process.env.LIMIT ?? 20000)

const serveLib = async () => {
  const { Effect, Layer, ManagedRuntime, Schema } = await import("effect")
  const { McpHttpServer, McpServer, Tool } = await import("../../../dist/index.js")
  const Sleep10 = Tool.make({
    name: "sleep10",
    description: "Waits 10 ms, then answers its text",
    parameters: Schema.Struct({ text: Schema.String }),
    handler: ({ text }) => Effect.as(Effect.sleep("10 millis"), text)
  })
  const server = McpServer.tool(Sleep10).pipe(
    Layer.provideMerge(McpServer.layer({ name: "slow-upstream", version: "1.0.0" }))
  )
  const runtime = ManagedRuntime.make(
    McpHttpServer.layer({ port, maxSessions: limit, maxStreams: limit }).pipe(Layer.provide(server))
  )
  const http = await runtime.runPromise(McpHttpServer.McpHttpServer)
  process.on("SIGTERM", () => runtime.dispose().then(() => process.exit(0)))
  return http.url
}

const serveSdk = async () => {
  const { McpServer } = await import("@modelcontextprotocol/sdk/server/mcp.js")
  const { StreamableHTTPServerTransport } = await import("@modelcontextprotocol/sdk/server/streamableHttp.js")
  const { isInitializeRequest } = await import("@modelcontextprotocol/sdk/types.js")
  const { randomUUID } = await import("node:crypto")
  const { z } = await import("zod")
  const makeServer = () => {
    const server = new McpServer({ name: "slow-upstream", version: "1.0.0" })
    server.registerTool(
      "sleep10",
      { description: "Waits 10 ms, then answers its text", inputSchema: { text: z.string() } },
      async ({ text }) => {
        await new Promise((r) => setTimeout(r, 10))
        return { content: [{ type: "text", text }] }
      }
    )
    return server
  }
  const readJson = (req) =>
    new Promise((resolve, reject) => {
      const chunks = []
      req.on("data", (c) => chunks.push(c))
      req.on("end", () => {
        try {
          resolve(chunks.length === 0 ? undefined : JSON.parse(Buffer.concat(chunks).toString("utf8")))
        } catch (e) {
          reject(e)
        }
      })
      req.on("error", reject)
    })
  const transports = new Map()
  const server = http.createServer({ noDelay: true }, async (req, res) => {
    let body
    try {
      body = req.method === "POST" ? await readJson(req) : undefined
    } catch {
      res.writeHead(400, { "content-type": "application/json" })
      return res.end(JSON.stringify({ jsonrpc: "2.0", id: null, error: { code: -32700, message: "Parse error" } }))
    }
    const sid = req.headers["mcp-session-id"]
    let transport = sid === undefined ? undefined : transports.get(sid)
    if (transport === undefined && body !== undefined && isInitializeRequest(body) && transports.size < limit) {
      transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        enableJsonResponse: true,
        onsessioninitialized: (id) => transports.set(id, transport)
      })
      transport.onclose = () => transport.sessionId && transports.delete(transport.sessionId)
      await makeServer().connect(transport)
    }
    if (transport === undefined) {
      res.writeHead(sid === undefined ? 400 : 404, { "content-type": "application/json" })
      return res.end(JSON.stringify({ jsonrpc: "2.0", id: null, error: { code: -32000, message: "No session" } }))
    }
    await transport.handleRequest(req, res, body)
  })
  await new Promise((resolve) => server.listen(port, "127.0.0.1", resolve))
  process.on("SIGTERM", () => process.exit(0))
  return `http://127.0.0.1:${server.address().port}/mcp`
}

if (impl !== "lib" && impl !== "sdk") {
  console.error(`SLOW_IMPL must be lib or sdk, not ${JSON.stringify(impl)}`)
  process.exit(2)
}
const url = impl === "lib" ? await serveLib() : await serveSdk()
console.log(`READY ${url}`)
