// (dist) A remote upstream over HTTPS: `node dist/main.js --gateway FILE` in front of this project's server started
// with `--tls-cert/--tls-key` (a self-signed certificate for 127.0.0.1 made with the openssl binary). Trusted through
// NODE_EXTRA_CA_CERTS, calls go through; not trusted, the upstream is Down with the certificate named, never used.
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { selfSigned } from "./fixtures/Certificate.js"
import { startServer } from "./fixtures/MainProcess.js"
import { resultText } from "./support/Sdk.js"
import { until } from "./support/Wait.js"

const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "gw-tls-"))
let certFile = ""
let keyFile = ""

beforeAll(() => {
  ;({ certFile, keyFile } = selfSigned(dir))
})
afterAll(() => Fs.rmSync(dir, { recursive: true, force: true }))

/** The gateway, with NODE_EXTRA_CA_CERTS set to `ca` (or unset) in the environment it inherits. */
const gateway = async (file: string, ca: string | undefined) => {
  const saved = process.env.NODE_EXTRA_CA_CERTS
  if (ca === undefined) delete process.env.NODE_EXTRA_CA_CERTS
  else process.env.NODE_EXTRA_CA_CERTS = ca
  try {
    return await startServer(["--gateway", file])
  } finally {
    if (saved === undefined) delete process.env.NODE_EXTRA_CA_CERTS
    else process.env.NODE_EXTRA_CA_CERTS = saved
  }
}

const readyOf = async (port: number) =>
  (await (await fetch(`http://127.0.0.1:${port}/ready`)).json()) as {
    upstreams: Record<string, { state: string; reason?: string }>
  }

describe("gateway in front of an HTTPS upstream (dist)", () => {
  it("trusted (NODE_EXTRA_CA_CERTS): tools listed and called over TLS; untrusted: Down, naming the certificate", async () => {
    const remote = await startServer(["--tls-cert", certFile, "--tls-key", keyFile])
    const file = Path.join(dir, "servers.json")
    Fs.writeFileSync(file, JSON.stringify({ mcpServers: { secure: { url: `https://127.0.0.1:${remote.port}/mcp` } } }))

    const trusted = await gateway(file, certFile)
    const client = new Client({ name: "sdk", version: "1.0.0" })
    await client.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${trusted.port}/mcp`)))
    assert.include((await client.listTools()).tools.map((tool) => tool.name), "echo")
    assert.strictEqual(resultText(await client.callTool({ name: "echo", arguments: { text: "over tls" } })), "over tls")
    assert.strictEqual((await readyOf(trusted.port)).upstreams.secure?.state, "Ready")
    await client.close()
    trusted.child.kill("SIGTERM")
    assert.deepStrictEqual(await trusted.exit, { code: 0, signal: null })

    const untrusted = await gateway(file, undefined)
    let secure: { state: string; reason?: string } | undefined
    await until(
      async () => {
        secure = (await readyOf(untrusted.port)).upstreams.secure
        return secure?.state === "Down"
      },
      "the untrusted upstream reported Down",
      10_000
    )
    assert.match(secure?.reason ?? "", /certificate/i)
    untrusted.child.kill("SIGTERM")
    assert.deepStrictEqual(await untrusted.exit, { code: 0, signal: null })
    remote.child.kill("SIGTERM")
    await remote.exit
  })
})
