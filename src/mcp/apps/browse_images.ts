/**
 * `browse_images`, a tool only the studio calls: one page of the caller's images, newest first,
 * each with its small thumbnail, so the studio can show and open them.
 *
 * @module
 */
import { z } from "zod";
import { encodeBase64 } from "../../encoding.ts";
import { callerOf, type McpContext } from "../context.ts";
import { errorResult } from "../results.ts";
import type { CallToolResult, McpServer } from "../sdk.ts";
import { appOnly } from "./links.ts";

/** Images per page: a dozen thumbnails stay well below a host's result cap. */
export const BROWSE_PAGE = 12;

/** Registers `browse_images` on `server` (listed to apps clients only). */
export function registerBrowseImagesTool(server: McpServer, ctx: McpContext): void {
  server.registerTool(
    "browse_images",
    {
      title: "Browse images",
      description: "The image studio's browser: a page of stored images with thumbnails, " +
        "newest first, optionally only those whose prompt contains query.",
      inputSchema: z.object({
        query: z.string().max(200).optional().describe("Text the prompt must contain."),
        cursor: z.string().optional().describe("Cursor from the previous page."),
      }),
      annotations: { readOnlyHint: true, openWorldHint: false },
      _meta: appOnly(),
    },
    async (args, extra): Promise<CallToolResult> => {
      try {
        const caller = callerOf(ctx, extra);
        const page = await ctx.images.list(caller, {
          limit: BROWSE_PAGE,
          ...(args.query ? { query: args.query } : {}),
          ...(args.cursor ? { cursor: args.cursor } : {}),
        });
        const images = await Promise.all(page.items.map(async (record) => {
          const thumb = await ctx.images.thumbnail(record.id, caller).catch(() => null);
          return {
            id: record.id,
            prompt: record.prompt,
            width: record.width,
            height: record.height,
            created: new Date(record.created).toISOString(),
            thumbnail: thumb
              ? `data:${thumb.view.mime};base64,${encodeBase64(thumb.view.bytes)}`
              : null,
          };
        }));
        return {
          content: [{
            type: "text",
            text: images.length === 0
              ? "No images found."
              : `${images.length} images: ${images.map((image) => image.id).join(", ")}`,
          }],
          structuredContent: { images, next_cursor: page.nextCursor ?? null },
        };
      } catch (error) {
        return errorResult(error, ctx.redact);
      }
    },
  );
}
