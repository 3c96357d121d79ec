// Profiles this server under load: starts `node --cpu-prof dist/main.js`, drives tools/call echo with autocannon
// (modern: stateless; legacy: one session) for a while, stops it, and prints the functions with the most self time.
//   node scripts/bench/profile.mjs [modern|legacy] [seconds=8] [connections=50]
// The .cpuprofile stays in the printed directory, for Chrome DevTools or speedscope.
import autocannon from "autocannon"
import { spawn } from "node:child_process"
import { mkdtempSync, readdirSync, readFileSync } from "node:fs"
import http from "node:http"
import os from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, "..", "..")
const era = process.argv[2] ?? "modern"
const seconds = Number(process.argv[3] ?? 8)
const connections = Number(process.argv[4] ?? 50)
const dir = mkdtempSync(join(os.tmpdir(), "mcp-profile-"))

const child = spawn(process.execPath, [
  "--cpu-prof",
  `--cpu-prof-dir=${dir}`,
  join(root, "dist", "main.js"),
  "--port",
  "0",
  "--log-format",
  "json"
], {
  stdio: ["ignore", "ignore", "pipe"]
})
const url = await new Promise((resolve, reject) => {
  let out = ""
  child.stderr.on("data", (chunk) => {
    out += chunk
    const match = /"url":"(http:\/\/[^"]+)"/.exec(out)
    if (match !== null) resolve(match[1])
  })
  child.once("exit", (code) => reject(new Error(`exited ${code}: ${out}`)))
})

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
    params: { name: "echo", arguments: { text: "hi" }, _meta: meta }
  })
} else {
  const init = await post({
    jsonrpc: "2.0",
    id: 0,
    method: "initialize",
    params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "p", version: "1" } }
  })
  headers = { "mcp-session-id": init["mcp-session-id"], "mcp-protocol-version": "2025-06-18" }
  await post({ jsonrpc: "2.0", method: "notifications/initialized" }, headers)
  body = JSON.stringify({
    jsonrpc: "2.0",
    id: 1,
    method: "tools/call",
    params: { name: "echo", arguments: { text: "hi" } }
  })
}
const result = await autocannon({
  url,
  method: "POST",
  connections,
  duration: seconds,
  headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers },
  body
})
process.stderr.write(
  `${era}: ${Math.round(result.requests.average)} req/s, non-2xx ${result.non2xx}, errors ${result.errors}\n`
)
await new Promise((resolve) => {
  child.once("exit", resolve)
  child.kill("SIGTERM")
})

const file = join(dir, readdirSync(dir).find((f) => f.endsWith(".cpuprofile")))
const profile = JSON.parse(readFileSync(file, "utf8"))
const self = new Map()
profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)))
const byKey = new Map()
let total = 0
for (const node of profile.nodes) {
  const t = self.get(node.id) ?? 0
  const f = node.callFrame
  const key = `${f.functionName || "(anonymous)"} ${f.url.split("/").slice(-3).join("/")}:${f.lineNumber + 1}`
  byKey.set(key, (byKey.get(key) ?? 0) + t)
  total += t
}
console.log(`profile: ${file}`)
for (const [key, t] of [...byKey].sort((a, b) => b[1] - a[1]).slice(0, 40)) {
  console.log(`${((t / total) * 100).toFixed(1).padStart(5)}%  ${key}`)
}
