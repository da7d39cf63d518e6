/**
 * `list_models`: the model registry — capabilities and lifecycle — so the model picks valid options.
 *
 * @module
 */
import { z } from "zod";
import type { McpContext } from "../context.ts";
import { wantsStructuredContent } from "../results.ts";
import type { CallToolResult, McpServer } from "../sdk.ts";
import { iconList, TOOL_PRESENTATION as SHOWN } from "../presentation.ts";

/** Registers `list_models` on `server`. */
export function registerListModelsTool(server: McpServer, ctx: McpContext): void {
  server.registerTool(
    "list_models",
    {
      title: SHOWN.list_models.title,
      icons: iconList(SHOWN.list_models.icons),
      description:
        "List the image models this server knows: status (current, shutdown announced, retired), sizes, " +
        "qualities, output formats, edit support and price. Use it to choose model, size and quality.",
      inputSchema: z.object({}),
      annotations: { title: SHOWN.list_models.title, readOnlyHint: true, openWorldHint: false },
    },
    async (_args, extra): Promise<CallToolResult> => {
      const models = await ctx.images.models();
      const lines = models.map((m) =>
        `- ${m.id} (${m.lifecycle}) · sizes: ${m.sizes} · quality: ${m.qualities.join("/")} · ` +
        `formats: ${m.formats.join("/")} · edits: ${m.edits ? "yes" : "no"} · price: ${m.price}`
      );
      const result: CallToolResult = {
        content: [{
          type: "text",
          text: [`Default model: ${ctx.config.defaultModel}`, ...lines].join("\n"),
        }],
      };
      if (wantsStructuredContent(ctx.config.mcpStructuredContent, ctx.client(extra))) {
        result.structuredContent = { default_model: ctx.config.defaultModel, models };
      }
      return result;
    },
  );
}
