/**
 * Builds the MCP server used by both the stdio door and Streamable HTTP: the same tools,
 * resources and prompts, one factory.
 *
 * @module
 */
import type { LogLevel as LogTapeLevel } from "@logtape/logtape";
import { type LoggingHandle, logScopeOf } from "../log.ts";
import { DECLARED_CAPABILITIES, INSTRUCTIONS, SERVER_INFO } from "./identity.ts";
import type { McpContext } from "./context.ts";
import { registerPrompts } from "./prompts.ts";
import { registerImageResources } from "./resources.ts";
import { CfWorkerJsonSchemaValidator, type LoggingLevel, McpServer } from "./sdk.ts";
import { registerDeleteImageTool } from "./tools/delete_image.ts";
import { registerEditImageTool } from "./tools/edit_image.ts";
import { registerGenerateImageTool } from "./tools/generate_image.ts";
import { registerGetImageTool } from "./tools/get_image.ts";
import { registerListImagesTool } from "./tools/list_images.ts";
import { registerListModelsTool } from "./tools/list_models.ts";

const MCP_LEVEL: Record<LogTapeLevel, LoggingLevel> = {
  trace: "debug",
  debug: "debug",
  info: "info",
  warning: "warning",
  error: "error",
  fatal: "critical",
};

/** Options of {@link createMcpServer}. */
export interface McpServerOptions {
  /** Forwards warnings and errors to the client as MCP log messages. */
  logging?: Pick<LoggingHandle, "addListener">;
  /**
   * Forward only the records logged in this scope (`withLogScope`): a remote session hears about
   * its own work, never another user's. Unset (stdio: one local user), every record is forwarded.
   */
  logScope?: string;
}

/** Creates an MCP server with every tool, resource and prompt registered. */
export function createMcpServer(
  makeContext: (server: McpServer) => McpContext,
  options: McpServerOptions = {},
): McpServer & { dispose(): void } {
  const server = new McpServer(
    { ...SERVER_INFO },
    {
      capabilities: structuredClone(DECLARED_CAPABILITIES),
      instructions: INSTRUCTIONS,
      // The eval-free validator: Deno Deploy forbids the code generation Ajv relies on, and one
      // validator everywhere means the tested path is the deployed one.
      jsonSchemaValidator: new CfWorkerJsonSchemaValidator(),
    },
  );
  const ctx = makeContext(server);
  registerGenerateImageTool(server, ctx);
  registerEditImageTool(server, ctx);
  registerGetImageTool(server, ctx);
  registerListImagesTool(server, ctx);
  if (ctx.config.mcpAllowDelete) registerDeleteImageTool(server, ctx);
  registerListModelsTool(server, ctx);
  registerImageResources(server, ctx);
  registerPrompts(server);
  const remove = options.logging?.addListener((record, message) => {
    if (record.level !== "warning" && record.level !== "error" && record.level !== "fatal") return;
    if (options.logScope !== undefined && logScopeOf(record) !== options.logScope) return;
    if (!server.isConnected()) return;
    // The session id picks the level this session asked for with logging/setLevel.
    server.sendLoggingMessage({
      level: MCP_LEVEL[record.level],
      logger: record.category.join("."),
      data: message,
    }, server.server.transport?.sessionId).catch(() => {
      // The client may have gone; logs still reach stderr.
    });
  });
  return Object.assign(server, { dispose: () => void remove?.() });
}
