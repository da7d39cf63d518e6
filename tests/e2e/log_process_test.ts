/**
 * The log of a real process (the fixture tests/fixtures/log_probe.ts under the stdio server's
 * permission set): stderr only, secrets redacted, levels filtered.
 *
 * @module
 */
import assert from "node:assert/strict";

const probe = new URL("../fixtures/log_probe.ts", import.meta.url).pathname;

async function runProbe(env: Record<string, string>) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-P=mcp", probe],
    env: { NO_COLOR: "1", KV_PATH: ":memory:", DATA_DIR: "/nonexistent-data-dir", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  // Deno itself notes once that permission sets are experimental; everything else is ours.
  const stderr = new TextDecoder().decode(output.stderr).split("\n")
    .filter((line) => !/^Warning Permissions in the config file is an experimental/.test(line))
    .join("\n");
  return { code: output.code, stdout: new TextDecoder().decode(output.stdout), stderr };
}

Deno.test("nothing is logged to stdout; every level goes to stderr", async () => {
  const result = await runProbe({ LOG_LEVEL: "debug", LOG_FORMAT: "json" });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, "");
  const lines = result.stderr.trim().split("\n").map((line) => JSON.parse(line));
  assert.deepEqual(lines.map((l) => l.level), ["DEBUG", "INFO", "WARN", "ERROR"]);
  assert.ok(lines.every((l) => l.properties?.requestId === "req-123"), "request id carried");
});

Deno.test("API keys and bearer tokens never reach the log", async () => {
  const key = "sk-live-0123456789abcdef0123456789";
  const token = "my-bearer-token-value";
  const result = await runProbe({
    LOG_LEVEL: "debug",
    LOG_FORMAT: "pretty",
    OPENAI_API_KEY: key,
    MCP_AUTH_TOKEN: token,
  });
  assert.equal(result.code, 0, result.stderr);
  assert.ok(!result.stderr.includes(key), result.stderr);
  assert.ok(!result.stderr.includes(token), result.stderr);
  assert.ok(!result.stderr.includes("abcdefghijklmnopqrstuvwxyz012345"), result.stderr);
  assert.match(result.stderr, /REDACTED/);
});

Deno.test("LOG_LEVEL filters lower levels, including the predecessor's numbers", async () => {
  const result = await runProbe({ LOG_LEVEL: "0", LOG_FORMAT: "json" });
  const levels = result.stderr.trim().split("\n").map((line) => JSON.parse(line).level);
  assert.deepEqual(levels, ["ERROR"]);
});

Deno.test("MCP_MODE produces one warning and no failure", async () => {
  const result = await runProbe({ LOG_LEVEL: "warning", LOG_FORMAT: "json", MCP_MODE: "true" });
  assert.equal(result.code, 0);
  assert.equal(result.stderr.match(/MCP_MODE is obsolete/g)?.length, 1);
});
