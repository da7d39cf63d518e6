/**
 * The OAuth endpoints of the whole app (real core, fake upstream): discovery documents, the
 * token endpoint's RFC 6749 errors, Dynamic Client Registration and its limits, and scopes
 * enforced by the core's policy with `WWW-Authenticate` challenges that name the metadata.
 */
import assert from "node:assert/strict";
import { createApiKey } from "../../src/auth/mod.ts";
import { oauthOffReason } from "../../src/app/mod.ts";
import { exchangeCode, s256Challenge } from "../../src/oauth/mod.ts";
import { AUTHORIZATION_REQUEST_LIMIT } from "../../src/ratelimit/mod.ts";
import { startRealTestApp } from "../support/http_app.ts";
import {
  approvedCode,
  TEST_REDIRECT,
  TEST_VERIFIER,
  testAuthorizationQuery,
} from "../support/oauth.ts";

const BASE = "https://images.example";
const METADATA = `${BASE}/.well-known/oauth-protected-resource/mcp`;
const FORM = { "content-type": "application/x-www-form-urlencoded" };
const JSON_TYPE = { "content-type": "application/json" };

function appWith(env: Record<string, string> = {}) {
  return startRealTestApp({
    env: { PUBLIC_BASE_URL: BASE, MCP_AUTH_TOKEN: "oauth-http-admin-token-0123", ...env },
  });
}

Deno.test("the discovery documents name the resource, the issuer and its endpoints", async () => {
  await using t = await appWith();
  for (const path of ["/.well-known/oauth-protected-resource", new URL(METADATA).pathname]) {
    const response = await t.request(path);
    assert.equal(response.status, 200, path);
    const body = await response.json();
    assert.equal(body.resource, `${BASE}/mcp`);
    assert.deepEqual(body.authorization_servers, [BASE]);
  }
  const response = await t.request("/.well-known/oauth-authorization-server");
  const server = await response.json();
  assert.equal(server.issuer, BASE);
  assert.equal(server.token_endpoint, `${BASE}/oauth/token`);
  assert.equal(server.registration_endpoint, `${BASE}/oauth/register`);
  assert.deepEqual(server.code_challenge_methods_supported, ["S256"]);
  assert.equal(server.authorization_response_iss_parameter_supported, true);
  assert.equal(server.client_id_metadata_document_supported, true);
});

Deno.test("OAuth is off without PUBLIC_BASE_URL: no endpoints, no resource_metadata", async () => {
  await using t = await startRealTestApp({
    env: { MCP_AUTH_TOKEN: "oauth-http-admin-token-0123" },
  });
  assert.equal((await t.request("/.well-known/oauth-authorization-server")).status, 404);
  const response = await t.request("/v1/images");
  assert.equal(response.status, 401);
  assert.doesNotMatch(response.headers.get("www-authenticate") ?? "", /resource_metadata/);
});

Deno.test("a 401 names the resource metadata and the scopes to ask for", async () => {
  await using t = await appWith();
  const response = await t.request("/v1/images");
  assert.equal(response.status, 401);
  const challenge = response.headers.get("www-authenticate") ?? "";
  assert.match(challenge, new RegExp(`resource_metadata="${METADATA}"`));
  assert.match(challenge, /scope="images:read images:write images:delete"/);
});

Deno.test("the token endpoint answers RFC 6749 errors as JSON", async () => {
  await using t = await appWith();
  const cases: [BodyInit, Record<string, string>, number, string][] = [
    ["grant_type=password&username=a", FORM, 400, "unsupported_grant_type"],
    ["code=abc", FORM, 400, "invalid_request"],
    ['{"grant_type":"authorization_code"}', JSON_TYPE, 400, "invalid_request"],
    [
      `grant_type=authorization_code&code=nope&client_id=x&code_verifier=${TEST_VERIFIER}`,
      FORM,
      401,
      "invalid_client",
    ],
    [
      `grant_type=refresh_token&refresh_token=nope&client_id=${"x".repeat(300)}`,
      FORM,
      401,
      "invalid_client",
    ],
    // RFC 6749 §3.2: no parameter twice (here the code would otherwise be looked up).
    [
      `grant_type=authorization_code&code=a&code=b&client_id=x&code_verifier=${TEST_VERIFIER}`,
      FORM,
      400,
      "invalid_request",
    ],
  ];
  for (const [body, headers, status, error] of cases) {
    const response = await t.request("/oauth/token", { method: "POST", headers, body });
    const answer = await response.json();
    assert.equal(response.status, status, JSON.stringify(answer));
    assert.equal(answer.error, error, String(body));
    assert.ok(typeof answer.error_description === "string" && answer.error_description !== "");
    assert.equal(response.headers.get("cache-control"), "no-store");
  }
});

Deno.test("DCR registers public clients, refuses bad redirect URIs and limits each address", async () => {
  await using t = await appWith({ OAUTH_DCR_LIMIT: "2" });
  const register = (redirect: string) =>
    t.request("/oauth/register", {
      method: "POST",
      headers: { ...JSON_TYPE, origin: "https://someone-else.example" },
      body: JSON.stringify({ redirect_uris: [redirect], client_name: "Tool" }),
    });
  const created = await register("https://app.example/cb");
  const client = await created.json();
  assert.equal(created.status, 201, JSON.stringify(client));
  assert.equal(client.token_endpoint_auth_method, "none");
  const bad = await register("http://app.example/cb");
  assert.equal(bad.status, 400);
  assert.equal((await bad.json()).error, "invalid_redirect_uri");
  const third = await register("https://app.example/cb");
  await third.body?.cancel();
  assert.equal(third.status, 429, "two registrations per hour from this address");
});

Deno.test("OAUTH_DCR=false turns registration off and leaves it out of the metadata", async () => {
  await using t = await appWith({ OAUTH_DCR: "false" });
  const response = await t.request("/oauth/register", {
    method: "POST",
    headers: JSON_TYPE,
    body: JSON.stringify({ redirect_uris: ["https://app.example/cb"] }),
  });
  await response.body?.cancel();
  assert.equal(response.status, 404);
  const server = await (await t.request("/.well-known/oauth-authorization-server")).json();
  assert.equal(server.registration_endpoint, undefined);
});

Deno.test("an images:read token lists images but may not generate: 403 insufficient_scope", async () => {
  await using t = await appWith();
  const { record } = await createApiKey(t.kv, { name: "reader", role: "user", now: t.now });
  const { clientId, code } = await approvedCode(t.kv, {
    resource: `${BASE}/mcp`,
    principal: record,
    now: t.now,
    scope: "images:read",
  });
  const tokens = await exchangeCode(t.kv, {
    code,
    clientId,
    redirectUri: TEST_REDIRECT,
    codeVerifier: TEST_VERIFIER,
    resources: [],
  }, { resource: `${BASE}/mcp`, accessTokenSeconds: 600, refreshTokenDays: 1, now: t.now });
  const auth = { authorization: `Bearer ${tokens.access_token}` };
  const list = await t.request("/v1/images", { headers: auth });
  await list.body?.cancel();
  assert.equal(list.status, 200);
  const generate = await t.request("/v1/images/generations", {
    method: "POST",
    headers: { ...auth, ...JSON_TYPE },
    body: JSON.stringify({ prompt: "a kite" }),
  });
  const body = await generate.json();
  assert.equal(generate.status, 403, JSON.stringify(body));
  assert.match(body.error.message, /images:write/);
  const challenge = generate.headers.get("www-authenticate") ?? "";
  assert.match(challenge, /error="insufficient_scope"/);
  assert.match(challenge, /scope="images:write"/);
  assert.equal(t.upstream.requests.length, 0, "nothing reached the upstream");
});

Deno.test("browser clients may call discovery, token, registration and revocation from any origin, not the authorization endpoint", async () => {
  await using t = await appWith({ CORS_ORIGINS: "https://listed.example" });
  const page = "https://spa.example";
  for (const path of ["/oauth/token", "/oauth/register", "/oauth/revoke", METADATA]) {
    const preflight = await t.request(new URL(path, BASE).pathname, {
      method: "OPTIONS",
      headers: {
        origin: page,
        "access-control-request-method": path.startsWith("/oauth") ? "POST" : "GET",
        "access-control-request-headers": "content-type, mcp-protocol-version",
      },
    });
    await preflight.body?.cancel();
    assert.ok(preflight.status < 300, `${path}: ${preflight.status}`);
    assert.equal(preflight.headers.get("access-control-allow-origin"), "*", path);
    assert.match(preflight.headers.get("access-control-allow-headers") ?? "", /Content-Type/i);
  }
  const token = await t.request("/oauth/token", {
    method: "POST",
    headers: { ...FORM, origin: page },
    body: "grant_type=refresh_token&refresh_token=nope&client_id=x",
  });
  await token.body?.cancel();
  assert.equal(token.status, 401); // unknown client_id: invalid_client
  assert.equal(token.headers.get("access-control-allow-origin"), "*");
  const document = await t.request("/.well-known/oauth-authorization-server", {
    headers: { origin: page },
  });
  await document.body?.cancel();
  assert.equal(document.headers.get("access-control-allow-origin"), "*");
  for (const path of ["/oauth/authorize", "/v1/images"]) {
    const other = await t.request(path, { headers: { origin: page } });
    await other.body?.cancel();
    assert.equal(other.headers.get("access-control-allow-origin"), null, path);
  }
});

Deno.test("HTTP Basic client authentication: a malformed one is a 401 naming Basic, one contradicting client_id is refused", async () => {
  await using t = await appWith();
  const malformed = await t.request("/oauth/token", {
    method: "POST",
    headers: { ...FORM, authorization: "Basic JQ==" },
    body: "grant_type=refresh_token&refresh_token=nope",
  });
  assert.equal(malformed.status, 401);
  assert.equal((await malformed.json()).error, "invalid_client");
  assert.match(malformed.headers.get("www-authenticate") ?? "", /^Basic /);
  const contradicting = await t.request("/oauth/token", {
    method: "POST",
    headers: { ...FORM, authorization: `Basic ${btoa("client-a:")}` },
    body: "grant_type=refresh_token&refresh_token=nope&client_id=client-b",
  });
  const answer = await contradicting.json();
  assert.equal(contradicting.status, 400);
  assert.equal(answer.error, "invalid_request");
  assert.match(answer.error_description, /differs/);
});

Deno.test("a native app's private-use redirect scheme: the consent form may lead there and the page names it", async () => {
  const clientId = "https://native.example/client.json";
  const redirect = "com.example.native:/oauth/callback";
  await using t = await startRealTestApp({
    env: { PUBLIC_BASE_URL: BASE, MCP_AUTH_TOKEN: "oauth-http-admin-token-0123" },
    resolveClientMetadata: (id) =>
      Promise.resolve({
        clientId: id,
        clientName: "Native",
        redirectUris: [redirect],
        clientUri: null,
        logoUri: null,
        tokenEndpointAuthMethod: "none",
        grantTypes: ["authorization_code"],
        responseTypes: ["code"],
        scope: null,
      }),
  });
  const query = new URLSearchParams({
    response_type: "code",
    client_id: clientId,
    redirect_uri: redirect,
    code_challenge: await s256Challenge(TEST_VERIFIER),
    code_challenge_method: "S256",
  });
  const page = await t.request(`/oauth/authorize?${query}`);
  const html = await page.text();
  assert.equal(page.status, 200, html);
  const csp = page.headers.get("content-security-policy") ?? "";
  assert.match(csp, /form-action 'self' com\.example\.native:(;|$)/);
  assert.match(
    html,
    /sent back to <strong data-redirect-host="true">com\.example\.native:<\/strong>/,
  );
});

Deno.test("authorization requests are limited per address, so one address cannot fill the KV with pending requests", async () => {
  await using t = await appWith();
  const { query } = await testAuthorizationQuery(t.kv, t.now);
  const ask = () => t.request(`/oauth/authorize?${query}`);
  for (let i = 0; i < AUTHORIZATION_REQUEST_LIMIT; i++) {
    const page = await ask();
    await page.body?.cancel();
    assert.equal(page.status, 200, `request ${i + 1}`);
  }
  const refused = await ask();
  assert.equal(refused.status, 429);
  assert.ok(Number(refused.headers.get("retry-after")) > 0);
  assert.match(await refused.text(), /Too many sign-in requests/);
  let pending = 0;
  for await (const _ of t.kv.list({ prefix: ["oauth", "request"] })) pending++;
  assert.equal(pending, AUTHORIZATION_REQUEST_LIMIT);
});

Deno.test("OAuth is off when PUBLIC_BASE_URL has a path, and the start-up reason says why", async () => {
  const base = "https://host.example/images-svc";
  await using t = await appWith({ PUBLIC_BASE_URL: base });
  for (const path of ["/.well-known/oauth-authorization-server", "/oauth/authorize"]) {
    const response = await t.request(path);
    await response.body?.cancel();
    assert.equal(response.status, 404, path);
  }
  const response = await t.request("/v1/images");
  await response.body?.cancel();
  assert.equal(response.status, 401);
  assert.doesNotMatch(response.headers.get("www-authenticate") ?? "", /resource_metadata/);
  assert.equal(
    oauthOffReason(t.config),
    "PUBLIC_BASE_URL has a path (/images-svc), and OAuth needs the service at the root of its " +
      "host: clients look for the authorization server's metadata at https://host.example" +
      "/.well-known/oauth-authorization-server/images-svc (RFC 8414 section 3), outside that " +
      "path, and the consent page links to the root; serve the service at the root of a host " +
      "name of its own (like https://images.example.com)",
  );
  assert.equal(oauthOffReason({ ...t.config, publicBaseUrl: "https://host.example/" }), null);
});
