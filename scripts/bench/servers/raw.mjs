// The floor: a raw node:http JSON-RPC server with no framework, answering initialize, notifications and
// tools/call echo (both eras: it ignores _meta and sessions). Prints "READY <url>" on stdout.
import http from "node:http"

const reply = (res, status, body) => {
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) })
  res.end(body)
}

const server = http.createServer({ noDelay: true }, (req, res) => {
  if (req.method !== "POST") return reply(res, 405, "{}")
  const chunks = []
  req.on("data", (c) => chunks.push(c))
  req.on("end", () => {
    let msg
    try {
      msg = JSON.parse(Buffer.concat(chunks).toString("utf8"))
    } catch {
      return reply(
        res,
        400,
        JSON.stringify({ jsonrpc: "2.0", id: null, error: { code: -32700, message: "Parse error" } })
      )
    }
    if (msg.id === undefined) {
      res.writeHead(202)
      return res.end()
    }
    if (msg.method === "initialize") {
      res.setHeader("mcp-session-id", "raw")
      return reply(
        res,
        200,
        JSON.stringify({
          jsonrpc: "2.0",
          id: msg.id,
          result: {
            protocolVersion: msg.params.protocolVersion,
            capabilities: { tools: {} },
            serverInfo: { name: "raw", version: "1" }
          }
        })
      )
    }
    if (msg.method === "tools/call" && msg.params?.name === "echo" && typeof msg.params.arguments?.text === "string") {
      return reply(
        res,
        200,
        JSON.stringify({
          jsonrpc: "2.0",
          id: msg.id,
          result: { content: [{ type: "text", text: msg.params.arguments.text }] }
        })
      )
    }
    reply(
      res,
      200,
      JSON.stringify({ jsonrpc: "2.0", id: msg.id, error: { code: -32601, message: "Method not found" } })
    )
  })
})
server.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  console.log(`READY http://127.0.0.1:${server.address().port}/mcp`)
})
process.on("SIGTERM", () => {
  server.close(() => process.exit(0))
  server.closeAllConnections()
})
