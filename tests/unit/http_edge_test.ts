/**
 * The edge guard's rules that depend on settings (the loopback defaults are fuzzed in
 * fuzz_http_test.ts): names and origins from `PUBLIC_BASE_URL`, `MCP_ALLOWED_HOSTS`,
 * `MCP_ALLOWED_ORIGINS` and `CORS_ORIGINS`, forwarded headers behind `TRUST_PROXY`, a non-loopback
 * bind, and `METRICS_PUBLIC`.
 */
import assert from "node:assert/strict";
import { bearer, json, startTestApp, type TestApp } from "../support/http_app.ts";

/** POSTs a valid generation to `/v1` with `headers`; the status. */
async function generate(
  t: TestApp,
  headers: Record<string, string>,
  url = "http://localhost/v1/images/generations",
): Promise<number> {
  const response = await t.request(url, json({ prompt: "a kite" }, { headers }));
  await response.body?.cancel();
  return response.status;
}

Deno.test("behind a trusted proxy the forwarded Host must name the service and its origin is the page's own", async () => {
  await using proxied = await startTestApp({
    env: { TRUST_PROXY: "true", MCP_ALLOWED_HOSTS: "images.example.com" },
  });
  const forwarded = { "X-Forwarded-Host": "images.example.com", "X-Forwarded-Proto": "https" };
  assert.equal(
    await generate(proxied, { ...forwarded, Origin: "https://images.example.com" }),
    200,
  );
  assert.equal(
    await generate(proxied, { ...forwarded, "X-Forwarded-Host": "rebind.attacker.example" }),
    403,
    "a rebound name forwarded by the proxy",
  );
  assert.equal(await generate(proxied, { ...forwarded, Origin: "https://evil.example" }), 403);
  assert.equal(
    await generate(proxied, { ...forwarded, Origin: "http://images.example.com" }),
    403,
    "the page's scheme is the forwarded one",
  );

  await using direct = await startTestApp();
  assert.equal(
    await generate(direct, { "X-Forwarded-Host": "rebind.attacker.example" }),
    200,
    "without TRUST_PROXY forwarded headers mean nothing",
  );
  assert.equal(
    await generate(direct, { ...forwarded, Origin: "https://images.example.com" }),
    403,
    "nor do they make a foreign origin the service's own",
  );
});

Deno.test("PUBLIC_BASE_URL names the service: its host, and its origin exactly", async () => {
  await using t = await startTestApp({ env: { PUBLIC_BASE_URL: "https://img.example.com/" } });
  const at = "http://img.example.com/v1/images/generations";
  assert.equal(await generate(t, { Host: "img.example.com" }, at), 200);
  assert.equal(await generate(t, { Host: "img.example.com:8443" }, at), 200, "any port");
  assert.equal(await generate(t, { Host: "evil.example" }, at), 403);
  assert.equal(await generate(t, { Origin: "https://img.example.com" }), 200);
  assert.equal(await generate(t, { Origin: "https://img.example.com:8443" }), 403, "port");
  assert.equal(await generate(t, { Origin: "http://img.example.com" }), 403, "scheme");
  assert.equal(await generate(t, { Origin: "https://img.example.com.evil.example" }), 403);
});

Deno.test("CORS_ORIGINS and MCP_ALLOWED_ORIGINS list trusted pages exactly; * trusts any but null", async () => {
  await using listed = await startTestApp({
    env: { CORS_ORIGINS: "https://app.example", MCP_ALLOWED_ORIGINS: "https://claude.ai/" },
  });
  assert.equal(await generate(listed, { Origin: "https://app.example" }), 200);
  assert.equal(await generate(listed, { Origin: "https://claude.ai" }), 200);
  assert.equal(await generate(listed, { Origin: "https://app.example.evil.example" }), 403);
  assert.equal(await generate(listed, { Origin: "https://evil.example" }), 403);

  await using any = await startTestApp({ env: { CORS_ORIGINS: "*" } });
  assert.equal(await generate(any, { Origin: "https://anyone.example" }), 200);
  assert.equal(await generate(any, { Origin: "null" }), 403, "an opaque origin is never trusted");
});

Deno.test("a non-loopback bind checks Host only once names are configured: then those and the bind address", async () => {
  await using open = await startTestApp({ env: { HOST: "0.0.0.0" } });
  const at = (host: string) => `http://${host}/v1/images/generations`;
  assert.equal(await generate(open, { Host: "anything.example" }, at("anything.example")), 200);

  await using named = await startTestApp({
    env: { HOST: "10.1.2.3", MCP_ALLOWED_HOSTS: "img.example.com" },
  });
  assert.equal(await generate(named, { Host: "img.example.com" }, at("img.example.com")), 200);
  assert.equal(await generate(named, { Host: "10.1.2.3:3000" }, at("10.1.2.3:3000")), 200);
  assert.equal(await generate(named, { Host: "localhost" }, at("localhost")), 403);
  assert.equal(await generate(named, { Host: "evil.example" }, at("evil.example")), 403);
  const health = await named.request(
    at("evil.example").replace("/v1/images/generations", "/health"),
    {
      headers: { Host: "evil.example" },
    },
  );
  assert.equal(health.status, 200, "/health answers probes whatever their Host");
  await health.body?.cancel();
});

Deno.test("/metrics needs an admin key once auth is on, unless METRICS_PUBLIC is set", async () => {
  const token = "edge-unit-token-7c1d";
  await using closed = await startTestApp({ env: { MCP_AUTH_TOKEN: token } });
  const anonymous = await closed.request("/metrics");
  assert.equal(anonymous.status, 401);
  await anonymous.body?.cancel();
  const admin = await closed.request("/metrics", { headers: bearer(token) });
  assert.equal(admin.status, 200);
  await admin.body?.cancel();

  await using open = await startTestApp({
    env: { MCP_AUTH_TOKEN: token, METRICS_PUBLIC: "true" },
  });
  const scraper = await open.request("/metrics");
  assert.equal(scraper.status, 200);
  assert.match(await scraper.text(), /^# HELP /m);
  const adminJson = await open.request("/admin/metrics");
  assert.equal(adminJson.status, 401, "METRICS_PUBLIC opens /metrics only");
  await adminJson.body?.cancel();

  await using authOff = await startTestApp();
  const local = await authOff.request("/metrics");
  assert.equal(local.status, 200, "with auth off it stays open, as before");
  await local.body?.cancel();
});
