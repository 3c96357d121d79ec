// The gateway's config file (the mcpServers JSON of Claude Desktop, Cursor and VS Code) decoded into upstream
// configs, with errors that name the file, the server and the field; the `-- COMMAND` shortcut; the CLI's parsing.
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { parse } from "../src/Cli.js"
import { GatewayConfig } from "../src/index.js"

const decode = (json: unknown) => GatewayConfig.decode(JSON.stringify(json), "gw.json")
const error = (json: unknown) => {
  const result = typeof json === "string" ? GatewayConfig.decode(json, "gw.json") : decode(json)
  if (Either.isRight(result)) assert.fail(`expected an error, got ${JSON.stringify(result.right)}`)
  return result.left.message
}

describe("GatewayConfig.decode", () => {
  it("stdio and remote servers with defaults; type inferred or given; disabled left out", () => {
    const result = decode({
      mcpServers: {
        files: { command: "npx", args: ["-y", "server-filesystem", "/tmp"], env: { A: "1" }, cwd: "/tmp" },
        remote: { url: "https://example.com/mcp", headers: { Authorization: "Bearer x" } },
        old: { type: "sse", url: "http://127.0.0.1:9000/sse", isolation: "per-session", maxSessions: 3 },
        off: { command: "nope", disabled: true }
      }
    })
    assert.deepStrictEqual(Either.getOrThrow(result), [
      {
        name: "files",
        isolation: "shared",
        maxSessions: 100,
        timeoutMillis: 60000,
        maxInFlight: 100,
        type: "stdio",
        command: "npx",
        args: ["-y", "server-filesystem", "/tmp"],
        env: { A: "1" },
        cwd: "/tmp"
      },
      {
        name: "remote",
        isolation: "shared",
        maxSessions: 100,
        timeoutMillis: 60000,
        maxInFlight: 100,
        type: "http",
        url: "https://example.com/mcp",
        headers: { Authorization: "Bearer x" }
      },
      {
        name: "old",
        isolation: "per-session",
        maxSessions: 3,
        timeoutMillis: 60000,
        maxInFlight: 100,
        type: "sse",
        url: "http://127.0.0.1:9000/sse",
        headers: {}
      }
    ])
  })

  it("VS Code's servers key", () => {
    const result = Either.getOrThrow(decode({ servers: { a: { type: "stdio", command: "x" } } }))
    assert.deepStrictEqual(result.map((c) => [c.name, c.type]), [["a", "stdio"]])
  })

  it("errors name the file, the server and the field", () => {
    assert.strictEqual(error("{"), "gw.json: not JSON: Expected property name or '}' in JSON at position 1")
    assert.strictEqual(error({ servers: 1 }), `gw.json: expected an object with "mcpServers": { "NAME": { ... } }`)
    assert.strictEqual(error({ mcpServers: {} }), `gw.json: "mcpServers" names no server (or every one is disabled)`)
    assert.strictEqual(error({ mcpServers: { a: "npx" } }), `gw.json: server "a": expected an object, got "npx"`)
    assert.strictEqual(
      error({ mcpServers: { a: { type: "ws", url: "http://x" } } }),
      `gw.json: server "a": field "type": Expected "stdio", "http" or "sse", actual "ws"`
    )
    assert.strictEqual(
      error({ mcpServers: { a: { command: "x", url: "http://x" } } }),
      `gw.json: server "a": has both "command" and "url"; give "command" for a stdio server or "url" for a remote one`
    )
    assert.strictEqual(
      error({ mcpServers: { a: {} } }),
      `gw.json: server "a": field "command": missing (a stdio server needs a command; a remote one a "url")`
    )
    assert.strictEqual(
      error({ mcpServers: { a: { type: "http" } } }),
      `gw.json: server "a": field "url": missing (a http server needs a url)`
    )
    assert.strictEqual(
      error({ mcpServers: { a: { type: "stdio", url: "http://x" } } }),
      `gw.json: server "a": field "url": a stdio server takes "command", not "url"`
    )
    assert.strictEqual(
      error({ mcpServers: { a: { url: "ftp://x" } } }),
      `gw.json: server "a": field "url": expected an http: or https: URL, got "ftp://x"`
    )
    assert.strictEqual(
      error({ mcpServers: { a: { url: "http://x", args: [] } } }),
      `gw.json: server "a": field "args": only a stdio server takes "args"`
    )
    assert.strictEqual(
      error({ mcpServers: { a: { command: "x", args: ["ok", 5], maxSessions: 0 } } }),
      `gw.json: server "a": field "args.1": Expected string, actual 5; field "maxSessions": Expected a positive number, actual 0`
    )
    assert.strictEqual(
      error({ mcpServers: { a: { command: "x", isolation: "per-user" } } }),
      `gw.json: server "a": field "isolation": Expected "shared" or "per-session", actual "per-user"`
    )
  })

  it.effect("load reads a file, and names it when it cannot", () =>
    Effect.gen(function*() {
      const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "gw-"))
      const file = Path.join(dir, "mcp.json")
      Fs.writeFileSync(file, JSON.stringify({ mcpServers: { a: { command: "x" } } }))
      const configs = yield* GatewayConfig.load(file)
      assert.deepStrictEqual(configs.map((c) => c.name), ["a"])
      const missing = yield* Effect.flip(GatewayConfig.load(Path.join(dir, "none.json")))
      assert.match(missing.message, /none\.json: cannot read the gateway config: ENOENT/)
      Fs.rmSync(dir, { recursive: true })
    }))

  it("-- COMMAND ARGS: one stdio upstream named after the command", () => {
    const [config] = Either.getOrThrow(GatewayConfig.fromCommand(["/usr/bin/server-memory.js", "--flag"]))
    assert.deepStrictEqual(config, {
      name: "server-memory",
      type: "stdio",
      command: "/usr/bin/server-memory.js",
      args: ["--flag"],
      env: {},
      cwd: undefined,
      isolation: "shared",
      maxSessions: 100,
      timeoutMillis: 60000,
      maxInFlight: 100
    })
  })

  it("Cli.parse: everything after -- is the upstream's command, flags before it", () => {
    const parsed = parse(["--port", "0", "--", "npx", "-y", "server", "--port", "9"])
    assert.deepStrictEqual(parsed._tag === "Serve" && [Object.fromEntries(parsed.config), parsed.command], [
      { MCP_PORT: "0" },
      ["npx", "-y", "server", "--port", "9"]
    ])
    assert.deepStrictEqual(parse(["--"]), { _tag: "Invalid", message: "-- needs a command after it (gateway mode)" })
    assert.deepStrictEqual(parse(["--gateway", "f.json"]), {
      _tag: "Serve",
      config: new Map([["MCP_GATEWAY", "f.json"]])
    })
  })
})
