/**
 * End-to-end: the HTTP entrypoint started on a port another process holds ends with exit code 3
 * (a configuration error) and one log line that names the port and how to choose another — no
 * stack trace.
 *
 * @module
 */
import assert from "node:assert/strict";
import { httpServiceCommand } from "./support/http_server.ts";

/** Runs the HTTP entrypoint to its end in a fresh data directory. */
async function runHttpEntrypoint(
  env: Record<string, string>,
  args: string[] = [],
): Promise<{ code: number; stderr: string; stdout: string }> {
  const dataDir = await Deno.makeTempDir({ prefix: "http-busy-port-" });
  try {
    const output = await httpServiceCommand(env, { dataDir, args }).output();
    const decoder = new TextDecoder();
    return {
      code: output.code,
      stderr: decoder.decode(output.stderr),
      stdout: decoder.decode(output.stdout),
    };
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
}

function assertOneLineAboutThePort(stderr: string, port: number): void {
  const lines = stderr.split("\n").filter((line) => line.includes(String(port)));
  assert.equal(lines.length, 1, stderr);
  assert.match(lines[0], new RegExp(`Cannot listen on 127\\.0\\.0\\.1:${port}: port ${port} is`));
  assert.match(lines[0], /already in use/);
  assert.match(lines[0], /\bPORT\b/);
  assert.match(lines[0], /--port\b/);
  assert.doesNotMatch(stderr, /^\s+at /m, "no stack trace");
  assert.doesNotMatch(stderr, /AddrInUse|os error/, "no raw runtime error");
}

Deno.test("a busy PORT ends the HTTP service with exit code 3 and one line naming PORT and --port", async () => {
  using held = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = held.addr.port;
  const run = await runHttpEntrypoint({
    HOST: "127.0.0.1",
    PORT: String(port),
    LOG_FORMAT: "pretty",
  });
  assert.equal(run.code, 3, run.stderr);
  assertOneLineAboutThePort(run.stderr, port);
  assert.equal(run.stdout, "");
});

Deno.test("a busy --port flag gets the same answer", async () => {
  using held = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = held.addr.port;
  const run = await runHttpEntrypoint({ LOG_FORMAT: "json" }, ["--port", String(port)]);
  assert.equal(run.code, 3, run.stderr);
  assertOneLineAboutThePort(run.stderr, port);
});
