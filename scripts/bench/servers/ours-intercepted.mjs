// This server (node dist/main.js's reference server and CLI) with five no-op interceptors in front of every
// message, to measure what the chain costs. Takes the same flags as dist/main.js. run.mjs bundles it as
// scripts/bundle-bin.mjs bundles dist/main.js, so the two compare like with like.
import { Effect, Layer } from "effect"
import * as Cli from "../../../dist/Cli.js"
import { Interceptor, ReferenceServer } from "../../../dist/index.js"

const noop = (i) => ({
  name: `noop-${i}`,
  inbound: () => Effect.succeed(Interceptor.Continue),
  outbound: () => Effect.succeed(Interceptor.Continue)
})
const server = Interceptor.layer(...[1, 2, 3, 4, 5].map(noop)).pipe(Layer.provideMerge(ReferenceServer.layer))
Cli.main(server)
