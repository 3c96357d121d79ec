#!/usr/bin/env node
/**
 * The composition root of `node dist/main.js`: the reference server, run by the CLI, under NodeRuntime (SIGTERM
 * and SIGINT interrupt the main fiber, so every scope closes and the process exits 0).
 */
// The subpath, not the barrel: the barrel loads cluster, rpc, sql and workflow (~0.7 s of start-up).
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Cli from "./Cli.js"
import * as ReferenceServer from "./reference/ReferenceServer.js"

// Cli.run reports its own failures through the server's logger (on stderr): the runtime's report would go to stdout.
NodeRuntime.runMain(Cli.run(process.argv.slice(2), ReferenceServer.layer), {
  disablePrettyLogger: true,
  disableErrorReporting: true
})
