/**
 * The one version of the project, read from deno.json.
 *
 * @module
 */
import denoJson from "../deno.json" with { type: "json" };

/** The project's version (deno.json `version`). */
export const VERSION: string = denoJson.version;

/** Name of the MCP server, kept from the predecessor so existing client configs match. */
export const SERVER_NAME = "openai-image-generation";
