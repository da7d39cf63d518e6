/**
 * Where to put a missing API key depends on how the process was started: a stdio MCP server only
 * sees the `env` block its client gives it (not the user's shell profile), the HTTP service reads
 * its own environment or `.env` at start, and the CLI reads the shell and `.env` on every run.
 *
 * @module
 */
import type { Door } from "../core_types.ts";

/** Environment variables that hold an upstream key. */
export type KeyVariable = "OPENAI_API_KEY" | "AZURE_OPENAI_API_KEY";

/** What to do about a missing `variable`, for a process serving `door`. */
export function missingKeyHint(door: Door, variable: KeyVariable): string {
  switch (door) {
    case "mcp":
      return `add ${variable} to the "env" block of this server in your MCP client's ` +
        `configuration (Claude Desktop: claude_desktop_config.json, e.g. "env": { "${variable}": ` +
        `"sk-..." }; your shell profile is not read), then restart the client`;
    case "cli":
      return `export ${variable}=sk-... in your shell, or put ${variable}=sk-... in .env in the ` +
        "current directory, then run the command again";
    default:
      return `set ${variable} in the service's environment (or in .env in its working ` +
        "directory) and restart the service";
  }
}
