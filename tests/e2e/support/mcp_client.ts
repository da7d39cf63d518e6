/**
 * The MCP SDK's client side for tests (the one test module importing it), plus a helper that
 * spawns the real stdio server under its permission set against a fake upstream.
 *
 * @module
 */
// @ts-types="npm:@modelcontextprotocol/sdk@1.32.2/client/index"
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
// @ts-types="npm:@modelcontextprotocol/sdk@1.32.2/client/stdio"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
// @ts-types="npm:@modelcontextprotocol/sdk@1.32.2/client/streamableHttp"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

export { Client, StdioClientTransport, StreamableHTTPClientTransport };

/** Path of the stdio entrypoint. */
export const MAIN_MCP = new URL("../../../src/main_mcp.ts", import.meta.url).pathname;
/** Project root (where deno.json lives). */
export const ROOT = new URL("../../../", import.meta.url).pathname;

/**
 * How a client spawns the stdio server in `dataDir` (DATA_DIR, HOME and working directory): the
 * command, its arguments and a clean environment with JSON debug logs, plus `env`.
 */
export function stdioServerParameters(dataDir: string, env: Record<string, string>) {
  return {
    command: Deno.execPath(),
    args: ["run", "-P=mcp", "--config", `${ROOT}deno.json`, MAIN_MCP],
    cwd: dataDir,
    env: {
      PATH: Deno.env.get("PATH") ?? "",
      HOME: dataDir,
      DATA_DIR: dataDir,
      NO_COLOR: "1",
      LOG_FORMAT: "json",
      LOG_LEVEL: "debug",
      DENO_DIR: Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`,
      ...env,
    },
  };
}

/** A connected client and everything to clean up. */
export interface StdioSession extends AsyncDisposable {
  client: InstanceType<typeof Client>;
  /** Everything the server wrote to stderr so far. */
  stderr(): string;
  /** Temporary data directory of this server. */
  dataDir: string;
}

/** Spawns `deno run -P=mcp src/main_mcp.ts` with `env` and connects an SDK client to it. */
export async function startStdioServer(
  env: Record<string, string>,
  options: { clientName?: string; dataDir?: string } = {},
): Promise<StdioSession> {
  const dataDir = options.dataDir ?? await Deno.makeTempDir({ prefix: "mcp-e2e-" });
  const transport = new StdioClientTransport({
    ...stdioServerParameters(dataDir, env),
    stderr: "pipe",
  });
  let stderr = "";
  transport.stderr?.on("data", (chunk: Uint8Array | string) => {
    stderr += typeof chunk === "string" ? chunk : new TextDecoder().decode(chunk);
  });
  const client = new Client({ name: options.clientName ?? "e2e-client", version: "1.0.0" });
  await client.connect(transport);
  return {
    client,
    dataDir,
    stderr: () => stderr,
    async [Symbol.asyncDispose]() {
      await client.close();
      if (!options.dataDir) await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    },
  };
}
