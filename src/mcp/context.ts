/**
 * What every MCP tool, resource and prompt receives: the core facade, settings, and the identity
 * of the caller, its client and the protocol era it speaks.
 *
 * @module
 */
import type { Config } from "../config.ts";
import type {
  Caller,
  GenerationJob,
  ImageService,
  Principal,
  StartOptions,
} from "../core_types.ts";
import type { PriceGate } from "./confirm/mod.ts";
import type { ClientTraits } from "./results.ts";
import type { ToolExtra } from "./progress.ts";
import type { CallToolResult, ClientCapabilities, ProtocolEra } from "./sdk.ts";

/** What a door supplies for one server instance (see `createMcpServer`). */
export interface McpDoorContext {
  /** The core. */
  readonly images: ImageService;
  /** Resolved settings. */
  readonly config: Config;
  /** Who is calling (stdio: the local user; HTTP: the authenticated key). */
  principal(extra?: ToolExtra): Principal;
  /** Masks secrets in text shown to the client. */
  redact(text: string): string;
  /**
   * Confirmation before expensive renders (`MCP_CONFIRM_ABOVE_USD`, see `createPriceGate`);
   * absent when the setting is off, and then nothing is asked.
   */
  readonly confirm?: PriceGate;
  /** Called when a tool starts a job (the HTTP door records request → job for remote cancels). */
  onJobStarted?(extra: ToolExtra, job: GenerationJob): Promise<void>;
}

/** Task support of one server instance, as the generation tools see it (`task_door.ts`). */
export interface McpTasks {
  /**
   * Starts the tool call in `extra` as a task when its client asked for one, answering with the
   * era's `CreateTaskResult`; undefined when the call is to run as a plain call.
   */
  start(
    extra: ToolExtra,
    start: (options: StartOptions) => Promise<GenerationJob>,
  ): Promise<CallToolResult | undefined>;
}

/** Shared context of the MCP server's handlers: the door's part plus the client's. */
export interface McpContext extends McpDoorContext {
  /**
   * The protocol era this server instance serves: `modern` (2026-07-28, per-request `_meta`
   * envelope) or `legacy` (2025-11-25 and earlier, `initialize` handshake).
   */
  readonly era: ProtocolEra;
  /** The calling client's name (2026: the request's envelope; 2025: `initialize`). */
  client(extra?: ToolExtra): ClientTraits;
  /**
   * What the client declared it can do: the request's own `clientCapabilities` on the 2026 era
   * (servers must not infer them from earlier requests), the `initialize` ones on the 2025 era.
   * Undefined when nothing was declared (a stateless 2025 request never saw an `initialize`).
   */
  capabilities(extra?: ToolExtra): ClientCapabilities | undefined;
  /** Generations as tasks, when the door serves them (see `task_door.ts`). */
  readonly tasks?: McpTasks;
}

/** The caller of an MCP request, as the core takes it. */
export function callerOf(ctx: Pick<McpContext, "principal">, extra?: ToolExtra): Caller {
  return { principal: ctx.principal(extra), door: "mcp" };
}
