/**
 * A WebSocket client (the `ws` package) connected to the server's /ws endpoint with the `mcp` subprotocol.
 */
import WebSocket from "ws"

/** Resolves once the handshake succeeded; rejects if it failed. */
export const openWebSocket = (url: string, options: WebSocket.ClientOptions = {}): Promise<WebSocket> =>
  new Promise((resolve, reject) => {
    const socket = new WebSocket(url, "mcp", options)
    socket.once("open", () => resolve(socket))
    socket.once("error", reject)
  })
