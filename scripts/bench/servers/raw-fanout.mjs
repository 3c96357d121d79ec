// The fan-out floor: a raw node:http server with no framework. GET opens an SSE stream; POST /trigger serializes
// one notifications/resources/updated frame and writes it to every open stream, then answers with the time the
// loop took (microseconds). Prints "READY <url>" on stdout.
import http from "node:http"

const streams = new Set()
const server = http.createServer({ noDelay: true }, (req, res) => {
  if (req.method === "GET") {
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" })
    res.flushHeaders()
    streams.add(res)
    res.on("close", () => streams.delete(res))
    return
  }
  req.resume()
  req.on("end", () => {
    const t0 = process.hrtime.bigint()
    const frame = `event: message\ndata: ${
      JSON.stringify({
        jsonrpc: "2.0",
        method: "notifications/resources/updated",
        params: { uri: "reference://counter" }
      })
    }\n\n`
    for (const stream of streams) stream.write(frame)
    const micros = Number(process.hrtime.bigint() - t0) / 1000
    const body = JSON.stringify({ micros, streams: streams.size })
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) })
    res.end(body)
  })
})
server.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  console.log(`READY http://127.0.0.1:${server.address().port}/mcp`)
})
process.on("SIGTERM", () => {
  for (const stream of streams) stream.end()
  server.close(() => process.exit(0))
  server.closeAllConnections()
})
