/**
 * JSON-RPC assertions: the error an in-memory (McpTest) request failed with, the messages a McpTest client was sent
 * besides answers, a McpTest result told apart as complete or `input_required`, the text of a content block, and the
 * shape of an error answer read off a wire.
 */
import { Effect, Queue } from "effect"
import { assert } from "vitest"
import { McpTest } from "../../src/index.js"
import type { McpSchema } from "../../src/index.js"

/** A JSON-RPC error object as a plain value; `data` only when the server sent one. */
export interface ErrorObject {
  readonly code: number
  readonly message: string
  readonly data?: unknown
}

/**
 * The JSON-RPC error the request was answered with, as a plain object to compare with `deepStrictEqual` (an error
 * without `data` has no `data` key). A request that succeeds fails the test with its result.
 */
export const rpcError = <A, R>(effect: Effect.Effect<A, McpTest.RpcError, R>): Effect.Effect<ErrorObject, A, R> =>
  Effect.flip(effect).pipe(
    Effect.map(({ code, data, message }) => data === undefined ? { code, message } : { code, message, data })
  )

/** Everything the client was sent so far that was not the answer to one of its requests, in order. */
export const drain = (client: McpTest.Client): Effect.Effect<Array<McpTest.ServerMessage>> =>
  Queue.takeAll(client.messages).pipe(Effect.map((chunk) => [...chunk]))

/** The result as a complete one; an `input_required` answer fails the test with the result. */
export const complete = <A>(result: A | McpTest.InputRequiredResult): A => {
  if (McpTest.isInputRequired(result)) assert.fail(`a complete result, got ${JSON.stringify(result)}`)
  return result
}

/** The result as an `input_required` answer; any other result fails the test with the result. */
export const inputRequired = (result: unknown): McpTest.InputRequiredResult => {
  if (!McpTest.isInputRequired(result)) assert.fail(`an input_required result, got ${JSON.stringify(result)}`)
  return result
}

/** The text of a text content block; any other block (or none) fails the test with the block. */
export const textOf = (block: McpSchema.ContentBlock | undefined): string => {
  if (block?.type !== "text") assert.fail(`a text block, got ${JSON.stringify(block)}`)
  return block.text
}

/** A message as read off a wire (stdio, WebSocket, an HTTP body): fields loosely typed, the tests check them. */
export interface WireMessage {
  readonly jsonrpc?: unknown
  readonly id?: string | number | null
  readonly method?: string
  readonly params?: Record<string, unknown>
  readonly result?: Record<string, unknown>
  readonly error?: ErrorObject
}

/** Asserts `message` is a JSON-RPC 2.0 error answer to `id` with `code`, a message and no result. */
export const assertError = (message: WireMessage, id: string | number | null, code: number): void => {
  assert.strictEqual(message.jsonrpc, "2.0")
  assert.strictEqual(message.id, id)
  assert.isDefined(message.error, JSON.stringify(message))
  assert.strictEqual(message.error!.code, code, JSON.stringify(message))
  assert.isString(message.error!.message)
  assert.isFalse("result" in message)
}
