/**
 * `delete_image`: removes an image from the store and catalog (absent when MCP_ALLOW_DELETE=false).
 *
 * @module
 */
import { z } from "zod";
import { AppError } from "../../errors.ts";
import { callerOf, type McpContext } from "../context.ts";
import { errorResult } from "../results.ts";
import type { CallToolResult, McpServer } from "../sdk.ts";
import { iconList, TOOL_PRESENTATION as SHOWN } from "../presentation.ts";

/** Registers `delete_image` on `server`. */
export function registerDeleteImageTool(server: McpServer, ctx: McpContext): void {
  server.registerTool(
    "delete_image",
    {
      title: SHOWN.delete_image.title,
      icons: iconList(SHOWN.delete_image.icons),
      description:
        "Permanently delete a stored image (file and catalog entry) by id or image:// URI. A user " +
        "key may delete only its own images.",
      inputSchema: z.object({ id: z.string().describe("Image id or image:// URI.") }),
      annotations: {
        title: SHOWN.delete_image.title,
        readOnlyHint: false,
        destructiveHint: true,
        idempotentHint: true,
        openWorldHint: false,
      },
    },
    async (args, extra): Promise<CallToolResult> => {
      try {
        const id = args.id.replace(/^image:\/\//, "");
        const deleted = await ctx.images.delete(id, callerOf(ctx, extra));
        if (!deleted) {
          throw new AppError("not_found", `Image not found: no image has id "${id}"`, {
            field: "id",
          });
        }
        return { content: [{ type: "text", text: `Deleted image ${id}.` }] };
      } catch (error) {
        return errorResult(error, ctx.redact);
      }
    },
  );
}
