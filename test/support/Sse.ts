/**
 * Reading Server-Sent Events as a client does: a parser fed chunk by chunk, one for a whole body, and a reader over
 * a fetch response. An event is a block ended by a blank line with at least one `data:` line; comments (`: ...`,
 * the keep-alives) are not events, the priming event (an id, empty data) is.
 */

/** One event: its type (`message` unless named), its id if it has one, and its data lines joined with newlines. */
export interface SseEvent {
  readonly event: string
  readonly id?: string
  readonly data: string
}

const field = (line: string, name: string): string | undefined => {
  if (!line.startsWith(`${name}:`)) return undefined
  const value = line.slice(name.length + 1)
  return value.startsWith(" ") ? value.slice(1) : value
}

/** The event in one block (the text between blank lines), or undefined when it carries no data. */
const eventOf = (block: string): SseEvent | undefined => {
  const lines = block.split("\n")
  const data = lines.flatMap((line) => field(line, "data") ?? [])
  if (data.length === 0) return undefined
  const event = lines.map((line) => field(line, "event")).find((value) => value !== undefined) ?? "message"
  const id = lines.map((line) => field(line, "id")).find((value) => value !== undefined)
  return id === undefined ? { event, data: data.join("\n") } : { event, id, data: data.join("\n") }
}

/** Parses a stream chunk by chunk: `push` returns the events its chunk completed. */
export class SseParser {
  private buffer = ""

  push(chunk: string): Array<SseEvent> {
    this.buffer += chunk
    const events: Array<SseEvent> = []
    let end: number
    while ((end = this.buffer.indexOf("\n\n")) !== -1) {
      const event = eventOf(this.buffer.slice(0, end))
      this.buffer = this.buffer.slice(end + 2)
      if (event !== undefined) events.push(event)
    }
    return events
  }
}

/** The events of a whole body (a last block without its blank line counts too). */
export const parseSse = (text: string): Array<SseEvent> => text.split("\n\n").flatMap((block) => eventOf(block) ?? [])

/** The JSON-RPC messages among events: every event with data, parsed (the priming event has none). */
export const messagesOf = (events: ReadonlyArray<SseEvent>): Array<any> =>
  events.filter((event) => event.data !== "").map((event) => JSON.parse(event.data))

/** A fetch response's event stream, read as far as a test asks. */
export interface SseReader {
  /** Every event read so far, in order. */
  readonly events: Array<SseEvent>
  /** Reads until `stop` holds of the events so far, or the stream ends; resolves with the events so far. */
  readonly readUntil: (stop: (events: ReadonlyArray<SseEvent>) => boolean) => Promise<Array<SseEvent>>
  /** Whether the server ended the stream. */
  readonly ended: () => boolean
  readonly cancel: () => Promise<void>
}

export const readSse = (res: Response): SseReader => {
  const reader = res.body!.getReader()
  const decoder = new TextDecoder()
  const parser = new SseParser()
  const events: Array<SseEvent> = []
  let done = false
  return {
    events,
    readUntil: async (stop) => {
      while (!done && !stop(events)) {
        const chunk = await reader.read()
        if (chunk.done) done = true
        else events.push(...parser.push(decoder.decode(chunk.value, { stream: true })))
      }
      return events
    },
    ended: () => done,
    cancel: () => reader.cancel()
  }
}

/** Reads a fetch response's events until `stop` says so or the stream ends. */
export const readEvents = async (res: Response, stop: (events: ReadonlyArray<SseEvent>) => boolean) => {
  const reader = readSse(res)
  return { events: await reader.readUntil(stop), cancel: reader.cancel }
}
