/**
 * `generate_image`: the predecessor's tool, now answering with an image the model can see.
 *
 * @module
 */
import { doorRequestSchema } from "../../generation/vocabulary.ts";
import type { McpContext } from "../context.ts";
import type { McpServer } from "../sdk.ts";
import { studioLink } from "../apps/mod.ts";
import { runPricedJobTool } from "./priced_job.ts";
import { iconList, TOOL_PRESENTATION as SHOWN } from "../presentation.ts";

/**
 * Input of `generate_image`: the MCP door's projection of the request fields (validated in depth
 * by the core). A zod object, the form both MCP SDK 1.x and v2 take.
 */
export const generateImageInput = doorRequestSchema("mcp", "generate");

/** Registers `generate_image` on `server`. */
export function registerGenerateImageTool(server: McpServer, ctx: McpContext): void {
  server.registerTool(
    "generate_image",
    {
      title: SHOWN.generate_image.title,
      icons: iconList(SHOWN.generate_image.icons),
      description:
        "Generate images from a text prompt with OpenAI's image models. Returns a preview you can see, " +
        "a link to the full-size file (image://<id>), its id for edit_image/get_image, and the cost. " +
        "Slow generations report progress; if one takes longer than the client can wait, the answer " +
        "gives the pending image id — call get_image with it to fetch the image when it is ready.",
      inputSchema: generateImageInput,
      _meta: studioLink(),
      annotations: {
        title: SHOWN.generate_image.title,
        readOnlyHint: false,
        destructiveHint: false,
        idempotentHint: false,
        openWorldHint: true,
      },
    },
    (args, extra) =>
      runPricedJobTool(ctx, extra, {
        tool: "generate_image",
        operation: "generate",
        args,
        start: (input, options) => ctx.images.generate(input, options),
      }),
  );
}
