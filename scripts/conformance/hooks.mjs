// Resolves "fs" to the globSync shim, only for the conformance package's own imports.
const SHIM = new URL("./fs-globsync.mjs", import.meta.url).href
export async function resolve(specifier, context, next) {
  if (
    (specifier === "fs" || specifier === "node:fs") &&
    context.parentURL?.includes("/@modelcontextprotocol/conformance/")
  ) {
    return { url: SHIM, shortCircuit: true }
  }
  return next(specifier, context)
}
