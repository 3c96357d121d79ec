/**
 * The deprecated HTTP+SSE transport of 2024-11-05, for old clients: `GET /sse` opens the stream and announces
 * the `endpoint` to POST to; `POST /messages?sessionId=...` is answered 202 and the reply travels on the stream.
 * Each stream is one Connection (one fiber); its session lives exactly as long as the stream.
 *
 * @since 0.1.0
 */
import { Effect, Option } from "effect"
import { randomUUID } from "node:crypto"
import type { IncomingMessage, ServerResponse } from "node:http"
import type { McpServer } from "../server/McpServer.js"
import * as Peer from "../server/Peer.js"
import * as Connection from "../transport/Connection.js"
import { errorBody, sendJson } from "./Response.js"
import * as Sse from "./Sse.js"
import type * as Streams from "./Streams.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface LegacySse {
  /** GET /sse, authenticated as `principal` when authorization is on: the stream is that principal's. */
  readonly stream: (
    req: IncomingMessage,
    res: ServerResponse,
    messagesPath: string,
    principal?: Peer.Principal | undefined
  ) => Effect.Effect<void, never, McpServer>
  /**
   * Hands one POSTed message to its stream's connection. A stream opened by another principal (another subject or
   * issuer, or anonymous) is not found (404).
   */
  readonly message: (
    sessionId: string | null,
    body: string,
    res: ServerResponse,
    principal?: Peer.Principal | undefined
  ) => void
  readonly sessions: () => number
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (shared: {
  readonly streams: Streams.Streams
  readonly streamPermits: Effect.Semaphore
  readonly drainTimeout?: number
  /** Limits of each connection (in flight, queued bytes). */
  readonly connection?: Omit<Connection.Options, "transport" | "drainTimeout">
}): LegacySse => {
  const sessions = new Map<
    string,
    { readonly inbound: Connection.Inbound; readonly principal: Peer.Principal | undefined }
  >()

  const stream = (
    _req: IncomingMessage,
    res: ServerResponse,
    messagesPath: string,
    principal?: Peer.Principal | undefined
  ) =>
    Effect.gen(function*() {
      const sessionId = randomUUID()
      const liveness: Sse.Liveness = { pending: -1 }
      const transport: Connection.Transport = {
        start: (inbound) =>
          Effect.acquireRelease(
            Effect.sync(() => {
              sessions.set(sessionId, { inbound, principal })
              res.once("close", () => inbound.end({ drain: false }))
              Sse.open(res)
              res.write(Sse.event("endpoint", `${messagesPath}?sessionId=${sessionId}`))
            }),
            () =>
              Effect.sync(() => {
                sessions.delete(sessionId)
              })
          ).pipe(
            Effect.zipRight(shared.streams.register({
              // A reader that stopped reading is cut: the connection ends and its requests are interrupted.
              tick: () => Sse.keepAlive(res, liveness),
              // At shutdown requests in flight may still answer, then the stream ends with its final event.
              close: (deadline) => inbound.end({ drain: true, deadline, shutdown: true })
            }))
          ),
        write: (frame) => Sse.write(res, Sse.message(frame)),
        // Each frame is its own POST: a full connection answers the POST 503 instead (see `message`).
        pause: () => {},
        resume: () => {},
        pausable: false,
        destroy: () => {
          res.destroy()
        }
      }
      const admitted = yield* shared.streamPermits.withPermitsIfAvailable(1)(
        Connection.serve(transport, {
          ...shared.connection,
          transport: "sse",
          sessionId,
          principal,
          remoteAddress: res.socket?.remoteAddress,
          ...(shared.drainTimeout === undefined ? {} : { drainTimeout: shared.drainTimeout })
        })
      )
      if (Option.isNone(admitted)) {
        return sendJson(res, 503, errorBody(-32000, "Too many open streams; retry shortly"), { "retry-after": "1" })
      }
      if (!res.writableEnded) res.end(Sse.event("shutdown", "{}"))
    })

  const message = (
    sessionId: string | null,
    body: string,
    res: ServerResponse,
    principal?: Peer.Principal | undefined
  ) => {
    const session = sessionId === null ? undefined : sessions.get(sessionId)
    if (session === undefined || !Peer.samePrincipal(session.principal, principal)) {
      return sendJson(res, 404, errorBody(-32001, "Session not found"))
    }
    if (!session.inbound.frame(body)) {
      return sendJson(res, 503, errorBody(-32000, "The session is too far behind; retry shortly"), {
        "retry-after": "1"
      })
    }
    sendJson(res, 202, "Accepted", {})
  }

  return { stream, message, sessions: () => sessions.size }
}
