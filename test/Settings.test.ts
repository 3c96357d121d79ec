/**
 * Settings read through a ConfigProvider (library mode: `McpServer.layerConfig`, `McpHttpServer.layerConfig`,
 * `Stdio.serveConfig` read the same Configs): every numeric setting takes only decimal integers in its range and refuses anything else with
 * a ConfigError saying `ENV: expected ..., got "value"`; switches take true/false (yes/no, on/off, 1/0).
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, ConfigProvider, Effect, Exit, Layer, Option } from "effect"
import type { ConfigError } from "effect/ConfigError"
import { McpHttpServer, McpServer, Settings } from "../src/index.js"

const provider = (entries: ReadonlyArray<readonly [string, string]>) => ConfigProvider.fromMap(new Map(entries))

/** What `setting` reads from `value`: its value, or the ConfigError it fails with. */
const readAs = <A>(setting: Settings.Setting<A>, value: string) =>
  Effect.either(Effect.withConfigProvider(setting.config, provider([[setting.env, value]])))

const failure = <A>(setting: Settings.Setting<A>, value: string) =>
  Effect.gen(function*() {
    const read = yield* readAs(setting, value)
    assert.isTrue(read._tag === "Left", `${setting.env}=${JSON.stringify(value)} was accepted`)
    const error = (read as { readonly left: ConfigError }).left
    assert.strictEqual(error._op, "InvalidData", `${setting.env}=${JSON.stringify(value)}`)
    return error.message
  })

const accepted = <A>(setting: Settings.Setting<A>, value: string) =>
  Effect.gen(function*() {
    const read = yield* readAs(setting, value)
    assert.isTrue(read._tag === "Right", `${setting.env}=${JSON.stringify(value)}: ${JSON.stringify(read)}`)
    return Option.getOrThrow((read as { readonly right: Option.Option<A> }).right)
  })

/** Each numeric setting, with what its message says it expects. */
const numeric: ReadonlyArray<readonly [Settings.Setting<number>, string, number, number]> = [
  [Settings.port, "an integer from 0 to 65535", 0, 65535],
  [Settings.maxBodyBytes, "an integer of at least 1", 1, Number.MAX_SAFE_INTEGER],
  [Settings.maxSessions, "an integer of at least 0", 0, Number.MAX_SAFE_INTEGER],
  [Settings.maxInFlightPerSession, "an integer of at least 1", 1, Number.MAX_SAFE_INTEGER],
  [Settings.maxQueuedBytes, "an integer of at least 1", 1, Number.MAX_SAFE_INTEGER],
  [Settings.maxStreams, "an integer of at least 0", 0, Number.MAX_SAFE_INTEGER],
  [Settings.maxStreamsPerSession, "an integer of at least 0", 0, Number.MAX_SAFE_INTEGER],
  [Settings.maxMessageBytes, "an integer of at least 1", 1, Number.MAX_SAFE_INTEGER],
  [Settings.pageSize, "an integer of at least 1", 1, Number.MAX_SAFE_INTEGER],
  [Settings.rateLimitCalls, "an integer of at least 0", 0, Number.MAX_SAFE_INTEGER],
  [Settings.rateLimitToolCalls, "an integer of at least 0", 0, Number.MAX_SAFE_INTEGER],
  [Settings.rateLimitWindowMs, "a number of milliseconds, an integer from 1 to 2147483647", 1, 2147483647],
  ...[
    Settings.sessionIdleTimeoutMs,
    Settings.keepaliveMs,
    Settings.shutdownTimeoutMs,
    Settings.headersTimeoutMs,
    Settings.requestReadTimeoutMs,
    Settings.requestTimeoutMs,
    Settings.drainTimeoutMs,
    Settings.cacheTtlMs,
    Settings.clientRequestTimeoutMs,
    Settings.authClockSkewMs
  ].map((setting) => [setting, "a number of milliseconds, an integer from 0 to 2147483647", 0, 2147483647] as const)
]

describe("numeric settings", () => {
  it("every setting shown with N or MS in help is in this list", () => {
    const listed = new Set(numeric.map(([setting]) => setting.env))
    const all = Settings.all.filter((s) => s.placeholder === "N" || s.placeholder === "MS").map((s) => s.env)
    assert.deepStrictEqual([...listed].sort(), [...all].sort())
  })

  it.effect("a value that is not a decimal integer in range fails naming the variable, the range and the value", () =>
    Effect.gen(function*() {
      for (const [setting, expected, min, max] of numeric) {
        const bad = [
          "abc",
          "",
          " ",
          "1.5",
          "1e3",
          "0x10",
          "12abc",
          "NaN",
          "Infinity",
          "99999999999999999999",
          String(min - 1),
          ...(max < Number.MAX_SAFE_INTEGER ? [String(max + 1)] : [])
        ]
        for (const value of bad) {
          assert.strictEqual(
            yield* failure(setting, value),
            `${setting.env}: expected ${expected}, got ${JSON.stringify(value)}`
          )
        }
      }
    }))

  it.effect("the bounds themselves, a sign, leading zeros and surrounding spaces are accepted", () =>
    Effect.gen(function*() {
      for (const [setting, , min, max] of numeric) {
        assert.strictEqual(yield* accepted(setting, String(min)), min, setting.env)
        assert.strictEqual(yield* accepted(setting, String(max)), max, setting.env)
        assert.strictEqual(yield* accepted(setting, ` +0${min + 1} `), min + 1, setting.env)
      }
      assert.strictEqual(yield* accepted(Settings.port, "-0"), 0)
      assert.isTrue(Object.is(yield* accepted(Settings.port, "-0"), 0))
    }))

  it.effect("a long value is cut in the message", () =>
    Effect.gen(function*() {
      const message = yield* failure(Settings.port, "x".repeat(1000))
      assert.strictEqual(message, `MCP_PORT: expected an integer from 0 to 65535, got "${"x".repeat(40)}..."`)
    }))
})

describe("switches", () => {
  it.effect("true/false, yes/no, on/off, 1/0 in any case; anything else fails naming the variable and the value", () =>
    Effect.gen(function*() {
      for (const value of ["true", "TRUE", "yes", "On", "1"]) assert.isTrue(yield* accepted(Settings.stdio, value))
      for (const value of ["false", "No", "off", "0"]) assert.isFalse(yield* accepted(Settings.noWebsocket, value))
      for (const value of ["maybe", "", "2", "y"]) {
        assert.strictEqual(
          yield* failure(Settings.logMessages, value),
          `MCP_LOG_MESSAGES: expected true or false (yes/no, on/off, 1/0), got ${JSON.stringify(value)}`
        )
      }
    }))
})

describe("the layers that read settings", () => {
  const withConfig = (entries: ReadonlyArray<readonly [string, string]>) => Layer.setConfigProvider(provider(entries))

  /** The message of the ConfigError an exit failed (or died) with. */
  const configMessage = (exit: Exit.Exit<unknown, unknown>): string => {
    assert.isTrue(Exit.isFailure(exit), "the layer was built")
    const cause = (exit as Exit.Failure<unknown, unknown>).cause
    const error = Option.getOrElse(Cause.failureOption(cause), () => Option.getOrThrow(Cause.dieOption(cause)))
    return (error as ConfigError).message
  }

  it.scoped("McpServer.layerConfig: MCP_PAGE_SIZE=abc is a defect with the message", () =>
    Effect.gen(function*() {
      const layer = McpServer.layerConfig({ name: "s", version: "1" }).pipe(
        Layer.provide(withConfig([["MCP_PAGE_SIZE", "abc"]]))
      )
      const exit = yield* Effect.exit(Layer.build(layer))
      assert.strictEqual(configMessage(exit), "MCP_PAGE_SIZE: expected an integer of at least 1, got \"abc\"")
    }))

  it.scoped("McpHttpServer.layerConfig: MCP_PORT=abc fails with the message before anything listens", () =>
    Effect.gen(function*() {
      for (
        const [value, message] of [
          ["abc", "MCP_PORT: expected an integer from 0 to 65535, got \"abc\""],
          ["99999", "MCP_PORT: expected an integer from 0 to 65535, got \"99999\""]
        ]
      ) {
        const layer = McpHttpServer.layerConfig.pipe(
          Layer.provide(McpServer.layer({ name: "s", version: "1" })),
          Layer.provide(withConfig([["MCP_PORT", value]]))
        )
        assert.strictEqual(configMessage(yield* Effect.exit(Layer.build(layer))), message)
      }
    }))
})
