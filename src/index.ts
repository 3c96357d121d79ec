/**
 * effect-mcp-server: a Model Context Protocol server runtime for TypeScript, built on Effect.
 *
 * @since 0.1.0
 */
export * as Content from "./server/Content.js"
export * as Connection from "./transport/Connection.js"
export * as Dispatcher from "./server/Dispatcher.js"
export * as EventStore from "./transport/EventStore.js"
export * as HttpServer from "./http/HttpServer.js"
export * as JsonRpc from "./protocol/JsonRpc.js"
export * as LegacySse from "./transport/LegacySse.js"
export * as McpContext from "./server/McpContext.js"
export * as McpSchema from "./protocol/McpSchema.js"
export * as McpServer from "./server/McpServer.js"
export * as McpTest from "./McpTest.js"
export * as Prompt from "./server/Prompt.js"
export * as ProtocolVersion from "./protocol/ProtocolVersion.js"
export * as ReferenceServer from "./reference/ReferenceServer.js"
export * as Resource from "./server/Resource.js"
export * as Session from "./server/Session.js"
export * as Stdio from "./transport/Stdio.js"
export * as StreamableHttp from "./transport/StreamableHttp.js"
export * as Tool from "./server/Tool.js"
export * as UriTemplate from "./server/UriTemplate.js"
export * as WebSocket from "./transport/WebSocket.js"
export { VERSION } from "./Version.js"
