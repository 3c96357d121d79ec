// The memory floor of an open SSE stream: heap per open response of a raw node:http server (no framework) that
// holds N open text/event-stream responses, measured in its own process after full GCs, the clients in this one.
//   node scripts/bench/raw-stream-memory.mjs [N=4000]
import { fork } from "node:child_process"
import http from "node:http"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const here = dirname(fileURLToPath(import.meta.url))
const N = Number(process.argv[2] ?? 4000)
const child = fork(join(here, "servers", "raw-memory-server.mjs"), [], {
  execArgv: ["--expose-gc"],
  stdio: ["ignore", "ignore", "ignore", "ipc"]
})
const next = () => new Promise((resolve) => child.once("message", resolve))
const { url } = await next()
const heap = async () => {
  const reply = next()
  child.send("heap")
  return (await reply).heap
}
const base = await heap()
const requests = []
for (let i = 0; i < N; i += 100) {
  await Promise.all(Array.from({ length: Math.min(100, N - i) }, () =>
    new Promise((resolve, reject) => {
      const req = http.request(url, { agent: false, headers: { accept: "text/event-stream" } }, () => resolve())
      req.on("error", reject)
      requests.push(req)
      req.end()
    })))
}
const after = await heap()
console.log(JSON.stringify({ streams: N, heapPerStreamKiB: +((after - base) / N / 1024).toFixed(2) }))
for (const req of requests) req.destroy()
child.disconnect()
