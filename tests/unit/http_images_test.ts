import assert from "node:assert/strict";
import { eventually } from "../support/eventually.ts";
import { FAKE_THUMB, TINY_PNG } from "../support/fake_image_service.ts";
import { bearer, json, startTestApp } from "../support/http_app.ts";

Deno.test("GET /images/{file} serves the bytes with type, strong ETag and immutable caching", async () => {
  await using t = await startTestApp();
  const record = await t.images.seed();
  const res = await t.request(`/images/${record.fileName}`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("Content-Type"), "image/png");
  assert.equal(res.headers.get("ETag"), `"${record.sha256}"`);
  assert.equal(res.headers.get("Cache-Control"), "public, max-age=31536000, immutable");
  assert.equal(res.headers.get("Content-Length"), String(TINY_PNG.length));
  assert.equal(res.headers.get("X-Content-Type-Options"), "nosniff");
  assert.deepEqual(new Uint8Array(await res.arrayBuffer()), TINY_PNG);
});

Deno.test("GET /images/{file} answers 304 to a matching If-None-Match", async () => {
  await using t = await startTestApp();
  const record = await t.images.seed();
  for (const header of [`"${record.sha256}"`, `W/"${record.sha256}"`, `"x", "${record.sha256}"`]) {
    const res = await t.request(`/images/${record.fileName}`, {
      headers: { "If-None-Match": header },
    });
    assert.equal(res.status, 304, header);
    assert.equal(res.headers.get("ETag"), `"${record.sha256}"`);
    assert.equal(await res.text(), "");
  }
  const changed = await t.request(`/images/${record.fileName}`, {
    headers: { "If-None-Match": '"something-else"' },
  });
  assert.equal(changed.status, 200);
  await changed.body?.cancel();
});

Deno.test("HEAD /images/{file} answers the headers without a body", async () => {
  await using t = await startTestApp();
  const record = await t.images.seed();
  const res = await t.request(`/images/${record.fileName}`, { method: "HEAD" });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("Content-Type"), "image/png");
  assert.equal(res.headers.get("Content-Length"), String(TINY_PNG.length));
  assert.equal(await res.text(), "");
});

Deno.test("the predecessor's image_<ms>.png names and bare ids still resolve", async () => {
  await using t = await startTestApp();
  const legacy = await t.images.seed({ fileName: "image_1700000000000.png" });
  const res = await t.request("/images/image_1700000000000.png");
  assert.equal(res.status, 200);
  assert.deepEqual(new Uint8Array(await res.arrayBuffer()), TINY_PNG);
  const byId = await t.request(`/images/${legacy.id}`);
  assert.equal(byId.status, 200);
  await byId.body?.cancel();
  const wrongExt = await t.request(`/images/${legacy.id}.jpg`);
  assert.equal(wrongExt.status, 404, "the name must match the record's file");
  await wrongExt.body?.cancel();
});

Deno.test("path traversal and malformed names are refused without reading outside the store", async () => {
  await using t = await startTestApp();
  await t.images.seed();
  const attempts = [
    "/images/..%2f..%2fetc%2fpasswd",
    "/images/..%2F..%2Fdeno.json",
    "/images/%2e%2e%2f%2e%2e%2fdeno.json",
    "/images/..%5c..%5cdeno.json",
    "/images/../../etc/passwd",
    "/images/.%2e/deno.json",
    "/images/deno.json",
    "/images/%00.png",
    "/images/image_1.png%00.txt",
    `/images/${"a".repeat(300)}.png`,
  ];
  for (const path of attempts) {
    const res = await t.request(path);
    assert.ok(res.status === 400 || res.status === 404, `${path} → ${res.status}`);
    const body = await res.text();
    assert.doesNotMatch(body, /root:|"imports"/, path);
  }
});

Deno.test("thumbnails have a stable URL, a WebP type and their own ETag", async () => {
  await using t = await startTestApp();
  const record = await t.images.seed();
  const res = await t.request(`/images/${record.fileName}/thumb`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("Content-Type"), "image/webp");
  const etag = res.headers.get("ETag");
  assert.equal(etag, `"${record.sha256}.thumb"`);
  assert.deepEqual(new Uint8Array(await res.arrayBuffer()), FAKE_THUMB);
  const cached = await t.request(`/images/${record.fileName}/thumb`, {
    headers: { "If-None-Match": etag! },
  });
  assert.equal(cached.status, 304);
  await cached.body?.cancel();
});

Deno.test("an image still being generated answers 404 with Retry-After", async () => {
  await using t = await startTestApp();
  let release!: () => void;
  t.images.hold = new Promise((resolve) => (release = resolve));
  const pending = t.request("/mcp", json({ prompt: "slow" }));
  await eventually(() => t.images.pendingIds().length > 0, "the job to start");
  const [id] = t.images.pendingIds();
  assert.ok(id, "the job started");
  const res = await t.request(`/images/${id}`);
  assert.equal(res.status, 404);
  assert.equal(res.headers.get("Retry-After"), "5");
  assert.match((await res.json()).error, /still being generated/);
  release();
  const done = await pending;
  assert.equal(done.status, 200);
  await done.body?.cancel();
  const ready = await t.request(`/images/${id}`);
  assert.equal(ready.status, 200);
  await ready.body?.cancel();
});

Deno.test("with IMAGES_PUBLIC=false images need a valid signature or a bearer token", async () => {
  await using t = await startTestApp({
    env: { IMAGES_PUBLIC: "false", IMAGE_URL_TTL_S: "600", MCP_AUTH_TOKEN: "tok" },
  });
  const res = await t.request(
    "/v1/images/generations",
    json({ prompt: "x", response_format: "url" }, { headers: bearer("tok") }),
  );
  const url = new URL((await res.json()).data[0].url);
  assert.match(url.search, /^\?exp=\d+&sig=[A-Za-z0-9_-]+$/);
  const path = url.pathname;

  const signed = await t.request(`${path}${url.search}`);
  assert.equal(signed.status, 200);
  assert.match(signed.headers.get("Cache-Control") ?? "", /^private/);
  await signed.body?.cancel();

  const plain = await t.request(path);
  assert.equal(plain.status, 401);
  await plain.body?.cancel();

  const withToken = await t.request(path, { headers: bearer("tok") });
  assert.equal(withToken.status, 200);
  await withToken.body?.cancel();

  const exp = url.searchParams.get("exp")!;
  const sig = url.searchParams.get("sig")!;
  const tampered = await t.request(`${path}?exp=${Number(exp) + 1000}&sig=${sig}`);
  assert.equal(tampered.status, 403);
  await tampered.body?.cancel();

  const other = await t.images.seed();
  const reused = await t.request(`/images/${other.fileName}${url.search}`);
  assert.equal(reused.status, 403, "a signature is bound to its file");
  await reused.body?.cancel();

  const thumb = await t.request(`${path}/thumb${url.search}`);
  assert.equal(thumb.status, 403, "and to the file, not its thumbnail");
  await thumb.body?.cancel();

  t.advance(601_000);
  const expired = await t.request(`${path}${url.search}`);
  assert.equal(expired.status, 403);
  assert.match((await expired.json()).error, /expired/);
});

Deno.test("signed image URLs verify on another app sharing the same KV", async () => {
  await using first = await startTestApp({ env: { IMAGES_PUBLIC: "false" } });
  const res = await first.request(
    "/v1/images/generations",
    json({ prompt: "x", response_format: "url" }),
  );
  const url = new URL((await res.json()).data[0].url);
  const { createApp } = await import("../../src/http/app.ts");
  const second = createApp({
    config: first.config,
    images: first.images,
    kv: first.kv,
    metrics: first.metrics,
    retention: first.retention,
    now: first.now,
  });
  const served = await second.request(`${url.pathname}${url.search}`);
  assert.equal(served.status, 200);
  await served.body?.cancel();
});
