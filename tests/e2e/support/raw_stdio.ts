/**
 * The stdio server as a raw process for tests that need the bytes: lines written to stdin as
 * given, stdout read back as parsed JSON-RPC messages (asserting that every line is one), stdin
 * closed or the process killed on demand.
 *
 * @module
 */
import assert from "node:assert/strict";
import { MAIN_MCP, ROOT } from "./mcp_client.ts";
import { INITIALIZE as HTTP_INITIALIZE } from "./mcp_http.ts";

const encoder = new TextEncoder();

/** An `initialize` request (id 1) as a client's first message, asking for 2025-06-18. */
export const INITIALIZE = {
  ...HTTP_INITIALIZE,
  params: {
    ...HTTP_INITIALIZE.params,
    protocolVersion: "2025-06-18",
    clientInfo: { name: "raw-stdio-test", version: "1" },
  },
};

/** A `tools/call` result as the raw tests read it. */
export interface RawToolResult {
  isError?: boolean;
  content: { type: string; text?: string }[];
  structuredContent?: Record<string, unknown>;
}

/** Runs `work`, failing with `what` when it takes longer than `ms`. */
export async function within<T>(ms: number, what: () => string, work: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(what())), ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** A raw stdio server: lines in, parsed stdout lines out; killed on dispose if still running. */
export function spawnRawStdio(dataDir: string, env: Record<string, string>) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-P=mcp", "--config", `${ROOT}deno.json`, MAIN_MCP],
    cwd: dataDir,
    env: { DATA_DIR: dataDir, HOME: dataDir, LOG_LEVEL: "debug", NO_COLOR: "1", ...env },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const stderr = new Response(child.stderr).text();
  let stdout = "";
  let ended = false;
  let exited = false;
  const status = child.status.finally(() => exited = true);
  const messages = () =>
    stdout.split("\n").filter((l) => l !== "").map((l) => {
      const message = JSON.parse(l);
      assert.equal(message.jsonrpc, "2.0", `stdout carries only JSON-RPC: ${l}`);
      return message as Record<string, unknown> & {
        id?: unknown;
        error?: { code: number; message: string };
      };
    });
  async function readSome(): Promise<void> {
    const { value, done } = await reader.read();
    if (done) ended = true;
    else stdout += value;
  }
  return {
    stderr,
    messages,
    /** Sends `signal` to the process (SIGKILL for a crash). */
    kill: (signal: Deno.Signal) => child.kill(signal),
    /** Settles with the exit status. */
    status,
    write: (text: string) => writer.write(encoder.encode(`${text}\n`)),
    /** Reads stdout until `done(messages)` holds; fails after 20 s or when stdout ends first. */
    async until(done: (all: ReturnType<typeof messages>) => boolean, what: string) {
      await within(
        20_000,
        () => `No ${what}:\n${stdout}`,
        (async () => {
          while (!done(messages())) {
            if (ended) throw new Error(`No ${what} before stdout ended:\n${stdout}`);
            await readSome();
          }
        })(),
      );
    },
    /** Sends `initialize` and `notifications/initialized`. */
    async handshake() {
      await this.write(JSON.stringify(INITIALIZE));
      await this.write(JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }));
    },
    /** Calls tool `name` as request `id` and waits for its result. */
    async callTool(id: number, name: string, args: Record<string, unknown>) {
      await this.write(JSON.stringify({
        jsonrpc: "2.0",
        id,
        method: "tools/call",
        params: { name, arguments: args },
      }));
      await this.until((all) => all.some((m) => m.id === id), `answer to ${name} (id ${id})`);
      const answer = messages().find((m) => m.id === id) as { result?: RawToolResult };
      assert.ok(answer.result, JSON.stringify(answer));
      return answer.result;
    },
    /** Starts a generation that outlives `MCP_LONG_JOB_SECONDS`; returns its pending image id. */
    async pendingGeneration(id: number, prompt: string): Promise<string> {
      const result = await this.callTool(id, "generate_image", { prompt });
      const text = result.content.map((b) => b.text ?? "").join("\n");
      const pendingId = text.match(/Pending image id: (\S+)/)?.[1];
      assert.ok(pendingId, `expected a pending answer: ${text}`);
      return pendingId;
    },
    /** Closes stdin; how long the process took to exit (failing after 10 s), and its exit code. */
    async hangUp() {
      const started = performance.now();
      await writer.close();
      const { code } = await within(
        10_000,
        () => "The server did not exit within 10 s of stdin closing",
        (async () => {
          while (!ended) await readSome();
          return await status;
        })(),
      );
      return { ms: performance.now() - started, code };
    },
    async [Symbol.asyncDispose]() {
      if (!exited) child.kill("SIGKILL");
      await status;
      await reader.cancel().catch(() => {});
      await writer.close().catch(() => {});
      await stderr;
    },
  };
}
