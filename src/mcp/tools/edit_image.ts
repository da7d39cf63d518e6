/**
 * `edit_image`: edits or combines existing images (ids, image:// URIs, files, allowed URLs).
 *
 * @module
 */
import { doorRequestSchema } from "../../generation/vocabulary.ts";
import type { McpContext } from "../context.ts";
import type { McpServer } from "../sdk.ts";
import { studioLink } from "../apps/mod.ts";
import { runPricedJobTool } from "./priced_job.ts";
import { iconList, TOOL_PRESENTATION as SHOWN } from "../presentation.ts";

/** Input of `edit_image`: the MCP door's projection of the edit request fields. */
export const editImageInput = doorRequestSchema("mcp", "edit");

/** Registers `edit_image` on `server`. */
export function registerEditImageTool(server: McpServer, ctx: McpContext): void {
  server.registerTool(
    "edit_image",
    {
      title: SHOWN.edit_image.title,
      icons: iconList(SHOWN.edit_image.icons),
      description:
        "Edit one image or combine several with a prompt (optionally only inside a mask). Inputs are " +
        "references, never base64: image ids, image:// URIs, allowed file paths or URLs. Returns the " +
        "result like generate_image does.",
      inputSchema: editImageInput,
      _meta: studioLink(),
      annotations: {
        title: SHOWN.edit_image.title,
        readOnlyHint: false,
        destructiveHint: false,
        idempotentHint: false,
        openWorldHint: true,
      },
    },
    (args, extra) =>
      runPricedJobTool(ctx, extra, {
        tool: "edit_image",
        operation: "edit",
        args,
        start: (input, options) => ctx.images.edit(input, options),
      }),
  );
}
