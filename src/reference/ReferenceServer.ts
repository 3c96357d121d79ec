/**
 * The built-in reference server that `node dist/main.js` serves: every server feature exercised, and a worked
 * example of the library (tools with and without structured output, a long-running tool with progress and
 * cancellation, every content type, resources and templates with completions, prompts, logging).
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer, Ref, Schema } from "effect"
import * as Content from "../server/Content.js"
import * as McpContext from "../server/McpContext.js"
import * as McpServer from "../server/McpServer.js"
import * as Prompt from "../server/Prompt.js"
import * as Resource from "../server/Resource.js"
import * as Tool from "../server/Tool.js"
import { VERSION } from "../Version.js"

/** A 1x1 transparent PNG. */
const PNG_BASE64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="

/** 10 ms of 8 kHz 8-bit mono silence, as WAV. */
const WAV_BASE64 = (() => {
  const samples = 80
  const buffer = Buffer.alloc(44 + samples, 0x80)
  buffer.write("RIFF", 0)
  buffer.writeUInt32LE(36 + samples, 4)
  buffer.write("WAVEfmt ", 8)
  buffer.writeUInt32LE(16, 16)
  buffer.writeUInt16LE(1, 20)
  buffer.writeUInt16LE(1, 22)
  buffer.writeUInt32LE(8000, 24)
  buffer.writeUInt32LE(8000, 28)
  buffer.writeUInt16LE(1, 32)
  buffer.writeUInt16LE(8, 34)
  buffer.write("data", 36)
  buffer.writeUInt32LE(samples, 40)
  return buffer.toString("base64")
})()

/**
 * An application service the reference tools depend on, to show handlers requiring the app's own services.
 *
 * @since 0.1.0
 * @category services
 */
export class Catalog extends Context.Tag("effect-mcp-server/reference/Catalog")<Catalog, {
  readonly item: (id: number) => Effect.Effect<{ readonly id: number; readonly name: string; readonly price: number }>
  readonly ids: ReadonlyArray<number>
}>() {
  static readonly layer = Layer.succeed(Catalog, {
    ids: Array.from({ length: 20 }, (_, i) => i + 1),
    item: (id: number) => Effect.succeed({ id, name: `Item ${id}`, price: Math.round(id * 250) / 100 })
  })
}

const Echo = Tool.make({
  name: "echo",
  title: "Echo",
  description: "Returns its text argument.",
  annotations: { readOnlyHint: true, openWorldHint: false },
  parameters: Schema.Struct({ text: Schema.String.annotations({ description: "The text to echo back" }) }),
  handler: ({ text }) => Effect.succeed(text)
})

const Add = Tool.make({
  name: "add",
  title: "Add two numbers",
  description: "Adds a and b; returns structured output.",
  annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  parameters: Schema.Struct({ a: Schema.Number, b: Schema.Number }),
  success: Schema.Struct({ sum: Schema.Number }),
  handler: ({ a, b }) => Effect.succeed({ sum: a + b })
})

const GetItem = Tool.make({
  name: "get_item",
  title: "Look up a catalog item",
  description: "Returns a catalog item by id (structured output; uses an application service).",
  annotations: { readOnlyHint: true },
  parameters: Schema.Struct({ id: Schema.Int.pipe(Schema.between(1, 20)) }),
  success: Schema.Struct({ id: Schema.Int, name: Schema.String, price: Schema.Number }),
  handler: ({ id }) => Effect.flatMap(Catalog, (catalog) => catalog.item(id))
})

const LongRunning = Tool.make({
  name: "long_running_operation",
  title: "Long-running operation",
  description: "Works for `steps` steps of `stepMs` ms each, reporting progress; honours cancellation.",
  parameters: Schema.Struct({
    steps: Schema.optionalWith(Schema.Int.pipe(Schema.between(1, 1000)), { default: () => 5 }),
    stepMs: Schema.optionalWith(Schema.Int.pipe(Schema.between(0, 600_000)), { default: () => 1000 })
  }),
  handler: ({ stepMs, steps }) =>
    Effect.gen(function*() {
      for (let step = 1; step <= steps; step++) {
        yield* Effect.sleep(stepMs)
        yield* McpContext.progress(step, { total: steps, message: `step ${step} of ${steps}` })
      }
      return `Finished ${steps} steps`
    }).pipe(
      Effect.onInterrupt(() =>
        Effect.logInfo("long_running_operation interrupted; finalizer ran").pipe(
          Effect.annotateLogs({ event: "long_running_operation.interrupted" })
        )
      )
    )
})

const LogLevelParam = Schema.Literal("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency")

const Log = Tool.make({
  name: "log",
  title: "Log a message",
  description: "Sends a log message to the client at the given level (if the client asked for that level).",
  parameters: Schema.Struct({
    level: Schema.optionalWith(LogLevelParam, { default: () => "info" as const }),
    message: Schema.String
  }),
  handler: ({ level, message }) =>
    Effect.as(McpContext.log(level, { message }, "reference"), `Logged at ${level}: ${message}`)
})

class Refused extends Schema.TaggedError<Refused>()("Refused", { message: Schema.String }) {}

const Fail = Tool.make({
  name: "fail",
  title: "Fail",
  description: "Always fails with a tool error (isError: true).",
  parameters: Schema.Struct({ reason: Schema.optionalWith(Schema.String, { default: () => "as requested" }) }),
  handler: ({ reason }) => Effect.fail(new Refused({ message: `Refused: ${reason}` }))
})

const Image = Tool.make({
  name: "get_image",
  title: "Image content",
  description: "Returns a tiny PNG image.",
  handler: () => Effect.succeed([Content.text("A 1x1 PNG:"), Content.image(PNG_BASE64, "image/png")])
})

const Audio = Tool.make({
  name: "get_audio",
  title: "Audio content",
  description: "Returns a short WAV clip of silence.",
  handler: () => Effect.succeed(Content.audio(WAV_BASE64, "audio/wav"))
})

const Link = Tool.make({
  name: "get_resource_link",
  title: "Resource link",
  description: "Returns a link to the info resource.",
  handler: () =>
    Effect.succeed(
      Content.resourceLink({ uri: "reference://info", name: "info", mimeType: "text/plain", title: "Server info" })
    )
})

const Embedded = Tool.make({
  name: "get_embedded_resource",
  title: "Embedded resource",
  description: "Returns the info resource embedded in the result.",
  handler: () =>
    Effect.succeed(Content.embeddedResource(Content.textContents("reference://info", infoText, "text/plain")))
})

const infoText = `effect-mcp-server reference server ${VERSION}`

const Info = Resource.make({
  uri: "reference://info",
  name: "info",
  title: "Server info",
  description: "Plain text about this server.",
  mimeType: "text/plain",
  read: Effect.succeed(infoText)
})

const ConfigResource = Resource.make({
  uri: "reference://config.json",
  name: "config",
  title: "Configuration",
  description: "A JSON document.",
  mimeType: "application/json",
  read: Effect.succeed(JSON.stringify({ name: "effect-mcp-server", version: VERSION }))
})

const Logo = Resource.make({
  uri: "reference://logo.png",
  name: "logo",
  title: "Logo",
  description: "A binary (blob) resource.",
  mimeType: "image/png",
  read: Effect.succeed(Buffer.from(PNG_BASE64, "base64"))
})

const Items = Resource.template({
  uriTemplate: "reference://items/{id}",
  name: "item",
  title: "Catalog item",
  description: "A catalog item as JSON; id is 1 to 20.",
  mimeType: "application/json",
  params: Schema.Struct({ id: Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 20)) }),
  completions: {
    id: (value) => Effect.map(Catalog, (catalog) => catalog.ids.map(String).filter((id) => id.startsWith(value)))
  },
  read: ({ id }) => Effect.map(Effect.flatMap(Catalog, (catalog) => catalog.item(id)), (item) => JSON.stringify(item))
})

const styles = ["formal", "casual", "pirate"] as const

const Greeting = Prompt.make({
  name: "greeting",
  title: "Greeting",
  description: "Greets someone in a chosen style.",
  arguments: Schema.Struct({
    name: Schema.String.annotations({ description: "Who to greet" }),
    style: Schema.optional(Schema.Literal(...styles).annotations({ description: "formal, casual or pirate" }))
  }),
  completions: {
    style: (value) => Effect.succeed(styles.filter((style) => style.startsWith(value)))
  },
  content: ({ name, style }) => Effect.succeed(`Write a ${style ?? "casual"} greeting for ${name}.`)
})

const languages = ["go", "haskell", "javascript", "python", "rust", "typescript"] as const

const CodeReview = Prompt.make({
  name: "code_review",
  title: "Code review",
  description: "Asks for a review of a piece of code.",
  arguments: Schema.Struct({
    code: Schema.String.annotations({ description: "The code to review" }),
    language: Schema.String.annotations({ description: "Its language" })
  }),
  completions: {
    language: (value) => Effect.succeed(languages.filter((language) => language.startsWith(value)))
  },
  content: ({ code, language }) =>
    Effect.succeed([
      { role: "user" as const, content: { type: "text" as const, text: `Please review this ${language} code:` } },
      { role: "user" as const, content: { type: "text" as const, text: code } }
    ])
})

// -- asking the client --------------------------------------------------------------------------------------------

const Summarize = Tool.make({
  name: "summarize",
  title: "Summarize",
  description: "Asks the client's LLM to summarize the text (sampling; needs the client's sampling capability).",
  parameters: Schema.Struct({ text: Schema.String }),
  handler: ({ text }) =>
    Effect.map(
      McpContext.sample({
        messages: [{ role: "user", content: { type: "text", text: `Summarize in one sentence:\n\n${text}` } }],
        maxTokens: 200
      }),
      (result) => `Summary: ${McpContext.sampledText(result)}`
    )
})

const Confirm = Tool.make({
  name: "confirm_action",
  title: "Confirm an action",
  description:
    "Asks the user to confirm an action (elicitation, form mode; needs the client's elicitation capability).",
  parameters: Schema.Struct({ action: Schema.String }),
  handler: ({ action }) =>
    Effect.map(
      McpContext.elicit({
        message: `Do you want to ${action}?`,
        requestedSchema: {
          type: "object",
          properties: { confirm: { type: "boolean", title: "Confirm", default: false } },
          required: ["confirm"]
        }
      }),
      (result) =>
        result.action === "accept" && result.content?.confirm === true
          ? `Confirmed: ${action}`
          : `Not confirmed (${result.action}): ${action}`
    )
})

const Roots = Tool.make({
  name: "list_roots",
  title: "List roots",
  description: "Lists the client's roots (needs the client's roots capability).",
  handler: () =>
    Effect.map(
      McpContext.listRoots,
      (result) => result.roots.length === 0 ? "No roots" : result.roots.map((root) => root.uri).join("\n")
    )
})

// -- changes while serving -------------------------------------------------------------------------------------------

/**
 * A counter the `increment` tool bumps; its resource's subscribers hear `notifications/resources/updated`.
 *
 * @since 0.1.0
 * @category services
 */
export class Counter extends Context.Tag("effect-mcp-server/reference/Counter")<Counter, Ref.Ref<number>>() {
  static readonly layer = Layer.effect(Counter, Ref.make(0))
}

const COUNTER_URI = "reference://counter"

const CounterResource = Resource.make({
  uri: COUNTER_URI,
  name: "counter",
  title: "Counter",
  description: "The counter that the increment tool bumps; subscribe to hear when it changes.",
  mimeType: "text/plain",
  read: Effect.flatMap(Counter, (counter) => Effect.map(Ref.get(counter), String))
})

const Increment = Tool.make({
  name: "increment",
  title: "Increment",
  description: "Adds one to the counter resource and notifies its subscribers.",
  handler: () =>
    Effect.gen(function*() {
      const counter = yield* Counter
      const value = yield* Ref.updateAndGet(counter, (n) => n + 1)
      yield* McpServer.resourceUpdated(COUNTER_URI)
      return `Counter: ${value}`
    })
})

const Extra = Tool.make({
  name: "extra",
  description: "A tool that toggle_extra_tool adds and removes while the server runs.",
  handler: () => Effect.succeed("The extra tool is here")
})

const ToggleExtra = Tool.make({
  name: "toggle_extra_tool",
  title: "Toggle the extra tool",
  description: "Adds the tool `extra`, or removes it if present: clients hear notifications/tools/list_changed.",
  handler: () =>
    Effect.gen(function*() {
      if (yield* McpServer.removeTool("extra")) return "Removed the extra tool"
      yield* McpServer.putTool(Extra)
      return "Added the extra tool"
    })
})

/**
 * Every feature of the reference server, needing `McpServer` and `Catalog`.
 *
 * @since 0.1.0
 * @category layers
 */
export const features = Layer.mergeAll(
  McpServer.tool(Echo),
  McpServer.tool(Add),
  McpServer.tool(GetItem),
  McpServer.tool(LongRunning),
  McpServer.tool(Log),
  McpServer.tool(Fail),
  McpServer.tool(Image),
  McpServer.tool(Audio),
  McpServer.tool(Link),
  McpServer.tool(Embedded),
  McpServer.tool(Summarize),
  McpServer.tool(Confirm),
  McpServer.tool(Roots),
  McpServer.tool(Increment),
  McpServer.tool(ToggleExtra),
  McpServer.resource(CounterResource),
  McpServer.resource(Info),
  McpServer.resource(ConfigResource),
  McpServer.resource(Logo),
  McpServer.resourceTemplate(Items),
  McpServer.prompt(Greeting),
  McpServer.prompt(CodeReview)
).pipe(Layer.provide(Layer.merge(Catalog.layer, Counter.layer)))

/**
 * @since 0.1.0
 * @category constants
 */
export const info = {
  name: "effect-mcp-server-reference",
  version: VERSION,
  title: "effect-mcp-server reference server",
  instructions: "A reference server: every tool, resource and prompt demonstrates one MCP feature."
} as const

/**
 * The reference server with its options read from Config (see `McpServer.layerConfig`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<McpServer.McpServer> = features.pipe(
  Layer.provideMerge(McpServer.layerConfig(info))
)
