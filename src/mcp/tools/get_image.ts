/**
 * `get_image`: shows a stored image (preview or full size within the result budget), and waits
 * for an image whose generation is still running.
 *
 * @module
 */
import { z } from "zod";
import { AppError } from "../../errors.ts";
import { callerOf, type McpContext } from "../context.ts";
import { errorResult, imageBlocks } from "../results.ts";
import type { CallToolResult, McpServer } from "../sdk.ts";
import { studioLink } from "../apps/mod.ts";
import { createProgressReporter } from "../progress.ts";
import { iconList, TOOL_PRESENTATION as SHOWN } from "../presentation.ts";

/** Longest wait inside one call, below Claude Desktop's ~60 s tool timeout. */
const MAX_WAIT_SECONDS = 50;

/** Registers `get_image` on `server`. */
export function registerGetImageTool(server: McpServer, ctx: McpContext): void {
  server.registerTool(
    "get_image",
    {
      title: SHOWN.get_image.title,
      icons: iconList(SHOWN.get_image.icons),
      description:
        "Show a stored image by id or image:// URI. If the image is still being generated (a pending id " +
        "from generate_image or edit_image), waits for it up to wait_seconds. size=full returns the " +
        "original when it fits in a tool result, otherwise a preview plus the link.",
      inputSchema: z.object({
        id: z.string().describe("Image id or image:// URI."),
        size: z.enum(["preview", "full"]).optional().describe("preview (default) or full."),
        wait_seconds: z.number().min(0).max(MAX_WAIT_SECONDS).optional().describe(
          `How long to wait for a pending image, 0–${MAX_WAIT_SECONDS} s (default 40).`,
        ),
      }),
      _meta: studioLink(),
      annotations: { title: SHOWN.get_image.title, readOnlyHint: true, openWorldHint: false },
    },
    async (args, extra): Promise<CallToolResult> => {
      const progress = createProgressReporter(extra);
      try {
        const id = args.id.replace(/^image:\/\//, "").replace(/\/preview$/, "");
        progress.stage("queued", "looking up the image");
        const caller = callerOf(ctx, extra);
        const found = await ctx.images.lookup(id, caller, {
          waitMs: (args.wait_seconds ?? 40) * 1000,
          signal: extra.mcpReq.signal,
        });
        switch (found.status) {
          case "ready": {
            const config = args.size === "full"
              ? { ...ctx.config, mcpPreviewMaxSide: 8000 }
              : ctx.config;
            return {
              content: await imageBlocks({ images: ctx.images, caller }, config, [found.record]),
            };
          }
          case "pending":
            return {
              content: [{
                type: "text",
                text:
                  `Image ${id} is still being generated (job ${found.job.id}, ${found.job.state}, ` +
                  `started ${Math.round((ctx.images.now() - found.job.created) / 1000)} s ago). ` +
                  `Call get_image again in about 30 seconds.`,
              }],
            };
          case "failed":
            return errorResult(found.error, ctx.redact);
          case "missing":
            return errorResult(
              new AppError("not_found", `Image not found: no image or pending job has id "${id}"`, {
                field: "id",
              }),
              ctx.redact,
            );
        }
      } catch (error) {
        return errorResult(error, ctx.redact);
      } finally {
        progress.stop();
      }
    },
  );
}
