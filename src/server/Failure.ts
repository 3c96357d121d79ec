/**
 * How a handler's typed failure is described to the client: the one rule for tools, resources and prompts.
 * Re-exported by McpContext.
 *
 * @since 0.1.0
 */
import { Cause, Predicate } from "effect"

/**
 * Whether `error.message` is the one `Schema.TaggedError` makes up for a class without a `message` field (its fields
 * printed, without the tag): such an error has no message of its own. A `message` getter of the user's own class is
 * kept (it is defined on the user's subclass, not on the class `Schema.TaggedError` made).
 */
const isMadeUpMessage = (error: object): boolean => {
  if (Object.prototype.hasOwnProperty.call(error, "message")) return false
  let proto: object | null = Object.getPrototypeOf(error)
  while (proto !== null && !Object.prototype.hasOwnProperty.call(proto, "message")) proto = Object.getPrototypeOf(proto)
  const owner: unknown = proto?.constructor
  if (typeof owner !== "function" || !Object.prototype.hasOwnProperty.call(owner, "_tag")) return false
  const fields: unknown = (owner as { readonly fields?: unknown }).fields
  return Predicate.isRecord(fields) && !("message" in fields)
}

/**
 * A failure's own message: its `message` when that is a non-empty string (not the one `Schema.TaggedError` makes up
 * from the fields of a class that declares no `message`).
 *
 * @since 0.1.0
 * @category failures
 */
export const ownMessage = (error: unknown): string | undefined => {
  if (!Predicate.hasProperty(error, "message")) return undefined
  const message = error.message
  return typeof message === "string" && message !== "" && !isMadeUpMessage(error) ? message : undefined
}

/**
 * The text a client is shown for a handler's typed failure: the error itself when it is a non-empty string (a
 * number or boolean as text), else its own non-empty `message` (see `ownMessage`), else its `_tag`, else
 * `fallback`. Tools send it as the `isError` result's text; resources and prompts as the -32603 error's message.
 *
 * @since 0.1.0
 * @category failures
 */
export const failureMessage = (error: unknown, fallback: string): string => {
  if (typeof error === "string") return error !== "" ? error : fallback
  if (typeof error === "number" || typeof error === "boolean" || typeof error === "bigint") return String(error)
  try {
    const message = ownMessage(error)
    if (message !== undefined) return message
    if (Predicate.hasProperty(error, "_tag") && typeof error._tag === "string" && error._tag !== "") return error._tag
  } catch {
    // A getter or proxy that throws: nothing to say about it.
  }
  return fallback
}

/**
 * `Cause.pretty`, or a placeholder when printing the cause throws (a failure with a getter that throws): for logs,
 * which must not fail the request they describe.
 *
 * @since 0.1.0
 * @category failures
 */
export const prettyCause = (cause: Cause.Cause<unknown>): string => {
  try {
    return Cause.pretty(cause)
  } catch {
    return "(a cause that cannot be printed)"
  }
}
