/**
 * The MCP server both transports serve: `createMcpServer` (tools, resources, prompts, for either
 * protocol era), the context its tools run in, and the SDK pieces the doors mount it with (the HTTP
 * handler for 2026-07-28 requests, the stateful/stateless transport for 2025 ones, stdio).
 * `fast_stdio.ts` is a light public module of its own: the stdio transport that listens before the
 * SDK loads.
 *
 * @module
 */
export { createMcpServer, type ImageMcpServer, type McpServerOptions } from "./server.ts";
export { callerOf, type McpContext, type McpDoorContext } from "./context.ts";
export { createPriceGate, type PriceGate } from "./confirm/mod.ts";
export {
  createMcpHandler,
  isLegacyRequest,
  type ProtocolEra,
  serveStdio,
  WebStandardStreamableHTTPServerTransport,
} from "./sdk.ts";
export { FastStdioTransport } from "./fast_stdio.ts";
export { createTaskSetup, type TaskSetup } from "./task_door.ts";
