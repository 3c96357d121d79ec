// npm run bench [-- --quick] [--tuned] [--rounds N] [--duration S] [--servers a,b] [--no-gateway]
//
// Throughput and latency of `tools/call echo` against, in the same run and interleaved over rounds, fresh
// processes of: a raw node:http JSON-RPC floor, this server in the modern era (stateless) and the legacy era (one
// session), and the official SDK 1.x stateless and stateful (node:http, JSON responses). autocannon at 50
// connections and at 1; every response is checked for its own id and the echoed text. Per server: req/s,
// p50/p95/p99, server CPU microseconds per request (/proc), peak RSS, and ratios to the floor of the same round.
// Then: heap per idle legacy session and per session with an open SSE stream, and SIGTERM-to-exit with open SSE
// streams. Last, the gateway section (scripts/bench/gateway.mjs: this server's gateway mode vs mcp-proxy and
// supergateway in front of the same stdio upstream, the overhead on a 10 ms remote tool, memory per front session;
// about 2-3 minutes, --no-gateway skips it). Everything binds to 127.0.0.1, every loop is bounded, and only
// processes it started are signalled.
// Prints one markdown table and writes it to scripts/bench/results/.
import { execFileSync, spawn } from "node:child_process"
import { mkdirSync, writeFileSync } from "node:fs"
import http from "node:http"
import os from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { bundle } from "../bundle.mjs"
import { runGatewayBench } from "./gateway.mjs"
import { hasTaskset, load, median, procCpuMicros, procPeakRssMiB, stopServer } from "./lib.mjs"

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, "..", "..")
const argv = process.argv.slice(2)
const flag = (name, fallback) => {
  const i = argv.indexOf(`--${name}`)
  return i === -1 ? fallback : argv[i + 1]
}
const quick = argv.includes("--quick")
const tuned = argv.includes("--tuned")
const rounds = Number(flag("rounds", quick ? 1 : 3))
const duration = Number(flag("duration", quick ? 3 : 8))
const warmup = quick ? 1 : 2
const connectionsList = quick ? [50] : [50, 1]
const TEXT = "hello from the bench"

// The intercepted server is bundled like dist/main.js (scripts/bundle-bin.mjs), so the two differ only by the chain.
const interceptedBundle = join(os.tmpdir(), `ours-intercepted-${process.pid}.mjs`)
await bundle(join(here, "servers", "ours-intercepted.mjs"), interceptedBundle)

const SERVERS = {
  raw: { cmd: [join(here, "servers", "raw.mjs")], era: "legacy", stateful: false },
  "ours-modern": {
    cmd: [join(root, "dist", "main.js"), "--port", "0", "--log-level", "info", "--log-format", "json"],
    era: "modern"
  },
  "ours-legacy": {
    cmd: [join(root, "dist", "main.js"), "--port", "0", "--log-level", "info", "--log-format", "json"],
    era: "legacy",
    stateful: true
  },
  "sdk-stateless": { cmd: [join(here, "servers", "sdk.mjs")], era: "legacy", env: { SDK_MODE: "stateless" } },
  "sdk-stateful": {
    cmd: [join(here, "servers", "sdk.mjs")],
    era: "legacy",
    stateful: true,
    env: { SDK_MODE: "stateful" }
  },
  // The legacy server again with five no-op interceptors on every message: the chain's cost, compared in the same round.
  "ours-legacy-5-interceptors": {
    cmd: [interceptedBundle, "--port", "0", "--log-level", "info", "--log-format", "json"],
    era: "legacy",
    stateful: true
  }
}
const selected = (flag("servers", Object.keys(SERVERS).join(","))).split(",")

const startServer = (name, extraArgs = [], spec = SERVERS[name]) =>
  new Promise((resolve, reject) => {
    // Node's default flags, as `node dist/main.js` runs; --tuned gives every server a larger young generation.
    const node = [process.execPath, ...(tuned ? ["--max-semi-space-size=64"] : []), ...spec.cmd, ...extraArgs]
    const [cmd, args] = hasTaskset ? ["taskset", ["-c", "1", ...node]] : [node[0], node.slice(1)]
    const child = spawn(cmd, args, {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, PORT: "0", ...spec.env }
    })
    let out = ""
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`${name} did not start: ${out}`))
    }, 15_000)
    const onData = (chunk) => {
      out += chunk
      const match = /READY (\S+)/.exec(out) ?? /"url":"(http:\/\/[^"]+)"/.exec(out) ?? /url=(http:\/\/\S+)/.exec(out)
      if (match !== null) {
        clearTimeout(timer)
        resolve({ child, url: match[1], pid: child.pid })
      }
    }
    child.stdout.on("data", onData)
    child.stderr.on("data", onData)
    child.once("exit", (code) => {
      clearTimeout(timer)
      reject(new Error(`${name} exited (${code}): ${out}`))
    })
  })

const postJson = (url, body, headers = {}) =>
  new Promise((resolve, reject) => {
    const req = http.request(url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers }
    }, (res) => {
      let text = ""
      res.on("data", (c) => (text += c))
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, text }))
    })
    req.on("error", reject)
    req.end(JSON.stringify(body))
  })

const MODERN_META = {
  "io.modelcontextprotocol/protocolVersion": "2026-07-28",
  "io.modelcontextprotocol/clientCapabilities": {}
}

/** Headers and a body builder for one server: modern requests carry _meta and headers; legacy ones a session. */
const prepare = async (name, url) => {
  const spec = SERVERS[name]
  if (spec.era === "modern") {
    return {
      headers: { "mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call", "mcp-name": "echo" },
      body: (id) =>
        JSON.stringify({
          jsonrpc: "2.0",
          id,
          method: "tools/call",
          params: { name: "echo", arguments: { text: TEXT }, _meta: MODERN_META }
        })
    }
  }
  const init = await postJson(url, {
    jsonrpc: "2.0",
    id: 0,
    method: "initialize",
    params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "bench", version: "1" } }
  })
  const session = init.headers["mcp-session-id"]
  const headers = {
    "mcp-protocol-version": "2025-06-18",
    ...(spec.stateful && session ? { "mcp-session-id": session } : {})
  }
  await postJson(url, { jsonrpc: "2.0", method: "notifications/initialized" }, headers)
  return {
    headers,
    body: (id) =>
      JSON.stringify({ jsonrpc: "2.0", id, method: "tools/call", params: { name: "echo", arguments: { text: TEXT } } })
  }
}

const throughput = async () => {
  const samples = [] // { round, server, connections, rps, p50, p95, p99, cpuUs, rss, bad }
  for (let round = 1; round <= rounds; round++) {
    for (const connections of connectionsList) {
      for (const name of selected) {
        const { child, url, pid } = await startServer(name)
        try {
          const prepared = await prepare(name, url)
          await load(url, prepared, connections, warmup, TEXT)
          const cpu0 = procCpuMicros(pid)
          const { result, mismatches, latencies } = await load(url, prepared, connections, duration, TEXT)
          const pct = (p) =>
            latencies[Math.min(latencies.length - 1, Math.max(0, Math.ceil((p / 100) * latencies.length) - 1))]
          const cpu = procCpuMicros(pid) - cpu0
          const ok = result.requests.total
          samples.push({
            round,
            server: name,
            connections,
            rps: ok / duration,
            p50: pct(50),
            p95: pct(95),
            p99: pct(99),
            cpuUs: cpu / Math.max(1, ok),
            rss: procPeakRssMiB(pid),
            bad: mismatches + result.errors + result.timeouts + result.non2xx
          })
          process.stderr.write(
            `round ${round} c=${connections} ${name}: ${Math.round(ok / duration)} req/s, ${
              Math.round(cpu / Math.max(1, ok))
            } us/req, bad=${mismatches + result.errors + result.non2xx}\n`
          )
        } finally {
          await stopServer(child)
        }
      }
    }
  }
  return samples
}

const runScript = (args) => {
  const out = execFileSync(process.execPath, args, {
    cwd: root,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
    timeout: 300_000
  })
  return JSON.parse(out.trim().split("\n").filter((l) => l.startsWith("{")).at(-1))
}

// The shutdown floor: a raw node:http server (servers/raw-fanout.mjs) that, on SIGTERM, ends every open SSE
// response, closes its server and every connection, and exits.
const RAW_SSE = { cmd: [join(here, "servers", "raw-fanout.mjs")] }

const shutdown = async (streams, floor = false) => {
  // Ours: one GET stream per session (a new GET replaces a session's old stream), so one session per stream.
  const { child, url } = floor
    ? await startServer("raw-sse", [], RAW_SSE)
    : await startServer("ours-legacy", ["--max-streams", String(streams + 10), "--max-sessions", String(streams + 10)])
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity })
  const sessions = []
  for (let i = 0; i < streams; i += 100) {
    const batch = floor
      ? Array.from({ length: Math.min(100, streams - i) }, () => undefined)
      : await Promise.all(
        Array.from({ length: Math.min(100, streams - i) }, () =>
          postJson(url, {
            jsonrpc: "2.0",
            id: 1,
            method: "initialize",
            params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "b", version: "1" } }
          }))
      )
    sessions.push(...batch.map((r) => r?.headers["mcp-session-id"]))
  }
  const ends = []
  for (let i = 0; i < streams; i += 100) {
    await Promise.all(
      sessions.slice(i, i + 100).map((session) =>
        new Promise((resolve, reject) => {
          const headers = {
            accept: "text/event-stream",
            ...(session === undefined ? {} : { "mcp-session-id": session })
          }
          const req = http.request(url, { agent, headers }, (res) => {
            let body = ""
            let clean = false
            res.on("data", (c) => (body += c))
            res.on("end", () => (clean = true))
            // The floor sends no final event: a clean end of the response is all it promises.
            ends.push(
              new Promise((r) => res.on("close", () => r(clean && (floor || body.includes("event: shutdown")))))
            )
            resolve()
          })
          req.on("error", reject)
          req.end()
        })
      )
    )
  }
  child.removeAllListeners("exit")
  const exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)))
  const t0 = performance.now()
  child.kill("SIGTERM")
  const code = await exited
  const millis = performance.now() - t0
  const clean = (await Promise.all(ends)).filter(Boolean).length
  agent.destroy()
  return { streams, millis, code, clean }
}

const main = async () => {
  const started = new Date()
  const samples = await throughput()
  const rows = []
  for (const connections of connectionsList) {
    const floorByRound = new Map(
      samples.filter((s) => s.server === "raw" && s.connections === connections).map((s) => [s.round, s])
    )
    for (const name of selected) {
      const mine = samples.filter((s) => s.server === name && s.connections === connections)
      const cpuRatio = median(mine.map((s) => s.cpuUs / (floorByRound.get(s.round)?.cpuUs ?? NaN)))
      const rpsRatio = median(mine.map((s) => s.rps / (floorByRound.get(s.round)?.rps ?? NaN)))
      const p50Ratio = median(mine.map((s) => s.p50 / (floorByRound.get(s.round)?.p50 ?? NaN)))
      rows.push(
        `| ${name} | ${connections} | ${Math.round(median(mine.map((s) => s.rps)))} | ${
          median(mine.map((s) => s.p50)).toFixed(2)
        } / ${median(mine.map((s) => s.p95)).toFixed(2)} / ${median(mine.map((s) => s.p99)).toFixed(2)} | ${
          Math.round(median(mine.map((s) => s.cpuUs)))
        } | ${median(mine.map((s) => s.rss)).toFixed(0)} | ${rpsRatio.toFixed(2)}x | ${cpuRatio.toFixed(2)}x | ${
          p50Ratio.toFixed(2)
        }x | ${mine.reduce((a, s) => a + s.bad, 0)} |`
      )
    }
  }
  const memory = [1000, ...(quick ? [] : [10000])].map((n) =>
    runScript([join(root, "scripts", "session-memory.mjs"), String(n)])
  )
  const rawStreamMemory = runScript([join(here, "raw-stream-memory.mjs"), "4000"])
  const shutdowns = []
  for (const n of [1000, ...(quick ? [] : [10000])]) {
    // Alternately, the floor then ours, twice each at 1,000 (once at 10,000): medians of what was measured.
    const times = n >= 10000 ? 1 : 2
    const floors = []
    const ourRuns = []
    for (let i = 0; i < times; i++) {
      floors.push(await shutdown(n, true))
      ourRuns.push(await shutdown(n))
    }
    shutdowns.push({
      streams: n,
      floorMillis: median(floors.map((r) => r.millis)),
      floorClean: Math.min(...floors.map((r) => r.clean)),
      millis: median(ourRuns.map((r) => r.millis)),
      code: Math.max(...ourRuns.map((r) => r.code)),
      clean: Math.min(...ourRuns.map((r) => r.clean))
    })
  }
  const coldstart = runScript([join(here, "coldstart.mjs"), "--runs", quick ? "5" : "11"])
  const dispatch = runScript([join(here, "dispatch.mjs"), "20000", quick ? "3" : "9"])
  const fanout = runScript([join(here, "fanout.mjs"), "1000", quick ? "5" : "20"])
  // The interceptors' cost: p95 and CPU of the legacy server with 5 no-op interceptors over the same without, per round.
  const interceptorCost = connectionsList.map((connections) => {
    const plain = new Map(
      samples.filter((s) => s.server === "ours-legacy" && s.connections === connections).map((s) => [s.round, s])
    )
    const chained = samples.filter((s) => s.server === "ours-legacy-5-interceptors" && s.connections === connections)
    return {
      connections,
      p95: median(chained.map((s) => s.p95 / (plain.get(s.round)?.p95 ?? NaN))),
      cpu: median(chained.map((s) => s.cpuUs / (plain.get(s.round)?.cpuUs ?? NaN)))
    }
  })
  // The gateway section: one round, bounded (3 gateways x 2 concurrencies x ~12 s; the overhead at c=50 closed loop
  // and at 500 req/s offered, direct and through; the memory run): about 2.5 minutes.
  const gateway = argv.includes("--no-gateway")
    ? undefined
    : await runGatewayBench({
      duration: quick ? 3 : 8,
      warmup: quick ? 1 : 2,
      rounds: 1,
      overheadRate: quick ? 0 : 500,
      sessions: quick ? 50 : 200
    })
  const legacyCpu50Samples = samples.filter((s) => s.server === "ours-legacy" && s.connections === 50)
  const legacyCpu50 = legacyCpu50Samples.length === 0 ? undefined : median(legacyCpu50Samples.map((s) => s.cpuUs))
  const lines = [
    `# npm run bench${quick ? " --quick" : ""}: ${started.toISOString()}`,
    "",
    `Machine: ${os.cpus().length} x ${os.cpus()[0]?.model ?? "cpu"}, ${
      Math.round(os.totalmem() / 2 ** 30)
    } GiB; Node ${process.version}, servers at ${
      tuned ? "--max-semi-space-size=64 (--tuned)" : "Node's default flags"
    }; ${rounds} round(s) of ${duration} s (+${warmup} s warm-up) per server, interleaved; servers pinned to CPU 1 and the load to CPU 0: ${hasTaskset}. Medians over rounds; ratios are to the raw floor of the same round.`,
    "",
    "| server | conns | req/s | p50 / p95 / p99 ms | server CPU us/req | peak RSS MiB | req/s vs floor | CPU/req vs floor | p50 vs floor | bad |",
    "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|",
    ...rows,
    "",
    "| memory (this server alone, in its own process; legacy sessions, after full GC) | heap per idle session | heap per session with an open SSE stream |",
    "|---|---:|---:|",
    ...memory.map((m) =>
      `| ${m.sessions} sessions | ${m.heapPerIdleSessionKiB} KiB | ${m.heapPerSessionWithStreamKiB} KiB |`
    ),
    `| floor: a raw node:http server holding ${rawStreamMemory.streams} open SSE responses | - | ${rawStreamMemory.heapPerStreamKiB} KiB |`,
    "",
    "| shutdown (SIGTERM to exit, open GET SSE streams) | time | raw node:http floor (end every response, close every connection, exit) | vs floor | exit code | streams ended cleanly with their final event |",
    "|---|---:|---:|---:|---:|---:|",
    ...shutdowns.map((s) =>
      `| ${s.streams} streams | ${Math.round(s.millis)} ms | ${
        Math.round(s.floorMillis)
      } ms (${s.floorClean} / ${s.streams} ended) | ${
        (s.millis / s.floorMillis).toFixed(2)
      }x | ${s.code} | ${s.clean} / ${s.streams} |`
    ),
    "",
    `| fan-out: one notifications/resources/updated to ${fanout.streams} subscribed SSE streams (median of ${fanout.triggers}) | trigger answered | last arrival | server CPU per broadcast |`,
    "|---|---:|---:|---:|",
    `| raw node:http floor (serialize once, write N times) | ${fanout.floor.issueMs.toFixed(1)} ms | ${
      fanout.floor.lastArrivalMs.toFixed(1)
    } ms | ${fanout.floor.serverCpuMsPerBroadcast.toFixed(1)} ms |`,
    `| this server (legacy sessions, GET streams, tool increment) | ${fanout.ours.issueMs.toFixed(1)} ms | ${
      fanout.ours.lastArrivalMs.toFixed(1)
    } ms | ${fanout.ours.serverCpuMsPerBroadcast.toFixed(1)} ms (${
      (fanout.ours.serverCpuMsPerBroadcast / fanout.floor.serverCpuMsPerBroadcast).toFixed(2)
    }x the floor) |`,
    "",
    "| 5 no-op interceptors (ours-legacy-5-interceptors over ours-legacy, same round) | p95 | CPU/req |",
    "|---|---:|---:|",
    ...interceptorCost.map((c) =>
      `| ${c.connections} connection(s) | ${Number.isFinite(c.p95) ? `${((c.p95 - 1) * 100).toFixed(1)}%` : "n/a"} | ${
        Number.isFinite(c.cpu) ? `${((c.cpu - 1) * 100).toFixed(1)}%` : "n/a"
      } |`
    ),
    "",
    `Dispatch alone (scripts/bench/dispatch.mjs, in-process, no sockets; median of ${dispatch.rounds} alternating rounds of ${dispatch.calls} modern tools/call): ${dispatch.medianUs} us per call; with 5 no-op interceptors ${dispatch.interceptors5.medianUs} us: the chain adds ${dispatch.interceptors5AddedUs} us per request${
      legacyCpu50 === undefined
        ? ""
        : `, ${
          ((dispatch.interceptors5AddedUs / legacyCpu50) * 100).toFixed(1)
        }% of ours-legacy's server CPU per request at 50 connections (${Math.round(legacyCpu50)} us)`
    }.`,
    "",
    `Cold start of \`node dist/main.js --stdio\` to its first answer (scripts/bench/coldstart.mjs, median of ${coldstart.runs}, alternating with a bare node process that answers the same line): ${coldstart.serverMedianMs} ms against ${coldstart.bareNodeMedianMs} ms, ${coldstart.ratio}x.`,
    "",
    "Fibers per idle connection: 1 (asserted by test/Connection.test.ts with Supervisor.track).",
    "",
    ...(gateway === undefined ? [] : gateway.lines)
  ]
  const table = lines.join("\n")
  console.log(table)
  mkdirSync(join(here, "results"), { recursive: true })
  writeFileSync(
    join(here, "results", `${started.toISOString().replace(/[:.]/g, "-")}${quick ? "-quick" : ""}.md`),
    table
  )
}

await main()
