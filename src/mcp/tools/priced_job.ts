/**
 * The handler shared by `generate_image` and `edit_image`: when the door has a price gate
 * (`MCP_CONFIRM_ABOVE_USD`), the request is priced and, above the setting, confirmed in the way
 * the client can be asked — an `input_required` result (2026-07-28), an `elicitation/create`
 * request (2025 connections that declared elicitation), or an `isError` result naming
 * `confirm_price_usd` — before {@link runJobTool} starts anything upstream.
 *
 * @module
 */
import type { GenerationJob, StartOptions } from "../../core_types.ts";
import { getLog } from "../../log.ts";
import {
  confirmThenRun,
  declaresFormElicitation,
  DEFAULT_STATE_TTL_MS,
  type ElicitFormParams,
  withoutConfirmation,
} from "../confirm/mod.ts";
import type { McpContext } from "../context.ts";
import type { ToolExtra } from "../progress.ts";
import { errorResult } from "../results.ts";
import { runJobTool } from "../run_job.ts";
import type { CallToolResult, InputRequiredResult } from "../sdk.ts";

const log = getLog("mcp");

/** One call of a generation tool. */
export interface PricedCall {
  /** The tool's name. */
  readonly tool: "generate_image" | "edit_image";
  /** What the core is asked to do. */
  readonly operation: "generate" | "edit";
  /** The arguments as received (`confirm_price_usd` included, if given). */
  readonly args: Record<string, unknown>;
  /** Starts the job for the arguments the confirmation leaves. */
  readonly start: (input: Record<string, unknown>, options: StartOptions) => Promise<GenerationJob>;
}

/** Sends `elicitation/create` on the tool call's own stream; a failure counts as not confirmed. */
async function elicit(extra: ToolExtra, params: ElicitFormParams): Promise<unknown> {
  try {
    // A person decides: as long as a 2026 confirmation state stays valid, or until the call ends.
    return await extra.mcpReq.send(
      { method: "elicitation/create", params: params as never },
      { timeout: DEFAULT_STATE_TTL_MS, signal: extra.mcpReq.signal },
    );
  } catch (error) {
    log.debug("Price confirmation not answered: {message}", {
      message: error instanceof Error ? error.message : String(error),
    });
    return { action: "cancel" };
  }
}

/** Answers a generation tool call: priced and confirmed first where the door asks for that. */
export async function runPricedJobTool(
  ctx: McpContext,
  extra: ToolExtra,
  call: PricedCall,
): Promise<CallToolResult | InputRequiredResult> {
  const run = async (input: Record<string, unknown>) =>
    await runJobTool(ctx, extra, (options) => call.start(input, options));
  const gate = ctx.confirm;
  if (!gate) return await run(withoutConfirmation(call.args));
  let quote;
  try {
    quote = await gate.quote(call.operation, withoutConfirmation(call.args));
  } catch (error) {
    return errorResult(error, ctx.redact);
  }
  const result = await confirmThenRun(gate.confirmation, {
    tool: call.tool,
    arguments: call.args,
    principalId: ctx.principal(extra).id,
    quote,
    client: {
      era: ctx.era === "modern" ? "2026-07-28" : "2025-11-25",
      // Stateless 2025 HTTP never saw an `initialize`: no capabilities, so nothing to ask with.
      elicitation: declaresFormElicitation(ctx.capabilities(extra)),
    },
    inputResponses: extra.mcpReq.inputResponses,
    requestState: extra.mcpReq.requestState(),
  }, { elicit: (params) => elicit(extra, params), run });
  // The same shapes, typed by the SDK (its elicitation schema types are narrower than ours).
  return result as CallToolResult | InputRequiredResult;
}
