/**
 * Client ID Metadata Documents refused through the whole app (real core, real resolver fetching
 * over local TLS): the authorization endpoint shows an error page and never redirects to a
 * redirect URI the document does not list, and a document that is too large, too slow, on a
 * private address or not JSON is named as such — on the page at authorize, and as
 * `invalid_client` JSON at the token endpoint.
 */
import assert from "node:assert/strict";
import { s256Challenge } from "../../src/oauth/mod.ts";
import { testClientMetadataResolver } from "../support/client_metadata.ts";
import { startRealTestApp } from "../support/http_app.ts";
import { makeLocalTls, serveLocalTls } from "../support/local_tls.ts";
import { TEST_REDIRECT, TEST_VERIFIER } from "../support/oauth.ts";

const BASE = "https://images.example";
const TLS = await makeLocalTls();

/** The client's site: a good document, and the ways a document goes wrong. */
function clientSite() {
  const { promise: released, resolve: release } = Promise.withResolvers<void>();
  const server = serveLocalTls(TLS, async (request) => {
    const path = new URL(request.url).pathname;
    const good = {
      client_id: `${server.origin}${path}`,
      client_name: "Sketchbook",
      redirect_uris: [TEST_REDIRECT],
    };
    switch (path) {
      case "/good.json":
        return Response.json(good);
      case "/big.json":
        return Response.json({ ...good, padding: "x".repeat(6000) });
      case "/slow.json":
        await released;
        return Response.json(good);
      case "/not-json.json":
        return new Response("<html>not json</html>", {
          headers: { "content-type": "application/json" },
        });
      default:
        return new Response("not found", { status: 404 });
    }
  });
  return {
    url: (path: string) => `${server.origin}${path}`,
    async [Symbol.asyncDispose]() {
      release();
      await server.shutdown();
    },
  };
}

function appWith(allowLoopback: boolean) {
  return startRealTestApp({
    env: { PUBLIC_BASE_URL: BASE, MCP_AUTH_TOKEN: "oauth-cimd-admin-token-0123" },
    resolveClientMetadata: testClientMetadataResolver(TLS, { allowLoopback, timeoutMs: 500 }),
  });
}

async function authorizeQuery(clientId: string, redirectUri = TEST_REDIRECT): Promise<string> {
  return new URLSearchParams({
    response_type: "code",
    client_id: clientId,
    redirect_uri: redirectUri,
    code_challenge: await s256Challenge(TEST_VERIFIER),
    code_challenge_method: "S256",
    resource: `${BASE}/mcp`,
    state: "s1",
  }).toString();
}

type App = Awaited<ReturnType<typeof appWith>>;

/** GET /oauth/authorize must answer an error page naming `message`, and never redirect. */
async function refusedAtAuthorize(t: App, query: string, message: RegExp): Promise<void> {
  const response = await t.request(`/oauth/authorize?${query}`);
  const html = await response.text();
  assert.equal(response.status, 400, html.slice(0, 500));
  assert.equal(response.headers.get("location"), null, "no redirect");
  assert.match(response.headers.get("content-type") ?? "", /^text\/html/);
  assert.match(html, message);
}

/** POST /oauth/token must answer `invalid_client` JSON naming `message`. */
async function refusedAtToken(t: App, clientId: string, message: RegExp): Promise<void> {
  const response = await t.request("/oauth/token", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code: "some-code",
      client_id: clientId,
      redirect_uri: TEST_REDIRECT,
      code_verifier: TEST_VERIFIER,
    }),
  });
  const answer = await response.json();
  assert.equal(response.status, 401, JSON.stringify(answer));
  assert.equal(answer.error, "invalid_client");
  assert.match(answer.error_description, message);
}

Deno.test("a redirect URI the metadata document does not list gets an error page, not a redirect", async () => {
  await using site = clientSite();
  await using t = await appWith(true);
  const clientId = site.url("/good.json");
  const consent = await t.request(`/oauth/authorize?${await authorizeQuery(clientId)}`);
  assert.equal(consent.status, 200, "the listed redirect URI is accepted");
  const page = await consent.text();
  assert.match(page, /Sketchbook/, "the consent page names the document's client_name");
  assert.match(page, /127\.0\.0\.1:8123/, "and the redirect host");
  await refusedAtAuthorize(
    t,
    await authorizeQuery(clientId, "https://attacker.example/callback"),
    /redirect_uri .*attacker\.example\/callback.* is not registered for client/,
  );
});

Deno.test("a metadata document that is too large, too slow or not JSON is refused at authorize and token", async () => {
  await using site = clientSite();
  await using t = await appWith(true);
  const cases: [string, RegExp][] = [
    ["/big.json", /the document is larger than the 5120-byte limit/],
    ["/slow.json", /no complete answer within 0\.5 s/],
    ["/not-json.json", /the document is not valid JSON/],
  ];
  for (const [path, message] of cases) {
    const clientId = site.url(path);
    await refusedAtAuthorize(t, await authorizeQuery(clientId), message);
    await refusedAtToken(t, clientId, message);
  }
});

Deno.test("a metadata document on a private address is refused at authorize and token", async () => {
  await using site = clientSite();
  await using t = await appWith(false);
  const clientId = site.url("/good.json");
  const message = /resolves to a loopback address \(127\.0\.0\.1\)/;
  await refusedAtAuthorize(t, await authorizeQuery(clientId), message);
  await refusedAtToken(t, clientId, message);
});
