/**
 * The server's log as a child process writes it to stderr: one JSON object per line (`--log-format json`), read
 * back as values; a line that is not JSON is kept as its text.
 */

/** A parsed log line (the JSON logger's shape), or the raw line when it is not JSON. */
export type LogLine = { readonly message?: unknown; readonly annotations?: Record<string, unknown> } | string

export const parseLogLine = (line: string): LogLine => {
  try {
    return JSON.parse(line) as LogLine
  } catch {
    return line
  }
}

/** Every non-blank line of `text`, parsed. */
export const parseLogLines = (text: string): Array<LogLine> =>
  text.split("\n").filter((line) => line.trim() !== "").map(parseLogLine)

/** The annotations of the JSON log lines. */
export const logAnnotations = (logs: ReadonlyArray<LogLine>): Array<Record<string, unknown>> =>
  logs.flatMap((line) => (typeof line === "object" && line.annotations !== undefined ? [line.annotations] : []))
