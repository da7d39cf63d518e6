/**
 * The image studio as an MCP App: its `ui://` resource (HTML with the extension's MIME type and an
 * empty CSP, loaded on first read so the stdio door starts without it), the tools only the app
 * calls, and a `tools/list` that shows those tools only to clients declaring the extension.
 *
 * @module
 */
import { registerAppResource } from "@modelcontextprotocol/ext-apps/server";
import type { McpContext } from "../context.ts";
import type { ToolExtra } from "../progress.ts";
import type { McpServer } from "../sdk.ts";
import { APP_MIME_TYPE, declaresApps, isAppOnly, STUDIO_CSP, STUDIO_URI } from "./links.ts";
import { registerBrowseImagesTool } from "./browse_images.ts";
import { registerQuoteImageTool } from "./quote_image.ts";
import { registerReadImagePartTool } from "./read_image_part.ts";

/**
 * `_meta.ui` of the studio resource: its CSP, clipboard writing (Copy link; the studio shows the
 * link when the host does not grant it), and a border around it.
 */
function resourceMeta() {
  return {
    ui: {
      csp: structuredClone(STUDIO_CSP),
      permissions: { clipboardWrite: {} },
      prefersBorder: true,
    },
  };
}

/** Registers the studio's resource and its app-only tools on `server`. */
export function registerStudio(server: McpServer, ctx: McpContext): void {
  registerAppResource(
    server,
    "Image studio",
    STUDIO_URI,
    {
      title: "Image studio",
      description: "View, compare and edit generated images (an MCP App).",
      _meta: resourceMeta(),
    },
    async () => {
      const { studioHtml } = await import("./view.ts");
      return {
        contents: [{
          uri: STUDIO_URI,
          mimeType: APP_MIME_TYPE,
          text: studioHtml(),
          _meta: resourceMeta(),
        }],
      };
    },
  );
  registerReadImagePartTool(server, ctx);
  registerQuoteImageTool(server, ctx);
  registerBrowseImagesTool(server, ctx);
}

/** A `tools/list` handler as the SDK stores it. */
type ListHandler = (
  request: { params?: Record<string, unknown> },
  extra: ToolExtra,
) => unknown;

/**
 * Wraps the SDK's `tools/list` handler: tools only the app calls are left out for clients that
 * did not declare the apps extension (the model's list never needs them).
 */
export function hideAppTools(
  list: ListHandler,
  ctx: Pick<McpContext, "capabilities">,
): ListHandler {
  return async (request, extra) => {
    const result = await list(request, extra) as { tools: { _meta?: Record<string, unknown> }[] };
    if (declaresApps(ctx.capabilities(extra))) return result;
    return { ...result, tools: result.tools.filter((tool) => !isAppOnly(tool)) };
  };
}
