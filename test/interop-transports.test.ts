/**
 * The same behavioural suite as over stdio (test/fixtures/InteropSuite.ts), with the official SDK client over
 * Streamable HTTP, the deprecated HTTP+SSE transport and WebSocket, each against a fresh `node dist/main.js`
 * listening on a free port of 127.0.0.1. Needs `npm run build` first.
 */
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import { WebSocketClientTransport } from "@modelcontextprotocol/sdk/client/websocket.js"
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js"
import { spawn } from "node:child_process"
import { PassThrough } from "node:stream"
import { beforeAll } from "vitest"
import WebSocket from "ws"
import type { Opened } from "./fixtures/InteropSuite.js"
import { sdkSuite } from "./fixtures/InteropSuite.js"
import { assertBuilt, SERVER } from "./support/Dist.js" // Node 20 has no global WebSocket; the SDK's transport uses the global one.
;(globalThis as { WebSocket?: unknown }).WebSocket = WebSocket

beforeAll(assertBuilt)

/** Starts the server on a free port and connects the transport `make` builds for its base URL. */
const serve = (make: (base: string) => Transport) => (): Promise<Opened> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SERVER, "--port", "0", "--log-format", "json"], {
      stdio: ["ignore", "ignore", "pipe"]
    })
    let buffer = ""
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString()
      const match = /"url":"(http:\/\/[^"]+)\/mcp"/.exec(buffer)
      if (match === null) return
      child.stderr.removeListener("data", onData)
      const exited = new Promise<void>((r) => child.once("exit", () => r()))
      // The suite reads the whole log, the lines already read here included.
      const stderr = new PassThrough()
      stderr.write(buffer)
      child.stderr.pipe(stderr)
      resolve({
        transport: make(match[1]!),
        stderr,
        close: async () => {
          child.kill("SIGTERM")
          await exited
        }
      })
    }
    child.stderr.on("data", onData)
    child.once("exit", (code) => reject(new Error(`the server exited (${code}) before listening`)))
  })

sdkSuite(
  "Streamable HTTP interop with the official SDK client (legacy era)",
  serve((base) => new StreamableHTTPClientTransport(new URL(`${base}/mcp`))),
  "Serving MCP over HTTP"
)

sdkSuite(
  "HTTP+SSE (2024-11-05 transport) interop with the official SDK client",
  serve((base) => new SSEClientTransport(new URL(`${base}/sse`))),
  "Serving MCP over HTTP"
)

sdkSuite(
  "WebSocket interop with the official SDK client",
  serve((base) => new WebSocketClientTransport(new URL(`${base.replace("http://", "ws://")}/ws`))),
  "Serving MCP over HTTP"
)
