/**
 * MCP mounted in an Express 5 app beside its own routes: `McpHttpServer.handler` gives node-style handlers with
 * every guard, limit and stream of the standalone server, and a graceful shutdown when its Scope closes.
 */
import { Effect, Layer, Schema } from "effect"
import { McpHttpServer, McpServer, Tool } from "effect-mcp-server"
import express from "express"
import * as Http from "node:http"

const Greet = Tool.make({
  name: "greet",
  parameters: Schema.Struct({ name: Schema.String }),
  handler: ({ name }) => Effect.succeed(`Hello, ${name}!`)
})

export const server = McpServer.tool(Greet).pipe(
  Layer.provideMerge(McpServer.layer({ name: "express-example", version: "1.0.0" }))
)

/** The app and its node:http server (not listening yet), with MCP on /mcp (and /sse, /messages, /ws). */
export const make = Effect.gen(function*() {
  const mcp = yield* McpHttpServer.handler({ path: "/mcp" })
  const app = express()
  app.get("/", (_req, res) => {
    res.json({ app: "express-example", mcp: "/mcp" })
  })
  app.use(mcp.request)
  const http = Http.createServer(app)
  http.on("upgrade", (req, socket, head) => {
    if (!mcp.upgrade(req, socket, head)) socket.destroy()
  })
  return { app, http, mcp }
})
