// The official SDK 1.x over plain node:http with JSON responses and an `echo` tool.
//   SDK_MODE=stateless: a new McpServer + transport per request (the SDK's documented stateless pattern)
//   SDK_MODE=stateful:  one McpServer + transport per session (randomUUID session ids)
// Prints "READY <url>" on stdout.
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js"
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js"
import { isInitializeRequest } from "@modelcontextprotocol/sdk/types.js"
import { randomUUID } from "node:crypto"
import http from "node:http"
import { z } from "zod"

const stateful = process.env.SDK_MODE === "stateful"
const makeServer = () => {
  const server = new McpServer({ name: "sdk-echo", version: "1.0.0" })
  server.registerTool("echo", { description: "Echo", inputSchema: { text: z.string() } }, ({ text }) => ({
    content: [{ type: "text", text }]
  }))
  return server
}

const readJson = (req) =>
  new Promise((resolve, reject) => {
    const chunks = []
    req.on("data", (c) => chunks.push(c))
    req.on("end", () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")))
      } catch (e) {
        reject(e)
      }
    })
  })

const transports = new Map()
const httpServer = http.createServer({ noDelay: true }, async (req, res) => {
  const body = req.method === "POST" ? await readJson(req) : undefined
  if (!stateful) {
    const server = makeServer()
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true })
    res.on("close", () => {
      transport.close()
      server.close()
    })
    await server.connect(transport)
    return transport.handleRequest(req, res, body)
  }
  const sid = req.headers["mcp-session-id"]
  let transport = sid === undefined ? undefined : transports.get(sid)
  if (transport === undefined && body !== undefined && isInitializeRequest(body)) {
    transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      enableJsonResponse: true,
      onsessioninitialized: (id) => transports.set(id, transport)
    })
    transport.onclose = () => transport.sessionId && transports.delete(transport.sessionId)
    await makeServer().connect(transport)
  }
  if (transport === undefined) {
    res.writeHead(400, { "content-type": "application/json" })
    return res.end(JSON.stringify({ jsonrpc: "2.0", id: null, error: { code: -32000, message: "No session" } }))
  }
  await transport.handleRequest(req, res, body)
})
httpServer.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  console.log(`READY http://127.0.0.1:${httpServer.address().port}/mcp`)
})
process.on("SIGTERM", () => process.exit(0))
