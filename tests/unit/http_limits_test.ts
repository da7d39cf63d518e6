import assert from "node:assert/strict";
import { createApiKey } from "../../src/auth/mod.ts";
import { eventually } from "../support/eventually.ts";
import { bearer, json, startRealTestApp, startTestApp } from "../support/http_app.ts";

Deno.test("limited routes carry RateLimit-Policy and RateLimit headers; image reads and health do not", async () => {
  await using t = await startTestApp({ env: { REQUEST_RATE_LIMIT: "100/15m" } });
  const record = await t.images.seed();
  for (const path of ["/mcp", "/v1/images", "/admin/keys"]) {
    const res = await t.request(path);
    assert.equal(res.status, 200, path);
    assert.equal(res.headers.get("RateLimit-Policy"), '"requests";q=100;w=900', path);
    assert.match(res.headers.get("RateLimit") ?? "", /^"requests";r=\d+;t=\d+$/, path);
    await res.body?.cancel();
  }
  for (const path of ["/health", "/metrics", `/images/${record.fileName}`, "/openapi.json"]) {
    const res = await t.request(path);
    assert.equal(res.status, 200, path);
    assert.equal(res.headers.get("RateLimit"), null, path);
    await res.body?.cancel();
  }
});

Deno.test("the request limit answers 429 with Retry-After and retryAfter once spent", async () => {
  await using t = await startTestApp({ env: { REQUEST_RATE_LIMIT: "3/1m" } });
  for (let i = 0; i < 3; i++) {
    const res = await t.request("/mcp");
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("RateLimit-Remaining"), String(2 - i));
    await res.body?.cancel();
  }
  const refused = await t.request("/mcp", json({ prompt: "x" }));
  assert.equal(refused.status, 429);
  assert.equal(refused.headers.get("Retry-After"), "60");
  assert.equal(refused.headers.get("RateLimit-Remaining"), "0");
  const body = await refused.json();
  assert.equal(body.success, false);
  assert.equal(body.retryAfter, 60);
  assert.match(body.error, /Too many requests/);
  assert.equal(t.images.calls.length, 0);

  const v1 = await t.request("/v1/images");
  assert.equal(v1.status, 429);
  const v1Body = await v1.json();
  assert.equal(v1Body.error.type, "rate_limit_error");
  assert.equal(v1Body.error.code, "rate_limit_exceeded");

  t.advance(61_000);
  const again = await t.request("/mcp");
  assert.equal(again.status, 200, "a new window opens");
  await again.body?.cancel();
  assert.match(await t.metrics.metricsText(), /rate_limited_requests_total\{limit="request"\} 2/);
});

Deno.test("the request limit counts each anonymous address and each key separately", async () => {
  await using t = await startTestApp({ env: { REQUEST_RATE_LIMIT: "1/1m" } });
  const first = await t.request("/mcp", undefined, "198.51.100.1");
  assert.equal(first.status, 200);
  await first.body?.cancel();
  const second = await t.request("/mcp", undefined, "198.51.100.2");
  assert.equal(second.status, 200);
  await second.body?.cancel();
  const again = await t.request("/mcp", undefined, "198.51.100.1");
  assert.equal(again.status, 429);
  await again.body?.cancel();
});

Deno.test("image and thumbnail reads are not counted by the request limit", async () => {
  await using t = await startTestApp({ env: { REQUEST_RATE_LIMIT: "2/1m" } });
  const record = await t.images.seed();
  for (let i = 0; i < 10; i++) {
    for (const path of [`/images/${record.fileName}`, `/images/${record.fileName}/thumb`]) {
      const res = await t.request(path);
      assert.equal(res.status, 200);
      await res.body?.cancel();
    }
  }
  const api = await t.request("/mcp");
  assert.equal(api.headers.get("RateLimit-Remaining"), "1");
  await api.body?.cancel();
});

// Limits of generations are the core's: these run the real core against the fake upstream.

Deno.test("a request for n images needs n from the hourly allowance and is refused whole", async () => {
  await using t = await startRealTestApp({ env: { IMAGE_GENERATION_RATE_LIMIT: "3" } });
  const two = await t.request("/mcp", json({ prompt: "x", n: 2, quality: "low" }));
  assert.equal(two.status, 200);
  await two.body?.cancel();
  const refused = await t.request("/mcp", json({ prompt: "x", n: 2, quality: "low" }));
  assert.equal(refused.status, 429);
  assert.ok(Number(refused.headers.get("Retry-After")) > 0);
  const body = await refused.json();
  assert.match(body.error, /1 of 3 images left/);
  assert.equal(t.upstream.requests.length, 1, "the refused request never reached the upstream");
  const one = await t.request(
    "/v1/images/generations",
    json({ prompt: "x", n: 1, quality: "low" }),
  );
  assert.equal(one.status, 200, "the remaining image is still available, also on /v1");
  await one.body?.cancel();
  const tooMany = await t.request("/mcp", json({ prompt: "x", n: 4 }));
  assert.equal(tooMany.status, 400, "more than the hourly limit can never fit");
  assert.equal((await tooMany.json()).field, "n");
  assert.match(
    await t.metrics.metricsText(),
    /rate_limited_requests_total\{limit="generation"\} 1/,
  );
});

Deno.test("on a loopback bind with auth off, callers without a key have no hourly image cap", async () => {
  await using t = await startRealTestApp();
  assert.equal(t.config.host, "127.0.0.1");
  for (let i = 0; i < 3; i++) {
    const many = await t.request("/mcp", json({ prompt: "x", n: 5, quality: "low" }));
    assert.equal(many.status, 200, `request ${i + 1} of 5 images`);
    await many.body?.cancel();
  }
});

Deno.test("an explicit IMAGE_GENERATION_RATE_LIMIT is honoured on a loopback bind with auth off", async () => {
  await using t = await startRealTestApp({ env: { IMAGE_GENERATION_RATE_LIMIT: "2" } });
  const two = await t.request("/mcp", json({ prompt: "x", n: 2, quality: "low" }));
  assert.equal(two.status, 200);
  await two.body?.cancel();
  const more = await t.request("/mcp", json({ prompt: "x", quality: "low" }));
  assert.equal(more.status, 429);
  await more.body?.cancel();
});

Deno.test("API keys keep the default of 10 images per hour on a loopback bind", async () => {
  await using t = await startRealTestApp();
  const { key } = await createApiKey(t.kv, { name: "script", role: "user", now: t.now });
  const ten = await t.request(
    "/mcp",
    json({ prompt: "x", n: 10, quality: "low" }, { headers: bearer(key) }),
  );
  assert.equal(ten.status, 200);
  await ten.body?.cancel();
  const more = await t.request(
    "/v1/images/generations",
    json({ prompt: "x", quality: "low" }, { headers: bearer(key) }),
  );
  assert.equal(more.status, 429);
  assert.match((await more.json()).error.message, /0 of 10 images left/);
});

Deno.test("a public bind keeps the default of 10 images per hour for callers without a key", async () => {
  await using t = await startRealTestApp({
    env: { HOST: "0.0.0.0", ALLOW_UNAUTHENTICATED: "true" },
  });
  const address = "203.0.113.7";
  const ten = await t.request("/mcp", json({ prompt: "x", n: 10, quality: "low" }), address);
  assert.equal(ten.status, 200);
  await ten.body?.cancel();
  const more = await t.request("/mcp", json({ prompt: "x", quality: "low" }), address);
  assert.equal(more.status, 429);
  assert.match((await more.json()).error, /0 of 10 images left/);
});

Deno.test("images reserved for a generation the upstream refused are given back; a bad request takes none", async () => {
  await using t = await startRealTestApp({ env: { IMAGE_GENERATION_RATE_LIMIT: "2" } });
  const failed = await t.request(
    "/mcp",
    json({ prompt: "x [fault:server_error]", n: 2, quality: "low" }),
  );
  assert.equal(failed.status, 502);
  await failed.body?.cancel();
  const invalid = await t.request("/mcp", json({ prompt: "x", n: 2, size: "huge" }));
  assert.equal(invalid.status, 400);
  await invalid.body?.cancel();
  const ok = await t.request("/mcp", json({ prompt: "x", n: 2, quality: "low" }));
  assert.equal(ok.status, 200, "the refused request was refunded, the invalid one took nothing");
  await ok.body?.cancel();
});

Deno.test("MAX_INFLIGHT_PER_KEY refuses a second concurrent generation with 429", async () => {
  await using t = await startRealTestApp({ env: { MAX_INFLIGHT_PER_KEY: "1" } });
  const first = t.request("/mcp", json({ prompt: "slow [fault:latency=1500]", quality: "low" }));
  await eventually(() => t.upstream.stats.inFlight > 0, "the first generation at the upstream");
  assert.equal(t.upstream.stats.inFlight, 1);
  const second = await t.request("/v1/images/generations", json({ prompt: "fast" }));
  assert.equal(second.status, 429);
  assert.match((await second.json()).error.message, /at a time/);
  assert.match(await t.metrics.metricsText(), /generations_in_flight 1/);
  const done = await first;
  assert.equal(done.status, 200);
  await done.body?.cancel();
  const third = await t.request("/mcp", json({ prompt: "again", quality: "low" }));
  assert.equal(third.status, 200, "the slot was released");
  await third.body?.cancel();
});

Deno.test("BUDGET_USD_PER_KEY_MONTH refuses generations once the key's spend would pass it", async () => {
  await using t = await startRealTestApp({
    env: { BUDGET_USD_PER_KEY_MONTH: "0.07", MCP_AUTH_TOKEN: "admin-token" },
  });
  const { key, record } = await createApiKey(t.kv, { name: "bob", role: "user", now: () => 0 });
  let spent = 0;
  for (let i = 0; i < 2; i++) {
    const res = await t.request(
      "/v1/images/generations",
      json({ prompt: "x" }, { headers: bearer(key) }),
    );
    assert.equal(res.status, 200);
    const body = await res.json();
    spent += body.usage.output_tokens * 30 / 1e6 + body.usage.input_tokens * 5 / 1e6;
  }
  const refused = await t.request("/mcp", json({ prompt: "x" }, { headers: bearer(key) }));
  assert.equal(refused.status, 402);
  const error = (await refused.json()).error;
  assert.match(error, /Monthly budget exceeded/);
  assert.match(error, /\$0\.00\d\d left/, "the answer names what is left");
  const usage = await t.request("/admin/usage", { headers: bearer("admin-token") });
  const report = await usage.json();
  const row = report.rows.find((r: { principal: string }) => r.principal === record.id);
  assert.equal(row.images, 2);
  assert.equal(row.name, "bob");
  assert.ok(Math.abs(row.spendUsd - spent) < 1e-5, `${row.spendUsd} vs ${spent}`);
});
