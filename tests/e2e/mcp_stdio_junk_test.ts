/**
 * What the stdio server does with lines that are not JSON-RPC requests, and how quickly it goes
 * away when its client does: every junk line gets a JSON-RPC error with id null (or is ignored),
 * the next valid request is still answered, stdout holds only JSON-RPC, and closing stdin ends the
 * process within 5 s even while a generation is running.
 */
import assert from "node:assert/strict";
import { startFakeOpenAI } from "../fake_openai.ts";
import { INITIALIZE, spawnRawStdio as spawnRaw } from "./support/raw_stdio.ts";

/** Each junk line and the JSON-RPC error code it must get. */
const JUNK: readonly [string, number][] = [
  ["null", -32600],
  ["42", -32600],
  ['"str"', -32600],
  ["[]", -32600],
  ["{}", -32600],
  ["not json", -32700],
  ['{"jsonrpc":"2.0"}', -32600],
  ['{"jsonrpc":"2.0","id":{"nested":true},"method":"ping"}', -32600],
  ['{"jsonrpc":"2.0","id":null,"method":"ping"}', -32600],
  ['{"jsonrpc":"1.0","id":9,"method":"ping"}', -32600],
  ['[{"jsonrpc":"2.0","id":9,"method":"ping"}]', -32600],
];

function nullIdErrors(
  all: readonly { id?: unknown; error?: { code: number; message: string } }[],
): number[] {
  return all.filter((m) => m.id === null && m.error).map((m) => m.error!.code);
}

Deno.test("stdio: junk lines before and after the handshake get JSON-RPC errors and the next request is answered", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "mcp-junk-" });
  try {
    await using server = spawnRaw(dataDir, { OPENAI_API_KEY: "sk-test-junk-0123456789" });
    // First lines of all, before the MCP SDK has loaded (the fast transport reads them).
    for (const [line] of JUNK) await server.write(line);
    await server.write(JSON.stringify(INITIALIZE));
    await server.write(JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }));
    await server.write(JSON.stringify({ jsonrpc: "2.0", id: 2, method: "ping" }));
    await server.until((all) => all.some((m) => m.id === 2), "answer to the ping");
    assert.deepEqual(nullIdErrors(server.messages()), JUNK.map(([, code]) => code));
    // Again once the SDK is serving.
    for (const [line] of JUNK) await server.write(line);
    await server.write(JSON.stringify({ jsonrpc: "2.0", id: 3, method: "tools/list" }));
    await server.until(
      (all) => all.some((m) => m.id === 3) && nullIdErrors(all).length === 2 * JUNK.length,
      "answer to tools/list after the second round of junk",
    );
    const all = server.messages();
    assert.deepEqual(nullIdErrors(all), [...JUNK, ...JUNK].map(([, code]) => code));
    const initialized = all.find((m) => m.id === 1) as { result?: { protocolVersion?: string } };
    assert.equal(initialized.result?.protocolVersion, "2025-06-18");
    const tools = all.find((m) => m.id === 3) as { result: { tools: { name: string }[] } };
    assert.ok(tools.result.tools.some((t) => t.name === "generate_image"));
    const errors = all.filter((m) => m.id === null);
    assert.ok(
      errors.every((m) => /^(Parse error|Invalid Request): \S/.test(m.error?.message ?? "")),
    );
    const { ms, code } = await server.hangUp();
    assert.equal(code, 0, await server.stderr);
    assert.ok(ms < 5_000, `exited ${Math.round(ms)} ms after stdin closed`);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("stdio: closing stdin while a generation runs ends the process within 5 s and cancels the generation", async () => {
  await using fake = await startFakeOpenAI();
  const dataDir = await Deno.makeTempDir({ prefix: "mcp-hangup-" });
  const env = { OPENAI_API_KEY: "sk-test-hangup-0123456789", OPENAI_BASE_URL: fake.baseUrl };
  try {
    await using server = spawnRaw(dataDir, { ...env, MCP_LONG_JOB_SECONDS: "1" });
    await server.handshake();
    const pendingId = await server.pendingGeneration(2, "a slow boat [fault:hang]");
    const { ms, code } = await server.hangUp();
    assert.equal(code, 0, await server.stderr);
    assert.ok(ms < 5_000, `exited ${Math.round(ms)} ms after stdin closed`);

    // The next session on the same data sees the generation as cancelled, not pending forever.
    await using next = spawnRaw(dataDir, env);
    await next.handshake();
    const got = await next.callTool(2, "get_image", { id: pendingId, wait_seconds: 0 });
    assert.equal((await next.hangUp()).code, 0);
    assert.equal(got.isError, true);
    assert.match(
      got.content[0].text ?? "",
      /^Error \(cancelled\): The generation of image \S+ was cancelled/,
    );
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
