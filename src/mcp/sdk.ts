/**
 * The one module that imports the MCP SDK (server side, v2): `@modelcontextprotocol/server`, its
 * stdio entry and its eval-free JSON Schema validator.
 *
 * @module
 */
export {
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
  createMcpHandler,
  isLegacyRequest,
  McpServer,
  ProtocolError,
  ResourceNotFoundError,
  ResourceTemplate,
  specTypeSchemas,
  SUPPORTED_PROTOCOL_VERSIONS as SDK_PROTOCOL_VERSIONS,
  WebStandardStreamableHTTPServerTransport,
} from "@modelcontextprotocol/server";
export type {
  AuthInfo,
  CacheHint,
  CallToolResult,
  ClientCapabilities,
  ContentBlock,
  GetPromptResult,
  Implementation,
  InputRequiredResult,
  LoggingLevel,
  McpHttpHandler,
  McpRequestContext,
  ProtocolEra,
  ReadResourceResult,
  RegisteredTool,
  ServerContext,
  SpecTypeName,
  Transport,
} from "@modelcontextprotocol/server";
export { serveStdio } from "@modelcontextprotocol/server/stdio";
export { CfWorkerJsonSchemaValidator } from "@modelcontextprotocol/server/validators/cf-worker";
