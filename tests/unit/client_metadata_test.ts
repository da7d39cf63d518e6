/**
 * Client ID Metadata Documents fetched for real: a document served over local TLS (a throwaway
 * CA handed to the resolver), a test-only DNS table naming 127.0.0.1 for the test hostname and a
 * test-only `allowAddress` for that address. Without `allowAddress` the same server is refused:
 * the private-address refusal stays on.
 */

import assert from "node:assert/strict";
import {
  type ClientMetadata,
  ClientMetadataError,
  type ClientMetadataResolverOptions,
  createClientMetadataResolver,
  isClientMetadataUrl,
} from "../../src/oauth/mod.ts";
import { makeLocalTls, serveLocalTls } from "../support/local_tls.ts";
import { manualClock } from "../support/pinned_time.ts";

const TLS = await makeLocalTls();

/** The document routes of the test client's site. */
function documentSite() {
  const requests: string[] = [];
  let release!: () => void;
  const released = new Promise<void>((resolve) => release = resolve);
  // The streamed document: 64 MB in 64 KB chunks on demand, without a Content-Length.
  let settle!: (how: "cancelled" | "finished") => void;
  const settled = new Promise<"cancelled" | "finished">((resolve) => settle = resolve);
  let sent = 0;
  const state = { cacheControl: "max-age=120", broken: false };
  const server = serveLocalTls(TLS, async (request) => {
    const path = new URL(request.url).pathname;
    requests.push(path);
    const self = `${server.origin}${path}`;
    const good = { client_id: self, client_name: "Test client", redirect_uris: [REDIRECT] };
    const json = (body: unknown, headers: Record<string, string> = {}) =>
      new Response(JSON.stringify(body), {
        headers: { "content-type": "application/json", ...headers },
      });
    switch (path) {
      case "/client.json":
        if (state.broken) return json({ client_id: self });
        return json(good, { "cache-control": state.cacheControl });
      case "/typed.json":
        return new Response(JSON.stringify(good), {
          headers: { "content-type": "application/client-metadata+json; charset=utf-8" },
        });
      case "/big-declared":
        return json({ ...good, padding: "x".repeat(6000) });
      case "/big-streamed": {
        const chunk = new TextEncoder().encode(" ".repeat(64 * 1024));
        return new Response(
          new ReadableStream<Uint8Array>({
            pull(controller) {
              if (sent === STREAMED_CHUNKS) {
                controller.close();
                settle("finished");
                return;
              }
              sent++;
              controller.enqueue(chunk);
            },
            cancel() {
              settle("cancelled");
            },
          }),
          { headers: { "content-type": "application/json" } },
        );
      }
      case "/slow-headers":
        await released;
        return json(good);
      case "/slow-body":
        return new Response(
          new ReadableStream<Uint8Array>({
            async start(controller) {
              controller.enqueue(new TextEncoder().encode('{"client_id":'));
              await released;
              controller.close();
            },
          }),
          { headers: { "content-type": "application/json" } },
        );
      case "/page.html":
        return new Response("<!doctype html><p>hello</p>", {
          headers: { "content-type": "text/html" },
        });
      case "/not-json":
        return new Response("{ client_id: nope", {
          headers: { "content-type": "application/json" },
        });
      case "/array":
        return json([good]);
      case "/mismatch":
        return json({ ...good, client_id: `${server.origin}/other.json` });
      case "/no-redirects":
        return json({ client_id: self, client_name: "No redirects" });
      case "/secret":
        return json({ ...good, token_endpoint_auth_method: "client_secret_basic" });
      case "/private-key-jwt":
        return json({
          ...good,
          token_endpoint_auth_method: "private_key_jwt",
          jwks_uri: `${server.origin}/jwks.json`,
        });
      case "/redirect-private":
        return new Response(null, {
          status: 302,
          headers: { location: "https://internal.example.test/client.json" },
        });
      default:
        return new Response("not found", { status: 404 });
    }
  });
  return {
    server,
    requests,
    state,
    release,
    streamed: async () => ({ how: await settled, sent }),
    url: (path: string) => `${server.origin}${path}`,
    async [Symbol.asyncDispose]() {
      release();
      await server.shutdown();
    },
  };
}

const REDIRECT = "https://app.example.test/callback";
const STREAMED_CHUNKS = 1024;

const DNS: Record<string, string[]> = {
  [TLS.hostname]: ["127.0.0.1"],
  "internal.example.test": ["10.0.0.5"],
};

function resolverFor(overrides: Partial<ClientMetadataResolverOptions> = {}) {
  const asked: string[] = [];
  const clock = manualClock();
  const resolve = createClientMetadataResolver({
    resolveDns: (hostname) => {
      asked.push(hostname);
      return Promise.resolve(DNS[hostname] ?? []);
    },
    caCerts: [TLS.caCert],
    allowAddress: (address) => address === "127.0.0.1",
    maxBytes: 5120,
    timeoutMs: 2000,
    cacheTtlMs: 600_000,
    now: clock.now,
    ...overrides,
  });
  return { resolve, asked, clock };
}

async function refused(
  promise: Promise<ClientMetadata>,
  reason: string,
  message?: RegExp,
  oauthError = "invalid_client",
): Promise<ClientMetadataError> {
  const error = await promise.then(
    () => assert.fail("the lookup succeeded"),
    (e: unknown) => e,
  );
  assert.ok(error instanceof ClientMetadataError, String(error));
  assert.equal(error.reason, error.details?.reason);
  assert.equal(error.reason, reason, error.message);
  assert.equal(error.oauthError, oauthError);
  assert.equal(error.kind, "validation");
  assert.equal(error.field, "client_id");
  assert.match(error.message, /^Cannot use client_id ".*": /);
  if (message) assert.match(error.message, message);
  return error;
}

Deno.test("a document served over TLS from a resolved host is fetched and checked", async () => {
  await using site = documentSite();
  const { resolve, asked } = resolverFor();
  const id = site.url("/client.json");
  const metadata = await resolve(id);
  assert.deepEqual(metadata, {
    clientId: id,
    clientName: "Test client",
    redirectUris: [REDIRECT],
    clientUri: null,
    logoUri: null,
    tokenEndpointAuthMethod: "none",
    grantTypes: ["authorization_code"],
    responseTypes: ["code"],
    scope: null,
  });
  assert.deepEqual(asked, [TLS.hostname]);
  assert.deepEqual(site.requests, ["/client.json"]);
  const typed = await resolve(site.url("/typed.json"));
  assert.equal(typed.clientName, "Test client");
});

Deno.test("the same server is refused as a private address without the test-only allowance", async () => {
  await using site = documentSite();
  const { resolve } = resolverFor({ allowAddress: undefined });
  await refused(
    resolve(site.url("/client.json")),
    "blocked_address",
    /host "client\.example\.test" resolves to a loopback address \(127\.0\.0\.1\)/,
  );
  assert.deepEqual(site.requests, []);
});

Deno.test("without the CA the server's certificate is not trusted", async () => {
  await using site = documentSite();
  const { resolve } = resolverFor({ caCerts: [] });
  await refused(resolve(site.url("/client.json")), "fetch_failed", /the request failed/);
});

Deno.test("a document over the size cap is refused, declared or streamed", async () => {
  await using site = documentSite();
  const { resolve } = resolverFor();
  await refused(resolve(site.url("/big-declared")), "too_large", /larger than the 5120-byte limit/);
  await refused(resolve(site.url("/big-streamed")), "too_large", /larger than the 5120-byte limit/);
  const { how, sent } = await site.streamed();
  assert.equal(how, "cancelled");
  assert.ok(sent < STREAMED_CHUNKS, `the server sent all ${sent} chunks`);
});

Deno.test("a document whose headers or body do not arrive in time is refused", async () => {
  await using site = documentSite();
  const { resolve } = resolverFor({ timeoutMs: 300 });
  await refused(resolve(site.url("/slow-headers")), "timeout", /no complete answer within 0\.3 s/);
  await refused(resolve(site.url("/slow-body")), "timeout", /no complete answer within 0\.3 s/);
});

Deno.test("a document that is not JSON, or not a JSON object, is refused", async () => {
  await using site = documentSite();
  const { resolve } = resolverFor();
  await refused(
    resolve(site.url("/page.html")),
    "content_type",
    /served as "text\/html"; accepted: application\/json or application\/<name>\+json/,
  );
  await refused(resolve(site.url("/not-json")), "not_json", /not valid JSON/);
  await refused(resolve(site.url("/array")), "not_an_object", /JSON an array, not an object/);
});

Deno.test("a document that names another client_id, no redirect URIs, a secret or a key is refused", async () => {
  await using site = documentSite();
  const { resolve } = resolverFor();
  await refused(
    resolve(site.url("/mismatch")),
    "client_id_mismatch",
    /client_id ".*\/other\.json" is not the URL it was fetched from/,
  );
  await refused(
    resolve(site.url("/no-redirects")),
    "redirect_uris",
    /lists no redirect_uris; it must hold a non-empty array/,
  );
  await refused(
    resolve(site.url("/secret")),
    "token_endpoint_auth_method",
    /client_secret_basic is not supported: only public clients \(token_endpoint_auth_method none\) that prove themselves with PKCE are supported/,
  );
  await refused(
    resolve(site.url("/private-key-jwt")),
    "token_endpoint_auth_method",
    /private_key_jwt is not supported: only public clients \(token_endpoint_auth_method none\) that prove themselves with PKCE/,
  );
  await refused(resolve(site.url("/missing")), "http_status", /answered HTTP 404; .*200 OK/);
});

Deno.test("a redirect is not followed, so a redirect to a private address is never fetched", async () => {
  await using site = documentSite();
  const { resolve, asked } = resolverFor();
  await refused(
    resolve(site.url("/redirect-private")),
    "too_many_redirects",
    /redirects \(HTTP 302\) to "https:\/\/internal\.example\.test\/client\.json"; redirects are not followed/,
  );
  assert.deepEqual(asked, [TLS.hostname], "the redirect target was never looked up");
});

Deno.test("client ids that are not https URLs with a path are refused as invalid requests", async () => {
  const { resolve, asked } = resolverFor();
  const cases: [string, RegExp][] = [
    [`http://${TLS.hostname}/client.json`, /it is an http: URL; .*https URL with a path/],
    ["my-client", /it is not a URL/],
    [`https://${TLS.hostname}`, /it has no path/],
    [`https://${TLS.hostname}/client.json#x`, /fragment/],
    [`https://user@${TLS.hostname}/client.json`, /user name or password/],
    [`https://${TLS.hostname}/a/../client.json`, /canonical form/],
    [`https://${TLS.hostname}:443/client.json`, /canonical form/],
  ];
  for (const [id, message] of cases) {
    await refused(resolve(id), "bad_client_id", message, "invalid_request");
    assert.equal(isClientMetadataUrl(id), false, id);
  }
  assert.deepEqual(asked, []);
  assert.equal(isClientMetadataUrl(`https://${TLS.hostname}/client.json`), true);
});

Deno.test("a good document is cached for its max-age and fetched again after it", async () => {
  await using site = documentSite();
  const { resolve, clock } = resolverFor();
  const id = site.url("/client.json");
  const first = await resolve(id);
  clock.advance(119_000);
  assert.equal(await resolve(id), first, "a cache hit");
  assert.deepEqual(site.requests, ["/client.json"]);
  clock.advance(2_000);
  await resolve(id);
  assert.deepEqual(site.requests, ["/client.json", "/client.json"]);
});

Deno.test("cache lifetimes are kept within bounds, and failures are not cached", async () => {
  await using site = documentSite();
  const { resolve, clock } = resolverFor({ minCacheTtlMs: 60_000, maxCacheTtlMs: 3_600_000 });
  const id = site.url("/client.json");
  site.state.cacheControl = "no-store";
  await resolve(id);
  clock.advance(59_000);
  await resolve(id);
  assert.equal(site.requests.length, 1, "no-store is kept for the lower bound");
  clock.advance(2_000);
  site.state.cacheControl = "max-age=31536000";
  await resolve(id);
  clock.advance(3_601_000);
  site.state.broken = true;
  await refused(resolve(id), "redirect_uris");
  assert.equal(site.requests.length, 3, "a year's max-age is kept for the upper bound");
  site.state.broken = false;
  await resolve(id);
  assert.equal(site.requests.length, 4, "the failure was not cached");
});

Deno.test("concurrent lookups of one client id share one fetch", async () => {
  await using site = documentSite();
  const { resolve } = resolverFor();
  const id = site.url("/slow-headers");
  const lookups = [resolve(id), resolve(id), resolve(id)];
  site.release();
  const [a, b, c] = await Promise.all(lookups);
  assert.equal(a, b);
  assert.equal(b, c);
  assert.deepEqual(site.requests, ["/slow-headers"]);
});
