import assert from "node:assert/strict";
import OpenAI, { AuthenticationError, BadRequestError, RateLimitError } from "openai";
import { createApiKey } from "../../src/auth/mod.ts";
import { AppError } from "../../src/errors.ts";
import { TINY_PNG } from "../support/fake_image_service.ts";
import { startTestApp } from "../support/http_app.ts";

Deno.test("the official openai SDK works against /v1 over a real socket", async () => {
  await using t = await startTestApp({ env: { MCP_AUTH_TOKEN: "root" } });
  const { key } = await createApiKey(t.kv, { name: "sdk", role: "user", now: () => 0 });
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (request, info) => t.app.fetch(request, info),
  );
  try {
    const baseURL = `http://127.0.0.1:${server.addr.port}/v1`;
    const client = new OpenAI({ baseURL, apiKey: key, maxRetries: 0 });

    const b64 = await client.images.generate({ prompt: "a fox", model: "gpt-image-2", n: 1 });
    assert.deepEqual(Uint8Array.fromBase64(b64.data![0].b64_json!), TINY_PNG);
    assert.equal(b64.size, "1024x1024");

    const linked = await client.images.generate({ prompt: "a fox", response_format: "url" });
    const url = linked.data![0].url!;
    assert.ok(url.startsWith(`http://127.0.0.1:${server.addr.port}/images/`));
    const image = await fetch(url);
    assert.equal(image.status, 200);
    assert.deepEqual(new Uint8Array(await image.arrayBuffer()), TINY_PNG);

    const page = await client.get("/images", { query: { limit: 1 } }) as {
      object: string;
      data: { id: string }[];
      has_more: boolean;
    };
    assert.equal(page.object, "list");
    assert.equal(page.data.length, 1);
    assert.equal(page.has_more, true);

    t.images.failNext = new AppError("moderation_blocked", "Rejected by the safety system");
    const blocked = await client.images.generate({ prompt: "x" }).catch((e) => e);
    assert.ok(blocked instanceof BadRequestError, String(blocked));
    assert.equal(blocked.code, "moderation_blocked");

    t.images.failNext = new AppError("upstream_rate_limited", "Slow down", {
      retryAfterSeconds: 2,
    });
    const limited = await client.images.generate({ prompt: "x" }).catch((e) => e);
    assert.ok(limited instanceof RateLimitError, String(limited));

    const stranger = new OpenAI({ baseURL, apiKey: "oig_wrong", maxRetries: 0 });
    const refused = await stranger.images.generate({ prompt: "x" }).catch((e) => e);
    assert.ok(refused instanceof AuthenticationError, String(refused));
  } finally {
    await server.shutdown();
  }
});
