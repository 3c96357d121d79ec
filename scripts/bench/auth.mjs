// node scripts/bench/auth.mjs [--rounds N] [--duration S] [--connections C] [--only http|tls]   (after `npm run build`)
//
// The cost of authorization (issue 14): server CPU per modern `tools/call echo` of `node dist/main.js` (Node's
// default flags) with no authorization, and with `--auth-issuer` and a valid JWT access token on every request (the
// JWKS fetched once and cached, the verified token remembered), in the same run, alternating over rounds, each round
// a fresh server process; then the same with TLS, HTTP/1.1 against HTTP/2 (both with authorization).
//
// The authorization server is a static one in this process: RFC 8414 metadata and a JWKS with one RSA key; the token
// is a RS256 JWT (typ at+jwt) with the server's public URL as audience, signed with jose. HTTP/1.1 load is autocannon
// (`lib.mjs`), HTTP/2 load is node:http2 (`connections` streams in flight over 4 sessions); every answer is checked
// for its own id and the echoed text. CPU is /proc's user+system time of the server process, over the measured
// seconds only (after a warm-up). Prints per mode req/s and CPU us per request (medians of the rounds), and the
// ratios auth/off and h2/h1. The server is pinned to CPU 1 with taskset when there is more than one CPU. Only the
// processes it started are signalled; every wait is bounded.
import * as jose from "jose"
import { execFileSync, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as http from "node:http"
import * as http2 from "node:http2"
import * as net from "node:net"
import * as os from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { hasTaskset, load, median, procCpuMicros, stopServer } from "./lib.mjs"

const here = dirname(fileURLToPath(import.meta.url))
const main = join(here, "..", "..", "dist", "main.js")
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

// -- a static authorization server ------------------------------------------------------------------------------------

const { privateKey, publicKey } = await jose.generateKeyPair("RS256")
const jwk = { ...(await jose.exportJWK(publicKey)), kid: "bench-1", alg: "RS256", use: "sig" }
const as = http.createServer((req, res) => {
  const json = (value) => {
    res.writeHead(200, { "content-type": "application/json" })
    res.end(JSON.stringify(value))
  }
  if (req.url === "/.well-known/oauth-authorization-server") {
    return json({ issuer, jwks_uri: `${issuer}/jwks`, token_endpoint: `${issuer}/token` })
  }
  if (req.url === "/jwks") return json({ keys: [jwk] })
  res.writeHead(404)
  res.end()
})
await new Promise((resolve) => as.listen(0, "127.0.0.1", resolve))
const issuer = `http://127.0.0.1:${as.address().port}`

const tokenFor = (publicUrl) =>
  new jose.SignJWT({ scope: "mcp:read mcp:write", client_id: "bench" })
    .setProtectedHeader({ alg: "RS256", kid: "bench-1", typ: "at+jwt" })
    .setIssuer(issuer)
    .setAudience(publicUrl)
    .setSubject("bench-user")
    .setIssuedAt()
    .setExpirationTime("2h")
    .sign(privateKey)

// -- a self-signed certificate (openssl), as test/tls.test.ts makes one ----------------------------------------------

const dir = fs.mkdtempSync(join(os.tmpdir(), "mcp-auth-bench-"))
const certFile = join(dir, "cert.pem")
const keyFile = join(dir, "key.pem")
execFileSync("openssl", [
  "req",
  "-x509",
  "-newkey",
  "ec",
  "-pkeyopt",
  "ec_paramgen_curve:prime256v1",
  "-nodes",
  "-keyout",
  keyFile,
  "-out",
  certFile,
  "-days",
  "2",
  "-subj",
  "/CN=localhost",
  "-addext",
  "subjectAltName=DNS:localhost,IP:127.0.0.1"
], { stdio: "ignore" })
const ca = fs.readFileSync(certFile)
// autocannon has no option for a CA: the self-signed certificate is trusted for this process only.
process.env.NODE_TLS_REJECT_UNAUTHORIZED = "0"

// -- the server -------------------------------------------------------------------------------------------------------

const freePort = () =>
  new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const port = server.address().port
      server.close(() => resolve(port))
    })
  })

const MODES = {
  "http/1.1, auth off": { tls: false, auth: false, h2: false },
  // The same Authorization header sent to a server that ignores it: what the header itself costs to receive.
  "http/1.1, auth off, header sent": { tls: false, auth: false, h2: false, header: true },
  "http/1.1, auth on": { tls: false, auth: true, h2: false },
  "https http/1.1, auth on": { tls: true, auth: true, h2: false },
  "https h2, auth on": { tls: true, auth: true, h2: true }
}

const startServer = async (mode) => {
  const port = await freePort()
  const url = `${mode.tls ? "https" : "http"}://127.0.0.1:${port}/mcp`
  const args = [main, "--port", String(port), "--log-level", "warning"]
  if (mode.auth) args.push("--auth-issuer", issuer, "--public-url", url, "--auth-scopes", "mcp:read")
  if (mode.tls) args.push("--tls-cert", certFile, "--tls-key", keyFile)
  const [cmd, cmdArgs] = hasTaskset ? ["taskset", ["-c", "1", process.execPath, ...args]] : [process.execPath, args]
  const child = spawn(cmd, cmdArgs, { stdio: ["ignore", "ignore", "pipe"] })
  let err = ""
  child.stderr.on("data", (chunk) => (err += chunk))
  // Ready once /health answers (bounded: 15 s).
  const deadline = Date.now() + 15_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited (${child.exitCode}): ${err}`)
    if (Date.now() > deadline) {
      child.kill("SIGKILL")
      throw new Error(`server did not start: ${err}`)
    }
    const up = await new Promise((resolve) => {
      const req = (mode.tls ? https_get : http.get)(`${url.replace("/mcp", "/health")}`, (res) => {
        res.resume()
        resolve(res.statusCode === 200)
      })
      req.once("error", () => resolve(false))
    })
    if (up) break
    await new Promise((r) => setTimeout(r, 100))
  }
  return { child, url, token: mode.auth || mode.header ? await tokenFor(url) : undefined }
}
const { get: https_get } = await import("node:https").then((https) => ({
  get: (url, callback) => https.get(url, { ca }, callback)
}))

const META = {
  "io.modelcontextprotocol/protocolVersion": "2026-07-28",
  "io.modelcontextprotocol/clientCapabilities": {}
}
const headersOf = (token) => ({
  "mcp-protocol-version": "2026-07-28",
  "mcp-method": "tools/call",
  "mcp-name": "echo",
  ...(token === undefined ? {} : { authorization: `Bearer ${token}` })
})
const bodyOf = (id) =>
  JSON.stringify({
    jsonrpc: "2.0",
    id,
    method: "tools/call",
    params: { name: "echo", arguments: { text: TEXT }, _meta: META }
  })

/** HTTP/2 load: `connections` streams in flight over 4 sessions for `seconds`; { ok, bad }. */
const loadH2 = async (url, token, seconds) => {
  const origin = new URL(url).origin
  const sessions = Array.from({ length: 4 }, () => http2.connect(origin, { ca }))
  let ok = 0
  let bad = 0
  let seq = 1000
  const until = Date.now() + seconds * 1000
  const one = (session) =>
    new Promise((resolve) => {
      const id = ++seq
      const stream = session.request({
        ":method": "POST",
        ":path": "/mcp",
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        ...headersOf(token)
      })
      let status = 0
      let text = ""
      stream.on("response", (headers) => (status = headers[":status"]))
      stream.setEncoding("utf8")
      stream.on("data", (chunk) => (text += chunk))
      stream.on("end", () => {
        if (status === 200 && text.includes(`"id":${id}`) && text.includes(JSON.stringify(TEXT))) ok++
        else bad++
        resolve()
      })
      stream.on("error", () => {
        bad++
        resolve()
      })
      stream.end(bodyOf(id))
    })
  const worker = async (i) => {
    const session = sessions[i % sessions.length]
    while (Date.now() < until) await one(session)
  }
  await Promise.all(Array.from({ length: connections }, (_, i) => worker(i)))
  for (const session of sessions) session.close()
  return { ok, bad }
}

const run = async (mode, server, seconds) => {
  if (mode.h2) return loadH2(server.url, server.token, seconds)
  const { mismatches, result } = await load(
    server.url,
    { headers: headersOf(server.token), body: bodyOf },
    connections,
    seconds,
    TEXT
  )
  return { ok: result.requests.total, bad: mismatches + result.errors + result.timeouts + result.non2xx }
}

// `--only http`: the two plain HTTP/1.1 modes only; `--only tls`: the two TLS modes only.
const only = argv.includes("--only") ? argv[argv.indexOf("--only") + 1] : undefined
const names = Object.keys(MODES).filter((name) =>
  only === undefined || (only === "tls" ? name.startsWith("https") : !name.startsWith("https"))
)
const samples = Object.fromEntries(names.map((name) => [name, []]))
try {
  for (let round = 1; round <= rounds; round++) {
    const order = round % 2 === 1 ? names : [...names].reverse()
    for (const name of order) {
      const mode = MODES[name]
      const server = await startServer(mode)
      try {
        await run(mode, server, warmup)
        const cpu0 = procCpuMicros(server.child.pid)
        const { bad, ok } = await run(mode, server, duration)
        const cpu = procCpuMicros(server.child.pid) - cpu0
        const sample = { rps: ok / duration, cpuUs: cpu / Math.max(1, ok), bad }
        samples[name].push(sample)
        process.stderr.write(
          `round ${round} ${name}: ${Math.round(sample.rps)} req/s, ${
            Math.round(sample.cpuUs)
          } us CPU/req, bad=${bad}\n`
        )
      } finally {
        await stopServer(server.child)
      }
    }
  }
} finally {
  as.close()
  fs.rmSync(dir, { recursive: true, force: true })
}

const summary = Object.fromEntries(names.map((name) => [name, {
  rps: Math.round(median(samples[name].map((s) => s.rps))),
  cpuUs: +median(samples[name].map((s) => s.cpuUs)).toFixed(1),
  bad: samples[name].reduce((n, s) => n + s.bad, 0)
}]))
console.log(
  `modern tools/call echo, node dist/main.js, ${connections} in flight, ${rounds} rounds x ${duration} s, medians` +
    `${hasTaskset ? " (server on CPU 1)" : ""}`
)
console.log("| mode | req/s | server CPU us/req | bad |")
console.log("|---|---|---|---|")
for (const name of names) {
  console.log(`| ${name} | ${summary[name].rps} | ${summary[name].cpuUs} | ${summary[name].bad} |`)
}
const ratio = (
  a,
  b
) => (summary[a] === undefined || summary[b] === undefined ? "-" : (summary[a].cpuUs / summary[b].cpuUs).toFixed(3))
console.log(`CPU/req auth on / off (http/1.1): ${ratio("http/1.1, auth on", "http/1.1, auth off")}`)
console.log(
  `CPU/req auth on / off with the same header sent (http/1.1): ${
    ratio("http/1.1, auth on", "http/1.1, auth off, header sent")
  }`
)
console.log(`CPU/req h2 / http/1.1 (https, auth on): ${ratio("https h2, auth on", "https http/1.1, auth on")}`)
if (names.some((name) => summary[name].bad > 0)) process.exitCode = 1
