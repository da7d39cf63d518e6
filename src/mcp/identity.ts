/**
 * Who the MCP server is: name, version, capabilities and instructions. Kept free of the SDK so the
 * stdio door can answer `initialize` before the SDK has loaded (see fast_stdio.ts).
 *
 * @module
 */
import { SERVER_NAME, VERSION } from "../version.ts";
import { iconList } from "./presentation.ts";

/** `serverInfo` of the `initialize` answer (with the icons clients may show beside the title). */
export const SERVER_INFO = Object.freeze({
  name: SERVER_NAME,
  title: "OpenAI Image Generation",
  version: VERSION,
  icons: iconList(),
});

/** Capabilities declared to the SDK; the SDK adds `listChanged` to tools, resources and prompts. */
export const DECLARED_CAPABILITIES = Object.freeze({
  logging: {},
  tools: {},
  resources: {},
  prompts: {},
  completions: {},
});

/**
 * `capabilities.tasks` of a 2025-era server (2025-11-25 tasks): `tasks/list`, `tasks/cancel` and
 * task-augmented `tools/call`. Here, not in `tasks/`, so the early `initialize` answer needs no
 * more than this module.
 */
export const LEGACY_TASKS_CAPABILITY = Object.freeze({
  list: {},
  cancel: {},
  requests: { tools: { call: {} } },
});

/** The 2026-07-28 tasks extension's identifier. */
export const TASKS_EXTENSION = "io.modelcontextprotocol/tasks";

/** What a 2026-era server adds to its capabilities (`server/discover`) for the tasks extension. */
export const TASKS_EXTENSION_CAPABILITIES = Object.freeze({
  extensions: Object.freeze({ [TASKS_EXTENSION]: Object.freeze({}) }),
});

/**
 * Capabilities of the 2025-era `initialize` answer, as the SDK announces them once the tools,
 * resources and prompts are registered (and the 2025-11-25 tasks the server factory adds).
 */
export const ANNOUNCED_CAPABILITIES = Object.freeze({
  logging: {},
  tools: { listChanged: true },
  resources: { listChanged: true },
  prompts: { listChanged: true },
  completions: {},
  tasks: LEGACY_TASKS_CAPABILITY,
});

/**
 * 2025-era protocol versions the SDK (v2, `SUPPORTED_PROTOCOL_VERSIONS`) answers `initialize` with,
 * newest first; 2026-07-28 is negotiated by `server/discover`, never by `initialize`.
 * tests/unit/mcp_door_test.ts checks the early answer against the SDK's own.
 */
export const SUPPORTED_PROTOCOL_VERSIONS: readonly string[] = Object.freeze([
  "2025-11-25",
  "2025-06-18",
  "2025-03-26",
  "2024-11-05",
  "2024-10-07",
]);

/** What the server tells the model its tools are for. */
export const INSTRUCTIONS =
  "Image generation and editing with OpenAI's image models. Use generate_image to create images " +
  "from a prompt and edit_image to change or combine existing ones (pass image ids, image:// URIs, " +
  "allowed file paths or URLs — never base64). Results include a preview you can see, the image id " +
  "and a link to the full-size file. High quality can take minutes: if a call answers that the " +
  "image is still pending, call get_image with the pending id to fetch it. list_images browses " +
  "earlier images; list_models shows the models, sizes and qualities that are valid.";

/** The `initialize` result for a client asking for `requestedVersion`, as the SDK computes it. */
export function initializeResult(requestedVersion: unknown): Record<string, unknown> {
  const protocolVersion = typeof requestedVersion === "string" &&
      SUPPORTED_PROTOCOL_VERSIONS.includes(requestedVersion)
    ? requestedVersion
    : SUPPORTED_PROTOCOL_VERSIONS[0];
  return {
    protocolVersion,
    capabilities: ANNOUNCED_CAPABILITIES,
    serverInfo: SERVER_INFO,
    instructions: INSTRUCTIONS,
  };
}
