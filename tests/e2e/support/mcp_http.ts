/**
 * Raw Streamable HTTP for tests that need to send what the SDK's client never would (junk bodies,
 * foreign origins, sessions that are never used again): one POST helper and the `initialize` request.
 *
 * @module
 */

/** The JSON-RPC `initialize` request (id 1) a Streamable HTTP client sends first. */
export const INITIALIZE = Object.freeze({
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: {
    protocolVersion: "2025-11-25",
    capabilities: {},
    clientInfo: { name: "raw-e2e", version: "1.0.0" },
  },
});

/** POSTs one raw JSON-RPC body to `url`/mcp as a Streamable HTTP client would, plus `headers`. */
export async function postMcp(
  url: string,
  message: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  return await fetch(`${url}/mcp`, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      Accept: "application/json, text/event-stream",
      "MCP-Protocol-Version": "2025-11-25",
      ...headers,
    },
    body: JSON.stringify(message),
  });
}
