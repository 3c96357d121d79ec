/**
 * Fuzzing the JSON-RPC decoder over every transport, against real servers: Streamable HTTP (modern stateless POSTs
 * with `_meta`, and a legacy session), WebSocket, the deprecated HTTP+SSE transport, and a `node dist/main.js
 * --stdio` child. The inputs are random JSON and JSON-RPC-shaped messages from a seeded PRNG (FUZZ_SEED reproduces
 * a run, FUZZ_RUNS sets how many random inputs per transport), mixed with a fixed list of adversarial ones.
 *
 * What an input must get follows from its text alone (`expectationOf`): a request exactly one well-formed answer with
 * its id; a message whose id cannot be read one error with id null; invalid JSON -32700 with id null; a message
 * nested deeper than 128 levels -32600 (or -32700) with its id when readable; a notification nothing. After every
 * input a ping with a fresh id must be answered, and on the legacy transports a ping reusing the input's id as well.
 * Stream transports get one input at a time, so every frame between an input and the ping's answer is that input's.
 * Violations are collected and reported together, each naming its transport, input and seed; a peer that stops
 * answering ends its test at once. Needs `npm run build` first (stdio).
 */
import { EventEmitter } from "node:events"
import { isDeepStrictEqual } from "node:util"
import { afterEach, assert, describe, it } from "vitest"
import WebSocket from "ws"
import { session, start } from "./fixtures/Http.js"
import { killAll, spawnServer } from "./fixtures/StdioProcess.js"
import { assertBuilt } from "./support/Dist.js"
import { initialize as initializeRequest, JSON_AND_SSE, modernHeaders, modernMeta, nest } from "./support/Messages.js"
import { parseSse, SseParser } from "./support/Sse.js"
import { waitFor } from "./support/Wait.js"
import { openWebSocket } from "./support/WebSocket.js"

const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed_2026) >>> 0
const RUNS = Number(process.env.FUZZ_RUNS ?? 250)
/** How long any one answer may take before it counts as missing. */
const WAIT_MS = 3_000
/** Missing answers after which a transport's test stops (each costs WAIT_MS): it would only time out. */
const MAX_MISSED = 4
/** The documented nesting limit: the message itself is level 1, arrays and objects both count. */
const MAX_DEPTH = 128
const PARSE_ERROR = -32700
const INVALID_REQUEST = -32600

afterEach(() => {
  killAll()
})

// ---------------------------------------------------------------------------------------------------------------------
// A seeded PRNG (mulberry32) and generators of JSON text
// ---------------------------------------------------------------------------------------------------------------------

class Rng {
  private state: number

  constructor(seed: number) {
    this.state = seed >>> 0
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) | 0
    let t = Math.imul(this.state ^ (this.state >>> 15), 1 | this.state)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }

  /** Uniform in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n)
  }

  chance(p: number): boolean {
    return this.next() < p
  }

  pick<A>(items: ReadonlyArray<A>): A {
    return items[this.int(items.length)]!
  }
}

const hash = (text: string): number => {
  let h = 2166136261
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619)
  return h >>> 0
}

const CHARS = [
  "a",
  "z",
  "0",
  " ",
  "\"",
  "\\",
  "/",
  "\n",
  "\t",
  "\u0000",
  "\u001f",
  "\u007f",
  "é",
  "ß",
  "中",
  "\u2028",
  "\ufeff",
  "\uffff",
  "\ud800",
  "\udbff",
  "\udc00",
  "\udfff",
  "😀",
  "{",
  "}",
  "[",
  "]",
  ":",
  ",",
  "%",
  "<"
]
const NUMBERS = [
  "0",
  "-0",
  "1",
  "-1",
  "42",
  "1.5",
  "-2.25e-7",
  "1e400",
  "-1e400",
  "1E-400",
  "9007199254740993",
  "123456789012345678901234567890",
  "1.7976931348623157e308",
  "5e-324",
  "0.1"
]
const KEYS = [
  "id",
  "method",
  "params",
  "jsonrpc",
  "result",
  "error",
  "_meta",
  "name",
  "arguments",
  "text",
  "a",
  "b",
  "uri",
  "cursor",
  "__proto__",
  "constructor",
  "toString",
  "valueOf",
  "",
  "progressToken",
  "requestId",
  "level",
  "protocolVersion"
]
const METHODS = [
  "ping",
  "ping",
  "tools/list",
  "tools/call",
  "tools/call",
  "tools/call",
  "resources/list",
  "resources/read",
  "resources/templates/list",
  "prompts/list",
  "prompts/get",
  "completion/complete",
  "logging/setLevel",
  "initialize",
  "server/discover",
  "notifications/initialized",
  "notifications/cancelled",
  "notifications/progress",
  "",
  "nope",
  "rpc.discover",
  "PING",
  "ping\u0000",
  "tools/call/",
  "notifications/"
]
const TOOLS = ["echo", "echo", "add", "dies", "scalar", "bad_output", "fail", "get_item", "nope"]
const WEIRD_IDS = [
  "-0",
  "1.5",
  "1e400",
  "-1e400",
  "1e-400",
  "9007199254740993",
  "123456789012345678901234567890",
  "\"\"",
  "\"1\"",
  "null",
  "true",
  "false",
  "{}",
  "[]",
  "[1]",
  "{\"a\":1}",
  "\"\\ud800\"",
  "\"\\u0000\""
]
const MODERN_META = JSON.stringify(modernMeta)

const str = (value: string) => JSON.stringify(value)

const genString = (rng: Rng): string => {
  const length = rng.chance(0.1) ? rng.int(300) : rng.int(12)
  let text = ""
  for (let i = 0; i < length; i++) text += rng.pick(CHARS)
  return text
}

const genNumber = (rng: Rng): string =>
  rng.chance(0.5) ? rng.pick(NUMBERS) : String(rng.chance(0.5) ? rng.int(2000) - 1000 : (rng.next() - 0.5) * 1e6)

/** Random JSON text, no deeper than `depth` levels. */
const genValue = (rng: Rng, depth = 4): string => {
  const kind = depth <= 0 ? rng.int(6) : rng.int(10)
  switch (kind) {
    case 0:
      return "null"
    case 1:
      return rng.chance(0.5) ? "true" : "false"
    case 2:
    case 3:
      return genNumber(rng)
    case 4:
    case 5:
      return str(genString(rng))
    case 6:
    case 7:
      return `[${Array.from({ length: rng.int(5) }, () => genValue(rng, depth - 1)).join(",")}]`
    default:
      return genObject(rng, depth - 1)
  }
}

const genKey = (rng: Rng): string => (rng.chance(0.6) ? rng.pick(KEYS) : genString(rng))

const genObject = (rng: Rng, depth: number, fields: Array<string> = []): string => {
  const entries = [...fields]
  for (let i = rng.int(5); i > 0; i--) entries.push(`${str(genKey(rng))}:${genValue(rng, depth)}`)
  return `{${entries.join(",")}}`
}

const genId = (rng: Rng): string =>
  rng.chance(0.6) ? (rng.chance(0.5) ? String(rng.int(1000)) : str(`s-${rng.int(1000)}`)) : rng.pick(WEIRD_IDS)

const genArguments = (rng: Rng, tool: string): string => {
  if (tool === "echo" && rng.chance(0.7)) return `{"text":${str(genString(rng))}}`
  if (tool === "add" && rng.chance(0.7)) return `{"a":${genNumber(rng)},"b":${genNumber(rng)}}`
  return rng.chance(0.8) ? genObject(rng, 3) : genValue(rng, 3)
}

const genParams = (rng: Rng, method: string, modern: boolean): string => {
  if (rng.chance(0.15)) return genValue(rng, 3)
  const fields: Array<string> = []
  if (modern) fields.push(`"_meta":${rng.chance(0.85) ? MODERN_META : genValue(rng, 2)}`)
  if (method === "tools/call" && rng.chance(0.9)) {
    const tool = rng.chance(0.85) ? rng.pick(TOOLS) : genString(rng)
    fields.push(`"name":${str(tool)}`)
    if (rng.chance(0.9)) fields.push(`"arguments":${genArguments(rng, tool)}`)
  }
  return genObject(rng, 3, fields)
}

/** A JSON-RPC-shaped message, mostly well formed; `id` is its id's text, or undefined for none. */
const genMessage = (rng: Rng, modern: boolean, id: string | undefined = rng.chance(0.75) ? genId(rng) : undefined) => {
  const fields: Array<string> = []
  const version = rng.chance(0.9) ? "\"2.0\"" : rng.pick(["\"1.0\"", "2", "2.0", "null", "\"2.0 \""])
  if (rng.chance(0.9)) fields.push(`"jsonrpc":${version}`)
  if (id !== undefined) fields.push(`"id":${id}`)
  const method = rng.chance(0.85) ? rng.pick(METHODS) : genString(rng)
  const methodText = rng.chance(0.93) ? str(method) : genValue(rng, 2)
  if (rng.chance(0.95)) fields.push(`"method":${methodText}`)
  if (modern || rng.chance(0.75)) fields.push(`"params":${genParams(rng, method, modern)}`)
  const extra = rng.chance(0.15) ? rng.int(3) + 1 : 0
  for (let i = 0; i < extra; i++) fields.push(`${str(genKey(rng))}:${genValue(rng, 2)}`)
  for (let i = fields.length - 1; i > 0; i--) {
    const j = rng.int(i + 1)
    ;[fields[i], fields[j]] = [fields[j]!, fields[i]!]
  }
  return `{${fields.join(",")}}`
}

const JUNK = ["{", "}", "[", "]", ",", ":", "\"", "\\", " ", "x", "\u0000"]

/** Damages JSON text by code points, so no lone surrogate is ever cut out of a pair. */
const mutate = (rng: Rng, text: string): string => {
  const points = Array.from(text)
  const at = rng.int(points.length + 1)
  switch (rng.int(6)) {
    case 0:
      return points.slice(0, at).join("")
    case 1:
      return [...points.slice(0, at), rng.pick(JUNK), ...points.slice(at)].join("")
    case 2:
      return [...points.slice(0, at), ...points.slice(at + 1)].join("")
    case 3:
      return text + rng.pick([" x", "}", "]", ",", text, "\u0000", "\t"])
    case 4:
      return "\ufeff" + text
    default:
      return rng.pick(["\n", " ", "\t"]) + text + rng.pick(["\n", " ", "\r\n"])
  }
}

const genInput = (rng: Rng, modern: boolean): string => {
  const roll = rng.next()
  if (roll < 0.08) return genValue(rng, 5)
  if (roll < 0.16) {
    // Batch items get distinct readable ids, so each answer names its item.
    const items = Array.from({ length: rng.int(6) }, (_, i) => {
      if (rng.chance(0.3)) return genValue(rng, 3)
      const id = rng.chance(0.7)
        ? (rng.chance(0.5) ? String(100_000 + i) : str(`b-${i}`))
        : rng.chance(0.5)
        ? undefined
        : rng.pick(["null", "true", "false", "{}", "[]", "1e400"])
      return genMessage(rng, modern, id)
    })
    return `[${items.join(",")}]`
  }
  if (roll < 0.28) return mutate(rng, genMessage(rng, modern))
  return genMessage(rng, modern)
}

// ---------------------------------------------------------------------------------------------------------------------
// Adversarial inputs
// ---------------------------------------------------------------------------------------------------------------------

interface Adversarial {
  readonly label: string
  readonly text: string
  /** The answer must be a result (an input the server must serve normally). */
  readonly result?: boolean
}

const nestObjects = (depth: number, leaf: string) => "{\"a\":".repeat(depth) + leaf + "}".repeat(depth)

/** `probe` is a method the era serves (ping is legacy only); `meta` goes first in every params object. */
const adversarial = (modern: boolean): Array<Adversarial> => {
  const probe = str(modern ? "server/discover" : "ping")
  const meta = modern ? `"_meta":${MODERN_META}` : ""
  const params = (...fields: Array<string>) => `{${[meta, ...fields].filter((f) => f !== "").join(",")}}`
  const rpc = (...fields: Array<string>) => `{${[`"jsonrpc":"2.0"`, ...fields].join(",")}}`
  /** A request of the probe method with id `id`, and `params` when given. */
  const call = (id: string, paramsText = params(), ...fields: Array<string>) =>
    rpc(`"id":${id}`, `"method":${probe}`, `"params":${paramsText}`, ...fields)
  const echo = (id: string, args: string) =>
    rpc(`"id":${id}`, `"method":"tools/call"`, `"params":${params(`"name":"echo"`, `"arguments":${args}`)}`)
  const note = (method: string, paramsText?: string) =>
    paramsText === undefined ? rpc(`"method":${str(method)}`) : rpc(`"method":${str(method)}`, `"params":${paramsText}`)
  const deep = nest(3000, "1")
  const poison = `{"toString":null,"valueOf":null}`
  const long = "x".repeat(100_000)
  const manyKeys = Array.from({ length: 10_000 }, (_, i) => `"k${i}":${i}`).join(",")
  const junkBatch = [
    call(`"b1"`),
    "1",
    `"x"`,
    "null",
    "{}",
    note("notifications/initialized"),
    `{"id":"b2"}`,
    `{"jsonrpc":"2.0","id":"b3","result":{}}`,
    echo(`"b4"`, `{"text":"b"}`),
    call("{}"),
    "[]"
  ]
  const notJson = [
    "",
    " ",
    "{",
    "}",
    "[",
    "\"",
    "-",
    "01",
    "1.",
    ".5",
    "+1",
    "tru",
    "0x10",
    "NaN",
    "undefined",
    `{"a" 1}`,
    "{'a':1}",
    "[1,]",
    `{"a":1,}`,
    "/* c */ {}",
    `"\\u12"`,
    `"\\x41"`,
    `"a\u0000b"`,
    "\ufeff{}"
  ]
  return [
    { label: "a plain request", text: call("1"), result: true },
    // Nesting 3000 levels deep in each part of a message, and far deeper.
    { label: "deep id", text: rpc(`"id":${deep}`, `"method":${probe}`) },
    { label: "deep method", text: rpc(`"id":7`, `"method":${nest(3000, `"ping"`)}`) },
    { label: "deep params (array)", text: call("7", deep) },
    { label: "deep params", text: call("7", params(`"a":${deep}`)) },
    { label: "deep params (objects)", text: call("7", params(`"a":${nestObjects(3000, "1")}`)) },
    { label: "deep params.arguments", text: echo("7", deep) },
    { label: "deep params.arguments.text", text: echo("7", `{"text":${nest(3000, `"x"`)}}`) },
    { label: "deep params, id last", text: rpc(`"method":${probe}`, `"params":${params(`"a":${deep}`)}`, `"id":"z"`) },
    { label: "deep params, string id", text: call(`"deep"`, params(`"a":${nest(3000, "{}")}`)) },
    { label: "deep extra field", text: call("7", params(), `"extra":${deep}`) },
    { label: "deep notification", text: note("notifications/initialized", params(`"a":${deep}`)) },
    { label: "deep response", text: rpc(`"id":7`, `"result":${deep}`) },
    { label: "deep error data", text: rpc(`"id":7`, `"error":{"code":1,"message":"x","data":${deep}}`) },
    { label: "deep, no jsonrpc", text: `{"id":7,"method":${probe},"params":${deep}}` },
    { label: "deep array", text: deep },
    { label: "deep object", text: nestObjects(3000, "1") },
    { label: "batch with a deep item", text: `[${nest(200, "{}")}]` },
    { label: "batch of a request and a deep request", text: `[${call("1")},${echo("2", deep)}]` },
    { label: "params 100,000 levels deep", text: call("7", params(`"a":${nest(100_000, "1")}`)) },
    { label: "objects 100,000 levels deep", text: nestObjects(100_000, "1") },
    { label: "unterminated deep array", text: "[".repeat(100_000) },
    { label: "at the depth limit (128)", text: call("7", params(`"a":${nest(MAX_DEPTH - 2, "1")}`)), result: true },
    { label: "one past the depth limit (129)", text: call("7", params(`"a":${nest(MAX_DEPTH - 1, "1")}`)) },
    // Ids of every JSON type.
    ...[
      "0",
      "-1",
      "1.5",
      "-0",
      "1e-400",
      "9007199254740993",
      "1.7976931348623157e308",
      `""`,
      `"\\u0000"`,
      `"\\ud800"`,
      `"😀"`,
      str(long)
    ].map((id) => ({ label: `id ${id.slice(0, 20)}`, text: call(id), result: true })),
    ...["null", "true", "false", "{}", "[]", "[1]", `{"id":1}`, "1e400", "-1e400", "123456789012345678901234567890e400"]
      .map((id) => ({ label: `id ${id}`, text: call(id) })),
    // The method, params and jsonrpc of the wrong type or value.
    ...["1", "null", "true", "[]", "{}", `["ping"]`, "1e400", str(long), `""`, `"\\ud800"`, `"ping\\u0000"`]
      .map((method) => ({ label: `method ${method.slice(0, 20)}`, text: rpc(`"id":3`, `"method":${method}`) })),
    ...["[]", "[1]", `"x"`, "1", "null", "true", "false"].map((p) => ({ label: `params ${p}`, text: call("4", p) })),
    { label: "no jsonrpc", text: `{"id":5,"method":${probe},"params":${params()}}` },
    ...[`"1.0"`, "2", "2.0", "null", `"2.0 "`, "{}"]
      .map((v) => ({ label: `jsonrpc ${v}`, text: `{"jsonrpc":${v},"id":5,"method":${probe},"params":${params()}}` })),
    { label: "extra fields", text: call("6", params(), `"extra":1`, `"__proto__":{"x":1}`, `"constructor":{"a":1}`) },
    { label: "duplicate ids", text: `{"jsonrpc":"2.0","id":1,"id":"second","method":${probe},"params":${params()}}` },
    { label: "duplicate methods", text: `{"jsonrpc":"2.0","id":8,"method":${probe},"method":1}` },
    { label: "request carrying a result", text: call("9", params(), `"result":{}`) },
    { label: "many keys", text: call("10", params(), manyKeys) },
    { label: "many keys in params", text: call("10", params(manyKeys)) },
    { label: "a 100 KB key", text: call("11", params(), `${str(long)}:1`) },
    { label: "echo of 100 KB", text: echo("12", `{"text":${str(long)}}`), result: true },
    { label: "echo of lone surrogates", text: echo("13", `{"text":"\\ud800\\udfff\\u0000\\uffff"}`), result: true },
    { label: "tools/call without a name", text: rpc(`"id":14`, `"method":"tools/call"`, `"params":${params()}`) },
    // Values that throw when turned into a string.
    ...[["tools/call", "name"], ["prompts/get", "name"], ["resources/read", "uri"], ["completion/complete", "ref"], [
      "logging/setLevel",
      "level"
    ]].map(([method, field]) => ({
      label: `${field} of ${method} ${poison}`,
      text: rpc(`"id":17`, `"method":${str(method!)}`, `"params":${params(`${str(field!)}:${poison}`)}`)
    })),
    { label: `method ${poison}`, text: rpc(`"id":17`, `"method":${poison}`, `"params":${params()}`) },
    { label: `method [${poison}]`, text: rpc(`"id":17`, `"method":[${poison}]`, `"params":${params()}`) },
    { label: `id ${poison}`, text: call(poison) },
    { label: `progressToken ${poison}`, text: call("18", `{"_meta":{"progressToken":${poison}}}`) },
    { label: `cancel of ${poison}`, text: note("notifications/cancelled", `{"requestId":${poison}}`) },
    // Not requests.
    ...["{}", "[]", "[[]]", "[{}]", "[1,2,3]", "1", `"x"`, "null", "true", "1e400", `""`]
      .map((text) => ({ label: `not a message ${text}`, text })),
    { label: "batch of junk", text: `[${junkBatch.join(",")}]` },
    { label: "batch with initialize", text: `[${rpc(`"id":"i1"`, `"method":"initialize"`)},${call(`"i2"`)}]` },
    { label: "batch of notifications", text: `[${note("notifications/initialized")}]` },
    { label: "notification", text: note("notifications/initialized") },
    { label: "unknown notification", text: note("nope/nope", "{}") },
    { label: "cancel with a junk id", text: note("notifications/cancelled", `{"requestId":{"a":[1]}}`) },
    { label: "cancel of nothing", text: note("notifications/cancelled", `{"requestId":7}`) },
    { label: "progress junk", text: note("notifications/progress", `{"progressToken":null,"progress":"x"}`) },
    { label: "notification with array params", text: note("notifications/initialized", "[]") },
    { label: "response to nothing", text: `{"jsonrpc":"2.0","id":"nobody","result":{}}` },
    { label: "error response with a bad error", text: `{"jsonrpc":"2.0","id":9,"error":"x"}` },
    { label: "error response with id null", text: `{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"x"}}` },
    { label: "response without id", text: `{"jsonrpc":"2.0","result":1}` },
    // Text that is not JSON.
    ...notJson.map((text) => ({ label: `not JSON ${str(text)}`, text })),
    { label: "truncated", text: call("1").slice(0, 30) },
    { label: "trailing garbage", text: call("1") + " x" },
    { label: "two messages", text: call("1") + call("2") },
    { label: "BOM", text: "\ufeff" + call("1") },
    { label: "NaN id", text: `{"jsonrpc":"2.0","id":NaN,"method":${probe}}` },
    { label: "raw NUL in method", text: `{"jsonrpc":"2.0","id":1,"method":"pi\u0000ng"}` },
    { label: "unterminated 100 KB string", text: `{"jsonrpc":"2.0","id":1,"method":"${long}` },
    { label: "binary-looking junk", text: "\u0000\u00ff\u00fe\u0080{\"" },
    { label: "pretty printed", text: JSON.stringify(JSON.parse(call("15")), null, 2), result: true },
    { label: "surrounded by whitespace", text: ` \t${call("16")}\t `, result: true }
  ]
}

// ---------------------------------------------------------------------------------------------------------------------
// What each input must get, from its text alone
// ---------------------------------------------------------------------------------------------------------------------

type RequestId = string | number

/** What one answer must look like. */
interface Shape {
  /** The ids it may carry. */
  readonly ids: ReadonlyArray<RequestId | null>
  readonly error: boolean
  /** When set, the error's code is one of these. */
  readonly codes?: ReadonlyArray<number>
  readonly result?: boolean
}

type Expect =
  | { readonly _tag: "One"; readonly shape: Shape }
  | { readonly _tag: "AtMostOne"; readonly shape: Shape }
  | { readonly _tag: "None" }
  | { readonly _tag: "Batch"; readonly items: ReadonlyArray<Expect> }

interface Input {
  readonly label: string
  readonly text: string
  readonly expect: Expect
  readonly adversarial: boolean
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)
const isId = (u: unknown): u is RequestId => typeof u === "string" || (typeof u === "number" && Number.isFinite(u))
const has = (o: object, key: string) => Object.prototype.hasOwnProperty.call(o, key)

/** Nesting depth (a scalar is 0, `[]` is 1), without recursion. */
const depthOf = (root: unknown): number => {
  let max = 0
  const stack: Array<[unknown, number]> = [[root, 0]]
  while (stack.length > 0) {
    const [value, above] = stack.pop()!
    if (typeof value !== "object" || value === null) continue
    const depth = above + 1
    if (depth > max) max = depth
    for (const child of Array.isArray(value) ? value : Object.values(value)) stack.push([child, depth])
  }
  return max
}

const shaped = (expect: Expect): expect is Extract<Expect, { readonly shape: Shape }> =>
  expect._tag === "One" || expect._tag === "AtMostOne"

const one = (ids: ReadonlyArray<RequestId | null>, error: boolean, codes?: ReadonlyArray<number>): Expect => ({
  _tag: "One",
  shape: codes === undefined ? { ids, error } : { ids, error, codes }
})

const expectationOfValue = (value: unknown): Expect => {
  if (!isRecord(value)) return one([null], true)
  const id = value.id
  // A response from the client: nothing to answer, except perhaps that it is malformed.
  if (!has(value, "method") && (has(value, "result") || has(value, "error"))) {
    return { _tag: "AtMostOne", shape: { ids: isId(id) ? [id, null] : [null], error: true } }
  }
  const invalid = value.jsonrpc !== "2.0" || typeof value.method !== "string" ||
    (has(value, "params") && !isRecord(value.params))
  if (has(value, "id")) return isId(id) ? one([id], invalid) : one([null], true)
  return invalid ? { _tag: "AtMostOne", shape: { ids: [null], error: true } } : { _tag: "None" }
}

/** `blankIgnored`: a line transport skips blank lines. */
const expectationOf = (text: string, blankIgnored: boolean): Expect => {
  if (blankIgnored && text.trim() === "") return { _tag: "None" }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return one([null], true, [PARSE_ERROR])
  }
  if (depthOf(json) > MAX_DEPTH) {
    const id = isRecord(json) && isId(json.id) ? json.id : null
    return one([id], true, [INVALID_REQUEST, PARSE_ERROR])
  }
  if (!Array.isArray(json)) return expectationOfValue(json)
  return json.length === 0 ? one([null], true) : { _tag: "Batch", items: json.map(expectationOfValue) }
}

const withResult = (expect: Expect): Expect =>
  expect._tag === "One" ? { _tag: "One", shape: { ...expect.shape, result: true } } : expect

/** The inputs for one transport: its random ones with the adversarial ones spread among them. */
const inputsFor = (transport: string, options: { readonly modern: boolean; readonly lines: boolean }): Array<Input> => {
  const rng = new Rng(SEED ^ hash(transport))
  const make = (label: string, text: string, adversarial: boolean, result = false): Input => {
    const expect = expectationOf(text, options.lines)
    return { label, text, adversarial, expect: result ? withResult(expect) : expect }
  }
  // A line transport cannot carry a line break inside a message.
  const fits = (text: string) => !options.lines || !/[\r\n]/.test(text)
  const fixed = adversarial(options.modern).filter((a) => fits(a.text))
  const random: Array<Input> = []
  while (random.length < RUNS) {
    const text = genInput(rng, options.modern)
    if (!fits(text)) continue
    const input = make(`random ${random.length}`, text, false)
    // Only the adversarial inputs may come near the depth limit, so no random one tests its exact boundary.
    if (input.expect._tag === "One" && input.expect.shape.codes?.includes(INVALID_REQUEST)) {
      throw new Error(`seed ${SEED}: random input ${random.length} is deeper than ${MAX_DEPTH} levels`)
    }
    random.push(input)
  }
  const inputs: Array<Input> = []
  const every = Math.max(1, Math.floor(random.length / fixed.length))
  for (let i = 0; i < random.length || fixed.length > 0; i++) {
    if (i % every === 0 && fixed.length > 0) {
      const next = fixed.shift()!
      inputs.push(make(next.label, next.text, true, next.result === true))
    }
    if (i < random.length) inputs.push(random[i]!)
  }
  return inputs
}

// ---------------------------------------------------------------------------------------------------------------------
// Judging answers
// ---------------------------------------------------------------------------------------------------------------------

const clip = (text: string, max = 200) =>
  text.length > max ? `${JSON.stringify(text.slice(0, max))}… (${text.length} chars)` : JSON.stringify(text)
const show = (u: unknown) => clip(typeof u === "string" ? u : JSON.stringify(u) ?? String(u))

/** What is wrong with one message the server sent, if anything. */
const malformed = (message: unknown): string | undefined => {
  if (Array.isArray(message)) {
    if (message.length === 0) return "an empty array"
    for (const item of message) {
      const wrong = Array.isArray(item) ? "a nested array" : malformed(item)
      if (wrong !== undefined) return `in a batch answer: ${wrong}`
    }
    return undefined
  }
  if (!isRecord(message)) return `not a JSON-RPC message: ${show(message)}`
  if (message.jsonrpc !== "2.0") return `jsonrpc is not "2.0": ${show(message)}`
  if (has(message, "method")) {
    return typeof message.method === "string" ? undefined : `a non-string method: ${show(message)}`
  }
  if (!has(message, "id") || !(message.id === null || isId(message.id))) {
    return `a response without a valid id: ${show(message)}`
  }
  if (has(message, "result") === has(message, "error")) return `not exactly one of result and error: ${show(message)}`
  if (has(message, "error")) {
    const error = message.error
    if (!isRecord(error) || !Number.isInteger(error.code) || typeof error.message !== "string") {
      return `a malformed error object: ${show(message)}`
    }
  } else if (message.id === null) {
    return `a result with id null: ${show(message)}`
  }
  return undefined
}

const isAnswer = (message: unknown): boolean => Array.isArray(message) || (isRecord(message) && !has(message, "method"))

const misfit = (answer: unknown, shape: Shape): string | undefined => {
  if (!isRecord(answer)) return `answered with ${show(answer)}`
  if (!shape.ids.some((id) => id === answer.id)) {
    return `answered with id ${show(answer.id)}, expected ${shape.ids.map((id) => JSON.stringify(id)).join(" or ")}`
  }
  const error = isRecord(answer.error) ? answer.error : undefined
  if (shape.error && error === undefined) return `answered with a result, expected an error: ${show(answer)}`
  if (shape.result === true && error !== undefined) return `answered with an error, expected a result: ${show(answer)}`
  if (error !== undefined && shape.codes !== undefined && !shape.codes.includes(error.code as number)) {
    return `answered with code ${String(error.code)}, expected ${shape.codes.join(" or ")}: ${show(answer)}`
  }
  return undefined
}

/** The problems with the answers an input got (every message but the liveness ping's answer and server messages). */
const judge = (expect: Expect, answers: ReadonlyArray<unknown>): Array<string> => {
  const problems: Array<string> = []
  switch (expect._tag) {
    case "None":
      if (answers.length > 0) problems.push(`a notification was answered: ${show(answers[0])}`)
      break
    case "One":
    case "AtMostOne": {
      if (answers.length === 0 && expect._tag === "One") problems.push("no answer")
      if (answers.length > 1) problems.push(`${answers.length} answers: ${answers.map(show).join(", ")}`)
      if (answers.length === 1) {
        const wrong = misfit(answers[0], expect.shape)
        if (wrong !== undefined) problems.push(wrong)
      }
      break
    }
    case "Batch": {
      const required = expect.items.some((item) => item._tag === "One")
      if (answers.length === 0 && required) problems.push("no answer to a batch with requests in it")
      if (answers.length > 1) problems.push(`${answers.length} answers to one batch: ${answers.map(show).join(", ")}`)
      if (answers.length !== 1) break
      const answer = answers[0]
      if (!Array.isArray(answer)) {
        // The batch refused as a whole (e.g. a protocol version without batches).
        const wrong = misfit(answer, { ids: [null], error: true })
        if (wrong !== undefined) problems.push(`a batch ${wrong}`)
        break
      }
      // Each id must be answered as often as requests carry it (at least) and messages may (at most).
      const ids = new Set<RequestId | null>([null])
      for (const item of expect.items) if (shaped(item)) item.shape.ids.forEach((id) => ids.add(id))
      for (const element of answer) {
        if (!isRecord(element) || !ids.has(element.id as RequestId | null)) {
          problems.push(`the batch answer has an element for no message in it: ${show(element)}`)
        }
      }
      for (const id of ids) {
        const carrying = expect.items.filter(shaped).filter((item) => item.shape.ids.includes(id))
        const min = carrying.filter((i) => i._tag === "One" && i.shape.ids.length === 1).length
        const got = answer.filter((element) => isRecord(element) && element.id === id)
        if (got.length < min || got.length > carrying.length) {
          const expected = min === carrying.length ? `${min}` : `${min} to ${carrying.length}`
          problems.push(`the batch answer has ${got.length} with id ${JSON.stringify(id)}, expected ${expected}`)
        }
        if (id !== null && carrying.length === 1 && got.length === 1) {
          const wrong = misfit(got[0], carrying[0]!.shape)
          if (wrong !== undefined) problems.push(`in the batch answer: ${wrong}`)
        }
      }
      break
    }
  }
  return problems
}

/**
 * Over HTTP any message may be refused with a 4xx status and a JSON-RPC error body (a header mismatch, a missing
 * session): for a notification that error, with id null, is the refusal of the POST rather than an answer.
 */
const refusable = (expect: Expect, delivery: Delivery): Expect =>
  expect._tag === "None" && delivery.status !== undefined && delivery.status >= 400 && delivery.status < 500
    ? { _tag: "AtMostOne", shape: { ids: [null], error: true } }
    : expect

/** Whether a stream message is the answer an input waits for. */
const awaits = (expect: Expect): ((message: unknown) => boolean) | undefined => {
  if (expect._tag === "One") {
    const ids = expect.shape.ids
    return (message) => isRecord(message) && !has(message, "method") && ids.some((id) => id === message.id)
  }
  if (expect._tag === "Batch" && expect.items.some((item) => item._tag === "One")) {
    return (message) => Array.isArray(message) || (isRecord(message) && !has(message, "method") && message.id === null)
  }
  return undefined
}

/** The readable id an input must be answered with, which a legacy peer must let the client reuse afterwards. */
const reusableId = (expect: Expect): RequestId | undefined => {
  if (expect._tag !== "One" || expect.shape.ids.length !== 1) return undefined
  return expect.shape.ids[0] ?? undefined
}

class Violations {
  readonly list: Array<string> = []

  constructor(readonly transport: string) {}

  add(index: number, input: Input, problem: string): void {
    this.list.push(`${this.transport} #${index} ${input.label}: ${clip(input.text)}: ${problem}`)
  }

  /** Ends the test: the peer no longer serves, or too many answers went missing to go on. */
  fatal(index: number, input: Input, problem: string): never {
    throw new Error(
      `seed ${SEED}: ${this.transport} stopped at #${index} ${input.label}: ${clip(input.text)}: ` +
        problem +
        (this.list.length > 0 ? `\nearlier violations:\n${this.list.slice(0, 20).join("\n")}` : "")
    )
  }

  assertNone(inputs: number): void {
    assert.strictEqual(
      this.list.length,
      0,
      `seed ${SEED} (FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS} reproduces): ` +
        `${this.list.length} violations in ${inputs} inputs ` +
        `over ${this.transport}:\n${this.list.slice(0, 40).join("\n")}${this.list.length > 40 ? "\n…" : ""}`
    )
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------------------------------------------

interface Delivery {
  /** Answers that came back with the request itself (an HTTP body). */
  readonly answers: Array<unknown>
  /** What was wrong with how the request was taken (status, body, a reset). */
  readonly problems: Array<string>
  readonly status?: number
  /** No response within WAIT_MS. */
  readonly timedOut?: boolean
}

const describeError = (error: unknown): string => {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error))
}

/**
 * POSTs one body: 200 with JSON-RPC (JSON or SSE), 202 with nothing (`acceptedBody` tolerates the old transport's
 * "Accepted"), or 4xx with a JSON-RPC error; anything else (500, a reset, a non-JSON body) is a problem.
 */
const postText = async (
  url: string,
  text: string,
  headers: Record<string, string>,
  acceptedBody = false
): Promise<Delivery> => {
  let status: number
  let type: string
  let body: string
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: { ...JSON_AND_SSE, ...headers },
      body: text,
      signal: AbortSignal.timeout(WAIT_MS)
    })
    status = res.status
    type = res.headers.get("content-type") ?? ""
    body = await res.text()
  } catch (error) {
    const timedOut = (error as Error).name === "TimeoutError"
    return { answers: [], problems: [`the HTTP request failed: ${describeError(error)}`], timedOut }
  }
  const problems: Array<string> = []
  const answers: Array<unknown> = []
  const parsed = (data: string): unknown => {
    try {
      return JSON.parse(data)
    } catch {
      problems.push(`status ${status} with a body that is not JSON: ${clip(data)}`)
      return undefined
    }
  }
  if (status === 202) {
    if (body !== "" && !acceptedBody) problems.push(`202 with a body: ${clip(body)}`)
  } else if (status === 200) {
    const frames = type.startsWith("text/event-stream")
      ? parseSse(body).map((event) => event.data)
      : body === ""
      ? []
      : [body]
    if (frames.length === 0) problems.push("200 without an answer")
    for (const frame of frames) {
      const message = parsed(frame)
      if (message === undefined) continue
      const wrong = malformed(message)
      if (wrong !== undefined) problems.push(`the server sent ${wrong}`)
      else if (isAnswer(message)) answers.push(message)
    }
  } else if (status >= 400 && status < 500) {
    const message = body === "" ? undefined : parsed(body)
    if (!isRecord(message) || !isRecord(message.error) || malformed(message) !== undefined) {
      problems.push(`status ${status} without a JSON-RPC error body: ${clip(body)}`)
    } else {
      answers.push(message)
    }
  } else {
    problems.push(`status ${status}: ${clip(body)}`)
  }
  return { answers, problems, status }
}

/** Base64 when a header could not carry the value as it is (SEP-2243). */
const headerValue = (value: string): string =>
  /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/.test(value)
    ? value
    : `=?base64?${Buffer.from(value).toString("base64")}?=`

/** The headers a modern request needs, from its body; `wrong` sends a method header that does not match. */
const modernHeadersOf = (text: string, wrong: boolean): Record<string, string> => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return modernHeaders("ping")
  }
  if (!isRecord(json) || typeof json.method !== "string" || json.method.length > 4096) return modernHeaders("x")
  const method = wrong ? `${json.method}x` : json.method
  const params = isRecord(json.params) ? json.params : {}
  const named = json.method === "resources/read" ? params.uri : params.name
  // A name of another type still gets a header, so the server compares the two.
  const name = typeof named === "string" && named.length <= 4096
    ? headerValue(named)
    : named === undefined
    ? undefined
    : "x"
  return modernHeaders(headerValue(method), name)
}

/**
 * Sends each input, then checks its answers and that the server still serves (`live`); `reuse` (legacy) sends a
 * ping with the id the input was answered with.
 */
const fuzzHttp = async (
  violations: Violations,
  inputs: ReadonlyArray<Input>,
  send: (input: Input, index: number) => Promise<Delivery>,
  live: (index: number) => Promise<string | undefined>,
  reuse?: (id: RequestId) => Promise<string | undefined>
) => {
  let missed = 0
  for (const [index, input] of inputs.entries()) {
    const delivery = await send(input, index)
    if (delivery.timedOut === true && ++missed >= MAX_MISSED) {
      violations.fatal(index, input, `${missed} responses missing, the last one here`)
    }
    const expect = refusable(input.expect, delivery)
    const problems = [...delivery.problems, ...judge(expect, delivery.answers)]
    for (const problem of problems) violations.add(index, input, problem)
    const dead = await live(index)
    if (dead !== undefined) violations.fatal(index, input, dead)
    const id = reusableId(input.expect)
    const sampled = input.adversarial || index % 4 === 0
    if (reuse !== undefined && id !== undefined && delivery.answers.length === 1 && sampled) {
      const refused = await reuse(id)
      if (refused !== undefined) violations.add(index, input, `reusing id ${clip(JSON.stringify(id), 40)}: ${refused}`)
    }
  }
}

/** What is wrong with a ping's answer, if anything. */
const pingProblem = (delivery: Delivery, id: RequestId): string | undefined => {
  if (delivery.problems.length > 0) return delivery.problems.join("; ")
  const answer = delivery.answers[0]
  if (delivery.status !== 200 || delivery.answers.length !== 1 || !isRecord(answer)) {
    return `ping answered ${String(delivery.status)} with ${show(delivery.answers)}`
  }
  return answer.id === id && isDeepStrictEqual(answer.result, {}) ? undefined : `ping answered ${show(answer)}`
}

// ---------------------------------------------------------------------------------------------------------------------
// Stream transports: WebSocket, HTTP+SSE, stdio
// ---------------------------------------------------------------------------------------------------------------------

/** Every message a peer received, in order, and waiting for one. */
class Frames {
  readonly texts: Array<string> = []
  readonly messages: Array<unknown> = []
  private gone: string | undefined = undefined
  private readonly changes = new EventEmitter()

  push(text: string): void {
    this.texts.push(text)
    let message: unknown
    try {
      message = JSON.parse(text)
    } catch {
      message = undefined
    }
    this.messages.push(message)
    this.changes.emit("change")
  }

  end(reason: string): void {
    this.gone ??= reason
    this.changes.emit("change")
  }

  get ended(): string | undefined {
    return this.gone
  }

  /** The index of the first message at or after `from` that `find` accepts. */
  waitFor(from: number, find: (message: unknown) => boolean, what: string, timeoutMs = WAIT_MS): Promise<number> {
    return waitFor(
      this.changes,
      "change",
      () => {
        for (let i = from; i < this.messages.length; i++) {
          if (find(this.messages[i])) return i
        }
        if (this.gone !== undefined) throw new Error(`${what}: the peer is gone (${this.gone})`)
        return undefined
      },
      what,
      { timeoutMs }
    )
  }
}

interface Peer {
  readonly frames: Frames
  readonly send: (text: string) => Promise<Delivery>
}

const ping = (id: RequestId) => JSON.stringify({ jsonrpc: "2.0", id, method: "ping" })
const isResponseTo = (id: RequestId) => (message: unknown) =>
  isRecord(message) && !has(message, "method") && message.id === id

/** Sends a ping and returns its answer's index, or a reason it got none; records what was wrong with the answer. */
const pingOver = async (
  peer: Peer,
  id: RequestId,
  from: number
): Promise<{ readonly at: number; readonly problem?: string } | string> => {
  const delivery = await peer.send(ping(id))
  if (delivery.problems.length > 0) return delivery.problems.join("; ")
  try {
    const at = await peer.frames.waitFor(from, isResponseTo(id), `the answer to ping ${clip(JSON.stringify(id), 40)}`)
    const answer = peer.frames.messages[at] as Record<string, unknown>
    return isDeepStrictEqual(answer.result, {}) ? { at } : { at, problem: `ping answered ${show(answer)}` }
  } catch (error) {
    return (error as Error).message
  }
}

/**
 * One input at a time: send it, wait for its answer if it needs one, then a ping with a fresh id, whose answer
 * closes the input's window; every other answer in the window is the input's. Legacy peers then get a ping reusing
 * the input's id.
 */
const fuzzStream = async (violations: Violations, peer: Peer, inputs: ReadonlyArray<Input>) => {
  let missed = 0
  for (const [index, input] of inputs.entries()) {
    const from = peer.frames.messages.length
    const delivery = await peer.send(input.text)
    for (const problem of delivery.problems) violations.add(index, input, problem)
    const wanted = awaits(input.expect)
    let answered = delivery.answers.length > 0
    if (!answered && wanted !== undefined) {
      try {
        await peer.frames.waitFor(from, wanted, "the answer")
        answered = true
      } catch (error) {
        if (peer.frames.ended !== undefined) violations.fatal(index, input, (error as Error).message)
        if (++missed >= MAX_MISSED) violations.fatal(index, input, `${missed} answers missing, the last one here`)
      }
    }
    const live = await pingOver(peer, `fuzz-ping-${index}`, from)
    if (typeof live === "string") violations.fatal(index, input, live)
    if (live.problem !== undefined) violations.add(index, input, live.problem)
    const answers = [...delivery.answers]
    for (let i = from; i < peer.frames.messages.length; i++) {
      if (i === live.at) continue
      const message = peer.frames.messages[i]
      const wrong = message === undefined
        ? `a frame that is not JSON: ${clip(peer.frames.texts[i]!)}`
        : malformed(message)
      if (wrong !== undefined) violations.add(index, input, `the server sent ${wrong}`)
      else if (isAnswer(message)) answers.push(message)
    }
    for (const problem of judge(refusable(input.expect, delivery), answers)) violations.add(index, input, problem)
    const id = reusableId(input.expect)
    if (id !== undefined && answered && (input.adversarial || index % 4 === 0)) {
      const again = await pingOver(peer, id, peer.frames.messages.length)
      const problem = typeof again === "string" ? again : again.problem
      if (problem !== undefined) violations.add(index, input, `reusing id ${clip(JSON.stringify(id), 40)}: ${problem}`)
    }
  }
}

const initialize = (id: string, protocolVersion: string) =>
  JSON.stringify({ ...initializeRequest(protocolVersion), id })
const initialized = JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" })

/** The legacy handshake over a stream peer. */
const handshake = async (peer: Peer, protocolVersion: string) => {
  const delivery = await peer.send(initialize("init", protocolVersion))
  assert.deepStrictEqual(delivery.problems, [])
  const at = await peer.frames.waitFor(0, isResponseTo("init"), "the answer to initialize")
  const answer = peer.frames.messages[at] as { result?: { protocolVersion?: string } }
  assert.strictEqual(answer.result?.protocolVersion, protocolVersion, show(answer))
  await peer.send(initialized)
}

// ---------------------------------------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------------------------------------

describe("fuzz: the JSON-RPC decoder over every transport", () => {
  it("Streamable HTTP, modern stateless POSTs", async () => {
    const { url } = await start()
    const violations = new Violations("http-modern")
    const inputs = inputsFor("http-modern", { modern: true, lines: false })
    const headerRng = new Rng(SEED ^ hash("http-modern headers"))
    await fuzzHttp(
      violations,
      inputs,
      (input) => postText(url, input.text, modernHeadersOf(input.text, !input.adversarial && headerRng.chance(0.1))),
      async (index) => {
        const id = `fuzz-live-${index}`
        const body = JSON.stringify({ jsonrpc: "2.0", id, method: "server/discover", params: { _meta: modernMeta } })
        const delivery = await postText(url, body, modernHeaders("server/discover"))
        const answer = delivery.answers[0]
        if (delivery.problems.length > 0) return delivery.problems.join("; ")
        return delivery.status === 200 && isRecord(answer) && answer.id === id && isRecord(answer.result)
          ? undefined
          : `server/discover answered ${String(delivery.status)} with ${show(delivery.answers)}`
      }
    )
    violations.assertNone(inputs.length)
  })

  it("Streamable HTTP, a legacy session (2025-03-26, batches allowed)", async () => {
    const { url } = await start()
    const sid = await session(url, "2025-03-26")
    const violations = new Violations("http-legacy")
    const inputs = inputsFor("http-legacy", { modern: false, lines: false })
    const headers = { "mcp-session-id": sid }
    const pingWith = async (id: RequestId) => pingProblem(await postText(url, ping(id), headers), id)
    await fuzzHttp(
      violations,
      inputs,
      (input) => postText(url, input.text, headers),
      (index) => pingWith(`fuzz-ping-${index}`),
      pingWith
    )
    violations.assertNone(inputs.length)
  })

  it("WebSocket (2025-03-26, batches allowed)", async () => {
    const { port } = await start()
    const socket = await openWebSocket(`ws://127.0.0.1:${port}/ws`)
    assert.strictEqual(socket.protocol, "mcp")
    const frames = new Frames()
    socket.on("message", (data, binary) => frames.push(binary ? "(a binary frame)" : data.toString()))
    socket.on("close", (code, reason) => frames.end(`closed with ${code} ${reason.toString()}`))
    const peer: Peer = {
      frames,
      send: (text) =>
        new Promise((resolve) =>
          socket.send(
            text,
            (error) => resolve({ answers: [], problems: error ? [`send failed: ${error.message}`] : [] })
          )
        )
    }
    await handshake(peer, "2025-03-26")
    const violations = new Violations("ws")
    const inputs = inputsFor("ws", { modern: false, lines: false })
    await fuzzStream(violations, peer, inputs)
    assert.strictEqual(socket.readyState, WebSocket.OPEN, `seed ${SEED}: the WebSocket is still open`)
    socket.close()
    violations.assertNone(inputs.length)
  })

  it("HTTP+SSE, the deprecated transport (2024-11-05)", async () => {
    const { port } = await start()
    const base = `http://127.0.0.1:${port}`
    const res = await fetch(`${base}/sse`, { headers: { accept: "text/event-stream" } })
    assert.strictEqual(res.status, 200)
    const frames = new Frames()
    const reader = res.body!.getReader()
    let endpoint: (path: string) => void = () => {}
    const announced = new Promise<string>((resolve) => {
      endpoint = resolve
    })
    void (async () => {
      const decoder = new TextDecoder()
      const parser = new SseParser()
      try {
        while (true) {
          const { done, value } = await reader.read()
          if (done) break
          for (const { data, event } of parser.push(decoder.decode(value, { stream: true }))) {
            if (event === "endpoint") endpoint(data)
            else if (event === "message") frames.push(data)
          }
        }
        frames.end("the SSE stream ended")
      } catch (error) {
        frames.end(`the SSE stream failed: ${describeError(error)}`)
      }
    })()
    const timeout = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error("no endpoint event within the wait")), WAIT_MS).unref()
    )
    const messages = new URL(await Promise.race([announced, timeout]), base).toString()
    const peer: Peer = { frames, send: (text) => postText(messages, text, {}, true) }
    await handshake(peer, "2024-11-05")
    const violations = new Violations("sse")
    const inputs = inputsFor("sse", { modern: false, lines: false })
    await fuzzStream(violations, peer, inputs)
    assert.strictEqual(frames.ended, undefined, `seed ${SEED}: the SSE stream is still open`)
    await reader.cancel()
    violations.assertNone(inputs.length)
  })

  it("stdio, a node dist/main.js --stdio child (2025-11-25)", async () => {
    assertBuilt()
    const server = spawnServer(["--stdio"])
    const frames = new Frames()
    let rest = ""
    server.child.stdout.on("data", (chunk: string) => {
      rest += chunk
      let newline: number
      while ((newline = rest.indexOf("\n")) !== -1) {
        frames.push(rest.slice(0, newline))
        rest = rest.slice(newline + 1)
      }
    })
    void server.exited.then(({ code, signal }) => frames.end(`the process exited (${code ?? signal})`))
    const peer: Peer = {
      frames,
      send: (text) => {
        server.sendRaw(text + "\n")
        return Promise.resolve({ answers: [], problems: [] })
      }
    }
    await handshake(peer, "2025-11-25")
    const violations = new Violations("stdio")
    const inputs = inputsFor("stdio", { modern: false, lines: true })
    await fuzzStream(violations, peer, inputs)
    assert.strictEqual(server.child.exitCode, null, `seed ${SEED}: the process is still running`)
    assert.strictEqual(server.child.signalCode, null, `seed ${SEED}: the process was not killed`)
    // Every line on stdout is a JSON-RPC message: nothing else may be written there.
    const stray = frames.texts.filter((_, i) => {
      const message = frames.messages[i]
      return message === undefined || malformed(message) !== undefined
    })
    assert.deepStrictEqual(stray.map((line) => clip(line)), [], `seed ${SEED}: lines on stdout that are not JSON-RPC`)
    assert.strictEqual(rest, "", `seed ${SEED}: stdout ends with a partial line`)
    violations.assertNone(inputs.length)
  })
})
