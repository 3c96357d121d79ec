/**
 * Serves the weather server with the library's command line: `--stdio`, or Streamable HTTP (plus HTTP+SSE and
 * WebSocket) on --port; `--help` lists every flag. Run: npx vite-node examples/weather/main.ts -- --help
 */
import { Cli } from "effect-mcp-server"
import { server, WeatherLive } from "./server.js"

Cli.main(server(WeatherLive), { name: "weather", title: "weather 1.0.0", serves: "Serves today's forecasts." })
