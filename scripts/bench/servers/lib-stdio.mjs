// A stdio server as a library user writes it (one tool, the package imported by its name, i.e. dist/index.js),
// for scripts/bench/coldstart.mjs: node scripts/bench/coldstart.mjs --server "node scripts/bench/servers/lib-stdio.mjs"
import { Effect, Layer, Schema } from "effect"
import { Cli, McpServer, Stdio, Tool } from "effect-mcp-server"

const Echo = Tool.make({
  name: "echo",
  parameters: Schema.Struct({ text: Schema.String }),
  handler: ({ text }) => Effect.succeed(text)
})
const server = McpServer.tool(Echo).pipe(Layer.provideMerge(McpServer.layer({ name: "lib-stdio", version: "1.0.0" })))
Stdio.serve().pipe(Effect.provide(server), Cli.runMain)
