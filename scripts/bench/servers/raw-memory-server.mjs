// For scripts/bench/raw-stream-memory.mjs: a raw node:http server that keeps every request open as an SSE response
// and answers "heap" IPC messages with its heap after full GCs. Run with --expose-gc.
import http from "node:http"

const open = new Set()
const server = http.createServer({ noDelay: true }, (req, res) => {
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" })
  res.flushHeaders()
  open.add(res)
  res.on("close", () => open.delete(res))
})
server.listen(0, "127.0.0.1", () => process.send({ url: `http://127.0.0.1:${server.address().port}/` }))
process.on("message", async (message) => {
  if (message !== "heap") return
  for (let i = 0; i < 3; i++) {
    global.gc()
    await new Promise((r) => setImmediate(r))
  }
  process.send({ heap: process.memoryUsage().heapUsed })
})
process.on("disconnect", () => process.exit(0))
