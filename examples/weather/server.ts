/**
 * A service-backed MCP server: a `Weather` application service (a Layer: live, or slow for tests), a tool with a
 * timeout and progress, a resource template with completions, and a prompt. `server(layer)` is the whole server as
 * a Layer, served by ./main.ts and tested by ./server.test.ts.
 */
import { Context, Effect, Layer, Schema } from "effect"
import { McpContext, McpServer, Prompt, Resource, Tool } from "effect-mcp-server"

/** The application service the handlers depend on. */
export class Weather extends Context.Tag("examples/Weather")<Weather, {
  readonly cities: Effect.Effect<ReadonlyArray<string>>
  readonly forecast: (city: string) => Effect.Effect<{ readonly city: string; readonly celsius: number }>
}>() {}

export const WeatherLive = Layer.succeed(Weather, {
  cities: Effect.succeed(["Lisbon", "London", "Lyon", "Oslo"]),
  forecast: (city) => Effect.succeed({ city, celsius: city.length * 3 })
})

export class UpstreamTimeout extends Schema.TaggedError<UpstreamTimeout>()("UpstreamTimeout", {
  message: Schema.String
}) {}

export const Forecast = Tool.make({
  name: "forecast",
  description: "Today's forecast for a city.",
  parameters: Schema.Struct({ city: Schema.String }),
  success: Schema.Struct({ city: Schema.String, celsius: Schema.Number }),
  handler: ({ city }) =>
    Effect.gen(function*() {
      yield* McpContext.progress(0, { total: 1, message: `asking about ${city}` })
      const weather = yield* Weather
      const forecast = yield* weather.forecast(city).pipe(
        // The upstream is slow at times: give up after 5 seconds (a tool error the model can read, not a crash).
        Effect.timeoutFail({
          duration: "5 seconds",
          onTimeout: () => new UpstreamTimeout({ message: "The weather service did not answer within 5 s" })
        })
      )
      yield* McpContext.progress(1, { total: 1 })
      return forecast
    })
})

export const CityReport = Resource.template({
  uriTemplate: "weather://city/{name}",
  name: "city-report",
  description: "The forecast of one city, as text.",
  mimeType: "text/plain",
  params: Schema.Struct({ name: Schema.String }),
  completions: {
    name: (prefix) =>
      Effect.flatMap(Weather, (weather) => weather.cities).pipe(
        Effect.map((cities) => cities.filter((city) => city.toLowerCase().startsWith(prefix.toLowerCase())))
      )
  },
  read: ({ name }) =>
    Effect.flatMap(Weather, (weather) => weather.forecast(name)).pipe(
      Effect.map(({ celsius, city }) => `${city}: ${celsius} °C`)
    )
})

export const PackingAdvice = Prompt.make({
  name: "packing-advice",
  description: "Ask the model what to pack for a trip.",
  arguments: Schema.Struct({
    city: Schema.String.annotations({ description: "Where to" }),
    days: Schema.optional(Schema.String.annotations({ description: "How many days" }))
  }),
  content: ({ city, days }) =>
    Effect.succeed(`I am going to ${city} for ${days ?? "a few"} days. What should I pack for the weather there?`)
})

/** The whole server: its features, McpServer itself, and the Weather service given. */
export const server = (weather: Layer.Layer<Weather>) =>
  Layer.mergeAll(
    McpServer.tool(Forecast),
    McpServer.resourceTemplate(CityReport),
    McpServer.prompt(PackingAdvice)
  ).pipe(
    Layer.provideMerge(McpServer.layer({ name: "weather", version: "1.0.0" })),
    Layer.provide(weather)
  )
