/**
 * The built entry point, `node dist/main.js`, that the child-process tests spawn. `npm run build` writes it; the
 * tests use the build as it is.
 */
import { existsSync } from "node:fs"
import { fileURLToPath } from "node:url"

/** Absolute path of the built entry point. */
export const SERVER = fileURLToPath(new URL("../../dist/main.js", import.meta.url))

/** Fails with the fix when there is no build, instead of letting a spawn fail obscurely. */
export const assertBuilt = (): void => {
  if (!existsSync(SERVER)) throw new Error(`${SERVER} is missing: run \`npm run build\` first`)
}
