/**
 * HTTP/2 beside HTTP/1.1 for McpHttpServer (`tls`: ALPN `h2` and `http/1.1`; `h2c`: cleartext HTTP/2 by prior
 * knowledge). Every endpoint is served by the same node handlers through Node's HTTP/2 compatibility API
 * (`Http2ServerRequest`/`Http2ServerResponse`); this module holds what that API lacks, and the cleartext split of
 * one port between HTTP/2 and HTTP/1.1 (Node's cleartext HTTP/2 server has no HTTP/1.1 fallback, and no h2c
 * Upgrade). Plain HTTP/1.1 servers never touch it.
 *
 * @since 0.1.0
 */
import type * as Http from "node:http"
import * as Http2 from "node:http2"
import type { Socket } from "node:net"

/**
 * Node's compatibility response without `destroyed` and `writableNeedDrain` (undefined on it), which the SSE writers
 * read: a write after the peer reset its stream would wait for a `drain` that never comes, and a stalled reader
 * would never be cut. Both are read from the response's stream.
 *
 * @since 0.1.0
 * @category models
 */
export class CompatResponse extends Http2.Http2ServerResponse {}
Object.defineProperties(CompatResponse.prototype, {
  destroyed: {
    get(this: Http2.Http2ServerResponse) {
      return this.stream.destroyed
    }
  },
  writableNeedDrain: {
    get(this: Http2.Http2ServerResponse) {
      return this.stream.writableNeedDrain
    }
  }
})

/** The client connection preface of HTTP/2 (RFC 9113, 3.4): how a prior-knowledge h2c connection starts. */
const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1")

/**
 * Splits the connections of a node:http server between itself (HTTP/1.1) and `h2` (cleartext HTTP/2): each
 * connection's first bytes decide, and are handed on to the one that serves it. A connection that sends nothing
 * within `timeout` ms is closed (the HTTP/1.1 headers timeout only starts once it is HTTP/1.1's).
 *
 * @since 0.1.0
 * @category constructors
 */
export const splitCleartext = (server: Http.Server, h2: Http2.Http2Server, timeout: number): void => {
  const http1 = server.listeners("connection") as Array<(this: Http.Server, socket: Socket) => void>
  server.removeAllListeners("connection")
  server.on("connection", (socket: Socket) => {
    let seen: Buffer | undefined
    const timer = setTimeout(() => socket.destroy(), timeout)
    const onError = () => socket.destroy()
    const onData = (chunk: Buffer) => {
      seen = seen === undefined ? chunk : Buffer.concat([seen, chunk])
      const n = Math.min(seen.length, PREFACE.length)
      const isH2 = seen.subarray(0, n).equals(PREFACE.subarray(0, n))
      if (isH2 && n < PREFACE.length) return
      clearTimeout(timer)
      socket.removeListener("data", onData)
      socket.removeListener("error", onError)
      socket.pause()
      if (isH2) {
        // Node's HTTP/2 session reads what is buffered on the socket before its own reads.
        socket.unshift(seen)
        h2.emit("connection", socket)
      } else {
        for (const listener of http1) listener.call(server, socket)
        socket.unshift(seen)
        socket.resume()
      }
    }
    socket.on("error", onError)
    socket.on("data", onData)
  })
}
