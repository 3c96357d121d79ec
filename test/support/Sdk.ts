/**
 * The official SDK client over Streamable HTTP, for tests of a server mounted somewhere (an app of its own): a
 * connected client, and the text of a tool result.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"

/** A client connected (initialized) to `url`; the caller closes it. */
export const connectSdk = async (url: string, name: string): Promise<Client> => {
  const client = new Client({ name, version: "1.0.0" })
  await client.connect(new StreamableHTTPClientTransport(new URL(url)))
  return client
}

/** The text blocks of a tool result, joined. */
export const resultText = (result: unknown): string =>
  (result as { content: Array<{ type: string; text?: string }> }).content.map((b) => b.text).join("")
