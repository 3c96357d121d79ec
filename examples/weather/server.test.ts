/**
 * The weather server tested as a user tests theirs: an in-memory client (McpTest) against the server's Layer, with
 * the Weather service swapped for a slow one and TestClock driving the 5-second timeout: no sockets, no waiting.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, TestClock } from "effect"
import { McpTest } from "effect-mcp-server"
import { server, Weather, WeatherLive } from "./server.js"

const WeatherSlow = Layer.succeed(Weather, {
  cities: Effect.succeed(["Lisbon"]),
  forecast: (city) => Effect.as(Effect.sleep("10 seconds"), { city, celsius: 21 })
})

describe("weather", () => {
  it.scoped("forecast answers with structured content", () =>
    Effect.gen(function*() {
      const client = yield* McpTest.connect()
      const result = yield* client.callTool("forecast", { city: "Oslo" })
      assert.isUndefined(result.isError)
      assert.deepStrictEqual(result.structuredContent, { city: "Oslo", celsius: 12 })
    }).pipe(Effect.provide(server(WeatherLive))))

  it.scoped("a slow upstream becomes a tool error after 5 s of TestClock time", () =>
    Effect.gen(function*() {
      const client = yield* McpTest.connect()
      const call = yield* Effect.fork(client.callTool("forecast", { city: "Lisbon" }))
      yield* TestClock.adjust("5 seconds")
      const result = yield* Fiber.join(call)
      assert.isTrue(result.isError)
      assert.include(JSON.stringify(result.content), "did not answer within 5 s")
    }).pipe(Effect.provide(server(WeatherSlow))))

  it.scoped("city names complete from the service; the template reads", () =>
    Effect.gen(function*() {
      const client = yield* McpTest.connect()
      const completion = yield* client.request("completion/complete", {
        ref: { type: "ref/resource", uri: "weather://city/{name}" },
        argument: { name: "name", value: "l" }
      })
      assert.deepStrictEqual(completion.completion.values, ["Lisbon", "London", "Lyon"])
      const read = yield* client.request("resources/read", { uri: "weather://city/Oslo" })
      assert.deepStrictEqual(read.contents.map((contents) => "text" in contents ? contents.text : contents.blob), [
        "Oslo: 12 °C"
      ])
    }).pipe(Effect.provide(server(WeatherLive))))
})
