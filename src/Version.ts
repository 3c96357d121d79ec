/**
 * The package version (kept in step with package.json; a test checks they agree).
 *
 * @since 0.1.0
 */
export const VERSION = "0.1.0"
