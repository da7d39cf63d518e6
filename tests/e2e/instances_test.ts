/**
 * A process killed in the middle of a generation: the next process on the same data reports the
 * job as interrupted within a minute of starting, instead of "still generating" for half an hour.
 */
import assert from "node:assert/strict";
import { startFakeOpenAI } from "../fake_openai.ts";
import { spawnRawStdio } from "./support/raw_stdio.ts";

Deno.test("a job of a stdio server killed mid-generation reads as interrupted within 60 s of the next start", async () => {
  await using fake = await startFakeOpenAI();
  const dataDir = await Deno.makeTempDir({ prefix: "mcp-killed-" });
  const env = { OPENAI_API_KEY: "sk-test-killed-0123456789", OPENAI_BASE_URL: fake.baseUrl };
  try {
    // The killed process beats every second, so the test need not wait out the 15 s default;
    // the next process keeps the defaults: the dead one's own interval decides.
    await using killed = spawnRawStdio(dataDir, {
      ...env,
      MCP_LONG_JOB_SECONDS: "1",
      INSTANCE_HEARTBEAT_SECONDS: "1",
    });
    await killed.handshake();
    const pendingId = await killed.pendingGeneration(2, "a lighthouse [fault:hang]");
    killed.kill("SIGKILL");
    assert.equal((await killed.status).signal, "SIGKILL");

    const started = performance.now();
    await using next = spawnRawStdio(dataDir, env);
    await next.handshake();
    let id = 2;
    for (;;) {
      // get_image waits up to wait_seconds for a pending image and answers "pending" after that.
      const got = await next.callTool(id++, "get_image", { id: pendingId, wait_seconds: 2 });
      const text = got.content.map((b) => b.text ?? "").join("\n");
      if (got.isError) {
        assert.match(text, /interrupted: the (process|instance) running it stopped/);
        break;
      }
      assert.ok(performance.now() - started < 60_000, `still pending after 60 s: ${text}`);
    }
    assert.ok(performance.now() - started < 60_000);
    assert.equal((await next.hangUp()).code, 0);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
