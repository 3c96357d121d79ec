/**
 * MCP over WebSocket (a custom transport; SEP-1288 is a draft): subprotocol `mcp`, one JSON-RPC message per text
 * frame, both eras, served as one Connection (one fiber) per socket, so frames are handled in arrival order and
 * outbound frames go through the connection's bounded mailbox. Keep-alive pings come from the server's one
 * heartbeat fiber; a peer that misses a pong is terminated. Close codes: 1001 at shutdown, 1009 for a frame over
 * the size limit, 1013 when admission is refused, 1008 when the access token the upgrade presented expires.
 *
 * @since 0.1.0
 */
import { Clock, Effect, Fiber, Option } from "effect"
import type { IncomingMessage } from "node:http"
import type { Duplex } from "node:stream"
import type { WebSocket as Ws } from "ws"
import { WebSocketServer } from "ws"
import type { McpServer } from "../server/McpServer.js"
import type * as Peer from "../server/Peer.js"
import * as Connection from "../transport/Connection.js"
import type * as Streams from "./Streams.js"

/**
 * @since 0.1.0
 * @category constants
 */
export const SUBPROTOCOL = "mcp"

/**
 * @since 0.1.0
 * @category models
 */
export interface WebSocket {
  /** Accepts an upgrade (already admitted and, with authorization, authenticated as `principal`). */
  readonly upgrade: (
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    principal?: Peer.Principal | undefined
  ) => Effect.Effect<void, never, McpServer>
  readonly close: () => void
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: {
  readonly maxMessageBytes: number
  /** Limits of each connection (in flight, queued bytes). */
  readonly connection?: Omit<Connection.Options, "transport">
  readonly streams: Streams.Streams
  readonly streamPermits: Effect.Semaphore
}): WebSocket => {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: options.maxMessageBytes,
    clientTracking: false,
    handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false)
  })

  // `ws` answers a handshake it refuses (bad key, version or method) itself and then never calls back: the socket's
  // close ends the wait instead, so a refused upgrade leaves no fiber or listener behind.
  const accept = (req: IncomingMessage, socket: Duplex, head: Buffer) =>
    Effect.async<Ws | undefined>((resume) => {
      let settled = false
      const onClose = () => {
        if (settled) return
        settled = true
        resume(Effect.succeed(undefined))
      }
      socket.once("close", onClose)
      wss.handleUpgrade(req, socket, head, (ws) => {
        socket.removeListener("close", onClose)
        if (settled) return ws.terminate()
        settled = true
        resume(Effect.succeed(ws))
      })
      return Effect.sync(() => {
        settled = true
        socket.removeListener("close", onClose)
      })
    })

  const serve = (ws: Ws, remoteAddress: string | undefined, principal: Peer.Principal | undefined) =>
    Effect.gen(function*() {
      let alive = true
      let closing = false
      const transport: Connection.Transport = {
        start: (inbound) =>
          Effect.acquireRelease(
            Effect.sync(() => {
              const onMessage = (data: Buffer | ArrayBuffer | Array<Buffer>) => {
                const text = Array.isArray(data)
                  ? Buffer.concat(data).toString("utf8")
                  : Buffer.from(data as ArrayBuffer).toString("utf8")
                inbound.frame(text)
              }
              const onClose = () => inbound.end({ drain: false })
              const onPong = () => {
                alive = true
              }
              ws.on("message", onMessage)
              ws.on("close", onClose)
              ws.on("error", onClose)
              ws.on("pong", onPong)
              return { onMessage, onClose, onPong }
            }),
            ({ onClose, onMessage, onPong }) =>
              Effect.sync(() => {
                ws.removeListener("message", onMessage)
                ws.removeListener("close", onClose)
                ws.removeListener("error", onClose)
                ws.removeListener("pong", onPong)
              })
          ).pipe(Effect.zipRight(Effect.suspend(() =>
            options.streams.register({
              tick: () => {
                if (!alive) return ws.terminate()
                alive = false
                ws.ping()
              },
              // Shutdown: new requests are refused, requests in flight answer (or are interrupted and answered with
              // an error when the grace is over), then the socket closes with 1001.
              close: (deadline) => {
                closing = true
                inbound.end({ drain: true, deadline, shutdown: true })
              }
            })
          ))),
        write: (frame) =>
          Effect.async<void>((resume) => {
            if (ws.readyState !== ws.OPEN) return resume(Effect.void)
            // The send's callback may never come for a peer that is cut off: its close ends the wait too.
            let done = false
            const finish = () => {
              if (done) return
              done = true
              ws.removeListener("close", finish)
              resume(Effect.void)
            }
            ws.once("close", finish)
            ws.send(frame, finish)
            return Effect.sync(() => ws.removeListener("close", finish))
          }),
        pause: () => ws.pause(),
        resume: () => ws.resume(),
        pausable: true,
        destroy: () => ws.terminate()
      }
      // The token authenticated the connection once, at the upgrade, and a socket cannot present a new one: the
      // connection ends when the token expires (1008), and the client connects again with a fresh token.
      const expiresAt = principal?.expiresAt
      const expiry = expiresAt === undefined ? undefined : yield* Effect.fork(
        Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.sleep(Math.max(0, expiresAt - now))).pipe(
          Effect.zipRight(Effect.sync(() => {
            if (ws.readyState === ws.OPEN) ws.close(1008, "access token expired")
          }))
        )
      )
      yield* Connection.serve(transport, { ...options.connection, transport: "websocket", remoteAddress, principal })
      if (expiry !== undefined) yield* Fiber.interrupt(expiry)
      if (ws.readyState === ws.OPEN) ws.close(closing ? 1001 : 1000, closing ? "server shutting down" : undefined)
    }).pipe(Effect.ensuring(Effect.sync(() => {
      if (ws.readyState === ws.CONNECTING || ws.readyState === ws.OPEN) ws.terminate()
    })))

  const upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer, principal?: Peer.Principal | undefined) =>
    Effect.gen(function*() {
      const ws = yield* accept(req, socket, head)
      if (ws === undefined) return
      const admitted = yield* options.streamPermits.withPermitsIfAvailable(1)(
        serve(ws, req.socket.remoteAddress, principal)
      )
      if (Option.isNone(admitted)) ws.close(1013, "too many connections; try again later")
    })

  return { upgrade, close: () => wss.close() }
}
