/**
 * The MCP server both transports serve: `createMcpServer` (tools, resources, prompts), the context
 * its tools run in, and the SDK pieces the HTTP mount needs. `fast_stdio.ts` is a light public
 * module of its own: the stdio transport that listens before the SDK loads.
 *
 * @module
 */
export { createMcpServer, type McpServerOptions } from "./server.ts";
export { callerOf, type McpContext } from "./context.ts";
export { type McpServer, WebStandardStreamableHTTPServerTransport } from "./sdk.ts";
export { FastStdioTransport } from "./fast_stdio.ts";
