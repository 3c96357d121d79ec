/**
 * The smallest stdio server: one tool, served on stdin/stdout until stdin closes or a signal arrives. stdout
 * carries only MCP messages: `Stdio.serve` sends the logs (the library's and the handlers') to stderr.
 * Run: npx vite-node examples/stdio/main.ts   (or after a build, from JavaScript: node my-server.js)
 */
import { Effect, Layer, Schema } from "effect"
import { Cli, McpServer, Stdio, Tool } from "effect-mcp-server"

const Reverse = Tool.make({
  name: "reverse",
  description: "Reverses a text.",
  parameters: Schema.Struct({ text: Schema.String }),
  handler: ({ text }) => Effect.as(Effect.log(`reversing ${text.length} characters`), [...text].reverse().join(""))
})

const server = McpServer.tool(Reverse).pipe(Layer.provideMerge(McpServer.layer({ name: "reverse", version: "1.0.0" })))

// Cli.runMain: the first SIGINT/SIGTERM interrupts the server (graceful shutdown), and the process exits after.
Stdio.serve().pipe(Effect.provide(server), Cli.runMain)
