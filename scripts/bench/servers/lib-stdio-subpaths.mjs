// lib-stdio.mjs with subpath imports (only the modules a stdio server needs: no HTTP, no WebSocket), to measure
// what the barrel costs at start-up.
import { Effect, Layer, Schema } from "effect"
import { runMain } from "effect-mcp-server/Cli"
import * as McpServer from "effect-mcp-server/server/McpServer"
import * as Tool from "effect-mcp-server/server/Tool"
import * as Stdio from "effect-mcp-server/transport/Stdio"

const Echo = Tool.make({
  name: "echo",
  parameters: Schema.Struct({ text: Schema.String }),
  handler: ({ text }) => Effect.succeed(text)
})
const server = McpServer.tool(Echo).pipe(Layer.provideMerge(McpServer.layer({ name: "lib-stdio", version: "1.0.0" })))
Stdio.serve().pipe(Effect.provide(server), runMain)
