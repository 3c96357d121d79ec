// One MCP server (an `echo` tool) served two ways, for scripts/bench/platform.mjs: `standalone` is
// McpHttpServer.layer (this library's node:http server); `platform` is an @effect/platform-node NodeHttpServer with
// an HttpRouter (a route of its own, GET /hello, and McpHttpApp's router). Both from dist/ (`npm run build` first),
// on 127.0.0.1 and a free port, logging at warning and above. Prints "READY <url>" on stdout.
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServer from "@effect/platform/HttpServer"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Effect, Layer, Logger, LogLevel, Schema } from "effect"
import { runMain } from "effect-mcp-server/Cli"
import * as McpHttpServer from "effect-mcp-server/http/McpHttpServer"
import * as McpHttpApp from "effect-mcp-server/platform/McpHttpApp"
import * as McpServer from "effect-mcp-server/server/McpServer"
import * as Tool from "effect-mcp-server/server/Tool"
import * as Http from "node:http"

const mode = process.argv[2]
const Echo = Tool.make({
  name: "echo",
  parameters: Schema.Struct({ text: Schema.String }),
  handler: ({ text }) => Effect.succeed(text)
})
const server = McpServer.tool(Echo).pipe(Layer.provideMerge(McpServer.layer({ name: "bench", version: "1.0.0" })))

const standalone = Layer.effectDiscard(
  Effect.flatMap(McpHttpServer.McpHttpServer, (http) => Effect.sync(() => console.log(`READY ${http.url}`)))
).pipe(Layer.provide(McpHttpServer.layer({ port: 0 })))

const platform = Layer.unwrapScoped(Effect.gen(function*() {
  const mcp = yield* McpHttpApp.make({ path: "/mcp" })
  return HttpRouter.empty.pipe(
    HttpRouter.get("/hello", HttpServerResponse.text("hello")),
    HttpRouter.concat(mcp.router),
    HttpServer.serve()
  )
})).pipe(
  Layer.tap(() =>
    Effect.flatMap(
      HttpServer.HttpServer,
      (http) => Effect.sync(() => console.log(`READY http://127.0.0.1:${http.address.port}/mcp`))
    )
  ),
  Layer.provideMerge(NodeHttpServer.layer(() => Http.createServer(), { port: 0, host: "127.0.0.1" }))
)

const app = mode === "platform" ? platform : mode === "standalone" ? standalone : undefined
if (app === undefined) throw new Error("usage: platform-app.mjs standalone|platform")
app.pipe(Layer.provide(server), Layer.provide(Logger.minimumLogLevel(LogLevel.Warning)), Layer.launch, runMain)
