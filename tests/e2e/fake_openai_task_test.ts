/**
 * The `deno task fake-openai` command: a standalone fake OpenAI that real SDK clients can use.
 *
 * @module
 */
import assert from "node:assert/strict";
import OpenAI from "openai";
import { probeImage } from "../fake_openai.ts";

Deno.test("the fake-openai task's command prints its base URL and serves requests", async () => {
  // Same command as `deno task fake-openai`, run directly so the test can stop it by pid.
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-P=fake", "tests/fake_openai.ts"],
    cwd: new URL("../../", import.meta.url),
    env: { FAKE_OPENAI_PORT: "0", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  try {
    let output = "";
    while (!output.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      output += value;
    }
    const baseUrl = output.split("\n")[0];
    assert.match(baseUrl, /^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    const models = await new OpenAI({ apiKey: "anything", baseURL: baseUrl, maxRetries: 0 }).models
      .list();
    assert.ok(models.data.some((m) => m.id === "gpt-image-2"));
    const image = await new OpenAI({ apiKey: "anything", baseURL: baseUrl, maxRetries: 0 }).images
      .generate({ model: "gpt-image-2", prompt: "standalone", size: "256x256" });
    assert.equal(probeImage(Uint8Array.fromBase64(image.data?.[0].b64_json ?? ""))?.width, 256);
  } finally {
    child.kill("SIGTERM");
    await reader.cancel();
    await child.status;
  }
});
