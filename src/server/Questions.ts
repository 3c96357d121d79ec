/**
 * Questions a legacy connection or session asks its client (sampling, elicitation, roots): a JSON-RPC request on
 * the asking request's stream, matched with the client's answer by id, with a deadline on the server's one timer.
 * The table is made on the first question: a session that never asks costs nothing.
 *
 * @since 0.1.0
 */
import { Deferred, Effect } from "effect"
import * as JsonRpc from "../protocol/JsonRpc.js"
import * as ClientRequests from "./ClientRequests.js"
import type * as Deadlines from "./Deadlines.js"
import type { Sink } from "./Sink.js"

/** A question awaiting its answer. */
interface Outgoing extends Deadlines.Item {
  readonly id: number
  readonly answer: Deferred.Deferred<unknown, ClientRequests.ClientError>
  readonly sink: Sink
}

/** Tells the client we no longer wait for the answer (best effort: the stream may be gone). */
const cancel = (out: Outgoing, reason: string) =>
  out.sink.notify(JsonRpc.encodeNotification("notifications/cancelled", { requestId: out.id, reason }))

/**
 * @since 0.1.0
 * @category models
 */
export class Questions {
  private table: Map<string, Outgoing> | undefined = undefined
  private next = 0

  constructor(readonly deadlines: Deadlines.Deadlines, readonly timeoutMillis: number) {}

  private get outgoing(): Map<string, Outgoing> {
    if (this.table === undefined) this.table = new Map()
    return this.table
  }

  /** Asks, on `sink`, and waits for the answer (or the deadline: `ClientError` "timeout"). */
  ask(method: string, params: Record<string, unknown>, sink: Sink): Effect.Effect<unknown, ClientRequests.ClientError> {
    return Effect.gen(this, function*() {
      const id = ++this.next
      const key = JsonRpc.idKey(id)
      const answer = yield* Deferred.make<unknown, ClientRequests.ClientError>()
      const timeout = this.timeoutMillis
      const out: Outgoing = {
        id,
        answer,
        sink,
        deadline: 0,
        // The timer only completes the Deferred; the asking fiber tells the client it stopped waiting.
        expire: () => {
          Deferred.unsafeDone(
            answer,
            Effect.fail(
              new ClientRequests.ClientError({
                message: `The client did not answer within ${timeout} ms`,
                reason: "timeout"
              })
            )
          )
        }
      }
      const outgoing = this.outgoing
      outgoing.set(key, out)
      yield* this.deadlines.add(out, timeout)
      return yield* Effect.zipRight(
        sink.notify(JsonRpc.encodeRequest(id, method, params)),
        Effect.tapError(
          Deferred.await(answer),
          (error) => (error.reason === "timeout" ? cancel(out, "Timed out") : Effect.void)
        )
      ).pipe(
        Effect.onInterrupt(() =>
          outgoing.get(key) === out
            ? Effect.zipRight(Effect.sync(() => outgoing.delete(key)), cancel(out, "The request was cancelled"))
            : Effect.void
        ),
        Effect.ensuring(Effect.sync(() => {
          this.deadlines.remove(out, timeout)
          if (outgoing.get(key) === out) outgoing.delete(key)
        }))
      )
    })
  }

  /** The client answered (a JSON-RPC response): completes the question it names, if it is still waiting. */
  answer(response: JsonRpc.Response): Effect.Effect<void> {
    const key = response.id === null ? undefined : JsonRpc.idKey(response.id)
    const out = key === undefined ? undefined : this.table?.get(key)
    if (out === undefined) {
      return Effect.logDebug("Ignored a response to no request of ours").pipe(Effect.annotateLogs({ id: response.id }))
    }
    this.table!.delete(key!)
    return response.error !== undefined
      ? Deferred.fail(
        out.answer,
        new ClientRequests.ClientError({
          message: response.error.message,
          reason: "error",
          code: response.error.code,
          data: response.error.data
        })
      )
      : Deferred.succeed(out.answer, response.result)
  }

  /** The connection closed: every question still waiting fails. */
  failAll(): void {
    const outgoing = this.table
    if (outgoing === undefined) return
    for (const out of outgoing.values()) {
      Deferred.unsafeDone(
        out.answer,
        Effect.fail(
          new ClientRequests.ClientError({
            message: "The connection closed before the client answered",
            reason: "closed"
          })
        )
      )
    }
    outgoing.clear()
  }
}
