/**
 * What every MCP tool, resource and prompt receives: the core facade, settings, and the identity
 * of the caller and its client.
 *
 * @module
 */
import type { Config } from "../config.ts";
import type { Caller, GenerationJob, ImageService, Principal } from "../core_types.ts";
import type { ClientTraits } from "./results.ts";
import type { ToolExtra } from "./progress.ts";

/** Shared context of the MCP server's handlers. */
export interface McpContext {
  /** The core. */
  readonly images: ImageService;
  /** Resolved settings. */
  readonly config: Config;
  /** Who is calling (stdio: the local user; HTTP: the authenticated key). */
  principal(extra?: ToolExtra): Principal;
  /** The connected client's name, for result shaping. */
  client(): ClientTraits;
  /** Masks secrets in text shown to the client. */
  redact(text: string): string;
  /** Called when a tool starts a job (the HTTP door records request → job for remote cancels). */
  onJobStarted?(extra: ToolExtra, job: GenerationJob): Promise<void>;
}

/** The caller of an MCP request, as the core takes it. */
export function callerOf(ctx: Pick<McpContext, "principal">, extra?: ToolExtra): Caller {
  return { principal: ctx.principal(extra), door: "mcp" };
}
