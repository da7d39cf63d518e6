/**
 * A second real client: the official MCP Inspector CLI lists and calls the stdio server's tools.
 */
import assert from "node:assert/strict";
import { startFakeOpenAI } from "../fake_openai.ts";
import { MAIN_MCP, ROOT } from "./support/mcp_client.ts";
import { ensureNpmPackage } from "./support/node_tools.ts";

const INSPECTOR_VERSION = "1.0.3";

async function inspector(env: Record<string, string>, method: string[]): Promise<unknown> {
  const dir = await ensureNpmPackage("@modelcontextprotocol/inspector-cli", INSPECTOR_VERSION);
  const envArgs = Object.entries(env).flatMap(([k, v]) => ["-e", `${k}=${v}`]);
  const output = await new Deno.Command("node", {
    // The CLI finds its own package.json relative to the working directory.
    cwd: `${dir}/build`,
    args: [
      "cli.js",
      "--cli",
      ...envArgs,
      "--",
      Deno.execPath(),
      "run",
      "-P=mcp",
      "--config",
      `${ROOT}deno.json`,
      MAIN_MCP,
      ...method,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(output.stdout);
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  return JSON.parse(stdout);
}

Deno.test("the MCP Inspector CLI lists the tools and generates an image", async () => {
  await using fake = await startFakeOpenAI();
  const dataDir = await Deno.makeTempDir({ prefix: "mcp-inspector-" });
  try {
    const env = {
      DATA_DIR: dataDir,
      HOME: dataDir,
      OPENAI_API_KEY: "sk-test-inspector-0123456789",
      OPENAI_BASE_URL: fake.baseUrl,
    };
    const listed = await inspector(env, ["--method", "tools/list"]) as {
      tools: { name: string }[];
    };
    assert.ok(listed.tools.some((t) => t.name === "generate_image"));
    const called = await inspector(env, [
      "--method",
      "tools/call",
      "--tool-name",
      "generate_image",
      "--tool-arg",
      "prompt=a paper crane",
      "--tool-arg",
      "quality=low",
    ]) as { content: { type: string; mimeType?: string }[]; isError?: boolean };
    assert.notEqual(called.isError, true, JSON.stringify(called).slice(0, 500));
    assert.ok(called.content.some((b) => b.type === "image" && b.mimeType?.startsWith("image/")));
    assert.equal(fake.stats.imagesProduced, 1);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
