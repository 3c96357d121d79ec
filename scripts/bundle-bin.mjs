// Bundles the bin (dist/main.js, as tsc wrote it) into one file, so `node dist/main.js` loads one module instead of
// hundreds (effect's barrel alone is ~0.4 s of start-up). Measured with scripts/bench/coldstart.mjs: stdio cold
// start to the first answer 1.4-2.1 s -> ~0.45 s on this machine (a bare node process: ~0.15-0.2 s). The library
// (dist/index.js and the modules under it) stays unbundled: apps share their own copy of effect.
import { build } from "esbuild"
import { renameSync } from "node:fs"

await build({
  entryPoints: ["dist/main.js"],
  outfile: "dist/main.bundle.js",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  logLevel: "warning",
  // Bundled CommonJS dependencies (ws) call require: give the ES module one.
  banner: {
    js:
      "import { createRequire as __createRequire } from \"node:module\"\nconst require = __createRequire(import.meta.url)"
  }
})
renameSync("dist/main.bundle.js", "dist/main.js")
