// Bytes allocated per request, by function, on the HTTP path: this server in this process (the reference server
// over McpHttpServer.layer), the load from a child process (autocannon, scripts/bench/alloc-load.mjs), and V8's
// sampling heap profiler with objects already collected by GC included, so it counts what a request allocates, not
// what survives. Where CPU profiles of Effect code spread cost over the runtime's frames, this points at the cause.
//   node scripts/bench/alloc.mjs [modern|legacy] [top=40]
import { Layer, ManagedRuntime } from "effect"
import { spawn } from "node:child_process"
import { Session } from "node:inspector/promises"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { McpHttpServer, ReferenceServer } from "../../dist/index.js"

const here = dirname(fileURLToPath(import.meta.url))
const era = process.argv[2] ?? "modern"
const top = Number(process.argv[3] ?? 40)
const runtime = ManagedRuntime.make(
  McpHttpServer.layer({ port: 0, legacySse: false, websocket: false }).pipe(Layer.provide(ReferenceServer.layer))
)
const server = await runtime.runPromise(McpHttpServer.McpHttpServer)
const load = (seconds) =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(here, "alloc-load.mjs"), server.url, era, String(seconds)], {
      stdio: ["ignore", "pipe", "inherit"]
    })
    let out = ""
    child.stdout.on("data", (c) => (out += c))
    child.on("exit", (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`load exited ${code}`))))
  })

await load(2) // warm-up
const inspector = new Session()
inspector.connect()
await inspector.post("HeapProfiler.startSampling", {
  samplingInterval: 512,
  includeObjectsCollectedByMinorGC: true,
  includeObjectsCollectedByMajorGC: true
})
const { total: requests, bad } = await load(4)
const { profile } = await inspector.post("HeapProfiler.stopSampling")
const byFunction = new Map()
let bytes = 0
const walk = (node) => {
  const f = node.callFrame
  const key = `${f.functionName || "(anonymous)"} ${f.url.split("/").slice(-2).join("/")}:${f.lineNumber + 1}`
  byFunction.set(key, (byFunction.get(key) ?? 0) + node.selfSize)
  bytes += node.selfSize
  for (const child of node.children) walk(child)
}
walk(profile.head)
console.log(`${era}: ${requests} requests (${bad} bad), ${Math.round(bytes / requests)} bytes allocated per request`)
for (const [key, size] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  console.log(`${String(Math.round(size / requests)).padStart(7)} B  ${key}`)
}
await runtime.dispose()
