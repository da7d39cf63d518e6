/**
 * The names of the MCP Apps extension (`io.modelcontextprotocol/ui`) this server uses, from the
 * extension's own package: the studio's `ui://` address, how a tool links it (`_meta.ui`), which
 * tools only the app sees (`visibility: ["app"]`), and whether a client declared the extension.
 *
 * @module
 */
import {
  EXTENSION_ID,
  getUiCapability,
  RESOURCE_MIME_TYPE,
  RESOURCE_URI_META_KEY,
} from "@modelcontextprotocol/ext-apps/server";
import type { ClientCapabilities } from "../sdk.ts";

export { EXTENSION_ID as APPS_EXTENSION_ID, RESOURCE_MIME_TYPE as APP_MIME_TYPE };

/** The studio's address: one HTML resource for every linked tool. */
export const STUDIO_URI = "ui://image-studio/studio.html";

/**
 * The studio's declared Content-Security-Policy: no origin at all. The view fetches nothing
 * itself; image bytes come through the host's tool calls.
 */
export const STUDIO_CSP = Object.freeze({ connectDomains: [], resourceDomains: [] });

/**
 * `_meta` of a tool whose results the studio shows (the model sees it too): `ui.resourceUri`, and
 * the deprecated flat key older hosts read — what the package's `registerAppTool` writes, which
 * the tools cannot use because its config type has no `icons`.
 */
export function studioLink(): Record<string, unknown> {
  return { ui: { resourceUri: STUDIO_URI }, [RESOURCE_URI_META_KEY]: STUDIO_URI };
}

/** `_meta` of a tool only the studio calls: hidden from the model (`visibility: ["app"]`). */
export function appOnly(): Record<string, unknown> {
  return {
    ui: { resourceUri: STUDIO_URI, visibility: ["app"] },
    [RESOURCE_URI_META_KEY]: STUDIO_URI,
  };
}

/** Whether a tool listing entry is for the app alone. */
export function isAppOnly(tool: { _meta?: Record<string, unknown> }): boolean {
  const ui = tool._meta?.ui as { visibility?: unknown } | undefined;
  return Array.isArray(ui?.visibility) && ui.visibility.length > 0 &&
    !ui.visibility.includes("model");
}

/** Whether `capabilities` declare the apps extension with the studio's MIME type. */
export function declaresApps(capabilities: ClientCapabilities | undefined): boolean {
  return getUiCapability(capabilities)?.mimeTypes?.includes(RESOURCE_MIME_TYPE) === true;
}
