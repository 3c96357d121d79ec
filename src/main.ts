#!/usr/bin/env node
/**
 * The composition root of `node dist/main.js`: the reference server, run by the CLI, under NodeRuntime (SIGTERM
 * and SIGINT interrupt the main fiber, so every scope closes and the process exits 0).
 */
import { NodeRuntime } from "@effect/platform-node"
import * as Cli from "./Cli.js"
import * as ReferenceServer from "./reference/ReferenceServer.js"

NodeRuntime.runMain(Cli.run(process.argv.slice(2), ReferenceServer.layer), { disablePrettyLogger: true })
