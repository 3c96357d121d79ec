// OAuth 2.1 resource server (issue 14) against a real authorization server: oidc-provider started in process
// (test/fixtures/AuthServer.ts) issues JWT access tokens by the client credentials grant with resource indicators;
// the MCP server (McpHttpServer.layer over the test server) is pointed at it with `auth.issuer`. Every transport with
// a valid token, every kind of bad token, Protected Resource Metadata, sessions bound to their principal, per-tool
// scopes, introspection of opaque tokens, and the official SDK client's own OAuth (client credentials) end to end.
import { ClientCredentialsProvider } from "@modelcontextprotocol/sdk/client/auth-extensions.js"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import { ConfigProvider, Effect, Layer, ManagedRuntime, Schema } from "effect"
import * as jose from "jose"
import * as fs from "node:fs"
import * as http from "node:http"
import * as http2 from "node:http2"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, afterEach, assert, beforeAll, describe, it } from "vitest"
import { Auth, Interceptor, McpContext, McpHttpServer, McpServer, Prompt, Resource, Tool } from "../src/index.js"
import * as AuthServer from "./fixtures/AuthServer.js"
import { selfSigned } from "./fixtures/Certificate.js"
import { startServer } from "./fixtures/MainProcess.js"
import * as TestServer from "./fixtures/TestServer.js"
import { initialize, JSON_AND_SSE, modernHeaders, modernMeta } from "./support/Messages.js"
import { readSse } from "./support/Sse.js"
import { until } from "./support/Wait.js"
import { openWebSocket } from "./support/WebSocket.js"

let as: AuthServer.AuthServer
beforeAll(async () => {
  as = await AuthServer.start()
})
afterAll(async () => {
  await as?.close()
})

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port
      server.close(() => resolve(port))
    })
  })

/** Answers with who is calling, as the handler sees it (McpContext.peer). */
const WhoAmI = Tool.make({
  name: "whoami",
  handler: () =>
    Effect.map(
      McpContext.peer,
      (peer) => JSON.stringify({ transport: peer.transport, principal: peer.principal ?? null })
    )
})
const AdminOnly = Tool.make({
  name: "admin_only",
  scopes: ["mcp:admin", "mcp:audit"],
  handler: () => Effect.succeed("admin")
})
const Secret = Prompt.make({
  name: "secret",
  scopes: ["mcp:admin"],
  arguments: Schema.Struct({}),
  content: () => Effect.succeed("secret")
})

const Vault = Resource.make({
  uri: "test://vault",
  name: "vault",
  scopes: ["mcp:admin"],
  read: Effect.succeed("gold")
})

/** The subjects interceptors saw, per message (Interceptor Context.peer). */
const seen: Array<string | undefined> = []
const recorder: Interceptor.Interceptor = {
  name: "recorder",
  inbound: (_message, context) =>
    Effect.sync(() => {
      seen.push(context.peer.principal?.subject)
      return Interceptor.Continue
    })
}

type Runtime = ManagedRuntime.ManagedRuntime<McpHttpServer.McpHttpServer | McpServer.McpServer, unknown>
const runtimes: Array<Runtime> = []
afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((runtime) => runtime.dispose()))
  seen.length = 0
})

const REQUIRED = ["mcp:read", "mcp:write"]

/** An MCP server requiring tokens from the test authorization server, its public URL its own /mcp. */
const startMcp = async (auth: Partial<Auth.Options> = {}) => {
  const port = await freePort()
  const origin = `http://127.0.0.1:${port}`
  const publicUrl = `${origin}/mcp`
  const runtime: Runtime = ManagedRuntime.make(
    McpHttpServer.layer({
      port,
      shutdownTimeout: "2 seconds",
      auth: { issuer: as.issuer, publicUrl, scopes: REQUIRED, ...auth }
    }).pipe(
      Layer.provide(Interceptor.layer(recorder)),
      Layer.provideMerge(
        Layer.mergeAll(
          McpServer.tool(WhoAmI),
          McpServer.tool(AdminOnly),
          McpServer.prompt(Secret),
          McpServer.resource(Vault)
        ).pipe(
          Layer.provideMerge(TestServer.layer({ pageSize: 100 }))
        )
      )
    )
  )
  runtimes.push(runtime)
  const info = await runtime.runPromise(McpHttpServer.McpHttpServer)
  return { url: info.url, origin, port, publicUrl: auth.publicUrl ?? publicUrl }
}

const token = (scope = "mcp:read mcp:write", resource?: string, clientId?: string) => (resourceUrl: string) =>
  as.token({ resource: resource ?? resourceUrl, scope, ...(clientId === undefined ? {} : { clientId }) })

const bearer = (value: string) => ({ authorization: `Bearer ${value}` })

const modernCall = (url: string, name: string, headers: Record<string, string>, args: object = {}) =>
  fetch(url, {
    method: "POST",
    headers: { ...JSON_AND_SSE, ...modernHeaders("tools/call", name), ...headers },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "tools/call",
      params: { name, arguments: args, _meta: modernMeta }
    })
  })

const textOf = (body: any): string => body.result.content.map((b: { text: string }) => b.text).join("")

const expectRefused = async (res: Response, status: number, challenge: string) => {
  const body = await res.json() as { error?: { message: string } }
  assert.strictEqual(res.status, status, JSON.stringify(body))
  assert.strictEqual(res.headers.get("www-authenticate"), challenge)
  assert.isString(body.error?.message)
  return body
}

const metadataUrl = (origin: string) => `${origin}/.well-known/oauth-protected-resource/mcp`

describe("authorization: the resource's metadata and its challenges", () => {
  it("serves Protected Resource Metadata at the path-aware and the root well-known URIs, CORS-open", async () => {
    const mcp = await startMcp()
    for (const path of ["/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"]) {
      const res = await fetch(`${mcp.origin}${path}`, { headers: { origin: "https://app.example" } })
      assert.strictEqual(res.status, 200)
      assert.strictEqual(res.headers.get("access-control-allow-origin"), "*")
      const doc = await res.json() as Record<string, unknown>
      assert.deepStrictEqual(doc, {
        resource: mcp.publicUrl,
        authorization_servers: [as.issuer],
        // The required scopes, then those the tools and prompts declare.
        scopes_supported: ["mcp:read", "mcp:write", "mcp:admin", "mcp:audit"],
        bearer_methods_supported: ["header"]
      })
    }
    const preflight = await fetch(`${mcp.origin}/.well-known/oauth-protected-resource/mcp`, { method: "OPTIONS" })
    assert.strictEqual(preflight.status, 204)
    assert.strictEqual(preflight.headers.get("access-control-allow-origin"), "*")
  })

  it("answers a request without a token 401 naming the metadata and the scopes, on every MCP route", async () => {
    const mcp = await startMcp()
    const challenge = `Bearer resource_metadata="${metadataUrl(mcp.origin)}", scope="mcp:read mcp:write"`
    await expectRefused(await modernCall(mcp.url, "whoami", {}), 401, challenge)
    await expectRefused(await fetch(mcp.url, { headers: { accept: "text/event-stream" } }), 401, challenge)
    await expectRefused(await fetch(mcp.url, { method: "DELETE" }), 401, challenge)
    await expectRefused(await fetch(`${mcp.origin}/sse`), 401, challenge)
    await expectRefused(
      await fetch(`${mcp.origin}/messages?sessionId=x`, { method: "POST", headers: JSON_AND_SSE, body: "{}" }),
      401,
      challenge
    )
    // Nothing reached the engine.
    assert.deepStrictEqual(seen, [])
  })

  it("serves no metadata without authorization", async () => {
    const port = await freePort()
    const runtime: Runtime = ManagedRuntime.make(
      McpHttpServer.layer({ port }).pipe(Layer.provideMerge(TestServer.layer()))
    )
    runtimes.push(runtime)
    await runtime.runPromise(McpHttpServer.McpHttpServer)
    const res = await fetch(`http://127.0.0.1:${port}/.well-known/oauth-protected-resource/mcp`)
    assert.strictEqual(res.status, 404)
    await res.text()
  })
})

describe("authorization: a valid token on every transport", () => {
  it("modern POST: the principal reaches the handler and the interceptors", async () => {
    const mcp = await startMcp()
    const access = await token()(mcp.publicUrl)
    const res = await modernCall(mcp.url, "whoami", bearer(access))
    assert.strictEqual(res.status, 200)
    const who = JSON.parse(textOf(await res.json()))
    assert.strictEqual(who.transport, "http")
    assert.strictEqual(who.principal.subject, "mcp-client")
    assert.strictEqual(who.principal.clientId, "mcp-client")
    assert.strictEqual(who.principal.issuer, as.issuer)
    assert.deepStrictEqual(who.principal.scopes, ["mcp:read", "mcp:write"])
    assert.isAbove(who.principal.expiresAt, Date.now())
    assert.deepStrictEqual(seen, ["mcp-client"])
    // The same token again: from the cache, the same answer.
    const again = await modernCall(mcp.url, "whoami", bearer(access))
    assert.strictEqual(JSON.parse(textOf(await again.json())).principal.subject, "mcp-client")
  })

  it("legacy session: bound to the principal that created it; another principal gets 404", async () => {
    const mcp = await startMcp()
    const mine = bearer(await token()(mcp.publicUrl))
    const theirs = bearer(await token(undefined, undefined, "other-client")(mcp.publicUrl))
    const init = await fetch(mcp.url, {
      method: "POST",
      headers: { ...JSON_AND_SSE, ...mine },
      body: JSON.stringify(initialize())
    })
    assert.strictEqual(init.status, 200)
    await init.json()
    const sessionId = init.headers.get("mcp-session-id")!
    const inSession = { ...JSON_AND_SSE, "mcp-session-id": sessionId, "mcp-protocol-version": "2025-11-25" }
    const call = (headers: Record<string, string>) =>
      fetch(mcp.url, {
        method: "POST",
        headers: { ...inSession, ...headers },
        body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "whoami", arguments: {} } })
      })
    const ok = await call(mine)
    assert.strictEqual(ok.status, 200)
    assert.strictEqual(JSON.parse(textOf(await ok.json())).principal.subject, "mcp-client")

    const stolen = await call(theirs)
    assert.strictEqual(stolen.status, 404)
    await stolen.json()
    const get = await fetch(mcp.url, {
      headers: { accept: "text/event-stream", "mcp-session-id": sessionId, ...theirs }
    })
    assert.strictEqual(get.status, 404)
    await get.json()
    const del = await fetch(mcp.url, { method: "DELETE", headers: { "mcp-session-id": sessionId, ...theirs } })
    assert.strictEqual(del.status, 404)
    await del.json()
    // The session is still there for its own principal, who may end it.
    const mineDel = await fetch(mcp.url, { method: "DELETE", headers: { "mcp-session-id": sessionId, ...mine } })
    assert.strictEqual(mineDel.status, 200)
    await mineDel.text()
  })

  it("WebSocket: the upgrade authenticates the connection; a refused upgrade carries the challenge", async () => {
    const mcp = await startMcp()
    const wsUrl = `ws://127.0.0.1:${mcp.port}/ws`
    const refused = await new Promise<http.IncomingMessage>((resolve, reject) => {
      import("ws").then(({ default: WebSocket }) => {
        const socket = new WebSocket(wsUrl, "mcp")
        socket.once("unexpected-response", (_req, res) => resolve(res))
        socket.once("open", () => reject(new Error("upgrade accepted without a token")))
        socket.once("error", () => {})
      }, reject)
    })
    assert.strictEqual(refused.statusCode, 401)
    assert.strictEqual(
      refused.headers["www-authenticate"],
      `Bearer resource_metadata="${metadataUrl(mcp.origin)}", scope="mcp:read mcp:write"`
    )
    refused.resume()

    const socket = await openWebSocket(wsUrl, { headers: bearer(await token("mcp:read mcp:write")(mcp.publicUrl)) })
    try {
      const answers: Array<any> = []
      socket.on("message", (data) => answers.push(JSON.parse(String(data))))
      socket.send(JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "tools/call",
        params: { name: "whoami", arguments: {}, _meta: modernMeta }
      }))
      // A tool whose scopes the token lacks: a JSON-RPC error naming them (no HTTP status on a socket).
      socket.send(JSON.stringify({
        jsonrpc: "2.0",
        id: 2,
        method: "tools/call",
        params: { name: "admin_only", arguments: {}, _meta: modernMeta }
      }))
      const deadline = Date.now() + 5000
      while (answers.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
      const who = answers.find((a) => a.id === 1)
      assert.strictEqual(JSON.parse(textOf(who)).principal.subject, "mcp-client")
      assert.strictEqual(JSON.parse(textOf(who)).transport, "websocket")
      const denied = answers.find((a) => a.id === 2)
      assert.strictEqual(denied.error.code, -32000)
      assert.deepStrictEqual(denied.error.data, {
        error: "insufficient_scope",
        requiredScopes: ["mcp:admin", "mcp:audit"],
        missingScopes: ["mcp:admin", "mcp:audit"]
      })
    } finally {
      socket.close()
    }
  })

  it("WebSocket: the connection ends (1008) when the token it was opened with expires", async () => {
    const mcp = await startMcp()
    const exp = Math.floor(Date.now() / 1000) + 2
    const shortLived = await as.sign({
      iss: as.issuer,
      aud: mcp.publicUrl,
      sub: "mcp-client",
      scope: "mcp:read mcp:write",
      exp
    })
    const socket = await openWebSocket(`ws://127.0.0.1:${mcp.port}/ws`, { headers: bearer(shortLived) })
    const closed = await new Promise<{ code: number; reason: string }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("not closed within 8 s")), 8000)
      socket.once("close", (code, reason) => {
        clearTimeout(timer)
        resolve({ code, reason: String(reason) })
      })
    })
    assert.deepStrictEqual(closed, { code: 1008, reason: "access token expired" })
    assert.isAtLeast(Date.now(), exp * 1000 - 50)
  })

  it("modern multi round-trip: the requestState is bound to the principal it was issued to", async () => {
    const mcp = await startMcp()
    const mine = bearer(await token()(mcp.publicUrl))
    const theirs = bearer(await token(undefined, undefined, "other-client")(mcp.publicUrl))
    const meta = { ...modernMeta, "io.modelcontextprotocol/clientCapabilities": { elicitation: {} } }
    const call = (headers: Record<string, string>, extra: Record<string, unknown>) =>
      fetch(mcp.url, {
        method: "POST",
        headers: { ...JSON_AND_SSE, ...modernHeaders("tools/call", "ask"), ...headers },
        body: JSON.stringify({
          jsonrpc: "2.0",
          id: 1,
          method: "tools/call",
          params: { name: "ask", arguments: { questions: ["elicit"] }, _meta: meta, ...extra }
        })
      })
    const first: any = await (await call(mine, {})).json()
    assert.strictEqual(first.result.resultType, "input_required")
    const answers = { inputResponses: { q0: { action: "accept", content: { name: "Ada" } } } }
    // Another principal replaying the state is refused (and does not use it up).
    const stolen = await call(theirs, { ...answers, requestState: first.result.requestState })
    const refused: any = await stolen.json()
    assert.strictEqual(refused.error.code, -32602, JSON.stringify(refused))
    assert.include(refused.error.message, "another principal")
    const second: any = await (await call(mine, { ...answers, requestState: first.result.requestState })).json()
    assert.strictEqual(second.result.resultType, "complete", JSON.stringify(second))
  })

  it("old HTTP+SSE: GET /sse authenticates the stream; each POST /messages must be the same principal", async () => {
    const mcp = await startMcp()
    const mine = bearer(await token()(mcp.publicUrl))
    const theirs = bearer(await token(undefined, undefined, "other-client")(mcp.publicUrl))
    const controller = new AbortController()
    const stream = await fetch(`${mcp.origin}/sse`, {
      headers: { accept: "text/event-stream", ...mine },
      signal: controller.signal
    })
    try {
      assert.strictEqual(stream.status, 200)
      const reader = readSse(stream)
      let taken = 0
      /** The next event on the stream (bounded by the test's timeout). */
      const next = async () => (await reader.readUntil((events) => events.length > taken))[taken++]!
      const endpoint = await next()
      assert.strictEqual(endpoint.event, "endpoint")
      const post = (headers: Record<string, string>, body: object) =>
        fetch(`${mcp.origin}${endpoint.data}`, {
          method: "POST",
          headers: { "content-type": "application/json", ...headers },
          body: JSON.stringify(body)
        })
      const foreign = await post(theirs, initialize("2024-11-05"))
      assert.strictEqual(foreign.status, 404)
      await foreign.text()
      const init = await post(mine, initialize("2024-11-05"))
      assert.strictEqual(init.status, 202)
      await init.text()
      assert.strictEqual(JSON.parse((await next()).data).id, 1)
      const call = await post(mine, {
        jsonrpc: "2.0",
        id: 2,
        method: "tools/call",
        params: { name: "whoami", arguments: {} }
      })
      assert.strictEqual(call.status, 202)
      await call.text()
      const who = JSON.parse(textOf(JSON.parse((await next()).data)))
      assert.strictEqual(who.transport, "sse")
      assert.strictEqual(who.principal.subject, "mcp-client")
    } finally {
      controller.abort()
    }
  })
})

describe("authorization: bad tokens", () => {
  const invalid = (origin: string, description: string) =>
    `Bearer error="invalid_token", error_description="${description}", resource_metadata="${
      metadataUrl(origin)
    }", scope="mcp:read mcp:write"`

  it("refuses each bad token 401 invalid_token, saying why", async () => {
    const mcp = await startMcp()
    const now = Math.floor(Date.now() / 1000)
    const claims = {
      iss: as.issuer,
      aud: mcp.publicUrl,
      sub: "mcp-client",
      client_id: "mcp-client",
      scope: "mcp:read mcp:write",
      iat: now,
      exp: now + 300
    }
    const valid = await as.sign(claims)
    const [header, payload] = valid.split(".")
    const rogue = await jose.generateKeyPair("RS256")
    const publicPem = await jose.exportSPKI((await jose.importJWK(as.publicJwk, "RS256")) as jose.CryptoKey)
    const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url")
    const cases: ReadonlyArray<readonly [string, string, string]> = [
      ["wrong audience", await token()("http://elsewhere.example/mcp"), "the token's audience is not this resource"],
      [
        "wrong issuer",
        await as.sign({ ...claims, iss: "http://127.0.0.1:1" }),
        "the token's issuer is not the authorization server"
      ],
      ["expired", await as.sign({ ...claims, iat: now - 600, exp: now - 120 }), "the token has expired"],
      ["not yet valid", await as.sign({ ...claims, nbf: now + 300, exp: now + 600 }), "the token is not valid yet"],
      [
        "unknown key",
        await new jose.SignJWT(claims).setProtectedHeader({ alg: "RS256", kid: "rogue", typ: "at+jwt" }).sign(
          rogue.privateKey
        ),
        "no key of the authorization server matches the token"
      ],
      [
        "a key the JWKS has not, under the JWKS's kid",
        await new jose.SignJWT(claims).setProtectedHeader({ alg: "RS256", kid: "as-key-1", typ: "at+jwt" }).sign(
          rogue.privateKey
        ),
        "the token's signature is not valid"
      ],
      [
        "alg none",
        `${b64({ alg: "none", typ: "at+jwt" })}.${payload}.`,
        "the token's signature algorithm is not allowed"
      ],
      ["signature stripped", `${header}.${payload}.`, "the token's signature is not valid"],
      [
        "HS256 signed with the RSA public key (key confusion)",
        await new jose.SignJWT(claims).setProtectedHeader({ alg: "HS256", kid: "as-key-1", typ: "at+jwt" }).sign(
          new TextEncoder().encode(publicPem)
        ),
        "the token's signature algorithm is not allowed"
      ],
      [
        "an ID token's type",
        await as.sign(claims, { typ: "id+jwt" }),
        "the token's type (id+jwt) is not an access token (at+jwt)"
      ],
      ["not a JWT (no introspection configured)", "opaque-token-value", "the token is not a valid JWT"]
    ]
    for (const [name, bad, description] of cases) {
      const res = await modernCall(mcp.url, "whoami", bearer(bad))
      const body = await res.json() as { error: { message: string } }
      assert.strictEqual(res.status, 401, `${name}: ${JSON.stringify(body)}`)
      assert.strictEqual(res.headers.get("www-authenticate"), invalid(mcp.origin, description), name)
      assert.strictEqual(body.error.message, `Unauthorized: ${description}`, name)
    }
    // The valid one, for contrast.
    const ok = await modernCall(mcp.url, "whoami", bearer(valid))
    assert.strictEqual(ok.status, 200)
    await ok.json()
    assert.deepStrictEqual(seen, ["mcp-client"])
  })

  it("refuses a token without the required scopes 403, naming all of them at once", async () => {
    const mcp = await startMcp()
    const scopeChallenge = (missing: string) =>
      `Bearer error="insufficient_scope", scope="mcp:read mcp:write", resource_metadata="${
        metadataUrl(mcp.origin)
      }", error_description="the token lacks the scope${missing.includes(" ") ? "s" : ""} ${missing}"`
    const none = await as.sign({
      iss: as.issuer,
      aud: mcp.publicUrl,
      sub: "mcp-client",
      exp: Math.floor(Date.now() / 1000) + 300
    })
    await expectRefused(await modernCall(mcp.url, "whoami", bearer(none)), 403, scopeChallenge("mcp:read mcp:write"))
    await expectRefused(
      await modernCall(mcp.url, "whoami", bearer(await token("mcp:read")(mcp.publicUrl))),
      403,
      scopeChallenge("mcp:write")
    )
  })

  it("a tool, prompt or resource's own scopes: 403 over Streamable HTTP naming them", async () => {
    const mcp = await startMcp()
    const access = bearer(await token("mcp:read mcp:write mcp:admin")(mcp.publicUrl))
    const res = await modernCall(mcp.url, "admin_only", access)
    const body = await expectRefused(
      res,
      403,
      `Bearer error="insufficient_scope", scope="mcp:admin mcp:audit", resource_metadata="${
        metadataUrl(mcp.origin)
      }", error_description="the token lacks the scope mcp:audit"`
    ) as any
    assert.deepStrictEqual(body.error.data.missingScopes, ["mcp:audit"])
    // The prompt that needs mcp:admin: this token has it.
    const prompt = await fetch(mcp.url, {
      method: "POST",
      headers: { ...JSON_AND_SSE, ...modernHeaders("prompts/get", "secret"), ...access },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 3,
        method: "prompts/get",
        params: { name: "secret", arguments: {}, _meta: modernMeta }
      })
    })
    assert.strictEqual(prompt.status, 200)
    await prompt.json()
    // A resource's scopes, and a prompt's, refused the same way to a token without them.
    const reader = bearer(await token("mcp:read mcp:write")(mcp.publicUrl))
    const read = await fetch(mcp.url, {
      method: "POST",
      headers: { ...JSON_AND_SSE, ...modernHeaders("resources/read", "test://vault"), ...reader },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 5,
        method: "resources/read",
        params: { uri: "test://vault", _meta: modernMeta }
      })
    })
    assert.strictEqual(read.status, 403)
    assert.include(read.headers.get("www-authenticate"), `error="insufficient_scope", scope="mcp:admin"`)
    assert.deepStrictEqual((await read.json() as any).error.data.missingScopes, ["mcp:admin"])
    const promptRefused = await fetch(mcp.url, {
      method: "POST",
      headers: { ...JSON_AND_SSE, ...modernHeaders("prompts/get", "secret"), ...reader },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 6,
        method: "prompts/get",
        params: { name: "secret", arguments: {}, _meta: modernMeta }
      })
    })
    assert.strictEqual(promptRefused.status, 403)
    await promptRefused.json()
    // The same resource over a legacy session: 403 too (the session's POST answers with the status).
    const init = await fetch(mcp.url, {
      method: "POST",
      headers: { ...JSON_AND_SSE, ...reader },
      body: JSON.stringify(initialize())
    })
    await init.json()
    const legacyRead = await fetch(mcp.url, {
      method: "POST",
      headers: {
        ...JSON_AND_SSE,
        ...reader,
        "mcp-session-id": init.headers.get("mcp-session-id")!,
        "mcp-protocol-version": "2025-11-25"
      },
      body: JSON.stringify({ jsonrpc: "2.0", id: 7, method: "resources/read", params: { uri: "test://vault" } })
    })
    assert.strictEqual(legacyRead.status, 403)
    assert.include(legacyRead.headers.get("www-authenticate"), `scope="mcp:admin"`)
    await legacyRead.json()
    // tools/list lists the tool all the same (listing is not calling).
    const list = await fetch(mcp.url, {
      method: "POST",
      headers: { ...JSON_AND_SSE, ...modernHeaders("tools/list"), ...access },
      body: JSON.stringify({ jsonrpc: "2.0", id: 4, method: "tools/list", params: { _meta: modernMeta } })
    })
    const tools = (await list.json() as any).result.tools.map((t: { name: string }) => t.name)
    assert.include(tools, "admin_only")
  })

  it("refuses malformed requests 400 invalid_request, a huge header unread, a token in the query string", async () => {
    const mcp = await startMcp()
    const access = await token()(mcp.publicUrl)
    const challenge = (description: string) =>
      `Bearer error="invalid_request", error_description="${description}", resource_metadata="${
        metadataUrl(mcp.origin)
      }"`
    const notBearer = challenge("the Authorization header must be 'Bearer <token>'")
    for (const authorization of ["Basic bWNwOnNlY3JldA==", `Bearer ${access} ${access}`, "Bearer", "Bearer é"]) {
      await expectRefused(await modernCall(mcp.url, "whoami", { authorization }), 400, notBearer)
    }
    await expectRefused(
      await modernCall(mcp.url, "whoami", { authorization: `Bearer ${"a".repeat(9000)}` }),
      400,
      challenge("the Authorization header exceeds 8192 bytes")
    )
    // The token in the query string is refused, with or without a header.
    await expectRefused(
      await modernCall(`${mcp.url}?access_token=${access}`, "whoami", {}),
      400,
      challenge("access tokens are accepted only in the Authorization header")
    )
    await expectRefused(
      await modernCall(`${mcp.url}?access_token=${access}`, "whoami", bearer(access)),
      400,
      challenge("access tokens are accepted only in the Authorization header")
    )
    // Two Authorization headers (node's client sends an array as two lines).
    const two = await new Promise<{ status: number; challenge: string | undefined }>((resolve, reject) => {
      const req = http.request(`${mcp.url}`, {
        method: "POST",
        headers: {
          ...JSON_AND_SSE,
          ...modernHeaders("tools/call", "whoami"),
          authorization: [`Bearer ${access}`, `Bearer ${access}`] as unknown as string
        }
      }, (res) => {
        res.resume()
        resolve({ status: res.statusCode!, challenge: res.headers["www-authenticate"] as string | undefined })
      })
      req.once("error", reject)
      req.end("{}")
    })
    assert.deepStrictEqual(two, { status: 400, challenge: challenge("more than one Authorization header") })
    assert.deepStrictEqual(seen, [])
  })
})

describe("authorization: discovery and keys", () => {
  it("finds the JWKS through OpenID discovery when RFC 8414 metadata is absent; --auth-jwks-url overrides it", async () => {
    // oidc-provider serves only /.well-known/openid-configuration: the server fell back to it in every test above.
    const rfc8414 = await fetch(`${as.issuer}/.well-known/oauth-authorization-server`)
    assert.strictEqual(rfc8414.status, 404)
    await rfc8414.text()
    const mcp = await startMcp({ jwksUrl: `${as.issuer}/jwks` })
    const ok = await modernCall(mcp.url, "whoami", bearer(await token()(mcp.publicUrl)))
    assert.strictEqual(ok.status, 200)
    await ok.json()
  })

  it("answers 503 with Retry-After while the keys cannot be fetched", async () => {
    const mcp = await startMcp({ jwksUrl: `${as.issuer}/no-such-jwks` })
    const res = await modernCall(mcp.url, "whoami", bearer(await token()(mcp.publicUrl)))
    const body = await res.json() as { error: { message: string } }
    assert.strictEqual(res.status, 503)
    assert.strictEqual(res.headers.get("retry-after"), "5")
    assert.include(body.error.message, "the authorization server's keys cannot be fetched")
  })
})

describe("authorization: opaque tokens by introspection (RFC 7662)", () => {
  it("accepts an active opaque token for this resource, refuses one for another", async () => {
    const port = await freePort()
    // The resource's URL names it opaque, so the authorization server issues opaque tokens for it.
    const publicUrl = `http://127.0.0.1:${port}/opaque/mcp`
    const mcp = await (async () => {
      const runtime: Runtime = ManagedRuntime.make(
        McpHttpServer.layer({
          port,
          auth: {
            issuer: as.issuer,
            publicUrl,
            introspection: {
              url: as.introspectionEndpoint,
              clientId: "mcp-server",
              clientSecret: AuthServer.secretOf("mcp-server")
            }
          }
        }).pipe(Layer.provideMerge(McpServer.tool(WhoAmI).pipe(Layer.provideMerge(TestServer.layer()))))
      )
      runtimes.push(runtime)
      return runtime.runPromise(McpHttpServer.McpHttpServer)
    })()
    const opaque = await as.token({ resource: publicUrl, scope: "mcp:read" })
    assert.notInclude(opaque, ".")
    const ok = await modernCall(mcp.url, "whoami", bearer(opaque))
    assert.strictEqual(ok.status, 200)
    const who = JSON.parse(textOf(await ok.json()))
    assert.strictEqual(who.principal.clientId, "mcp-client")
    assert.deepStrictEqual(who.principal.scopes, ["mcp:read"])
    // The metadata is path-aware for the public URL's path too.
    const doc = await fetch(`http://127.0.0.1:${port}/.well-known/oauth-protected-resource/opaque/mcp`)
    assert.strictEqual((await doc.json() as { resource: string }).resource, publicUrl)

    const elsewhere = await as.token({ resource: "http://elsewhere.example/opaque", scope: "mcp:read" })
    const refused = await modernCall(mcp.url, "whoami", bearer(elsewhere))
    assert.strictEqual(refused.status, 401)
    assert.include(refused.headers.get("www-authenticate"), "the token's audience is not this resource")
    await refused.json()
    const unknown = await modernCall(mcp.url, "whoami", bearer("not-a-token-the-server-issued"))
    assert.strictEqual(unknown.status, 401)
    assert.include(unknown.headers.get("www-authenticate"), "the token is not active")
    await unknown.json()
  })
})

describe("authorization: the official SDK client", () => {
  it("connects by its own OAuth (client credentials: PRM, AS discovery, RFC 8707 resource) and calls tools", async () => {
    const mcp = await startMcp()
    const provider = new ClientCredentialsProvider({
      clientId: "mcp-client",
      clientSecret: AuthServer.secretOf("mcp-client"),
      expectedIssuer: as.issuer,
      scope: "mcp:read mcp:write"
    })
    const client = new Client({ name: "oauth-client", version: "1.0.0" })
    const transport = new StreamableHTTPClientTransport(new URL(mcp.url), { authProvider: provider })
    try {
      // The SDK's flow: a 401, the metadata, the authorization server's metadata, a token, the request again.
      await client.connect(transport)
      const result = await client.callTool({ name: "whoami", arguments: {} })
      const who = JSON.parse((result.content as Array<{ text: string }>)[0]!.text)
      assert.strictEqual(who.principal.subject, "mcp-client")
      assert.isDefined(provider.tokens()?.access_token)
    } finally {
      await client.close()
    }
  })

  it("the SDK's old SSE transport with a token from a real client_credentials request", async () => {
    const mcp = await startMcp()
    const access = await token()(mcp.publicUrl)
    const client = new Client({ name: "sse-client", version: "1.0.0" })
    const transport = new SSEClientTransport(new URL(`${mcp.origin}/sse`), {
      requestInit: { headers: bearer(access) },
      eventSourceInit: {
        fetch: (url, init) => fetch(url, { ...init, headers: { ...init?.headers, ...bearer(access) } })
      }
    })
    try {
      await client.connect(transport)
      const result = await client.callTool({ name: "whoami", arguments: {} })
      assert.strictEqual(
        JSON.parse((result.content as Array<{ text: string }>)[0]!.text).principal.subject,
        "mcp-client"
      )
    } finally {
      await client.close()
    }
  })
})

describe("authorization: from the settings", () => {
  it("McpHttpServer.layerConfig reads authorization and rate limits from Config", async () => {
    const port = await freePort()
    const publicUrl = `http://127.0.0.1:${port}/mcp`
    const provider = ConfigProvider.fromMap(
      new Map([
        ["MCP_PORT", String(port)],
        ["MCP_AUTH_ISSUER", as.issuer],
        ["MCP_PUBLIC_URL", publicUrl],
        ["MCP_AUTH_SCOPES", "mcp:read"],
        ["MCP_RATE_LIMIT_CALLS", "1"]
      ])
    )
    const runtime: Runtime = ManagedRuntime.make(
      McpHttpServer.layerConfig.pipe(
        Layer.provideMerge(McpServer.tool(WhoAmI).pipe(Layer.provideMerge(TestServer.layer()))),
        Layer.provide(Layer.setConfigProvider(provider))
      )
    )
    runtimes.push(runtime)
    const info = await runtime.runPromise(McpHttpServer.McpHttpServer)
    const anonymous = await modernCall(info.url, "whoami", {})
    assert.strictEqual(anonymous.status, 401)
    await anonymous.json()
    const access = bearer(await token("mcp:read")(publicUrl))
    const first = await modernCall(info.url, "whoami", access)
    assert.strictEqual(first.status, 200)
    assert.strictEqual(JSON.parse(textOf(await first.json())).principal.subject, "mcp-client")
    // One call per window: the second is over the limit of this principal.
    const second = await modernCall(info.url, "whoami", access)
    assert.strictEqual(second.status, 429)
    await second.json()
  })

  it("refuses settings that cannot work: --auth-issuer without --public-url, --auth-jwks-url alone", async () => {
    const failure = (entries: ReadonlyArray<readonly [string, string]>) =>
      Effect.runPromise(
        Effect.flip(Effect.withConfigProvider(Auth.options, ConfigProvider.fromMap(new Map(entries))))
      ).then(String)
    assert.include(await failure([["MCP_AUTH_ISSUER", as.issuer]]), "MCP_PUBLIC_URL (--public-url) is required")
    assert.include(
      await failure([["MCP_AUTH_JWKS_URL", `${as.issuer}/jwks`], ["MCP_PUBLIC_URL", "http://mcp.test/mcp"]]),
      "MCP_AUTH_JWKS_URL (--auth-jwks-url) needs MCP_AUTH_ISSUER (--auth-issuer)"
    )
    assert.include(
      await failure([["MCP_AUTH_INTROSPECTION_URL", `${as.issuer}/x`], ["MCP_PUBLIC_URL", "http://mcp.test/mcp"]]),
      "needs MCP_AUTH_CLIENT_ID (--auth-client-id) and MCP_AUTH_CLIENT_SECRET (--auth-client-secret)"
    )
    assert.include(
      await failure([["MCP_AUTH_ISSUER", "not a url"], ["MCP_PUBLIC_URL", "http://mcp.test/mcp"]]),
      "MCP_AUTH_ISSUER: expected an absolute http(s) URL"
    )
  })

  it("node dist/main.js --auth-issuer --public-url --auth-scopes (dist): tokens required, the principal in the logs", async () => {
    // The public URL is the name clients reach the server by (a proxy's, say), not its listening address.
    const publicUrl = "https://mcp.example.test/mcp"
    const server = await startServer([
      "--auth-issuer",
      as.issuer,
      "--public-url",
      publicUrl,
      "--auth-scopes",
      "mcp:read mcp:write",
      "--log-messages",
      "--log-format",
      "json"
    ])
    const url = `http://127.0.0.1:${server.port}/mcp`
    const refused = await modernCall(url, "echo", {}, { text: "hi" })
    assert.strictEqual(refused.status, 401)
    assert.strictEqual(
      refused.headers.get("www-authenticate"),
      `Bearer resource_metadata="https://mcp.example.test/.well-known/oauth-protected-resource/mcp", scope="mcp:read mcp:write"`
    )
    await refused.json()
    const ok = await modernCall(url, "echo", bearer(await token()(publicUrl)), { text: "hi" })
    assert.strictEqual(ok.status, 200)
    assert.strictEqual(textOf(await ok.json()), "hi")
    const doc = await fetch(`http://127.0.0.1:${server.port}/.well-known/oauth-protected-resource/mcp`)
    assert.strictEqual((await doc.json() as { resource: string }).resource, publicUrl)
    await until(
      () => server.stderr().some((line) => line.annotations?.principal === "mcp-client"),
      "a log line with the principal",
      5000
    )
    server.child.kill("SIGTERM")
    assert.strictEqual((await server.exit).code, 0)
  })
})

describe("authorization: over TLS, HTTP/2", () => {
  it("an HTTP/2 request is authenticated like an HTTP/1.1 one (401 with the challenge, then 200)", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mcp-auth-tls-"))
    try {
      const { certFile, keyFile } = selfSigned(dir, 1)
      const cert = fs.readFileSync(certFile)
      const port = await freePort()
      const publicUrl = `https://127.0.0.1:${port}/mcp`
      const runtime: Runtime = ManagedRuntime.make(
        McpHttpServer.layer({
          port,
          shutdownTimeout: "2 seconds",
          tls: { cert, key: fs.readFileSync(keyFile) },
          auth: { issuer: as.issuer, publicUrl, scopes: REQUIRED }
        }).pipe(Layer.provideMerge(McpServer.tool(WhoAmI).pipe(Layer.provideMerge(TestServer.layer()))))
      )
      runtimes.push(runtime)
      await runtime.runPromise(McpHttpServer.McpHttpServer)
      const session = http2.connect(`https://127.0.0.1:${port}`, { ca: cert })
      try {
        const call = (headers: Record<string, string>) =>
          new Promise<{ status: number; challenge: string | undefined; body: any }>((resolve, reject) => {
            const stream = session.request({
              ":method": "POST",
              ":path": "/mcp",
              ...JSON_AND_SSE,
              ...modernHeaders("tools/call", "whoami"),
              ...headers
            })
            let status = 0
            let challenge: string | undefined
            let text = ""
            stream.on("response", (h) => {
              status = Number(h[":status"])
              challenge = h["www-authenticate"] as string | undefined
            })
            stream.setEncoding("utf8")
            stream.on("data", (chunk) => (text += chunk))
            stream.on("end", () => resolve({ status, challenge, body: JSON.parse(text) }))
            stream.on("error", reject)
            stream.end(JSON.stringify({
              jsonrpc: "2.0",
              id: 1,
              method: "tools/call",
              params: { name: "whoami", arguments: {}, _meta: modernMeta }
            }))
          })
        const refused = await call({})
        assert.strictEqual(refused.status, 401)
        assert.strictEqual(
          refused.challenge,
          `Bearer resource_metadata="https://127.0.0.1:${port}/.well-known/oauth-protected-resource/mcp", scope="mcp:read mcp:write"`
        )
        const ok = await call(bearer(await token()(publicUrl)))
        assert.strictEqual(ok.status, 200)
        assert.strictEqual(JSON.parse(textOf(ok.body)).principal.subject, "mcp-client")
      } finally {
        session.close()
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
