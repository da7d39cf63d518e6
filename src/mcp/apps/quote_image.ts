/**
 * `quote_image`, a tool only the studio calls: what a generation would cost at most, from the
 * core's own validation (the figure its budget reserves; the price gate's figure where the door
 * confirms prices), before the studio offers to run it.
 *
 * @module
 */
import { z } from "zod";
import { doorRequestSchema } from "../../generation/vocabulary.ts";
import { withoutConfirmation } from "../confirm/mod.ts";
import type { McpContext } from "../context.ts";
import { errorResult } from "../results.ts";
import type { CallToolResult, McpServer } from "../sdk.ts";
import { appOnly } from "./links.ts";

/** Registers `quote_image` on `server` (listed to apps clients only). */
export function registerQuoteImageTool(server: McpServer, ctx: McpContext): void {
  server.registerTool(
    "quote_image",
    {
      title: "Price a generation",
      description: "The image studio's price check: the most a generate_image (or, with " +
        "operation edit, an edit_image) call with these arguments can cost, without running it.",
      // Generate's fields, and an edit's (its own fields optional here: the core checks them).
      inputSchema: doorRequestSchema("mcp", "generate")
        .extend(doorRequestSchema("mcp", "edit").partial().shape)
        .extend({
          operation: z.enum(["generate", "edit"]).optional().describe(
            "What to price: generate_image (default) or edit_image with these arguments.",
          ),
        }),
      annotations: { readOnlyHint: true, openWorldHint: false },
      _meta: appOnly(),
    },
    async ({ operation = "generate", ...args }): Promise<CallToolResult> => {
      try {
        const input = withoutConfirmation(args);
        const checked = await ctx.images.validate(operation, input);
        // Where the door confirms prices, the figure it checks a confirmation against.
        const gated = ctx.confirm ? await ctx.confirm.quote(operation, input) : undefined;
        // Unknown prices count as $0 in the core's budget figure: say unknown, not "$0".
        const usd = gated ? gated.usd : checked.priceUnknown ? null : checked.worstCaseUsd;
        const reason = usd === null ? (gated?.reason ?? checked.priceUnknown) : undefined;
        const images = `${checked.n} image${checked.n === 1 ? "" : "s"} with ${checked.model}`;
        return {
          content: [{
            type: "text",
            text: usd === null
              ? `${images}: price unknown (${reason})`
              : `${images}: at most $${usd.toFixed(3)}`,
          }],
          structuredContent: {
            model: checked.model,
            n: checked.n,
            max_usd: usd,
            ...(reason ? { reason } : {}),
            warnings: [...checked.warnings],
          },
        };
      } catch (error) {
        return errorResult(error, ctx.redact);
      }
    },
  );
}
