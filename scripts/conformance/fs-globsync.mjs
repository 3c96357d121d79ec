// Node < 22 has no fs.globSync, which the conformance CLI imports at load time (it uses it only for
// "**/checks.json"). This module re-exports node:fs with a small globSync for that one pattern shape.
import * as fs from "node:fs"
import path from "node:path"
export * from "node:fs"
export default fs.default ?? fs
export function globSync(pattern, options = {}) {
  const cwd = options.cwd ?? process.cwd()
  const base = String(pattern).split("/").pop()
  const found = []
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name)
      if (entry.isDirectory()) walk(full)
      else if (entry.name === base) found.push(path.relative(cwd, full))
    }
  }
  walk(cwd)
  return found
}
