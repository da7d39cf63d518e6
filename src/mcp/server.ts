/**
 * Builds the MCP server used by both the stdio door and Streamable HTTP: the same tools,
 * resources and prompts, one factory, for both protocol eras (2026-07-28 and 2025-era).
 *
 * @module
 */
import type { LogLevel as LogTapeLevel } from "@logtape/logtape";
import { type LoggingHandle, logScopeOf } from "../log.ts";
import {
  DECLARED_CAPABILITIES,
  INSTRUCTIONS,
  LEGACY_TASKS_CAPABILITY,
  SERVER_INFO,
  TASKS_EXTENSION_CAPABILITIES,
} from "./identity.ts";
import { hideAppTools, registerStudio } from "./apps/mod.ts";
import { clientView } from "./client_view.ts";
import type { McpContext, McpDoorContext, McpTasks } from "./context.ts";
import { registerPrompts } from "./prompts.ts";
import { registerImageResources } from "./resources.ts";
import {
  type CacheHint,
  CfWorkerJsonSchemaValidator,
  type LoggingLevel,
  McpServer,
  type ProtocolEra,
} from "./sdk.ts";
import { registerDeleteImageTool } from "./tools/delete_image.ts";
import { registerEditImageTool } from "./tools/edit_image.ts";
import { registerGenerateImageTool } from "./tools/generate_image.ts";
import { registerGetImageTool } from "./tools/get_image.ts";
import { registerListImagesTool } from "./tools/list_images.ts";
import { registerListModelsTool } from "./tools/list_models.ts";
import { guardRequestParams } from "./params_guard.ts";
import { installTasks, type TaskSetup } from "./task_door.ts";
import { captureToolHandlers } from "./tool_handlers.ts";

const MCP_LEVEL: Record<LogTapeLevel, LoggingLevel> = {
  trace: "debug",
  debug: "debug",
  info: "info",
  warning: "warning",
  error: "error",
  fatal: "critical",
};

/** The prompt and template lists change only with the settings: clients may keep them. */
const STABLE_LIST: CacheHint = { ttlMs: 300_000, cacheScope: "public" };

/**
 * Cache hints of the 2026-07-28 cacheable results (`ttlMs`/`cacheScope`; 2025-era answers never
 * carry them). `tools/list` also varies with the request's declared capabilities (app-only
 * tools), so it is `private`. `resources/list` pages change with every new image and belong to one caller, so it
 * keeps the SDK's default (`0`, `private`); a stored image never changes, so `resources/read` may
 * be kept by the caller that read it.
 */
export const CACHE_HINTS = Object.freeze(
  {
    "server/discover": STABLE_LIST,
    // The app-only tools are listed only to a request declaring the apps extension (hideAppTools).
    "tools/list": { ttlMs: 300_000, cacheScope: "private" },
    "prompts/list": STABLE_LIST,
    "resources/templates/list": STABLE_LIST,
    "resources/read": { ttlMs: 3_600_000, cacheScope: "private" },
  } satisfies Record<string, CacheHint>,
);

/** Options of {@link createMcpServer}. */
export interface McpServerOptions {
  /** The era this instance serves (the SDK's serving entries say it; default `legacy`). */
  era?: ProtocolEra;
  /** Forwards warnings and errors to the client as MCP log messages. */
  logging?: Pick<LoggingHandle, "addListener">;
  /**
   * Forward only the records logged in this scope (`withLogScope`): a remote session hears about
   * its own work, never another user's. Unset (stdio: one local user), every record is forwarded.
   */
  logScope?: string;
  /**
   * Serve `generate_image` and `edit_image` as tasks to clients that ask (2026-07-28 extension,
   * 2025-11-25 `params.task`), and the era's `tasks/*` methods. Unset, every call runs as before.
   */
  tasks?: TaskSetup;
}

/** The capabilities an instance of `era` declares (tasks in the era's own way, when served). */
function capabilitiesOf(era: ProtocolEra, tasks: boolean) {
  // Without `tools`, `resources` and `prompts` here the SDK installs their handlers (and declares
  // them, as it would here) at the first registerTool/registerResource/registerPrompt: after
  // guardRequestParams, and for tools where captureToolHandlers sees them.
  const { tools: _t, resources: _r, prompts: _p, ...declared } = structuredClone(
    DECLARED_CAPABILITIES,
  );
  if (!tasks) return declared;
  return era === "modern"
    ? { ...declared, extensions: structuredClone(TASKS_EXTENSION_CAPABILITIES.extensions) }
    : { ...declared, tasks: structuredClone(LEGACY_TASKS_CAPABILITY) };
}

/** An MCP server with every tool, resource and prompt registered, and the context they share. */
export type ImageMcpServer = McpServer & {
  /** The context the handlers received (era, client, caller). */
  readonly context: McpContext;
  /** Stops forwarding logs (also done when the server closes). */
  dispose(): void;
};

/** Creates an MCP server with every tool, resource and prompt registered. */
export function createMcpServer(
  makeContext: (server: McpServer) => McpDoorContext,
  options: McpServerOptions = {},
): ImageMcpServer {
  const era = options.era ?? "legacy";
  const server = new McpServer(
    { ...SERVER_INFO },
    {
      capabilities: capabilitiesOf(era, options.tasks !== undefined),
      instructions: INSTRUCTIONS,
      // The eval-free validator: Deno Deploy forbids the code generation Ajv relies on, and one
      // validator everywhere means the tested path is the deployed one.
      jsonSchemaValidator: new CfWorkerJsonSchemaValidator(),
      cacheHints: CACHE_HINTS,
    },
  );
  // Before anything is registered: every standard request's handler checks its params first.
  guardRequestParams(server);
  let tasks: McpTasks | undefined;
  const ctx: McpContext = {
    ...makeContext(server),
    era,
    client: (extra) => ({ name: clientView(server, era, extra).info?.name }),
    capabilities: (extra) => clientView(server, era, extra).capabilities,
    get tasks() {
      return tasks;
    },
  };
  const handlers = captureToolHandlers(server, () => {
    registerGenerateImageTool(server, ctx);
    registerEditImageTool(server, ctx);
    registerGetImageTool(server, ctx);
    registerListImagesTool(server, ctx);
    if (ctx.config.mcpAllowDelete) registerDeleteImageTool(server, ctx);
    registerListModelsTool(server, ctx);
    registerStudio(server, ctx);
  });
  // Tools only the studio calls are listed to apps clients alone (the tasks wrapper builds on it).
  const list = handlers.list && hideAppTools(handlers.list, ctx);
  if (list) server.server.setRequestHandler("tools/list", list as never);
  if (options.tasks) tasks = installTasks(server, ctx, options.tasks, { ...handlers, list });
  // The captured handler answers a tool's protocol error as a JSON-RPC error (the SDK's: isError).
  else if (handlers.call) server.server.setRequestHandler("tools/call", handlers.call as never);
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
  const dispose = () => void remove?.();
  // The SDK's serving entries close per-request and per-connection instances themselves.
  server.server.onclose = dispose;
  return Object.assign(server, { context: ctx, dispose });
}
