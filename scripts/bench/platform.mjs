// node scripts/bench/platform.mjs [--rounds N] [--duration S] [--connections C]   (after `npm run build`)
//
// The cost of the @effect/platform integration: a modern (2026-07-28, stateless) `tools/call echo` served by
// McpHttpServer.layer (the standalone node:http server) and by an @effect/platform-node NodeHttpServer app with
// McpHttpApp's router (scripts/bench/servers/platform-app.mjs), in the same run, alternating over rounds, each round
// a fresh server process. autocannon on 127.0.0.1, 50 connections, a short warm-up and then `duration` seconds;
// every response is checked for its own id and the echoed text. Per server: req/s and server CPU microseconds per
// request (/proc), as medians over the rounds, and the ratios platform / standalone. The server is pinned to CPU 1
// with taskset when there is more than one CPU (the load generator runs wherever). Only processes it started are
// signalled; every wait is bounded.
import { spawn } from "node:child_process"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { hasTaskset, load, median, procCpuMicros, stopServer } from "./lib.mjs"

const here = dirname(fileURLToPath(import.meta.url))
const argv = process.argv.slice(2)
const flag = (name, fallback) => {
  const i = argv.indexOf(`--${name}`)
  return i === -1 ? fallback : Number(argv[i + 1])
}
const rounds = flag("rounds", 3)
const duration = flag("duration", 4)
const connections = flag("connections", 50)
const warmup = 1
const TEXT = "hello from the bench"
const MODES = ["standalone", "platform"]

const startServer = (mode) =>
  new Promise((resolve, reject) => {
    const node = [process.execPath, join(here, "servers", "platform-app.mjs"), mode]
    const [cmd, args] = hasTaskset ? ["taskset", ["-c", "1", ...node]] : [node[0], node.slice(1)]
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] })
    let out = ""
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`${mode} did not start: ${out}`))
    }, 15_000)
    const onData = (chunk) => {
      out += chunk
      const match = /READY (\S+)/.exec(out)
      if (match !== null) {
        clearTimeout(timer)
        resolve({ child, url: match[1] })
      }
    }
    child.stdout.on("data", onData)
    child.stderr.on("data", onData)
    child.once("exit", (code) => {
      clearTimeout(timer)
      reject(new Error(`${mode} exited (${code}): ${out}`))
    })
  })

const META = {
  "io.modelcontextprotocol/protocolVersion": "2026-07-28",
  "io.modelcontextprotocol/clientCapabilities": {}
}

// A modern tools/call echo, checked by id and text.
const prepared = {
  headers: { "mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call", "mcp-name": "echo" },
  body: (id) =>
    JSON.stringify({
      jsonrpc: "2.0",
      id,
      method: "tools/call",
      params: { name: "echo", arguments: { text: TEXT }, _meta: META }
    })
}

const samples = { standalone: [], platform: [] }
for (let round = 1; round <= rounds; round++) {
  // Alternating: the order flips every round, so neither always runs first.
  const order = round % 2 === 1 ? MODES : [...MODES].reverse()
  for (const mode of order) {
    const { child, url } = await startServer(mode)
    try {
      await load(url, prepared, connections, warmup, TEXT)
      const cpu0 = procCpuMicros(child.pid)
      const { mismatches, result } = await load(url, prepared, connections, duration, TEXT)
      const cpu = procCpuMicros(child.pid) - cpu0
      const ok = result.requests.total
      const bad = mismatches + result.errors + result.timeouts + result.non2xx
      const sample = { rps: ok / duration, cpuUs: cpu / Math.max(1, ok), bad }
      samples[mode].push(sample)
      process.stderr.write(
        `round ${round} ${mode}: ${Math.round(sample.rps)} req/s, ${Math.round(sample.cpuUs)} us CPU/req, bad=${bad}\n`
      )
    } finally {
      await stopServer(child)
    }
  }
}

const summary = Object.fromEntries(MODES.map((mode) => [mode, {
  rps: Math.round(median(samples[mode].map((s) => s.rps))),
  cpuUsPerRequest: Math.round(median(samples[mode].map((s) => s.cpuUs))),
  bad: samples[mode].reduce((n, s) => n + s.bad, 0)
}]))
const ratio = {
  rps: +(summary.platform.rps / summary.standalone.rps).toFixed(2),
  cpuUsPerRequest: +(summary.platform.cpuUsPerRequest / summary.standalone.cpuUsPerRequest).toFixed(2)
}
console.log(
  `modern tools/call echo, ${connections} connections, ${rounds} rounds x ${duration} s, medians` +
    `${hasTaskset ? " (server on CPU 1)" : ""}`
)
console.log("| server | req/s | server CPU us/req | bad |")
console.log("|---|---|---|---|")
for (const mode of MODES) {
  console.log(`| ${mode} | ${summary[mode].rps} | ${summary[mode].cpuUsPerRequest} | ${summary[mode].bad} |`)
}
console.log(`| platform / standalone | ${ratio.rps} | ${ratio.cpuUsPerRequest} | |`)
if (summary.standalone.bad + summary.platform.bad > 0) process.exitCode = 1
