/**
 * `read_image_part`, a tool only the studio calls: one stored image's bytes at full resolution, in
 * parts small enough for any host's result cap, read through the core as the caller.
 *
 * @module
 */
import { z } from "zod";
import { encodeBase64 } from "../../encoding.ts";
import { permits } from "../../core/policy.ts";
import { AppError } from "../../errors.ts";
import { callerOf, type McpContext } from "../context.ts";
import { describeImage, errorResult } from "../results.ts";
import type { CallToolResult, McpServer } from "../sdk.ts";
import { appOnly } from "./links.ts";

/**
 * Bytes per part: a multiple of 3, so the base64 of the parts joins into the base64 of the whole,
 * and 768 KiB of base64 — below the 1 MiB some hosts cap a result at, with room for the rest.
 */
export const PART_BYTES = 3 * 196_608;

/** How long one call waits for an image still being generated before it answers `pending`. */
export const PENDING_WAIT_MS = 10_000;

/** Registers `read_image_part` on `server` (listed to apps clients only). */
export function registerReadImagePartTool(server: McpServer, ctx: McpContext): void {
  server.registerTool(
    "read_image_part",
    {
      title: "Read image part",
      description: "The image studio's reader: part of a stored image's bytes (base64), from " +
        'offset, with the image\'s details on the first part; `{ status: "pending" }` while ' +
        "the image is still being generated.",
      inputSchema: z.object({
        id: z.string().describe("Image id or image:// URI."),
        offset: z.number().int().min(0).optional().describe("First byte of the part (default 0)."),
      }),
      annotations: { readOnlyHint: true, openWorldHint: false },
      _meta: appOnly(),
    },
    async (args, extra): Promise<CallToolResult> => {
      try {
        const id = args.id.replace(/^image:\/\//, "");
        const caller = callerOf(ctx, extra);
        // A pending id (from a generation that ran past MCP_LONG_JOB_SECONDS) is waited for
        // briefly; the studio calls again while the answer is `pending`.
        const looked = await ctx.images.lookup(id, caller, {
          waitMs: PENDING_WAIT_MS,
          signal: extra.mcpReq.signal,
        });
        if (looked.status === "failed") throw looked.error;
        if (looked.status === "pending") {
          return {
            content: [{
              type: "text",
              text: `Image ${id} is still being generated (${looked.job.state})`,
            }],
            structuredContent: { status: "pending", id, state: looked.job.state },
          };
        }
        const found = looked.status === "ready"
          ? await ctx.images.read(looked.record.id, caller)
          : null;
        if (!found) {
          throw new AppError("not_found", `Image not found: no image has id "${id}"`, {
            field: "id",
          });
        }
        const { record, bytes } = found;
        const offset = args.offset ?? 0;
        if (offset > bytes.length) {
          throw new AppError(
            "validation",
            `Offset ${offset} is past the image's end (${bytes.length} bytes)`,
            { field: "offset" },
          );
        }
        const end = Math.min(bytes.length, offset + PART_BYTES);
        const next = end < bytes.length ? end : null;
        return {
          content: [{
            type: "text",
            text: `Bytes ${offset}–${end} of ${bytes.length} of image ${record.id}` +
              (next === null ? " (last part)" : `; next offset ${next}`),
          }],
          structuredContent: {
            id: record.id,
            mime_type: record.mime,
            total_bytes: bytes.length,
            offset,
            next_offset: next,
            data: encodeBase64(bytes.subarray(offset, end)),
            ...(offset === 0
              ? {
                image: {
                  ...await describeImage(ctx.config, record),
                  quality: record.parameters.quality ?? null,
                  // Whether the studio offers Delete: the tool is served and the policy allows it.
                  can_delete: ctx.config.mcpAllowDelete &&
                    permits(caller, "delete", { imagesPublic: ctx.config.imagesPublic }, record),
                },
              }
              : {}),
          },
        };
      } catch (error) {
        return errorResult(error, ctx.redact);
      }
    },
  );
}
