/**
 * The command line of `node dist/main.js`: help, version, errors, flag parsing, and flags/environment reaching the
 * server's Config (a flag wins over its environment variable). Needs `npm run build` first.
 */
import { afterEach, assert, beforeAll, describe, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import { existsSync, readFileSync } from "node:fs"
import { flags, help, parse } from "../src/Cli.js"
import { VERSION } from "../src/Version.js"
import type { Message, StdioProcess } from "./fixtures/StdioProcess.js"
import { cleanEnv, killAll, SERVER, spawnServer } from "./fixtures/StdioProcess.js"

const packageVersion = (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
  version: string
}).version

const run = (args: ReadonlyArray<string>, env: NodeJS.ProcessEnv = cleanEnv()) =>
  spawnSync(process.execPath, [SERVER, ...args], { encoding: "utf8", env, timeout: 15_000, input: "" })

beforeAll(() => {
  if (!existsSync(SERVER)) throw new Error(`${SERVER} is missing: run \`npm run build\` first`)
})

afterEach(() => {
  killAll()
})

describe("Cli.main: a user's server on the same command line", () => {
  const USER = new URL("./fixtures/user-cli.mjs", import.meta.url).pathname
  const runUser = (args: ReadonlyArray<string>, input = "") =>
    spawnSync(process.execPath, [USER, ...args], { encoding: "utf8", env: cleanEnv(), timeout: 15_000, input })

  it("--help names the user's program and lists every flag", () => {
    const result = runUser(["--help"])
    assert.strictEqual(result.status, 0, result.stderr)
    const lines = result.stdout.split("\n")
    assert.strictEqual(lines[0], "shouter 2.0.0")
    assert.include(result.stdout, "Usage: shouter [flags]")
    assert.include(result.stdout, "Serves one tool, shout.")
    for (const flag of flags) assert.include(result.stdout, `--${flag.name}`)
  })

  it("--stdio serves the user's tool: stdout carries only JSON-RPC, the handler's log goes to stderr, EOF exits 0", () => {
    const input = [
      {
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } }
      },
      { jsonrpc: "2.0", method: "notifications/initialized" },
      { jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "shout", arguments: { text: "hi" } } }
    ].map((m) => JSON.stringify(m)).join("\n") + "\n"
    const result = runUser(["--stdio", "--log-format", "logfmt"], input)
    assert.strictEqual(result.status, 0, result.stderr)
    const out = result.stdout.trim().split("\n").map((line) => JSON.parse(line))
    assert.strictEqual(out.length, 2)
    assert.deepStrictEqual(out[0].result.serverInfo, { name: "shouter", version: "2.0.0" })
    assert.deepStrictEqual(out[1].result.content, [{ type: "text", text: "HI" }])
    assert.include(result.stderr, "shouting")
  })

  it("a bad flag value exits 2 with a message, not a stack", () => {
    const result = runUser(["--port", "abc"])
    assert.strictEqual(result.status, 2)
    assert.notInclude(result.stderr, "    at ")
    assert.include(result.stderr, "--port")
  })
})

describe("CLI: help, version, errors", () => {
  it("--help exits 0 and lists every flag with its environment variable", () => {
    const result = run(["--help"])
    assert.strictEqual(result.status, 0, result.stderr)
    assert.strictEqual(result.stderr, "")
    const lines = result.stdout.split("\n")
    for (const flag of flags) {
      const line = lines.find((l) => l.trimStart().split(" ")[0] === `--${flag.name}`)
      assert.isDefined(line, `--${flag.name} is missing from --help:\n${result.stdout}`)
      assert.include(line!, flag.description)
      if (flag.value !== undefined) assert.include(line!, `--${flag.name} ${flag.value}`)
      if (flag.env !== "") {
        assert.include(line!, `env ${flag.env}`, line)
        assert.include(line!, `default ${flag.default}`, line)
      }
    }
    assert.include(result.stdout, "Usage: node dist/main.js [flags]")
    assert.include(result.stdout, "Serves the built-in reference server")
    assert.strictEqual(result.stdout.trimEnd().split("\n").length, help().trimEnd().split("\n").length)
  })

  it("every flag but help and version has an MCP_ environment variable", () => {
    for (const flag of flags) {
      if (flag.name === "help" || flag.name === "version") assert.strictEqual(flag.env, "")
      else assert.match(flag.env, /^MCP_[A-Z][A-Z0-9_]*$/, flag.name)
    }
    assert.strictEqual(new Set(flags.map((f) => f.name)).size, flags.length)
  })

  it("--version prints the package.json version", () => {
    const result = run(["--version"])
    assert.strictEqual(result.status, 0, result.stderr)
    assert.strictEqual(result.stdout.trim(), packageVersion)
    assert.strictEqual(VERSION, packageVersion)
  })

  it("an unknown flag exits non-zero with a message on stderr and nothing on stdout", () => {
    const result = run(["--bogus"])
    assert.isNotNull(result.status)
    assert.notStrictEqual(result.status, 0)
    assert.include(result.stderr, "--bogus")
    assert.strictEqual(result.stdout, "")
  })

  it("a flag without its value, and a switch given a value, exit non-zero with nothing on stdout", () => {
    for (const args of [["--page-size"], ["--stdio=yes"], ["stdio"]]) {
      const result = run(args)
      assert.notStrictEqual(result.status, 0, args.join(" "))
      assert.isAbove(result.stderr.trim().length, 0, args.join(" "))
      assert.strictEqual(result.stdout, "", args.join(" "))
    }
  })
})

describe("README", () => {
  it("its flag table is the CLI's flags, row for row", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8")
    const rows = readme.split("\n").filter((line) => line.startsWith("| `--"))
    const expected = flags.map((f) =>
      `| \`--${f.name}${f.value === undefined ? "" : ` ${f.value}`}\` | ${f.env === "" ? "" : `\`${f.env}\``} | ${
        f.default === "" ? "" : `\`${f.default}\``
      } | ${f.description} |`
    )
    assert.deepStrictEqual(rows, expected)
  })
})

describe("Cli.parse", () => {
  const serve = (argv: ReadonlyArray<string>): Record<string, string> => {
    const parsed = parse(argv)
    if (parsed._tag !== "Serve") throw new Error(`expected Serve, got ${JSON.stringify(parsed)}`)
    return Object.fromEntries(parsed.config)
  }

  it("no arguments serve with an empty config", () => {
    assert.deepStrictEqual(serve([]), {})
  })

  it("--flag value", () => {
    assert.deepStrictEqual(serve(["--page-size", "5"]), { MCP_PAGE_SIZE: "5" })
    assert.deepStrictEqual(serve(["--log-level", "debug", "--max-message-bytes", "1000"]), {
      MCP_LOG_LEVEL: "debug",
      MCP_MAX_MESSAGE_BYTES: "1000"
    })
  })

  it("--flag=value, keeping any further = in the value", () => {
    assert.deepStrictEqual(serve(["--page-size=5"]), { MCP_PAGE_SIZE: "5" })
    assert.deepStrictEqual(serve(["--log-format=a=b"]), { MCP_LOG_FORMAT: "a=b" })
    assert.strictEqual(parse(["--drain-timeout-ms="])._tag, "Invalid")
  })

  it("every valued flag maps onto its environment name", () => {
    for (const flag of flags) {
      if (flag.value === undefined) continue
      const numeric = flag.value === "N" || flag.value === "MS"
      const [v, w] = numeric ? ["12", "34"] : ["v", "w"]
      assert.deepStrictEqual(serve([`--${flag.name}`, v]), { [flag.env]: v })
      assert.deepStrictEqual(serve([`--${flag.name}=${w}`]), { [flag.env]: w })
    }
  })

  it("a numeric flag with a value that is not a non-negative integer is Invalid", () => {
    for (const flag of flags) {
      if (flag.value !== "N" && flag.value !== "MS") continue
      for (const bad of ["abc", "-1", "1.5", "", "--stdio"]) {
        const parsed = parse([`--${flag.name}=${bad}`])
        assert.strictEqual(parsed._tag, "Invalid", `--${flag.name}=${bad}`)
        if (parsed._tag === "Invalid") assert.include(parsed.message, `--${flag.name}`)
      }
    }
  })

  it("switches", () => {
    assert.deepStrictEqual(serve(["--stdio"]), { MCP_STDIO: "true" })
    assert.deepStrictEqual(serve(["--stdio", "--page-size", "2"]), { MCP_STDIO: "true", MCP_PAGE_SIZE: "2" })
    const withValue = parse(["--stdio=yes"])
    assert.strictEqual(withValue._tag, "Invalid")
    if (withValue._tag === "Invalid") assert.include(withValue.message, "--stdio")
    assert.deepStrictEqual(parse(["--help"]), { _tag: "Help" })
    assert.deepStrictEqual(parse(["--version"]), { _tag: "Version" })
    assert.deepStrictEqual(parse(["--stdio", "--help"]), { _tag: "Help" })
  })

  it("a missing value is Invalid and names the flag", () => {
    const parsed = parse(["--page-size"])
    assert.strictEqual(parsed._tag, "Invalid")
    if (parsed._tag === "Invalid") {
      assert.include(parsed.message, "--page-size")
      assert.include(parsed.message, "value")
    }
    assert.strictEqual(parse(["--stdio", "--log-level"])._tag, "Invalid")
  })

  it("unknown flags and bare words are Invalid", () => {
    const unknown = parse(["--nope"])
    assert.strictEqual(unknown._tag, "Invalid")
    if (unknown._tag === "Invalid") assert.include(unknown.message, "--nope")
    const bare = parse(["stdio"])
    assert.strictEqual(bare._tag, "Invalid")
    if (bare._tag === "Invalid") assert.include(bare.message, "stdio")
    assert.strictEqual(parse(["-h"])._tag, "Invalid")
  })

  it("a later occurrence of a flag wins", () => {
    assert.deepStrictEqual(serve(["--page-size", "2", "--page-size=3"]), { MCP_PAGE_SIZE: "3" })
  })
})

describe("CLI: flags and environment reach the server", () => {
  const toolNames = (message: Message): Array<string> => {
    assert.isUndefined(message.error, JSON.stringify(message.error))
    return (message.result!.tools as Array<{ name: string }>).map((tool) => tool.name)
  }

  const allPages = async (server: StdioProcess) => {
    const pages: Array<Array<string>> = []
    let cursor: string | undefined
    for (let page = 0; page < 20; page++) {
      const response = await server.request(`list-${page}`, "tools/list", cursor === undefined ? {} : { cursor })
      pages.push(toolNames(response))
      cursor = response.result!.nextCursor as string | undefined
      if (cursor === undefined) return pages
    }
    throw new Error("tools/list never ended")
  }

  const allTools = async () => {
    const server = spawnServer()
    await server.initialize("2025-11-25")
    const response = await server.request(1, "tools/list")
    assert.isUndefined(response.result!.nextCursor)
    return toolNames(response)
  }

  it("MCP_PAGE_SIZE=2 in the environment pages tools/list by 2, and the cursor gives the next page", async () => {
    const everything = await allTools()
    assert.isAbove(everything.length, 4)
    const server = spawnServer(["--stdio"], cleanEnv({ MCP_PAGE_SIZE: "2" }))
    await server.initialize("2025-11-25")
    const first = await server.request(1, "tools/list")
    assert.deepStrictEqual(toolNames(first), everything.slice(0, 2))
    const cursor = first.result!.nextCursor
    assert.isString(cursor)
    const second = await server.request(2, "tools/list", { cursor: cursor as string })
    assert.deepStrictEqual(toolNames(second), everything.slice(2, 4))
    assert.isString(second.result!.nextCursor)
    assert.notStrictEqual(second.result!.nextCursor, cursor)
    // Walking every page gives every tool once, in order.
    const pages = await allPages(server)
    assert.isTrue(pages.every((page) => page.length <= 2))
    assert.deepStrictEqual(pages.flat(), everything)
  })

  it("--page-size 3 wins over MCP_PAGE_SIZE=2", async () => {
    const everything = await allTools()
    for (const args of [["--stdio", "--page-size", "3"], ["--stdio", "--page-size=3"]]) {
      const server = spawnServer(args, cleanEnv({ MCP_PAGE_SIZE: "2" }))
      await server.initialize("2025-11-25")
      const first = await server.request(1, "tools/list")
      assert.deepStrictEqual(toolNames(first), everything.slice(0, 3), args.join(" "))
      assert.isString(first.result!.nextCursor)
      const pages = await allPages(server)
      assert.deepStrictEqual(pages.map((page) => page.length), [
        ...Array.from({ length: Math.floor(everything.length / 3) }, () => 3),
        ...(everything.length % 3 === 0 ? [] : [everything.length % 3])
      ])
      assert.deepStrictEqual(pages.flat(), everything)
    }
  })

  it("--deny-methods and --allow-methods refuse calls with -32601; --log-messages logs each message", async () => {
    const denied = spawnServer(["--stdio", "--deny-methods", "tools/call,prompts/get", "--log-messages"])
    await denied.initialize("2025-11-25")
    const call = await denied.request(1, "tools/call", { name: "echo", arguments: { text: "x" } })
    assert.deepStrictEqual(call.error, { code: -32601, message: "Method not allowed: tools/call" })
    assert.isUndefined((await denied.request(2, "tools/list")).error)
    const logged = () =>
      denied.logs().filter((line) => typeof line === "object" && String(line.message).startsWith("<- "))
    await denied.waitFor(() => (logged().length >= 3 ? true : undefined), "the message log lines")
    assert.isTrue(logged().some((line) => typeof line === "object" && line.annotations?.method === "tools/call"))

    const allowed = spawnServer(["--stdio"], cleanEnv({ MCP_ALLOW_METHODS: "tools/list" }))
    await allowed.initialize("2025-11-25")
    assert.isUndefined((await allowed.request(1, "tools/list")).error)
    assert.isUndefined((await allowed.request(2, "ping")).error)
    assert.strictEqual((await allowed.request(3, "prompts/list")).error?.code, -32601)
  })

  it("MCP_LOG_LEVEL in the environment applies, and --log-level wins over it", async () => {
    const quiet = spawnServer(["--stdio"], cleanEnv({ MCP_LOG_LEVEL: "warning" }))
    await quiet.initialize("2025-11-25")
    quiet.closeStdin()
    assert.strictEqual((await quiet.waitForExit()).code, 0)
    assert.notInclude(quiet.stderr(), "Serving MCP over stdio")

    const loud = spawnServer(["--stdio", "--log-level", "info"], cleanEnv({ MCP_LOG_LEVEL: "warning" }))
    await loud.initialize("2025-11-25")
    loud.closeStdin()
    assert.strictEqual((await loud.waitForExit()).code, 0)
    assert.include(loud.stderr(), "Serving MCP over stdio")
  })
})
