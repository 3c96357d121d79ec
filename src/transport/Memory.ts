/**
 * An in-memory transport: a peer in the same process, wired to the `McpServer` in context through the same
 * Connection and Dispatcher as every other transport (transport name `"memory"`). McpTest is built on it; so can be
 * anything that talks to a server without sockets (an in-process upstream, a benchmark of the engine alone).
 *
 * Frames from the server are queued (bounded; the server waits while the queue is full, as it waits on a full
 * pipe). The server pauses the peer when its mailbox is full, as it pauses stdin: `send` waits until it resumes.
 *
 * @since 0.1.0
 */
import type { Supervisor } from "effect"
import { Deferred, Effect, Queue } from "effect"
import type * as Scope from "effect/Scope"
import type { McpServer } from "../server/McpServer.js"
import * as Connection from "./Connection.js"

/**
 * The peer's end of the connection.
 *
 * @since 0.1.0
 * @category models
 */
export interface Peer {
  /** Frames the server sent, in order. */
  readonly fromServer: Queue.Dequeue<string>
  /** Sends one frame to the server, exactly as given (waits while the server has paused this peer). */
  readonly send: (text: string) => Effect.Effect<void>
  /** Ends the connection as a vanished peer would (no drain). */
  readonly close: Effect.Effect<void>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Frames from the server held before it waits. Default 1,024. */
  readonly capacity?: number
  /** The server's mailbox capacity for this connection (Connection.serve). */
  readonly mailboxCapacity?: number
  /** Supervise the server-side fibers of this connection (to count them). */
  readonly supervisor?: Supervisor.Supervisor<unknown>
}

/**
 * Serves one in-memory connection for as long as the Scope lives.
 *
 * @since 0.1.0
 * @category constructors
 */
export const connect = (options: Options = {}): Effect.Effect<Peer, never, McpServer | Scope.Scope> =>
  Effect.gen(function*() {
    const fromServer = yield* Queue.bounded<string>(options.capacity ?? 1024)
    let inbound: Connection.Inbound | undefined
    const started = yield* Deferred.make<void>()
    const open = yield* Effect.makeLatch(true)
    const transport: Connection.Transport = {
      start: (callbacks) =>
        Effect.zipRight(
          Effect.sync(() => {
            inbound = callbacks
          }),
          Deferred.succeed(started, undefined)
        ),
      write: (frame) => Queue.offer(fromServer, frame),
      pause: () => open.unsafeClose(),
      resume: () => open.unsafeOpen(),
      pausable: true,
      destroy: () => inbound?.end({ drain: false })
    }
    const serve = Connection.serve(
      transport,
      {
        transport: "memory",
        ...(options.mailboxCapacity === undefined ? {} : { mailboxCapacity: options.mailboxCapacity })
      }
    )
    yield* options.supervisor === undefined
      ? Effect.forkScoped(serve)
      : Effect.supervised(Effect.forkScoped(serve), options.supervisor)
    yield* Deferred.await(started)
    const send = (text: string): Effect.Effect<void> =>
      Effect.flatMap(open.await, () => (inbound!.frame(text) ? Effect.void : send(text)))
    return {
      fromServer,
      send,
      close: Effect.sync(() => inbound!.end({ drain: false }))
    }
  })
