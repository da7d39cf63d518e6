import assert from "node:assert/strict";
import { resolveConfig } from "../../src/config.ts";
import type { Door } from "../../src/core_types.ts";
import { AppError } from "../../src/errors.ts";
import { createServices } from "../../src/services.ts";

const principal = { id: "local", name: "local user", role: "admin" as const };

/** The error a generation gets from services behind `door` when no key is configured. */
async function missingKeyError(door: Door, env: Record<string, string> = {}): Promise<AppError> {
  const dataDir = await Deno.makeTempDir({ prefix: "key-hint-" });
  const kv = await Deno.openKv(":memory:");
  try {
    const config = resolveConfig({ env: { DATA_DIR: dataDir, KV_PATH: ":memory:", ...env } });
    await using services = await createServices(config, { door, kv, skipStartupReconcile: true });
    const error = await services.images.generate({ prompt: "a kite" }, { door, principal }).then(
      () => assert.fail("generated without a key"),
      (error: unknown) => error,
    );
    assert.ok(error instanceof AppError);
    assert.equal(error.kind, "missing_api_key");
    return error;
  } finally {
    kv.close();
    await Deno.remove(dataDir, { recursive: true });
  }
}

Deno.test("stdio MCP: a missing key is to be added to the env block of the client's configuration", async () => {
  const { message } = await missingKeyError("mcp");
  assert.match(message, /^Cannot generate images: no OpenAI API key is configured; /);
  assert.match(message, /add OPENAI_API_KEY to the "env" block of this server in your MCP client/);
  assert.match(message, /claude_desktop_config\.json/);
  assert.doesNotMatch(message, /restart the service|export /);
});

Deno.test("HTTP service: a missing key is set in the service's environment, then it restarts", async () => {
  const { message } = await missingKeyError("http");
  assert.match(message, /set OPENAI_API_KEY in the service's environment \(or in \.env/);
  assert.match(message, /restart the service$/);
  assert.doesNotMatch(message, /claude_desktop_config|"env" block/);
});

Deno.test("CLI: a missing key is exported in the shell or put in .env", async () => {
  const { message } = await missingKeyError("cli");
  assert.match(message, /export OPENAI_API_KEY=sk-\.\.\. in your shell, or put .* in \.env/);
  assert.doesNotMatch(message, /claude_desktop_config|restart the service/);
});

Deno.test("with an Azure endpoint the hint names AZURE_OPENAI_API_KEY", async () => {
  const { message } = await missingKeyError("http", {
    AZURE_OPENAI_ENDPOINT: "https://example.openai.azure.com",
  });
  assert.match(message, /set AZURE_OPENAI_API_KEY in the service's environment/);
});
