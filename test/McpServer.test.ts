/**
 * The McpServer service through its own API (no connection, no dispatcher): options and their defaults from
 * Settings, `layerConfig` reading Settings through a ConfigProvider, the registry (registration layers, duplicates as
 * defects at layer build, put/remove while serving, the synchronous mirror), list_changed and resources/updated
 * signalled through the Hub, capabilities, services captured at registration, and the interceptor list.
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, ConfigProvider, Context, Duration, Effect, Exit, Layer, Option, Ref, Schema } from "effect"
import {
  ClientRequests,
  Interceptor,
  McpContext,
  McpServer,
  Notifications,
  Prompt,
  Resource,
  Settings,
  Tool
} from "../src/index.js"

type Server = McpServer.McpServer["Type"]

/** Builds a layer into the test's Scope and returns the server it provides. */
const build = <E>(layer: Layer.Layer<McpServer.McpServer, E>) =>
  Effect.map(Layer.build(layer), Context.get(McpServer.McpServer))

const base = { name: "test-server", version: "1.0.0" } as const

const toolNamed = (name: string, reply = name) => Tool.make({ name, handler: () => Effect.succeed(reply) })
const resourceAt = (uri: string) => Resource.make({ uri, name: uri, read: Effect.succeed(uri) })
const templateOf = (uriTemplate: string, name = uriTemplate) =>
  Resource.template({ uriTemplate, name, read: () => Effect.succeed("row") })
const promptNamed = (name: string, description?: string) =>
  Prompt.make({ name, ...(description === undefined ? {} : { description }), content: () => Effect.succeed("hi") })

/** A subscriber to every list kind, added to the server's hub. */
const listen = (server: Server) => {
  const subscriber = new Notifications.Subscriber(Notifications.ALL_LISTS, () => {})
  server.notifications.add(subscriber)
  return subscriber
}

/** The methods of the notifications pending for `subscriber`, taking them. */
const methods = (subscriber: Notifications.Subscriber) =>
  subscriber.take().map((frame) => JSON.parse(frame).method as string)

/** Runs a registered handler's effect with the services captured at registration and an empty McpContext. */
const withCaptured = <A, E>(effect: Effect.Effect<A, E, any>, context: Context.Context<never> | undefined) =>
  effect.pipe(
    Effect.provide(context ?? Context.empty()),
    Effect.provideService(McpContext.McpContext, {} as McpContext.McpContext["Type"])
  ) as Effect.Effect<A, E>

const configured = (entries: ReadonlyArray<readonly [string, string]>, options: McpServer.Options = base) =>
  McpServer.layerConfig(options).pipe(Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(entries)))))

describe("options and defaults", () => {
  it.scoped("a server given only its name and version takes every default from Settings", () =>
    Effect.gen(function*() {
      const server = yield* build(McpServer.layer(base))
      assert.deepStrictEqual(server.info, { name: "test-server", version: "1.0.0" })
      assert.isUndefined(server.instructions)
      assert.strictEqual(server.pageSize, Settings.pageSize.default)
      assert.strictEqual(server.pageSize, 100)
      assert.strictEqual(server.requestTimeoutMillis, Settings.requestTimeoutMs.default)
      assert.strictEqual(server.cacheTtlMs, Settings.cacheTtlMs.default)
      assert.strictEqual(server.clientRequestTimeoutMillis, Settings.clientRequestTimeoutMs.default)
      assert.strictEqual(server.cacheScope, "public")
      assert.isUndefined(server.handlers)
      assert.strictEqual(server.deadlines.size(), 0)
      assert.strictEqual(server.notifications.size, 0)
      const registry = server.currentRegistry()
      assert.deepStrictEqual(
        [registry.tools.size, registry.resources.size, registry.templates.length, registry.prompts.size],
        [0, 0, 0, 0]
      )
    }))

  it.scoped("options are taken, durations converted to milliseconds, and out-of-range numbers clamped", () =>
    Effect.gen(function*() {
      const server = yield* build(McpServer.layer({
        ...base,
        title: "Test Server",
        instructions: "Be nice.",
        pageSize: 0,
        requestTimeout: "2 seconds",
        cacheTtlMs: -5,
        cacheScope: "private",
        clientRequestTimeout: Duration.minutes(1)
      }))
      assert.deepStrictEqual(server.info, { name: "test-server", version: "1.0.0", title: "Test Server" })
      assert.strictEqual(server.instructions, "Be nice.")
      assert.strictEqual(server.pageSize, 1)
      assert.strictEqual(server.requestTimeoutMillis, 2000)
      assert.strictEqual(server.cacheTtlMs, 0)
      assert.strictEqual(server.cacheScope, "private")
      assert.strictEqual(server.clientRequestTimeoutMillis, 60_000)
    }))

  it.scoped("capabilities: tools, resources (subscribe), prompts with listChanged, completions and logging", () =>
    Effect.gen(function*() {
      const expected = {
        tools: { listChanged: true },
        resources: { subscribe: true, listChanged: true },
        prompts: { listChanged: true },
        completions: {},
        logging: {}
      }
      const empty = yield* build(McpServer.layer(base))
      assert.deepStrictEqual(empty.capabilities, expected)
      // The same with features registered, and after changes while serving: they are declared up front, since
      // anything may be added later.
      const full = yield* build(
        McpServer.tool(toolNamed("t")).pipe(Layer.provideMerge(McpServer.layer(base)))
      )
      yield* full.putPrompt(promptNamed("p"))
      assert.deepStrictEqual(full.capabilities, expected)
    }))
})

describe("layerConfig", () => {
  it.scoped("reads page size and timeouts from the configuration, over the options", () =>
    Effect.gen(function*() {
      const server = yield* build(configured([
        ["MCP_PAGE_SIZE", "7"],
        ["MCP_REQUEST_TIMEOUT_MS", "1500"],
        ["MCP_CACHE_TTL_MS", "0"],
        ["MCP_CLIENT_REQUEST_TIMEOUT_MS", "2500"]
      ], { ...base, pageSize: 50, requestTimeout: "9 seconds", cacheTtlMs: 10, clientRequestTimeout: "9 seconds" }))
      assert.strictEqual(server.pageSize, 7)
      assert.strictEqual(server.requestTimeoutMillis, 1500)
      assert.strictEqual(server.cacheTtlMs, 0)
      assert.strictEqual(server.clientRequestTimeoutMillis, 2500)
    }))

  it.scoped("a setting absent from the configuration falls back to the options, then to the default", () =>
    Effect.gen(function*() {
      const server = yield* build(configured([["MCP_CACHE_TTL_MS", "5"]], { ...base, pageSize: 50 }))
      assert.strictEqual(server.pageSize, 50)
      assert.strictEqual(server.cacheTtlMs, 5)
      assert.strictEqual(server.requestTimeoutMillis, Settings.requestTimeoutMs.default)
      assert.strictEqual(server.clientRequestTimeoutMillis, Settings.clientRequestTimeoutMs.default)
      assert.deepStrictEqual(server.info, { name: "test-server", version: "1.0.0" })
    }))

  it.scoped("an invalid value is a defect when the layer is built, naming the variable, the range and the value", () =>
    Effect.gen(function*() {
      for (
        const [key, value, message] of [
          ["MCP_PAGE_SIZE", "0", "MCP_PAGE_SIZE: expected an integer of at least 1, got \"0\""],
          ["MCP_PAGE_SIZE", "abc", "MCP_PAGE_SIZE: expected an integer of at least 1, got \"abc\""],
          [
            "MCP_REQUEST_TIMEOUT_MS",
            "soon",
            "MCP_REQUEST_TIMEOUT_MS: expected a number of milliseconds, an integer from 0 to 2147483647, got \"soon\""
          ],
          [
            "MCP_CACHE_TTL_MS",
            "1.5",
            "MCP_CACHE_TTL_MS: expected a number of milliseconds, an integer from 0 to 2147483647, got \"1.5\""
          ]
        ] as const
      ) {
        const exit = yield* Effect.exit(build(configured([[key, value]])))
        assert.isTrue(Exit.isFailure(exit), key)
        const defect = Cause.dieOption((exit as Exit.Failure<unknown, unknown>).cause)
        assert.isTrue(Option.isSome(defect), key)
        assert.strictEqual((Option.getOrThrow(defect) as Error).message, message)
        assert.include(String(Option.getOrThrow(defect)), key)
      }
    }))

  it.scoped("MCP_REQUEST_STATE_KEY keys the request-state codec: servers sharing it accept each other's states", () =>
    Effect.gen(function*() {
      const a = yield* build(configured([["MCP_REQUEST_STATE_KEY", "shared secret"]]))
      const b = yield* build(configured([["MCP_REQUEST_STATE_KEY", "shared secret"]]))
      const other = yield* build(configured([["MCP_REQUEST_STATE_KEY", "another secret"]]))
      const expected = { method: "tools/call", digest: "d", principal: null }
      const signed = () => a.requestState.sign({ m: "tools/call", d: "d", p: null, r: {} }, 0)
      const state = signed()
      assert.isTrue((yield* b.requestState.verify(state, expected, 1)).ok)
      // One NonceStore per process by default: a state used on b is a replay on a.
      assert.deepStrictEqual(yield* a.requestState.verify(state, expected, 1), { ok: false, reason: "already used" })
      assert.deepStrictEqual(yield* other.requestState.verify(signed(), expected, 1), { ok: false, reason: "tampered" })
    }))

  it.scoped("the NonceStore is a seam: a provided store is the one states are claimed in", () =>
    Effect.gen(function*() {
      const claimed: Array<string> = []
      const memory = ClientRequests.makeMemoryNonces()
      const store: ClientRequests.NonceStore = {
        claim: (nonce, expiry, now) => Effect.tap(memory.claim(nonce, expiry, now), () => claimed.push(nonce))
      }
      const server = yield* build(McpServer.layer(base).pipe(Layer.provide(ClientRequests.layerNonces(store))))
      const expected = { method: "tools/call", digest: "d", principal: null }
      const state = server.requestState.sign({ m: "tools/call", d: "d", p: null, r: {} }, 0)
      assert.isTrue((yield* server.requestState.verify(state, expected, 1)).ok)
      assert.deepStrictEqual(yield* server.requestState.verify(state, expected, 1), {
        ok: false,
        reason: "already used"
      })
      assert.strictEqual(claimed.length, 2)
      // Refused before the store is asked: nothing claimed for a tampered state or another principal's.
      // One character of the signature changed (its middle: the last character of base64url carries spare bits).
      const at = state.lastIndexOf(".") + 10
      const tampered = state.slice(0, at) + (state[at] === "A" ? "B" : "A") + state.slice(at + 1)
      assert.deepStrictEqual(yield* server.requestState.verify(tampered, expected, 1), {
        ok: false,
        reason: "tampered"
      })
      yield* server.requestState.verify(state, { ...expected, principal: "mallory" }, 1)
      assert.strictEqual(claimed.length, 2)
    }))
})

describe("the registry", () => {
  it.scoped("registration layers add tools, resources, templates and prompts in order; the mirror is the Ref", () =>
    Effect.gen(function*() {
      const server = yield* build(
        Layer.mergeAll(
          McpServer.tool(toolNamed("b")),
          McpServer.tool(toolNamed("a")),
          McpServer.resource(resourceAt("test://doc")),
          McpServer.resourceTemplate(templateOf("test://rows/{n}")),
          McpServer.resourceTemplate(templateOf("test://cols/{n}")),
          McpServer.prompt(promptNamed("hello"))
        ).pipe(Layer.provideMerge(McpServer.layer(base)))
      )
      const registry = server.currentRegistry()
      assert.deepStrictEqual([...registry.tools.keys()], ["b", "a"])
      assert.deepStrictEqual([...registry.resources.keys()], ["test://doc"])
      assert.deepStrictEqual(registry.templates.map((t) => t.definition.uriTemplate), [
        "test://rows/{n}",
        "test://cols/{n}"
      ])
      assert.deepStrictEqual([...registry.prompts.keys()], ["hello"])
      assert.strictEqual(yield* Ref.get(server.registry), registry)
    }))

  const duplicates = [
    ["tool", McpServer.tool(toolNamed("x")), McpServer.tool(toolNamed("x", "other")), "Duplicate tool: x"],
    [
      "resource",
      McpServer.resource(resourceAt("test://x")),
      McpServer.resource(resourceAt("test://x")),
      "Duplicate resource: test://x"
    ],
    [
      "resource template",
      McpServer.resourceTemplate(templateOf("test://x/{n}", "one")),
      McpServer.resourceTemplate(templateOf("test://x/{n}", "two")),
      "Duplicate resource template: test://x/{n}"
    ],
    ["prompt", McpServer.prompt(promptNamed("x")), McpServer.prompt(promptNamed("x")), "Duplicate prompt: x"]
  ] as const
  for (const [what, first, second, message] of duplicates) {
    it.scoped(`a duplicate ${what} is a defect when the layers are built`, () =>
      Effect.gen(function*() {
        const exit = yield* Effect.exit(
          build(Layer.mergeAll(first, second).pipe(Layer.provideMerge(McpServer.layer(base))))
        )
        assert.isTrue(Exit.isFailure(exit))
        const cause = (exit as Exit.Failure<unknown, unknown>).cause
        assert.isTrue(Option.isNone(Cause.failureOption(cause)))
        const defect = Option.getOrThrow(Cause.dieOption(cause))
        assert.instanceOf(defect, Error)
        assert.strictEqual((defect as Error).message, message)
      }))
  }

  it.scoped("a tool with an invalid name made in a layer is a defect when the layers are built, as a duplicate", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(
        build(
          Layer.suspend(() => McpServer.tool(toolNamed("bad name with spaces!"))).pipe(
            Layer.provideMerge(McpServer.layer(base))
          )
        )
      )
      assert.isTrue(Exit.isFailure(exit))
      const cause = (exit as Exit.Failure<unknown, unknown>).cause
      assert.isTrue(Option.isNone(Cause.failureOption(cause)))
      const defect = Option.getOrThrow(Cause.dieOption(cause))
      assert.instanceOf(defect, Error)
      assert.strictEqual(
        (defect as Error).message,
        "Tool \"bad name with spaces!\": invalid name: a tool name must be 1 to 128 characters, each an ASCII letter, " +
          "a digit, \"_\", \"-\" or \".\" (MCP 2025-11-25, \"Tool names\")"
      )
    }))

  it.scoped("the add methods refuse a duplicate even after puts, and leave the registry as it was", () =>
    Effect.gen(function*() {
      const server = yield* build(McpServer.layer(base))
      yield* server.putTool(toolNamed("x"))
      const before = server.currentRegistry()
      const exit = yield* Effect.exit(server.addTool(toolNamed("x")))
      assert.isTrue(Exit.isFailure(exit) && Option.isSome(Cause.dieOption(exit.cause)))
      assert.strictEqual(server.currentRegistry(), before)
      assert.strictEqual(yield* Ref.get(server.registry), before)
    }))

  it.scoped("putTool adds or replaces, removeTool says whether there was one; each change signals tools", () =>
    Effect.gen(function*() {
      const server = yield* build(McpServer.tool(toolNamed("a")).pipe(Layer.provideMerge(McpServer.layer(base))))
      const subscriber = listen(server)
      yield* server.putTool(toolNamed("b"))
      assert.deepStrictEqual(methods(subscriber), ["notifications/tools/list_changed"])
      assert.deepStrictEqual([...server.currentRegistry().tools.keys()], ["a", "b"])
      const replacement = toolNamed("a", "replaced")
      yield* server.putTool(replacement)
      assert.deepStrictEqual(methods(subscriber), ["notifications/tools/list_changed"])
      // Replaced in place: same order, the new definition.
      assert.deepStrictEqual([...server.currentRegistry().tools.keys()], ["a", "b"])
      assert.strictEqual(server.currentRegistry().tools.get("a"), replacement)
      assert.isTrue(yield* server.removeTool("a"))
      assert.deepStrictEqual(methods(subscriber), ["notifications/tools/list_changed"])
      assert.deepStrictEqual([...server.currentRegistry().tools.keys()], ["b"])
      const unchanged = server.currentRegistry()
      assert.isFalse(yield* server.removeTool("a"))
      assert.strictEqual(server.currentRegistry(), unchanged)
      assert.strictEqual(yield* Ref.get(server.registry), unchanged)
    }))

  it.scoped("removing what is not there changes nothing and tells nobody", () =>
    Effect.gen(function*() {
      const server = yield* build(McpServer.layer(base))
      const subscriber = listen(server)
      assert.isFalse(yield* server.removeTool("never-registered"))
      assert.isFalse(yield* server.removePrompt("nope"))
      assert.isFalse(yield* server.removeResource("test://nope"))
      assert.isFalse(yield* server.removeResourceTemplate("nope/{x}"))
      assert.deepStrictEqual(methods(subscriber), [])
    }))

  it.scoped("resources, templates and prompts: put replaces by URI / URI template / name; each signals its kind", () =>
    Effect.gen(function*() {
      const server = yield* build(McpServer.layer(base))
      const subscriber = listen(server)
      yield* server.putResource(resourceAt("test://doc"))
      assert.deepStrictEqual(methods(subscriber), ["notifications/resources/list_changed"])
      yield* server.putResourceTemplate(templateOf("test://rows/{n}", "first"))
      yield* server.putResourceTemplate(templateOf("test://cols/{n}"))
      yield* server.putResourceTemplate(templateOf("test://rows/{n}", "second"))
      assert.deepStrictEqual(methods(subscriber), ["notifications/resources/list_changed"])
      const templates = server.currentRegistry().templates
      // Replaced in place: the listing keeps its order.
      assert.deepStrictEqual(templates.map((t) => [t.definition.uriTemplate, t.definition.name]), [
        ["test://rows/{n}", "second"],
        ["test://cols/{n}", templates[1]!.definition.name]
      ])
      yield* server.putPrompt(promptNamed("hello", "one"))
      yield* server.putPrompt(promptNamed("hello", "two"))
      assert.deepStrictEqual(methods(subscriber), ["notifications/prompts/list_changed"])
      assert.strictEqual(server.currentRegistry().prompts.get("hello")?.definition.description, "two")

      assert.isTrue(yield* server.removeResource("test://doc"))
      assert.deepStrictEqual(methods(subscriber), ["notifications/resources/list_changed"])
      assert.isTrue(yield* server.removeResourceTemplate("test://rows/{n}"))
      assert.deepStrictEqual(methods(subscriber), ["notifications/resources/list_changed"])
      assert.isTrue(yield* server.removePrompt("hello"))
      assert.deepStrictEqual(methods(subscriber), ["notifications/prompts/list_changed"])
      const registry = server.currentRegistry()
      assert.strictEqual(registry.resources.size, 0)
      assert.deepStrictEqual(registry.templates.map((t) => t.definition.uriTemplate), ["test://cols/{n}"])
      assert.strictEqual(registry.prompts.size, 0)
      assert.isFalse(yield* server.removeResource("test://doc"))
      assert.isFalse(yield* server.removeResourceTemplate("test://rows/{n}"))
      assert.isFalse(yield* server.removePrompt("hello"))
      assert.strictEqual(server.currentRegistry(), registry)
    }))

  it.scoped("the module-level put and remove act on the McpServer in context", () =>
    Effect.gen(function*() {
      const server = yield* McpServer.McpServer
      yield* McpServer.putTool(toolNamed("t"))
      yield* McpServer.putResource(resourceAt("test://r"))
      yield* McpServer.putResourceTemplate(templateOf("test://t/{n}"))
      yield* McpServer.putPrompt(promptNamed("p"))
      const registry = server.currentRegistry()
      assert.deepStrictEqual(
        [[...registry.tools.keys()], [...registry.resources.keys()], registry.templates.length, [
          ...registry.prompts.keys()
        ]],
        [["t"], ["test://r"], 1, ["p"]]
      )
      assert.isTrue(yield* McpServer.removeTool("t"))
      assert.isTrue(yield* McpServer.removeResource("test://r"))
      assert.isTrue(yield* McpServer.removeResourceTemplate("test://t/{n}"))
      assert.isTrue(yield* McpServer.removePrompt("p"))
      const empty = server.currentRegistry()
      assert.deepStrictEqual(
        [empty.tools.size, empty.resources.size, empty.templates.length, empty.prompts.size],
        [0, 0, 0, 0]
      )
    }).pipe(Effect.provide(McpServer.layer(base))))
})

describe("notifications", () => {
  it.scoped("resourceUpdated signals that URI's subscribers and counts them; listChanged counts its listeners", () =>
    Effect.gen(function*() {
      const server = yield* McpServer.McpServer
      const a = listen(server)
      const toolsOnly = new Notifications.Subscriber(new Set(["tools"]), () => {})
      server.notifications.add(toolsOnly)
      server.notifications.subscribe(a, "test://doc")
      assert.strictEqual(yield* McpServer.resourceUpdated("test://doc"), 1)
      assert.strictEqual(yield* server.resourceUpdated("test://other"), 0)
      assert.deepStrictEqual(a.take().map((frame) => JSON.parse(frame)), [
        { jsonrpc: "2.0", method: "notifications/resources/updated", params: { uri: "test://doc" } }
      ])
      assert.strictEqual(yield* server.listChanged("tools"), 2)
      assert.strictEqual(yield* server.listChanged("prompts"), 1)
      assert.deepStrictEqual(methods(toolsOnly), ["notifications/tools/list_changed"])
    }).pipe(Effect.provide(McpServer.layer(base))))
})

class Greeting extends Context.Tag("test/Greeting")<Greeting, { readonly word: string }>() {}

describe("registration captures the handler's services", () => {
  it.scoped("a tool's, template's and prompt's services are those of the layer that registered them", () =>
    Effect.gen(function*() {
      const Greet = Tool.make({
        name: "greet",
        parameters: Schema.Struct({ who: Schema.String }),
        handler: ({ who }) => Effect.map(Greeting, (g) => `${g.word}, ${who}`)
      })
      const Rows = Resource.template({
        uriTemplate: "test://rows/{n}",
        name: "rows",
        params: Schema.Struct({ n: Schema.String }),
        completions: { n: (value) => Effect.map(Greeting, (g) => [`${g.word}-${value}`]) },
        read: ({ n }) => Effect.succeed(`row ${n}`)
      })
      const Hello = Prompt.make({
        name: "hello",
        arguments: Schema.Struct({ who: Schema.String }),
        completions: { who: (value) => Effect.map(Greeting, (g) => [`${g.word}-${value}`]) },
        content: ({ who }) => Effect.map(Greeting, (g) => `${g.word} ${who}`)
      })
      const server = yield* build(
        Layer.mergeAll(McpServer.tool(Greet), McpServer.resourceTemplate(Rows), McpServer.prompt(Hello)).pipe(
          Layer.provide(Layer.succeed(Greeting, { word: "Bonjour" })),
          Layer.provideMerge(McpServer.layer(base))
        )
      )
      const registry = server.currentRegistry()
      const tool = registry.tools.get("greet")!
      const result = yield* withCaptured(tool.call({ who: "Ada" }), tool.context)
      assert.deepStrictEqual(result.content, [{ type: "text", text: "Bonjour, Ada" }])
      const prompt = registry.prompts.get("hello")!
      const messages = (yield* withCaptured(prompt.get({ who: "Ada" }), prompt.context)).messages
      assert.deepStrictEqual(messages[0]!.content, { type: "text", text: "Bonjour Ada" })
      // Completions need nothing further: the services are already provided to them.
      const template = registry.templates[0]!
      assert.deepStrictEqual(yield* (template.completions.n!("4", {}) as Effect.Effect<ReadonlyArray<string>>), [
        "Bonjour-4"
      ])
      assert.deepStrictEqual(yield* (prompt.completions.who!("A", {}) as Effect.Effect<ReadonlyArray<string>>), [
        "Bonjour-A"
      ])
    }))
})

describe("interceptors", () => {
  it.effect("the chain is empty unless a layer provides one; Interceptor.layer appends to the chain it is built over", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* Interceptor.Interceptors, [])
      const chain = yield* Effect.provide(
        Interceptor.Interceptors,
        Interceptor.layer({ name: "three" }).pipe(Layer.provide(Interceptor.layer({ name: "one" }, { name: "two" })))
      )
      assert.deepStrictEqual(chain.map((i) => i.name), ["one", "two", "three"])
    }))
})
