// The load of scripts/bench/alloc.mjs: tools/call echo with autocannon at 20 connections for N seconds, modern
// (stateless) or legacy (one session). Prints {"total": requests, "bad": non-2xx + errors}.
import autocannon from "autocannon"
import http from "node:http"

const [url, era, seconds] = process.argv.slice(2)
const post = (body, headers = {}) =>
  new Promise((resolve, reject) => {
    const req = http.request(url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers }
    }, (res) => {
      res.resume()
      res.on("end", () => resolve(res.headers))
    })
    req.on("error", reject)
    req.end(JSON.stringify(body))
  })
let headers
let body
if (era === "modern") {
  headers = { "mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call", "mcp-name": "echo" }
  const meta = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientCapabilities": {}
  }
  body = JSON.stringify({
    jsonrpc: "2.0",
    id: 1,
    method: "tools/call",
    params: { name: "echo", arguments: { text: "hello" }, _meta: meta }
  })
} else {
  const init = await post({
    jsonrpc: "2.0",
    id: 0,
    method: "initialize",
    params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "alloc", version: "1" } }
  })
  headers = { "mcp-session-id": init["mcp-session-id"], "mcp-protocol-version": "2025-06-18" }
  await post({ jsonrpc: "2.0", method: "notifications/initialized" }, headers)
  body = JSON.stringify({
    jsonrpc: "2.0",
    // Unique ids: one legacy session refuses an id still in flight (a slow answer, a gateway's).
    id: "[<id>]",
    method: "tools/call",
    params: { name: "echo", arguments: { text: "hello" } }
  })
}
const result = await autocannon({
  url,
  method: "POST",
  connections: 20,
  duration: Number(seconds),
  headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers },
  body,
  idReplacement: true
})
console.log(JSON.stringify({ total: result.requests.total, bad: result.non2xx + result.errors }))
