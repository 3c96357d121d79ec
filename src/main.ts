#!/usr/bin/env node
/**
 * The composition root of `node dist/main.js`: the reference server, run by the CLI (SIGTERM and SIGINT interrupt
 * the main fiber, so every scope closes and the process exits 0).
 */
import * as Cli from "./Cli.js"
import * as Upstreams from "./gateway/Upstreams.js"
import * as ReferenceServer from "./reference/ReferenceServer.js"

Cli.main(ReferenceServer.layer, {
  gatewayConnect: Upstreams.make,
  serves: "Serves the built-in reference server (every tool, resource, template and prompt of the README)."
})
