/**
 * The first message an MCP client sends a server, as tests and the bench's start-up timing
 * (`scripts/bench/stdio_start.ts`) send it.
 *
 * @module
 */

/** Protocol version the `initialize` request asks for. */
export const PROTOCOL_VERSION = "2025-06-18";

/** The JSON-RPC `initialize` request (id 1) from client `clientName`, as one line ending in `\n`. */
export function initializeLine(clientName: string): string {
  return JSON.stringify({
    jsonrpc: "2.0",
    id: 1,
    method: "initialize",
    params: {
      protocolVersion: PROTOCOL_VERSION,
      capabilities: {},
      clientInfo: { name: clientName, version: "1" },
    },
  }) + "\n";
}
