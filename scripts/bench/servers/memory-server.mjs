// The reference server over HTTP in its own process, for scripts/session-memory.mjs: answers "heap" messages on its
// IPC channel with its heap after full GCs, so the measurement counts the server's memory only (the clients and
// their sockets live in the measuring process). Run with --expose-gc.
import { Layer, ManagedRuntime } from "effect"
import { McpHttpServer, ReferenceServer } from "../../../dist/index.js"

const limit = Number(process.env.LIMIT ?? 20000)
const runtime = ManagedRuntime.make(
  McpHttpServer.layer({ port: 0, maxSessions: limit, maxStreams: limit }).pipe(Layer.provide(ReferenceServer.layer))
)
const server = await runtime.runPromise(McpHttpServer.McpHttpServer)
process.on("message", async (message) => {
  if (message !== "heap") return
  for (let i = 0; i < 3; i++) {
    global.gc()
    await new Promise((r) => setImmediate(r))
  }
  process.send({ heap: process.memoryUsage().heapUsed })
})
process.on("disconnect", () => runtime.dispose().then(() => process.exit(0)))
process.send({ url: server.url })
