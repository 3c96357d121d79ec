/**
 * Supported protocol versions, negotiation, and what each version allows.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 * @category models
 */
export type Era = "legacy" | "modern"

/**
 * @since 0.1.0
 * @category constants
 */
export const LATEST_MODERN = "2026-07-28"

/**
 * @since 0.1.0
 * @category constants
 */
export const LATEST_LEGACY = "2025-11-25"

/**
 * Versions served statelessly with per-request `_meta`.
 *
 * @since 0.1.0
 * @category constants
 */
export const MODERN: ReadonlyArray<string> = [LATEST_MODERN]

/**
 * Versions reached through `initialize`, newest first. `2024-10-07` is accepted for parity with the official SDK.
 *
 * @since 0.1.0
 * @category constants
 */
export const LEGACY: ReadonlyArray<string> = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05", "2024-10-07"]

/** What an HTTP request without `MCP-Protocol-Version` is taken to speak (spec, 2025-06-18 transports). */
export const DEFAULT_LEGACY = "2025-03-26"

const legacySet = new Set(LEGACY)
const modernSet = new Set(MODERN)

/**
 * @since 0.1.0
 * @category predicates
 */
export const isLegacy = (version: string): boolean => legacySet.has(version)

/**
 * @since 0.1.0
 * @category predicates
 */
export const isModern = (version: string): boolean => modernSet.has(version)

/**
 * Legacy negotiation: answer the requested version when supported, else the latest legacy one.
 *
 * @since 0.1.0
 * @category negotiation
 */
export const negotiateLegacy = (requested: string): string => (legacySet.has(requested) ? requested : LATEST_LEGACY)

/**
 * JSON-RPC batches are legal in 2025-03-26 only.
 *
 * @since 0.1.0
 * @category features
 */
export const allowsBatch = (version: string | undefined): boolean => version === "2025-03-26"

/**
 * `structuredContent` and `outputSchema` arrived in 2025-06-18.
 *
 * @since 0.1.0
 * @category features
 */
export const hasStructuredOutput = (version: string): boolean =>
  version !== "2024-10-07" && version !== "2024-11-05" && version !== "2025-03-26"

/**
 * SSE streams of 2025-11-25 start with a priming event (SEP-1699: an id and `retry:`), so the client can resume
 * and poll.
 *
 * @since 0.1.0
 * @category features
 */
export const primesStreams = (version: string | undefined): boolean => version === "2025-11-25"

/**
 * `notifications/elicitation/complete` (URL-mode elicitation) exists in the legacy era from 2025-11-25.
 * @since 0.1.0
 * @category features
 */
export const hasElicitationComplete = (version: string): boolean => version === "2025-11-25"

/**
 * Resource-not-found is -32002 up to 2025-11-25 and -32602 from 2026-07-28.
 *
 * @since 0.1.0
 * @category features
 */
export const resourceNotFoundIsInvalidParams = (version: string): boolean => isModern(version)
