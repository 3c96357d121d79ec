/**
 * The gateway's configuration: the `mcpServers` JSON that Claude Desktop, Cursor and VS Code users already have
 * (VS Code's `servers` key too), decoded into `Upstream.Config`s, and the one-upstream shortcut of the command line
 * (`-- COMMAND ARGS...`). Every error names the file, the server and the field.
 *
 * ```json
 * { "mcpServers": {
 *     "files": { "command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"] },
 *     "remote": { "url": "https://example.com/mcp", "headers": { "Authorization": "Bearer ..." },
 *                 "isolation": "per-session", "maxSessions": 20 } } }
 * ```
 *
 * @since 0.2.0
 */
import { Data, Effect, Either, ParseResult, Schema } from "effect"
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import type * as Upstream from "./Upstream.js"

/**
 * The defaults of the gateway's own fields.
 *
 * @since 0.2.0
 * @category constants
 */
export const defaults = {
  isolation: "shared",
  maxSessions: 100,
  timeoutMillis: 60_000,
  maxInFlight: 100
} as const

/**
 * The configuration could not be read or decoded. `message` says where (file, server, field) and what.
 *
 * @since 0.2.0
 * @category errors
 */
export class GatewayConfigError extends Data.TaggedError("GatewayConfigError")<{
  readonly message: string
}> {}

const Positive = Schema.Int.pipe(Schema.positive())
/** One of a few strings, with one message that lists them. */
const oneOf = <const A extends string>(values: ReadonlyArray<A>, listed: string): Schema.Schema<A, unknown> =>
  Schema.Unknown.pipe(
    Schema.filter((u) => typeof u === "string" && (values as ReadonlyArray<string>).includes(u), {
      message: (issue) => `Expected ${listed}, actual ${JSON.stringify(issue.actual)}`
    })
  ) as unknown as Schema.Schema<A, unknown>
const exact = <S extends Schema.Schema.Any>(schema: S) => Schema.optionalWith(schema, { exact: true })
const Strings = Schema.Record({ key: Schema.String, value: Schema.String })

/**
 * One server's entry as users write it (fields other than these are ignored, as the clients do).
 *
 * @since 0.2.0
 * @category schemas
 */
export const Entry = Schema.Struct({
  type: exact(oneOf(["stdio", "http", "sse"], `"stdio", "http" or "sse"`)),
  command: exact(Schema.NonEmptyString),
  args: exact(Schema.Array(Schema.String)),
  env: exact(Strings),
  cwd: exact(Schema.String),
  url: exact(Schema.String),
  headers: exact(Strings),
  disabled: exact(Schema.Boolean),
  isolation: exact(oneOf(["shared", "per-session"], `"shared" or "per-session"`)),
  maxSessions: exact(Positive),
  timeoutMillis: exact(Positive),
  maxInFlight: exact(Positive)
})

const decodeEntry = Schema.decodeUnknownEither(Entry)

const isObject = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

const pathText = (path: ReadonlyArray<PropertyKey>): string => path.map(String).join(".")

const entryConfig = (
  source: string,
  name: string,
  raw: unknown
): Either.Either<Upstream.Config | undefined, GatewayConfigError> => {
  const fail = (what: string) =>
    Either.left(new GatewayConfigError({ message: `${source}: server "${name}": ${what}` }))
  if (!isObject(raw)) return fail(`expected an object, got ${JSON.stringify(raw)}`)
  const decoded = decodeEntry(raw, { errors: "all" })
  if (Either.isLeft(decoded)) {
    const issues = ParseResult.ArrayFormatter.formatErrorSync(decoded.left)
    const seen = new Set<string>()
    const texts: Array<string> = []
    for (const issue of issues) {
      const path = pathText(issue.path)
      if (seen.has(path)) continue
      seen.add(path)
      texts.push(`field "${path}": ${issue.message}`)
    }
    return fail(texts.join("; "))
  }
  const entry = decoded.right
  if (entry.disabled === true) return Either.right(undefined)
  if (entry.command !== undefined && entry.url !== undefined) {
    return fail(`has both "command" and "url"; give "command" for a stdio server or "url" for a remote one`)
  }
  const type = entry.type ?? (entry.url !== undefined ? "http" : "stdio")
  const common = {
    name,
    isolation: entry.isolation ?? defaults.isolation,
    maxSessions: entry.maxSessions ?? defaults.maxSessions,
    timeoutMillis: entry.timeoutMillis ?? defaults.timeoutMillis,
    maxInFlight: entry.maxInFlight ?? defaults.maxInFlight
  }
  if (type === "stdio") {
    if (entry.command === undefined) {
      return fail(
        entry.url !== undefined
          ? `field "url": a stdio server takes "command", not "url"`
          : `field "command": missing (a stdio server needs a command; a remote one a "url")`
      )
    }
    return Either.right({
      ...common,
      type,
      command: entry.command,
      args: entry.args ?? [],
      env: entry.env ?? {},
      cwd: entry.cwd
    })
  }
  if (entry.url === undefined) return fail(`field "url": missing (a ${type} server needs a url)`)
  let url: URL
  try {
    url = new URL(entry.url)
  } catch {
    return fail(`field "url": not a URL: ${JSON.stringify(entry.url)}`)
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return fail(`field "url": expected an http: or https: URL, got ${JSON.stringify(entry.url)}`)
  }
  for (const field of ["args", "env", "cwd"] as const) {
    if (entry[field] !== undefined) return fail(`field "${field}": only a stdio server takes "${field}"`)
  }
  return Either.right({ ...common, type, url: entry.url, headers: entry.headers ?? {} })
}

/**
 * Decodes the text of a config file (`source` names it in errors): `{"mcpServers": {...}}` (or VS Code's
 * `{"servers": {...}}`). Entries with `"disabled": true` are left out; at least one server must remain.
 *
 * @since 0.2.0
 * @category decoding
 */
export const decode = (
  text: string,
  source: string
): Either.Either<ReadonlyArray<Upstream.Config>, GatewayConfigError> => {
  const fail = (what: string) => Either.left(new GatewayConfigError({ message: `${source}: ${what}` }))
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    return fail(`not JSON: ${error instanceof Error ? error.message : String(error)}`)
  }
  const servers = isObject(json) ? (json.mcpServers ?? json.servers) : undefined
  if (!isObject(servers)) return fail(`expected an object with "mcpServers": { "NAME": { ... } }`)
  const configs: Array<Upstream.Config> = []
  for (const [name, raw] of Object.entries(servers)) {
    if (name.trim() === "") return fail(`a server's name is empty`)
    const config = entryConfig(source, name, raw)
    if (Either.isLeft(config)) return Either.left(config.left)
    if (config.right !== undefined) configs.push(config.right)
  }
  if (configs.length === 0) return fail(`"mcpServers" names no server (or every one is disabled)`)
  return Either.right(configs)
}

/**
 * Reads and decodes a config file.
 *
 * @since 0.2.0
 * @category decoding
 */
export const load = (file: string): Effect.Effect<ReadonlyArray<Upstream.Config>, GatewayConfigError> =>
  Effect.flatMap(
    Effect.tryPromise({
      try: () => Fs.readFile(file, "utf8"),
      catch: (error) =>
        new GatewayConfigError({
          message: `${file}: cannot read the gateway config: ${error instanceof Error ? error.message : String(error)}`
        })
    }),
    (text) => decode(text, file)
  )

/**
 * The one stdio upstream of `-- COMMAND ARGS...`, named after the command (its base name without extension).
 *
 * @since 0.2.0
 * @category decoding
 */
export const fromCommand = (
  argv: ReadonlyArray<string>
): Either.Either<ReadonlyArray<Upstream.Config>, GatewayConfigError> => {
  const [command, ...args] = argv
  if (command === undefined || command === "") {
    return Either.left(new GatewayConfigError({ message: "--: expected a command after --, e.g. -- npx -y SERVER" }))
  }
  const name = Path.basename(command).replace(/\.[^.]*$/, "") || "upstream"
  return Either.right([{
    name,
    type: "stdio",
    command,
    args,
    env: {},
    cwd: undefined,
    isolation: defaults.isolation,
    maxSessions: defaults.maxSessions,
    timeoutMillis: defaults.timeoutMillis,
    maxInFlight: defaults.maxInFlight
  }])
}
