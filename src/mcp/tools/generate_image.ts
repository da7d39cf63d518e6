/**
 * `generate_image`: the predecessor's tool, now answering with an image the model can see.
 *
 * @module
 */
import { z } from "zod";
import type { McpContext } from "../context.ts";
import { runJobTool } from "../run_job.ts";
import type { McpServer } from "../sdk.ts";

/** Input fields of `generate_image` (validated in depth by the shared request schema). */
export const generateImageShape = {
  prompt: z.string().describe(
    "What to draw, in detail: subject, composition, style, lighting, text to render. Up to 32,000 characters.",
  ),
  model: z.string().optional().describe(
    "Model id (see list_models). Default: the server's DEFAULT_MODEL (gpt-image-2). Retired DALL·E/gpt-image-1 names are translated to the default model.",
  ),
  size: z.string().optional().describe(
    'WIDTHxHEIGHT such as "1024x1024", "1536x1024" (landscape), "1024x1536" (portrait), or "auto". gpt-image-2: both sides divisible by 16, aspect 1:3 to 3:1, up to 3840x2160.',
  ),
  quality: z.string().optional().describe(
    'low | medium | high | auto (some models add xhigh, max). Higher is slower: high can take minutes. Default "medium".',
  ),
  n: z.number().int().optional().describe("How many images, 1–10. Default 1."),
  background: z.string().optional().describe(
    "transparent | opaque | auto. Transparent needs png or webp output.",
  ),
  output_format: z.string().optional().describe("png (default) | jpeg | webp"),
  output_compression: z.number().int().optional().describe(
    "0–100, for jpeg and webp output only.",
  ),
  moderation: z.string().optional().describe("auto (default) | low"),
  style: z.string().optional().describe(
    "Legacy DALL·E 3 option (vivid | natural); current models ignore it with a warning. Describe the style in the prompt instead.",
  ),
  save: z.boolean().optional().describe(
    "Keep the image in the server's store (default true). With false the image is shown once and not kept.",
  ),
};

/** Registers `generate_image` on `server`. */
export function registerGenerateImageTool(server: McpServer, ctx: McpContext): void {
  server.registerTool(
    "generate_image",
    {
      title: "Generate image",
      description:
        "Generate images from a text prompt with OpenAI's image models. Returns a preview you can see, " +
        "a link to the full-size file (image://<id>), its id for edit_image/get_image, and the cost. " +
        "Slow generations report progress; if one takes longer than the client can wait, the answer " +
        "gives the pending image id — call get_image with it to fetch the image when it is ready.",
      inputSchema: generateImageShape,
      annotations: {
        title: "Generate image",
        readOnlyHint: false,
        destructiveHint: false,
        idempotentHint: false,
        openWorldHint: true,
      },
    },
    (args, extra) => runJobTool(ctx, extra, (options) => ctx.images.generate(args, options)),
  );
}
