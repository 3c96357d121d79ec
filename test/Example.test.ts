// The library example of README.md, verbatim apart from imports: a tool with a service dependency, composed as a
// Layer, and a TestClock test of it. If this file changes, change the README too.
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Fiber, Layer, Schema, TestClock } from "effect"
import { McpServer, McpTest, Tool } from "../src/index.js"

// An application service the tool depends on.
class Weather extends Context.Tag("app/Weather")<Weather, {
  readonly forecast: (city: string) => Effect.Effect<{ readonly city: string; readonly celsius: number }>
}>() {}

const Forecast = Tool.make({
  name: "forecast",
  description: "Today's forecast for a city.",
  parameters: Schema.Struct({ city: Schema.String }),
  success: Schema.Struct({ city: Schema.String, celsius: Schema.Number }),
  handler: ({ city }) =>
    Effect.flatMap(Weather, (weather) => weather.forecast(city)).pipe(
      // The upstream weather service is slow: give up after 5 seconds.
      Effect.timeoutFail({ duration: "5 seconds", onTimeout: () => new Error("weather service timed out") })
    )
})

const WeatherSlow = Layer.succeed(Weather, {
  forecast: (city) => Effect.as(Effect.sleep("10 seconds"), { city, celsius: 21 })
})
const WeatherFast = Layer.succeed(Weather, { forecast: (city) => Effect.succeed({ city, celsius: 21 }) })

// The server: feature layers merged, provided with the server itself.
const server = (weather: Layer.Layer<Weather>) =>
  McpServer.tool(Forecast).pipe(
    Layer.provideMerge(McpServer.layer({ name: "weather", version: "1.0.0" })),
    Layer.provide(weather)
  )

describe("README example", () => {
  it.scoped("returns structured output", () =>
    Effect.gen(function*() {
      const client = yield* McpTest.connect()
      const result = yield* client.callTool("forecast", { city: "Lisbon" })
      assert.deepStrictEqual(result.structuredContent, { city: "Lisbon", celsius: 21 })
    }).pipe(Effect.provide(server(WeatherFast))))

  it.scoped("a slow upstream becomes a tool error after 5 s of TestClock time", () =>
    Effect.gen(function*() {
      const client = yield* McpTest.connect()
      const call = yield* Effect.fork(client.callTool("forecast", { city: "Lisbon" }))
      yield* TestClock.adjust("5 seconds")
      const result = yield* Fiber.join(call)
      assert.isTrue(result.isError)
      assert.deepStrictEqual(result.content, [{ type: "text", text: "weather service timed out" }])
    }).pipe(Effect.provide(server(WeatherSlow))))
})
