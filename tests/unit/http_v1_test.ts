import assert from "node:assert/strict";
import { createApiKey } from "../../src/auth/mod.ts";
import { AppError } from "../../src/errors.ts";
import { TINY_PNG } from "../support/fake_image_service.ts";
import { bearer, json, startTestApp } from "../support/http_app.ts";

interface SseEvent {
  event: string;
  data: Record<string, unknown>;
}

async function readEvents(res: Response): Promise<SseEvent[]> {
  const text = await res.text();
  return text.split("\n\n").filter((block) => block.startsWith("event:")).map((block) => {
    const [eventLine, dataLine] = block.split("\n");
    return {
      event: eventLine.slice("event: ".length),
      data: JSON.parse(dataLine.slice("data: ".length)),
    };
  });
}

Deno.test("POST /v1/images/generations answers OpenAI's response shape with b64_json", async () => {
  await using t = await startTestApp();
  const res = await t.request(
    "/v1/images/generations",
    json({ prompt: "a fox", n: 2, size: "1536x1024", quality: "high", user: "u1" }),
  );
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.created, Math.floor(Date.UTC(2026, 10, 20, 12) / 1000));
  assert.equal(body.data.length, 2);
  assert.deepEqual(Uint8Array.fromBase64(body.data[0].b64_json), TINY_PNG);
  assert.equal(body.data[0].url, undefined);
  assert.equal(body.data[0].revised_prompt, "revised: a fox");
  assert.deepEqual(
    { size: body.size, quality: body.quality, output_format: body.output_format },
    { size: "1536x1024", quality: "high", output_format: "png" },
  );
  assert.equal(body.background, "auto");
  assert.deepEqual(body.usage, {
    input_tokens: 10,
    input_tokens_details: { text_tokens: 10, image_tokens: 0 },
    output_tokens: 200,
    total_tokens: 210,
  });
  const [call] = t.images.calls;
  assert.deepEqual(call.input, { prompt: "a fox", n: 2, size: "1536x1024", quality: "high" });
  assert.equal(call.options.door, "v1");
});

Deno.test("response_format url answers links to this service that serve the image", async () => {
  await using t = await startTestApp();
  const res = await t.request(
    "/v1/images/generations",
    json({ prompt: "a fox", response_format: "url" }),
  );
  const body = await res.json();
  const url = new URL(body.data[0].url);
  assert.equal(url.origin, "http://localhost");
  assert.match(url.pathname, /^\/images\/[0-9a-f-]{36}\.png$/);
  assert.equal(body.data[0].b64_json, undefined);
  const image = await t.request(url.pathname);
  assert.equal(image.status, 200);
  assert.deepEqual(new Uint8Array(await image.arrayBuffer()), TINY_PNG);
});

Deno.test("image URLs follow TRUST_PROXY forwarded headers and PUBLIC_BASE_URL", async () => {
  // The forwarded name is the one browsers use: it must be one of the service's names.
  await using proxied = await startTestApp({
    env: { TRUST_PROXY: "true", MCP_ALLOWED_HOSTS: "images.example.com" },
  });
  const headers = {
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "images.example.com",
    "X-Forwarded-For": "192.0.2.9, 198.51.100.20",
  };
  const res = await proxied.request(
    "/v1/images/generations",
    json({ prompt: "x", response_format: "url" }, { headers }),
  );
  assert.match((await res.json()).data[0].url, /^https:\/\/images\.example\.com\/images\//);
  assert.equal(proxied.images.calls[0].options.principal.id, "ip:198.51.100.20");

  await using direct = await startTestApp();
  const ignored = await direct.request(
    "/v1/images/generations",
    json({ prompt: "x", response_format: "url" }, { headers }),
  );
  assert.match((await ignored.json()).data[0].url, /^http:\/\/localhost\/images\//);
  assert.equal(direct.images.calls[0].options.principal.id, "ip:127.0.0.1");

  await using fixed = await startTestApp({ env: { PUBLIC_BASE_URL: "https://pub.example/" } });
  const pub = await fixed.request(
    "/v1/images/generations",
    json({ prompt: "x", response_format: "url" }),
  );
  assert.match((await pub.json()).data[0].url, /^https:\/\/pub\.example\/images\//);
});

Deno.test("/v1 validation errors use OpenAI's error shape and name the param", async () => {
  await using t = await startTestApp();
  const cases: [unknown, string][] = [
    [{}, "prompt"],
    [{ prompt: "x", n: "two" }, "n"],
    [{ prompt: "x", response_format: "png" }, "response_format"],
    [{ prompt: "x", size: "huge" }, "size"],
  ];
  for (const [input, param] of cases) {
    const res = await t.request("/v1/images/generations", json(input));
    assert.equal(res.status, 400, JSON.stringify(input));
    const body = await res.json();
    assert.equal(body.error.param, param, JSON.stringify(input));
    assert.equal(body.error.type, "invalid_request_error");
    assert.equal(typeof body.error.message, "string");
  }
  const malformed = await t.request("/v1/images/generations", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: "{",
  });
  assert.equal(malformed.status, 400);
  assert.equal((await malformed.json()).error.param, "body");
  assert.equal(t.images.size, 0);
});

Deno.test("/v1 maps moderation blocks and upstream failures like OpenAI", async () => {
  await using t = await startTestApp();
  t.images.failNext = new AppError("moderation_blocked", "Your request was rejected by moderation");
  const blocked = await t.request("/v1/images/generations", json({ prompt: "x" }));
  assert.equal(blocked.status, 400);
  assert.deepEqual((await blocked.json()).error, {
    message: "Your request was rejected by moderation",
    type: "image_generation_user_error",
    param: null,
    code: "moderation_blocked",
  });
  t.images.failNext = new AppError("upstream_rate_limited", "Slow down", { retryAfterSeconds: 7 });
  const limited = await t.request("/v1/images/generations", json({ prompt: "x" }));
  assert.equal(limited.status, 429);
  assert.equal(limited.headers.get("Retry-After"), "7");
  await limited.body?.cancel();
});

Deno.test("stream: true relays partial images and completed events as OpenAI's server-sent events", async () => {
  await using t = await startTestApp();
  const res = await t.request(
    "/v1/images/generations",
    json({ prompt: "a fox", stream: true, partial_images: 2 }),
  );
  assert.equal(res.status, 200);
  assert.match(res.headers.get("Content-Type") ?? "", /^text\/event-stream/);
  const events = await readEvents(res);
  assert.deepEqual(events.map((e) => e.event), [
    "image_generation.partial_image",
    "image_generation.partial_image",
    "image_generation.completed",
  ]);
  assert.deepEqual(events.map((e) => e.data.partial_image_index), [0, 1, undefined]);
  const completed = events[2].data;
  assert.equal(completed.type, "image_generation.completed");
  assert.deepEqual(Uint8Array.fromBase64(completed.b64_json as string), TINY_PNG);
  assert.equal(completed.output_format, "png");
  assert.equal((completed.usage as { total_tokens: number }).total_tokens, 110);
  assert.equal(t.images.calls[0].options.partialImages, 2);
});

Deno.test("a failed streamed generation ends with an error event in OpenAI's shape", async () => {
  await using t = await startTestApp();
  t.images.partials = 0;
  t.images.failNext = new AppError("upstream_timeout", "OpenAI did not answer in time");
  const res = await t.request("/v1/images/generations", json({ prompt: "x", stream: true }));
  assert.equal(res.status, 200);
  const events = await readEvents(res);
  assert.equal(events.length, 1);
  assert.equal(events[0].event, "error");
  assert.deepEqual(events[0].data, {
    type: "error",
    error: {
      message: "OpenAI did not answer in time",
      type: "server_error",
      param: null,
      code: "upstream_timeout",
    },
  });
});

Deno.test("POST /v1/images/edits passes multipart uploads to the core as bytes in its upload slot", async () => {
  await using t = await startTestApp();
  const form = new FormData();
  form.append("prompt", "add a hat");
  form.append("image[]", new File([TINY_PNG], "a.png", { type: "image/png" }));
  form.append("image[]", new File([TINY_PNG], "b.bin", { type: "application/octet-stream" }));
  form.append("mask", new File([TINY_PNG], "mask.png", { type: "image/png" }));
  form.append("n", "1");
  form.append("input_fidelity", "high");
  form.append("response_format", "b64_json");
  const res = await t.request("/v1/images/edits", { method: "POST", body: form });
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.data.length, 1);
  const [call] = t.images.calls;
  assert.equal(call.method, "edit");
  assert.deepEqual(call.input, {
    prompt: "add a hat",
    n: 1,
    input_fidelity: "high",
    images: ["upload:0", "upload:1"],
    mask: "upload:2",
  });
  const files = [...call.uploads.entries()];
  assert.deepEqual(files.map(([ref]) => ref), ["upload:0", "upload:1", "upload:2"]);
  for (const [, file] of files) {
    assert.deepEqual(
      await new Blob(file.chunks as readonly BlobPart[] as BlobPart[]).bytes(),
      TINY_PNG,
    );
  }
  assert.equal(files[1][1].name, "b.bin");
  assert.equal(t.images.slotsHeld, 0);
});

Deno.test("POST /v1/images/edits refused an upload slot answers 429 without reading the body", async () => {
  await using t = await startTestApp();
  t.images.refuseUploads = new AppError("rate_limited", "Too many concurrent generations", {
    retryAfterSeconds: 1,
  });
  const total = 8 * 1024 * 1024;
  let served = 0;
  // No declared length: the edge guard would read such a body to its limit after a refusal.
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (served >= total) return controller.close();
      controller.enqueue(new Uint8Array(64 * 1024));
      served += 64 * 1024;
    },
  });
  const res = await t.request("/v1/images/edits", {
    method: "POST",
    headers: { "Content-Type": "multipart/form-data; boundary=xyz" },
    body,
    duplex: "half",
  } as RequestInit);
  assert.equal(res.status, 429);
  assert.equal((await res.json()).error.code, "rate_limit_exceeded");
  assert.ok(served < total, `the body was read: ${served} of ${total} bytes`);
  assert.equal(t.images.calls.length, 0);
});

Deno.test("POST /v1/images/edits accepts a JSON body with image references", async () => {
  await using t = await startTestApp();
  const seeded = await t.images.seed();
  const res = await t.request(
    "/v1/images/edits",
    json({ prompt: "brighter", images: [{ image_url: seeded.id }, `image://${seeded.id}`] }),
  );
  assert.equal(res.status, 200);
  await res.body?.cancel();
  assert.deepEqual(t.images.calls[0].input.images, [seeded.id, `image://${seeded.id}`]);
});

Deno.test("POST /v1/images/edits refuses a request without images or prompt", async () => {
  await using t = await startTestApp();
  const noImage = new FormData();
  noImage.append("prompt", "x");
  const res = await t.request("/v1/images/edits", { method: "POST", body: noImage });
  assert.equal(res.status, 400);
  assert.equal((await res.json()).error.param, "image");
  const noPrompt = new FormData();
  noPrompt.append("image", new File([TINY_PNG], "a.png", { type: "image/png" }));
  const res2 = await t.request("/v1/images/edits", { method: "POST", body: noPrompt });
  assert.equal(res2.status, 400);
  assert.equal((await res2.json()).error.param, "prompt");
  assert.equal(t.images.calls.length, 0);
  // Refused by the door: the upload slots it took for them were given back.
  assert.equal(t.images.slotsHeld, 0);
});

Deno.test("POST /v1/images/edits answers 400 to a malformed multipart body and gives its slot back", async () => {
  await using t = await startTestApp();
  const res = await t.request("/v1/images/edits", {
    method: "POST",
    headers: { "Content-Type": "multipart/form-data; boundary=xyz" },
    body: '--xyz\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nx',
  });
  assert.equal(res.status, 400);
  const body = await res.json();
  assert.equal(body.error.param, "body");
  assert.match(body.error.message, /^Malformed multipart body: the body ended before/);
  assert.equal(t.images.calls.length, 0);
  assert.equal(t.images.slotsHeld, 0);
});

Deno.test("GET /v1/images pages newest first in OpenAI's list style with after=<last id>", async () => {
  await using t = await startTestApp();
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) ids.unshift((await t.images.seed({ created: 1_000_000 + i })).id);
  const seen: string[] = [];
  let after: string | undefined;
  for (let page = 0; page < 4; page++) {
    const res = await t.request(`/v1/images?limit=2${after ? `&after=${after}` : ""}`);
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.object, "list");
    seen.push(...body.data.map((d: { id: string }) => d.id));
    assert.equal(body.first_id, body.data[0]?.id ?? null);
    assert.equal(body.last_id, body.data.at(-1)?.id ?? null);
    if (!body.has_more) break;
    after = body.last_id;
  }
  assert.deepEqual(seen, ids);
  const bad = await t.request("/v1/images?limit=500");
  assert.equal(bad.status, 400);
  assert.equal((await bad.json()).error.param, "limit");
});

Deno.test("GET /v1/images/{id} answers the record with links; unknown ids are 404", async () => {
  await using t = await startTestApp();
  const record = await t.images.seed({ prompt: "a red door" });
  const res = await t.request(`/v1/images/${record.id}`);
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.id, record.id);
  assert.equal(body.object, "image");
  assert.equal(body.prompt, "a red door");
  assert.equal(body.url, `http://localhost/images/${record.fileName}`);
  assert.equal(body.thumbnail_url, `http://localhost/images/${record.fileName}/thumb`);
  const missing = await t.request("/v1/images/0192f0c4-5a1e-7c3b-9d2e-3f4a5b6c7d8e");
  assert.equal(missing.status, 404);
  assert.equal((await missing.json()).error.type, "invalid_request_error");
});

Deno.test("DELETE /v1/images/{id} is allowed to the image's creator and admins only", async () => {
  await using t = await startTestApp({ env: { MCP_AUTH_TOKEN: "admin" } });
  const alice = await createApiKey(t.kv, { name: "alice", role: "user", now: () => 0 });
  const bob = await createApiKey(t.kv, { name: "bob", role: "user", now: () => 0 });
  const mine = await t.images.seed({ creator: alice.record.id });
  const other = await t.images.seed({ creator: "someone" });
  const refused = await t.request(`/v1/images/${mine.id}`, {
    method: "DELETE",
    headers: bearer(bob.key),
  });
  assert.equal(refused.status, 403);
  await refused.body?.cancel();
  const deleted = await t.request(`/v1/images/${mine.id}`, {
    method: "DELETE",
    headers: bearer(alice.key),
  });
  assert.equal(deleted.status, 200);
  assert.deepEqual(await deleted.json(), { id: mine.id, object: "image.deleted", deleted: true });
  const byAdmin = await t.request(`/v1/images/${other.id}`, {
    method: "DELETE",
    headers: bearer("admin"),
  });
  assert.equal(byAdmin.status, 200);
  await byAdmin.body?.cancel();
  assert.equal(t.images.size, 0);
  const again = await t.request(`/v1/images/${mine.id}`, {
    method: "DELETE",
    headers: bearer("admin"),
  });
  assert.equal(again.status, 404);
  await again.body?.cancel();
});

Deno.test("GET /v1/models lists the registry's models", async () => {
  await using t = await startTestApp();
  const res = await t.request("/v1/models");
  const body = await res.json();
  assert.equal(body.object, "list");
  assert.equal(body.data[0].id, "gpt-image-2");
  assert.equal(body.data[0].object, "model");
});

Deno.test("unknown /v1 routes answer 404 in OpenAI's error shape", async () => {
  await using t = await startTestApp();
  const res = await t.request("/v1/chat/completions", json({}));
  assert.equal(res.status, 404);
  assert.equal(typeof (await res.json()).error.message, "string");
});
