/**
 * The image studio, an MCP App (`io.modelcontextprotocol/ui`): the `_meta` that links a tool to
 * it, its resource and app-only tools, and the `tools/list` filter that hides those from clients
 * without the extension. Its HTML loads with the first read of the resource.
 *
 * @module
 */
export { APP_MIME_TYPE, APPS_EXTENSION_ID, STUDIO_CSP, STUDIO_URI, studioLink } from "./links.ts";
export { hideAppTools, registerStudio } from "./studio.ts";
