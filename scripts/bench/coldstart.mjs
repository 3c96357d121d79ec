// Cold start of a stdio server: spawn -> the first answer on stdout, against a bare node process that answers the
// same line, alternating, in the same run. Prints medians and the ratio.
//   node scripts/bench/coldstart.mjs [--runs 15] [--server "node dist/main.js --stdio"]
import { spawn } from "node:child_process"
import { performance } from "node:perf_hooks"

const args = process.argv.slice(2)
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`)
  return i === -1 ? fallback : args[i + 1]
}
const runs = Number(option("runs", "15"))
const server = option("server", "node dist/main.js --stdio").split(" ")

const request = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "coldstart", version: "1" } }
}) + "\n"

// A bare node process that answers the first line: the floor for spawning node and talking over stdio.
const bare = [
  process.execPath,
  "-e",
  "process.stdin.once('data', () => { process.stdout.write('{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\\n'); process.exit(0) })"
]

const once = (command) =>
  new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn(command[0] === "node" ? process.execPath : command[0], command.slice(1), {
      stdio: ["pipe", "pipe", "ignore"]
    })
    child.stdout.once("data", () => {
      resolve(performance.now() - started)
      child.kill("SIGKILL")
    })
    child.once("error", reject)
    child.stdin.write(request)
  })

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]
}

const floor = []
const ours = []
await once(server) // warm the file system cache
for (let i = 0; i < runs; i++) {
  floor.push(await once(bare))
  ours.push(await once(server))
}
const result = {
  runs,
  server: server.join(" "),
  bareNodeMedianMs: Math.round(median(floor)),
  serverMedianMs: Math.round(median(ours)),
  ratio: Math.round((median(ours) / median(floor)) * 100) / 100
}
console.log(JSON.stringify(result))
