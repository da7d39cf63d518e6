import assert from "node:assert/strict";
import type { Context } from "hono";
import { createApiKey } from "../../src/auth/mod.ts";
import type { HttpEnv } from "../../src/http/app.ts";
import { bearer, json, startTestApp, type TestApp } from "../support/http_app.ts";

const TOKEN = "s3cret-predecessor-token";

async function userKey(t: TestApp, name = "alice"): Promise<string> {
  return (await createApiKey(t.kv, { name, role: "user", now: () => 0 })).key;
}

Deno.test("REST /mcp keeps the predecessor's 401 for missing or malformed tokens and 403 for wrong ones", async () => {
  await using t = await startTestApp({ env: { MCP_AUTH_TOKEN: TOKEN } });
  const cases: [Record<string, string>, number][] = [
    [{}, 401],
    [{ Authorization: `Basic ${btoa("u:p")}` }, 401],
    [{ Authorization: "Bearer" }, 401],
    [bearer("wrong-token"), 403],
    [bearer(`${TOKEN}x`), 403],
  ];
  for (const [headers, status] of cases) {
    const post = await t.request("/mcp", json({ prompt: "a cat" }, { headers }));
    assert.equal(post.status, status, JSON.stringify(headers));
    const body = await post.json();
    assert.equal(body.success, false);
    assert.equal(typeof body.error, "string");
    const get = await t.request("/mcp", { headers });
    assert.equal(get.status, status);
    await get.body?.cancel();
  }
  assert.equal(t.images.calls.length, 0, "nothing reached the core");
  const ok = await t.request("/mcp", json({ prompt: "a cat" }, { headers: bearer(TOKEN) }));
  assert.equal(ok.status, 200);
  assert.equal(t.images.calls[0].options.principal.id, "token");
  assert.equal(t.images.calls[0].options.principal.role, "admin");
});

Deno.test("/v1 answers 401 with WWW-Authenticate for missing or invalid keys", async () => {
  await using t = await startTestApp({ env: { MCP_AUTH_TOKEN: TOKEN } });
  const missing = await t.request("/v1/images/generations", json({ prompt: "a cat" }));
  assert.equal(missing.status, 401);
  assert.match(missing.headers.get("WWW-Authenticate") ?? "", /^Bearer realm=/);
  const body = await missing.json();
  assert.equal(body.error.type, "invalid_request_error");
  assert.equal(body.error.code, "invalid_api_key");
  const wrong = await t.request(
    "/v1/images/generations",
    json({ prompt: "a cat" }, { headers: bearer("oig_not-a-real-key") }),
  );
  assert.equal(wrong.status, 401, "an invalid key is 401, not 403, on /v1");
  assert.match(wrong.headers.get("WWW-Authenticate") ?? "", /error="invalid_token"/);
  await wrong.body?.cancel();
  assert.equal(t.images.calls.length, 0);
});

Deno.test("MCP JSON-RPC traffic on /mcp answers 401 with WWW-Authenticate and never reaches the handler", async () => {
  let reached = 0;
  const mcpHandler = (c: Context<HttpEnv>) => {
    reached++;
    return Promise.resolve(c.json({ jsonrpc: "2.0", id: 1, result: {} }));
  };
  await using t = await startTestApp({ env: { MCP_AUTH_TOKEN: TOKEN }, deps: { mcpHandler } });
  const message = { jsonrpc: "2.0", id: 1, method: "initialize", params: {} };
  for (const headers of [{}, bearer("wrong")]) {
    const res = await t.request("/mcp", json(message, { headers }));
    assert.equal(res.status, 401);
    assert.match(res.headers.get("WWW-Authenticate") ?? "", /^Bearer /);
    const body = await res.json();
    assert.equal(body.jsonrpc, "2.0");
    assert.equal(body.error.code, -32001);
  }
  const stream = await t.request("/mcp", { headers: { Accept: "text/event-stream" } });
  assert.equal(stream.status, 401);
  await stream.body?.cancel();
  assert.equal(reached, 0);
  const ok = await t.request("/mcp", json(message, { headers: bearer(TOKEN) }));
  assert.equal(ok.status, 200);
  await ok.body?.cancel();
  assert.equal(reached, 1);
});

Deno.test("a user key can generate but cannot reach admin endpoints", async () => {
  await using t = await startTestApp({ env: { MCP_AUTH_TOKEN: TOKEN } });
  const key = await userKey(t);
  const gen = await t.request(
    "/v1/images/generations",
    json({ prompt: "x" }, { headers: bearer(key) }),
  );
  assert.equal(gen.status, 200);
  await gen.body?.cancel();
  assert.match(t.images.calls[0].options.principal.id, /^key_/);
  for (const path of ["/admin/metrics", "/admin/keys", "/admin/images/stats", "/admin/usage"]) {
    const res = await t.request(path, { headers: bearer(key) });
    assert.equal(res.status, 403, path);
    const body = await res.json();
    assert.match(body.error, /admin role/);
  }
  const create = await t.request(
    "/admin/keys",
    json({ name: "mallory", role: "admin" }, { headers: bearer(key) }),
  );
  assert.equal(create.status, 403);
  await create.body?.cancel();
  const cleanup = await t.request("/admin/images/cleanup", json({}, { headers: bearer(key) }));
  assert.equal(cleanup.status, 403);
  await cleanup.body?.cancel();
  assert.deepEqual(t.retention.cleanups, []);
});

Deno.test("admin endpoints answer 401 without a token and 403 with a wrong one", async () => {
  await using t = await startTestApp({ env: { MCP_AUTH_TOKEN: TOKEN } });
  const none = await t.request("/admin/metrics");
  assert.equal(none.status, 401);
  await none.body?.cancel();
  const wrong = await t.request("/admin/metrics", { headers: bearer("nope") });
  assert.equal(wrong.status, 403);
  await wrong.body?.cancel();
  const ok = await t.request("/admin/metrics", { headers: bearer(TOKEN) });
  assert.equal(ok.status, 200);
  await ok.body?.cancel();
});

Deno.test("a revoked key is refused on its very next request", async () => {
  await using t = await startTestApp({ env: { MCP_AUTH_TOKEN: TOKEN } });
  const created = await t.request(
    "/admin/keys",
    json({ name: "ci", role: "user" }, { headers: bearer(TOKEN) }),
  );
  assert.equal(created.status, 201);
  const { key, record } = await created.json();
  const before = await t.request("/v1/images", { headers: bearer(key) });
  assert.equal(before.status, 200);
  await before.body?.cancel();
  const revoke = await t.request(`/admin/keys/${record.id}`, {
    method: "DELETE",
    headers: bearer(TOKEN),
  });
  assert.equal(revoke.status, 200);
  assert.notEqual((await revoke.json()).key.revokedAt, null);
  const v1 = await t.request("/v1/images", { headers: bearer(key) });
  assert.equal(v1.status, 401);
  await v1.body?.cancel();
  const rest = await t.request("/mcp", json({ prompt: "x" }, { headers: bearer(key) }));
  assert.equal(rest.status, 403);
  await rest.body?.cancel();
  assert.equal(t.images.calls.length, 0);
});

Deno.test("with no token and no keys there is no auth, and creating a key turns it on", async () => {
  await using t = await startTestApp();
  const open = await t.request("/admin/keys", json({ name: "first", role: "admin" }));
  assert.equal(open.status, 201, "anonymous callers are admins while auth is off");
  const { key } = await open.json();
  const stray = await t.request("/mcp", json({ prompt: "x" }, { headers: bearer("whatever") }));
  assert.equal(stray.status, 403, "auth is on now: a wrong token is refused");
  await stray.body?.cancel();
  const anonymous = await t.request("/v1/images");
  assert.equal(anonymous.status, 401);
  await anonymous.body?.cancel();
  const withKey = await t.request("/v1/images", { headers: bearer(key) });
  assert.equal(withKey.status, 200);
  await withKey.body?.cancel();
});

Deno.test("authentication runs before the request limit: refused callers use no allowance", async () => {
  await using t = await startTestApp({
    env: { MCP_AUTH_TOKEN: TOKEN, REQUEST_RATE_LIMIT: "2/1m" },
  });
  for (let i = 0; i < 5; i++) {
    const res = await t.request("/mcp", json({ prompt: "x" }, { headers: bearer("wrong") }));
    assert.equal(res.status, 403, "never 429");
    assert.equal(res.headers.get("RateLimit"), null);
    await res.body?.cancel();
  }
  const ok = await t.request("/mcp", { headers: bearer(TOKEN) });
  assert.equal(ok.status, 200);
  assert.equal(ok.headers.get("RateLimit-Remaining"), "1");
  await ok.body?.cancel();
});

Deno.test("anonymous callers are refused with nothing stored when auth is on", async () => {
  await using t = await startTestApp({ env: { MCP_AUTH_TOKEN: TOKEN } });
  const form = new FormData();
  form.append("prompt", "x");
  form.append("image[]", new File([new Uint8Array([1, 2, 3])], "a.png", { type: "image/png" }));
  const requests: [string, RequestInit][] = [
    ["/mcp", json({ prompt: "x", n: 4 })],
    ["/v1/images/generations", json({ prompt: "x" })],
    ["/v1/images/edits", { method: "POST", body: form }],
    ["/admin/images/cleanup", json({ dryRun: false })],
    ["/admin/keys", json({ name: "evil", role: "admin" })],
  ];
  for (const [path, init] of requests) {
    const res = await t.request(path, init);
    assert.equal(res.status, 401, path);
    await res.body?.cancel();
  }
  assert.equal(t.images.calls.length, 0);
  assert.equal(t.images.size, 0);
  assert.deepEqual(t.retention.cleanups, []);
  const keys = await t.request("/admin/keys", { headers: bearer(TOKEN) });
  assert.deepEqual((await keys.json()).keys, []);
});
