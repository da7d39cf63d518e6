/**
 * `list_images`: the catalog, newest first, with paging and filters.
 *
 * @module
 */
import { z } from "zod";
import { callerOf, type McpContext } from "../context.ts";
import { formatBytes } from "../../format_bytes.ts";
import { describeImage, errorResult, wantsStructuredContent } from "../results.ts";
import type { CallToolResult, ContentBlock, McpServer } from "../sdk.ts";
import { studioLink } from "../apps/mod.ts";
import { iconList, TOOL_PRESENTATION as SHOWN } from "../presentation.ts";

/** Registers `list_images` on `server`. */
export function registerListImagesTool(server: McpServer, ctx: McpContext): void {
  server.registerTool(
    "list_images",
    {
      title: SHOWN.list_images.title,
      icons: iconList(SHOWN.list_images.icons),
      description:
        "List stored images, newest first: id, prompt, model, size, cost and age. Filter by model or " +
        "by text in the prompt; pass the returned cursor to get the next page. A user key sees " +
        "only its own images.",
      inputSchema: z.object({
        limit: z.number().int().min(1).max(100).optional().describe(
          "Page size, 1–100 (default 20).",
        ),
        cursor: z.string().optional().describe("Cursor from the previous page."),
        model: z.string().optional().describe("Only images made by this model."),
        query: z.string().optional().describe("Only images whose prompt contains this text."),
      }),
      _meta: studioLink(),
      annotations: { title: SHOWN.list_images.title, readOnlyHint: true, openWorldHint: false },
    },
    async (args, extra): Promise<CallToolResult> => {
      try {
        const page = await ctx.images.list(callerOf(ctx, extra), args);
        const now = ctx.images.now();
        const lines = page.items.map((r) => {
          const age = Math.max(0, Math.round((now - r.created) / 60_000));
          const prompt = r.prompt ? JSON.stringify(r.prompt.slice(0, 120)) : "(prompt unknown)";
          return `- ${r.id} · ${r.model ?? "?"} · ${r.width}x${r.height} · ${
            formatBytes(r.bytes)
          } · ${age < 120 ? `${age} min` : `${Math.round(age / 60)} h`} ago · ${prompt}`;
        });
        const header = page.items.length === 0
          ? "No images found."
          : `${page.items.length} image${page.items.length === 1 ? "" : "s"}, newest first:`;
        const content: ContentBlock[] = [{
          type: "text",
          text: [header, ...lines, page.nextCursor ? `Next page cursor: ${page.nextCursor}` : ""]
            .filter(Boolean).join("\n"),
        }];
        for (const record of page.items) {
          content.push({
            type: "resource_link",
            uri: `image://${record.id}`,
            name: record.fileName,
            mimeType: record.mime,
            size: record.bytes,
          } as ContentBlock);
        }
        const result: CallToolResult = { content };
        if (wantsStructuredContent(ctx.config.mcpStructuredContent, ctx.client(extra))) {
          result.structuredContent = {
            images: await Promise.all(page.items.map((r) => describeImage(ctx.config, r))),
            next_cursor: page.nextCursor ?? null,
          };
        }
        return result;
      } catch (error) {
        return errorResult(error, ctx.redact);
      }
    },
  );
}
