/**
 * What tests send: the headers of a JSON-RPC POST, the legacy `initialize` request, the modern era's `_meta` and
 * headers, and JSON nested deeper than the server allows.
 */

/** Content-Type and Accept of a Streamable HTTP POST. */
export const JSON_AND_SSE = { "content-type": "application/json", accept: "application/json, text/event-stream" }

/** The legacy handshake's first request (id 1; spread it with another id where one is needed). */
export const initialize = (version = "2025-11-25", capabilities: Record<string, unknown> = {}) => ({
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: version, capabilities, clientInfo: { name: "test-client", version: "1" } }
})

/** The `_meta` every modern (2026-07-28) request carries. */
export const modernMeta = {
  "io.modelcontextprotocol/protocolVersion": "2026-07-28",
  "io.modelcontextprotocol/clientCapabilities": {}
}

/** The headers of a modern POST: the version, the method, and the name (tool, prompt or URI) when it has one. */
export const modernHeaders = (method: string, name?: string): Record<string, string> => ({
  "mcp-protocol-version": "2026-07-28",
  "mcp-method": method,
  ...(name !== undefined ? { "mcp-name": name } : {})
})

/** `leaf` inside `depth` arrays: JSON text nested that deep. */
export const nest = (depth: number, leaf: string): string => "[".repeat(depth) + leaf + "]".repeat(depth)
