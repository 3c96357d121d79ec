// One esbuild configuration for everything this project bundles: a Node 20 ES module, with a `require` for the
// bundled CommonJS dependencies (ws) that call it. Used by scripts/bundle-bin.mjs (the bin) and by the bench (its
// intercepted server, bundled like the bin so the two compare like with like).
import { build } from "esbuild"

export const bundle = (entry, outfile) =>
  build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    logLevel: "warning",
    banner: {
      js:
        "import { createRequire as __createRequire } from \"node:module\"\nconst require = __createRequire(import.meta.url)"
    }
  })
