/**
 * The stdio server's stdout at the byte level: every line is a JSON-RPC message, logs never leak
 * onto it, and the process exits by itself when its client closes stdin.
 */
import assert from "node:assert/strict";
import { startFakeOpenAI } from "../fake_openai.ts";
import { MAIN_MCP, ROOT } from "./support/mcp_client.ts";
import { INITIALIZE } from "./support/raw_stdio.ts";

const encoder = new TextEncoder();

function line(message: unknown): Uint8Array {
  return encoder.encode(`${JSON.stringify(message)}\n`);
}

Deno.test("every stdout line is JSON-RPC and the server exits when stdin closes", async () => {
  await using fake = await startFakeOpenAI();
  const dataDir = await Deno.makeTempDir({ prefix: "mcp-raw-" });
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-P=mcp", "--config", `${ROOT}deno.json`, MAIN_MCP],
      cwd: dataDir,
      env: {
        DATA_DIR: dataDir,
        HOME: dataDir,
        OPENAI_API_KEY: "sk-test-raw-0123456789",
        OPENAI_BASE_URL: fake.baseUrl,
        LOG_LEVEL: "debug",
        LOG_FORMAT: "pretty",
        MCP_MODE: "true",
      },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const writer = child.stdin.getWriter();
    const messages = [
      INITIALIZE,
      { jsonrpc: "2.0", method: "notifications/initialized" },
      { jsonrpc: "2.0", id: 2, method: "logging/setLevel", params: { level: "debug" } },
      { jsonrpc: "2.0", id: 3, method: "tools/list" },
      {
        jsonrpc: "2.0",
        id: 4,
        method: "tools/call",
        params: { name: "generate_image", arguments: { prompt: "x", size: "17x17" } },
      },
      {
        jsonrpc: "2.0",
        id: 5,
        method: "tools/call",
        params: {
          name: "generate_image",
          arguments: { prompt: "a tiny boat", quality: "low" },
          _meta: { progressToken: "p1" },
        },
      },
      { jsonrpc: "2.0", id: 6, method: "tools/call", params: { name: "no_such_tool" } },
      { jsonrpc: "2.0", id: 7, method: "ping" },
    ];
    for (const message of messages) await writer.write(line(message));
    await writer.write(encoder.encode("this is not json\n"));
    // Give the server time to answer everything, then hang up like a closing client.
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let stdout = "";
    const deadline = Date.now() + 30_000;
    while (!/"id":7/.test(stdout) || !/"id":5/.test(stdout)) {
      if (Date.now() > deadline) throw new Error(`no answers in time:\n${stdout}`);
      const { value, done } = await reader.read();
      if (done) break;
      stdout += value;
    }
    await writer.close();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      stdout += value;
    }
    const status = await child.status;
    const stderr = await new Response(child.stderr).text();
    assert.equal(status.code, 0, stderr);
    const lines = stdout.split("\n").filter((l) => l !== "");
    assert.ok(lines.length >= 7, stdout);
    const parsed = lines.map((l) => {
      const message = JSON.parse(l);
      assert.equal(message.jsonrpc, "2.0", l);
      return message;
    });
    const byId = new Map(parsed.filter((m) => "id" in m).map((m) => [m.id, m]));
    assert.equal(byId.get(4).result.isError, true);
    assert.equal(byId.get(5).result.isError, undefined, JSON.stringify(byId.get(5)));
    assert.equal(byId.get(6).result?.isError ?? Boolean(byId.get(6).error), true);
    assert.deepEqual(byId.get(7).result, {});
    assert.ok(
      parsed.some((m) => m.method === "notifications/progress" && m.params.progressToken === "p1"),
      "progress with the client's token",
    );
    assert.ok(stderr.includes("ready on stdio"), "logs go to stderr");
    assert.equal(stderr.match(/MCP_MODE is obsolete/g)?.length, 1);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
