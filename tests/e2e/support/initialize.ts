/**
 * What the start-up probe (`scripts/startup_probe.ts`) and bench (`tests/bench/mcp_startup_bench.ts`)
 * share: the stdio MCP server spawned under its permission set, and the first message a client
 * sends it.
 *
 * @module
 */

const ROOT = new URL("../../../", import.meta.url).pathname;

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

/**
 * Spawns `deno run -P=mcp src/main_mcp.ts` on `dataDir` (DATA_DIR and HOME) with error-only
 * logging, stdin and stdout piped and stderr discarded.
 */
export function spawnStdioServer(dataDir: string): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-P=mcp", "--config", `${ROOT}deno.json`, `${ROOT}src/main_mcp.ts`],
    env: { DATA_DIR: dataDir, HOME: dataDir, LOG_LEVEL: "error" },
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
}
