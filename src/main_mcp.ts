/**
 * The stdio MCP server — the command Claude Desktop runs. stdout carries only JSON-RPC; logs go to
 * stderr. The transport starts listening before anything else loads, so `initialize` is answered
 * while settings, the MCP SDK and (on the first tool call) KV, the store and the OpenAI SDK load.
 * The process exits when the client closes stdin, cancelling generations still waiting for OpenAI
 * (images already received finish storing).
 *
 * @module
 */
import { FastStdioTransport } from "./mcp/fast_stdio.ts";

const INFO_FLAGS = new Set(["--help", "-h", "--version", "-V"]);

/**
 * The door, named through a constant: `deno run` loads every module an import names literally —
 * dynamic imports included — before the first line runs, so a literal here would put the door's
 * whole graph (settings, logging, the MCP SDK) in front of the `initialize` answer.
 */
const STDIO_DOOR = "./stdio_door.ts";

async function main(args: string[]): Promise<number> {
  const transport = args.some((arg) => INFO_FLAGS.has(arg)) ? undefined : new FastStdioTransport();
  transport?.listen();
  const { runStdioServer }: typeof import("./stdio_door.ts") = await import(STDIO_DOOR);
  return await runStdioServer(args, transport);
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
