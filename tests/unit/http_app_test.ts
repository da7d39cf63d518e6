import assert from "node:assert/strict";
import { TINY_PNG } from "../support/fake_image_service.ts";
import { bearer, json, startTestApp } from "../support/http_app.ts";

Deno.test("X-Request-Id is echoed when well-formed and replaced when not", async () => {
  await using t = await startTestApp();
  const kept = await t.request("/health", { headers: { "X-Request-Id": "req-123.abc" } });
  assert.equal(kept.headers.get("X-Request-Id"), "req-123.abc");
  await kept.body?.cancel();
  for (const bad of ["has spaces", "x".repeat(200), "a\tb", "<script>"]) {
    const res = await t.request("/health", { headers: { "X-Request-Id": bad } });
    const id = res.headers.get("X-Request-Id") ?? "";
    assert.notEqual(id, bad);
    assert.match(id, /^[0-9a-f-]{36}$/);
    await res.body?.cancel();
  }
  const error = await t.request("/nope", { headers: { "X-Request-Id": "trace-9" } });
  assert.equal(error.headers.get("X-Request-Id"), "trace-9");
  assert.equal((await error.json()).requestId, "trace-9");
});

Deno.test("every response carries the security headers, errors included", async () => {
  await using t = await startTestApp();
  for (const path of ["/health", "/nope", "/v1/images/generations"]) {
    const res = await t.request(path);
    assert.equal(res.headers.get("X-Content-Type-Options"), "nosniff", path);
    assert.equal(res.headers.get("X-Frame-Options"), "DENY", path);
    assert.equal(res.headers.get("Referrer-Policy"), "no-referrer", path);
    const csp = res.headers.get("Content-Security-Policy") ?? "";
    assert.match(csp, /default-src 'self'/, path);
    assert.match(csp, /frame-ancestors 'none'/, path);
    assert.doesNotMatch(csp, /https?:/, "no external sources");
    await res.body?.cancel();
  }
});

Deno.test("CORS headers appear only when CORS_ORIGINS is set, and only for listed origins", async () => {
  await using off = await startTestApp();
  const none = await off.request("/health", { headers: { Origin: "https://app.example" } });
  assert.equal(none.headers.get("Access-Control-Allow-Origin"), null);
  await none.body?.cancel();

  await using on = await startTestApp({ env: { CORS_ORIGINS: "https://app.example" } });
  const preflight = await on.request("/v1/images/generations", {
    method: "OPTIONS",
    headers: {
      Origin: "https://app.example",
      "Access-Control-Request-Method": "POST",
      "Access-Control-Request-Headers": "authorization,content-type",
    },
  });
  assert.equal(preflight.status, 204);
  assert.equal(preflight.headers.get("Access-Control-Allow-Origin"), "https://app.example");
  assert.match(preflight.headers.get("Access-Control-Allow-Headers") ?? "", /Authorization/);
  const simple = await on.request("/mcp", { headers: { Origin: "https://app.example" } });
  assert.equal(simple.headers.get("Access-Control-Allow-Origin"), "https://app.example");
  assert.match(simple.headers.get("Access-Control-Expose-Headers") ?? "", /RateLimit/);
  await simple.body?.cancel();
  const stranger = await on.request("/mcp", { headers: { Origin: "https://evil.example" } });
  assert.equal(stranger.headers.get("Access-Control-Allow-Origin"), null);
  await stranger.body?.cancel();
});

Deno.test("unknown routes answer 404 as JSON", async () => {
  await using t = await startTestApp();
  const res = await t.request("/does/not/exist");
  assert.equal(res.status, 404);
  assert.match(res.headers.get("Content-Type") ?? "", /application\/json/);
  const body = await res.json();
  assert.equal(body.success, false);
  assert.equal(body.code, "not_found");
});

Deno.test("JSON bodies over MAX_BODY_BYTES are refused with 413 and nothing is stored", async () => {
  await using t = await startTestApp({ env: { MAX_BODY_BYTES: "2048" } });
  const big = { prompt: "x".repeat(4096) };
  for (const path of ["/mcp", "/v1/images/generations", "/admin/keys"]) {
    const res = await t.request(path, json(big));
    assert.equal(res.status, 413, path);
    const text = await res.text();
    assert.match(text, /too large/i, path);
    assert.match(text, /2048/, path);
  }
  // Without a Content-Length the body is counted while it streams in.
  const chunked = new ReadableStream<Uint8Array>({
    start(controller) {
      for (let i = 0; i < 8; i++) controller.enqueue(new TextEncoder().encode("x".repeat(512)));
      controller.close();
    },
  });
  const streamed = await t.request("/mcp", {
    method: "POST",
    headers: { "Content-Type": "application/json", "Transfer-Encoding": "chunked" },
    body: chunked,
  });
  assert.equal(streamed.status, 413);
  await streamed.body?.cancel();
  assert.equal(t.images.calls.length, 0);
  assert.equal(t.images.size, 0);
});

Deno.test("multipart uploads get MAX_UPLOAD_BYTES instead of the JSON limit", async () => {
  await using t = await startTestApp({
    env: { MAX_BODY_BYTES: "1024", MAX_UPLOAD_BYTES: "8192" },
  });
  const fits = new FormData();
  fits.append("prompt", "x");
  fits.append("image", new File([TINY_PNG, new Uint8Array(3000)], "a.png", { type: "image/png" }));
  const ok = await t.request("/v1/images/edits", { method: "POST", body: fits });
  assert.equal(ok.status, 200, "above the JSON limit, within the upload limit");
  await ok.body?.cancel();
  const tooBig = new FormData();
  tooBig.append("prompt", "x");
  tooBig.append("image", new File([new Uint8Array(10_000)], "a.png", { type: "image/png" }));
  const refused = await t.request("/v1/images/edits", { method: "POST", body: tooBig });
  assert.equal(refused.status, 413);
  const body = await refused.json();
  assert.equal(body.error.code, "payload_too_large");
  assert.match(body.error.message, /MAX_UPLOAD_BYTES/);
  assert.equal(t.images.calls.length, 1);
});

Deno.test("/ready reports each check and answers 503 naming the ones that failed", async () => {
  let storeOk = true;
  await using t = await startTestApp({
    env: { OPENAI_API_KEY: "sk-test-1234567890" },
    deps: {
      readinessChecks: {
        store: () =>
          storeOk ? Promise.resolve() : Promise.reject(new Error("read-only file system")),
      },
    },
  });
  const ready = await t.request("/ready");
  assert.equal(ready.status, 200);
  assert.deepEqual(await ready.json(), {
    status: "ready",
    checks: { kv: "ok", store: "ok", openai_api_key: "ok" },
    failed: [],
  });
  storeOk = false;
  const notReady = await t.request("/ready");
  assert.equal(notReady.status, 503);
  const body = await notReady.json();
  assert.deepEqual(body.failed, ["store"]);
  assert.equal(body.checks.store, "failed: read-only file system");

  await using noKey = await startTestApp();
  const missing = await noKey.request("/ready");
  assert.equal(missing.status, 503);
  assert.deepEqual((await missing.json()).failed, ["openai_api_key"]);
});

Deno.test("GET /admin/images/stats answers the predecessor's stats, cleanup settings and unknown files", async () => {
  await using t = await startTestApp({
    env: { IMAGE_CLEANUP_ENABLED: "true", IMAGE_RETENTION_DAYS: "3", IMAGE_MAX_COUNT: "500" },
  });
  const res = await t.request("/admin/images/stats");
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.success, true);
  assert.equal(body.stats.count, 2);
  assert.equal(body.stats.totalSizeFormatted, "2 KB");
  assert.deepEqual(body.cleanup, {
    enabled: true,
    retentionDays: 3,
    maxFiles: 500,
    maxBytes: null,
    intervalHours: 24,
  });
  assert.deepEqual(body.unknownFiles, { count: 1, names: ["my-holiday-photo.png"] });
});

Deno.test("POST /admin/images/cleanup runs the policy, as a dry run when asked", async () => {
  await using t = await startTestApp();
  const dry = await t.request("/admin/images/cleanup", json({ dryRun: true }));
  assert.equal(dry.status, 200);
  const body = await dry.json();
  assert.deepEqual(body, {
    success: true,
    results: {
      filesScanned: 2,
      filesDeleted: 1,
      spaceFreed: 1024,
      errors: [],
      deletedFiles: ["image_1700000000000.png"],
      adoptedKept: 0,
    },
    dryRun: true,
    unknownFiles: { count: 1, names: ["my-holiday-photo.png"] },
  });
  const empty = await t.request("/admin/images/cleanup", { method: "POST" });
  assert.equal(empty.status, 200, "an empty body means the defaults");
  await empty.body?.cancel();
  const bad = await t.request("/admin/images/cleanup", json({ dryRun: "yes" }));
  assert.equal(bad.status, 400);
  assert.equal((await bad.json()).field, "dryRun");
  assert.deepEqual(t.retention.cleanups, [true, false]);
});

Deno.test("admin key endpoints create (shown once), list and revoke keys", async () => {
  await using t = await startTestApp({ env: { MCP_AUTH_TOKEN: "root" } });
  const created = await t.request(
    "/admin/keys",
    json({ name: "build bot" }, { headers: bearer("root") }),
  );
  assert.equal(created.status, 201);
  assert.equal(created.headers.get("Cache-Control"), "no-store");
  const { key, record } = await created.json();
  assert.match(key, /^oig_/);
  assert.equal(record.role, "user");
  const list = await (await t.request("/admin/keys", { headers: bearer("root") })).json();
  assert.equal(list.keys.length, 1);
  assert.equal(list.keys[0].id, record.id);
  assert.doesNotMatch(JSON.stringify(list), new RegExp(key.slice(8)), "the secret is never listed");
  const bad = await t.request(
    "/admin/keys",
    json({ name: "x", role: "root" }, { headers: bearer("root") }),
  );
  assert.equal(bad.status, 400);
  assert.equal((await bad.json()).field, "role");
  const revoked = await t.request(`/admin/keys/${record.id}`, {
    method: "DELETE",
    headers: bearer("root"),
  });
  assert.equal(revoked.status, 200);
  await revoked.body?.cancel();
  const after = await (await t.request("/admin/keys", { headers: bearer("root") })).json();
  assert.deepEqual(after.keys, []);
  const all =
    await (await t.request("/admin/keys?include_revoked=true", { headers: bearer("root") }))
      .json();
  assert.equal(all.keys.length, 1);
  const unknown = await t.request("/admin/keys/key_nope", {
    method: "DELETE",
    headers: bearer("root"),
  });
  assert.equal(unknown.status, 404);
  await unknown.body?.cancel();
});

Deno.test("GET /admin/metrics answers counters, gauges and histograms with percentiles", async () => {
  await using t = await startTestApp();
  await (await t.request("/health")).arrayBuffer();
  const res = await t.request("/admin/metrics");
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.ok(Array.isArray(body.counters));
  assert.ok(Array.isArray(body.gauges));
  const histogram = body.histograms.find((h: { name: string; labels: { route: string } }) =>
    h.name === "http_request_duration_seconds" && h.labels.route === "/health"
  );
  assert.ok(histogram, "the /health request was observed under its route");
  for (const field of ["count", "sum", "min", "max", "avg", "p50", "p95", "p99"]) {
    assert.equal(typeof histogram[field], "number", field);
  }
});

Deno.test("/docs serves Swagger UI from local assets and /openapi.json the document", async () => {
  await using t = await startTestApp();
  const page = await t.request("/docs");
  assert.equal(page.status, 200);
  const html = await page.text();
  assert.doesNotMatch(html, /https?:\/\//, "no CDN or other external asset");
  assert.doesNotMatch(html, /<script>[^<]/, "no inline script (the CSP forbids it)");
  for (const src of html.matchAll(/(?:src|href)="([^"]+)"/g)) {
    const asset = await t.request(`/${src[1]}`);
    assert.equal(asset.status, 200, src[1]);
    assert.ok((await asset.arrayBuffer()).byteLength > 0, src[1]);
  }
  const bundle = await t.request("/docs/swagger-ui-bundle.js");
  assert.match(bundle.headers.get("Content-Type") ?? "", /javascript/);
  assert.ok((await bundle.arrayBuffer()).byteLength > 100_000);
  const other = await t.request("/docs/..%2f..%2fdeno.json");
  assert.equal(other.status, 404);
  await other.body?.cancel();
  const doc = await (await t.request("/openapi.json")).json();
  assert.equal(doc.openapi, "3.1.0");
  assert.ok(doc.paths["/v1/images/generations"].post);
  assert.ok(doc.paths["/mcp"].post);
});
