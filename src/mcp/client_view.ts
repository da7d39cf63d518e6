/**
 * Who the client of one MCP request is and what it declared, in either protocol era: on
 * 2026-07-28 every request carries its client's info and capabilities in its `_meta` envelope
 * (the SDK lifts them into `ctx.mcpReq.envelope`); on 2025-era connections they come from
 * `initialize`, which the server instance remembers.
 *
 * @module
 */
import type { ToolExtra } from "./progress.ts";
import {
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
  type ClientCapabilities,
  type Implementation,
  type McpServer,
  type ProtocolEra,
} from "./sdk.ts";

/** The client of one request. */
export interface ClientView {
  /** `clientInfo` (name, version), when the client sent it. */
  readonly info?: Implementation;
  /** Declared capabilities, when the client declared any. */
  readonly capabilities?: ClientCapabilities;
}

/** The client of the request in `extra` (or of the connection, without `extra`). */
export function clientView(server: McpServer, era: ProtocolEra, extra?: ToolExtra): ClientView {
  const envelope = extra?.mcpReq.envelope as Record<string, unknown> | undefined;
  if (era === "modern" && envelope) {
    return {
      info: envelope[CLIENT_INFO_META_KEY] as Implementation | undefined,
      capabilities: envelope[CLIENT_CAPABILITIES_META_KEY] as ClientCapabilities | undefined,
    };
  }
  // Legacy: what `initialize` declared (the SDK also backfills these per modern request).
  return {
    info: server.server.getClientVersion(),
    capabilities: server.server.getClientCapabilities(),
  };
}
