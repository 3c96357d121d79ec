/**
 * Runs the Express example on 127.0.0.1:3000 until SIGINT/SIGTERM: the Scope's end shuts MCP down gracefully
 * (streams ended, requests given their grace), then the HTTP server closes.
 * Run: npx vite-node examples/express/main.ts
 */
import { Effect } from "effect"
import { Cli } from "effect-mcp-server"
import { make, server } from "./app.js"

const main = Effect.gen(function*() {
  const { http, mcp } = yield* make
  yield* Effect.acquireRelease(
    Effect.async<void>((resume) => {
      http.listen(3000, "127.0.0.1", () => resume(Effect.void))
    }),
    // Stop accepting, shut MCP down gracefully (its streams would keep `close` waiting), then drop idle sockets.
    () =>
      Effect.sync(() => http.close()).pipe(
        Effect.zipRight(mcp.shutdown),
        Effect.zipRight(Effect.sync(() => http.closeAllConnections()))
      )
  )
  yield* Effect.log("Serving on http://127.0.0.1:3000 (MCP at /mcp)")
  return yield* Effect.never
})

main.pipe(Effect.scoped, Effect.provide(server), Cli.runMain)
