/**
 * `edit_image`: edits or combines existing images (ids, image:// URIs, files, allowed URLs).
 *
 * @module
 */
import { z } from "zod";
import type { McpContext } from "../context.ts";
import { runJobTool } from "../run_job.ts";
import type { McpServer } from "../sdk.ts";
import { generateImageShape } from "./generate_image.ts";

const IMAGE_REFERENCE =
  "An image id from generate_image/list_images, an image:// URI, a file path " +
  "inside the server's allowed folders (EDIT_ALLOWED_ROOTS; Windows paths and file:// URIs work), an " +
  "http(s) URL from EDIT_ALLOWED_URL_HOSTS, or a small data: URL. Files uploaded to the Claude chat " +
  "are not visible to this server.";

/** Input fields of `edit_image`. */
export const editImageShape = {
  prompt: z.string().describe("What to change, or how to combine the input images."),
  images: z.array(z.string()).min(1).describe(
    `1 to 16 input images. Each: ${IMAGE_REFERENCE}`,
  ),
  mask: z.string().optional().describe(
    "Optional PNG mask with the same size as the first image; fully transparent pixels mark what to change. Same reference forms as images.",
  ),
  input_fidelity: z.string().optional().describe(
    "high | low: how closely to keep faces and details of the inputs (1.x models only).",
  ),
  model: generateImageShape.model,
  size: generateImageShape.size,
  quality: generateImageShape.quality,
  n: generateImageShape.n,
  background: generateImageShape.background,
  output_format: generateImageShape.output_format,
  output_compression: generateImageShape.output_compression,
  save: generateImageShape.save,
};

/** Registers `edit_image` on `server`. */
export function registerEditImageTool(server: McpServer, ctx: McpContext): void {
  server.registerTool(
    "edit_image",
    {
      title: "Edit image",
      description:
        "Edit one image or combine several with a prompt (optionally only inside a mask). Inputs are " +
        "references, never base64: image ids, image:// URIs, allowed file paths or URLs. Returns the " +
        "result like generate_image does.",
      inputSchema: editImageShape,
      annotations: {
        title: "Edit image",
        readOnlyHint: false,
        destructiveHint: false,
        idempotentHint: false,
        openWorldHint: true,
      },
    },
    (args, extra) => runJobTool(ctx, extra, (options) => ctx.images.edit(args, options)),
  );
}
