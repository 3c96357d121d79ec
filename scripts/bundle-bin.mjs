// Bundles the bin (dist/main.js, as tsc wrote it) into one file, so `node dist/main.js` loads one module instead of
// hundreds (effect's barrel alone is ~0.4 s of start-up). Measured with scripts/bench/coldstart.mjs: stdio cold
// start to the first answer 1.4-2.1 s -> ~0.45 s on this machine (a bare node process: ~0.15-0.2 s). The library
// (dist/index.js and the modules under it) stays unbundled: apps share their own copy of effect.
import { renameSync } from "node:fs"
import { bundle } from "./bundle.mjs"

await bundle("dist/main.js", "dist/main.bundle.js")
renameSync("dist/main.bundle.js", "dist/main.js")
