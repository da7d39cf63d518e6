/**
 * The gallery's Connected apps page over real HTTP: a user key's session sees and revokes only the
 * OAuth grants it allowed (someone else's is refused with 403 by the core's policy), an admin
 * session sees and revokes everyone's, and signed-out visitors are sent to sign in.
 */
import assert from "node:assert/strict";
import { revokeApiKey } from "../../src/auth/mod.ts";
import { getGrant } from "../../src/oauth/mod.ts";
import { seedGrant } from "../support/oauth_grants.ts";
import { galleryBrowser, signedInBrowser } from "./support/gallery_browser.ts";
import { startInProcessService } from "./support/in_process.ts";

const ADMIN_TOKEN = "connected-apps-admin-token-0123456789";

/** The grant ids a Connected apps page shows, in order. */
function shownGrants(html: string): string[] {
  return [...html.matchAll(/data-grant-id="([^"]+)"/g)].map((m) => m[1]);
}

Deno.test("a user's Connected apps page shows and revokes only the apps that user allowed", async () => {
  await using service = await startInProcessService({ MCP_HTTP_SESSIONS: "stateless" });
  const { alice: aliceId, bob: bobId } = service.keyIds;
  await seedGrant(service.kv, {
    id: "grant_alice1",
    principalId: aliceId,
    principalName: "alice",
    scopes: ["images:read", "images:write"],
  });
  await seedGrant(service.kv, {
    id: "grant_bob1",
    principalId: bobId,
    principalName: "bob",
    clientName: "ChatGPT",
    redirectHost: "chatgpt.com",
  });
  const alice = await signedInBrowser(service.url, service.keys.alice);

  const home = await (await alice.request("/")).text();
  assert.match(
    home,
    /<a href="\/connected-apps"\s*>Connected apps<\/a>/,
    "the navigation links it",
  );
  const listed = await alice.request("/connected-apps");
  assert.equal(listed.status, 200);
  const html = await listed.text();
  assert.deepEqual(shownGrants(html), ["grant_alice1"], "only her own grant");
  assert.match(html, /<h2 id="app-grant_alice1">Claude<\/h2>/);
  assert.match(html, /<dt>Returns to<\/dt><dd>claude\.ai<\/dd>/);
  assert.match(
    html,
    /<span class="chip">images:read<\/span><span class="chip">images:write<\/span>/,
  );
  assert.match(html, /<dt>Last used<\/dt><dd>never<\/dd>/);
  assert.doesNotMatch(
    html,
    /grant_bob1|chatgpt\.com|Allowed by/,
    "nothing of bob's, no owner column",
  );

  // Alice cannot revoke bob's grant, even with a valid form token of her own.
  const csrf = /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? "";
  const foreign = await alice.post("/connected-apps/grant_bob1/revoke", { _csrf: csrf });
  assert.equal(foreign.status, 403);
  assert.match(await foreign.text(), /another person allowed it/);
  assert.equal((await getGrant(service.kv, "grant_bob1"))?.revokedAt, null, "bob's grant stands");

  const unknown = await alice.post("/connected-apps/grant_nothere/revoke", { _csrf: csrf });
  assert.equal(unknown.status, 404);
  await unknown.body?.cancel();
  const junk = await alice.post(`/connected-apps/${"x".repeat(3000)}/revoke`, { _csrf: csrf });
  assert.equal(junk.status, 404, "an id too long for a KV key is just not found");
  await junk.body?.cancel();
  const noToken = await alice.post("/connected-apps/grant_alice1/revoke", {});
  assert.equal(noToken.status, 403, "the form token is required");
  await noToken.body?.cancel();
  assert.equal((await getGrant(service.kv, "grant_alice1"))?.revokedAt, null);

  const own = await alice.post("/connected-apps/grant_alice1/revoke", { _csrf: csrf });
  assert.equal(own.status, 303);
  assert.equal(own.headers.get("location"), "/connected-apps?notice=revoked");
  await own.body?.cancel();
  const stored = await getGrant(service.kv, "grant_alice1");
  assert.equal(stored?.revokedBy, aliceId, "revoked by her");
  const after = await (await alice.request("/connected-apps?notice=revoked")).text();
  assert.match(after, /The app was revoked/);
  assert.deepEqual(shownGrants(after), [], "revoked grants are not listed");
  assert.match(after, /No connected apps/);
});

Deno.test("an admin session sees and revokes everyone's connected apps; signed-out visitors sign in first", async () => {
  await using service = await startInProcessService({
    MCP_HTTP_SESSIONS: "stateless",
    MCP_AUTH_TOKEN: ADMIN_TOKEN,
  });
  const { alice: aliceId, bob: bobId } = service.keyIds;
  await seedGrant(service.kv, { id: "grant_alice1", principalId: aliceId, principalName: "alice" });
  await seedGrant(service.kv, {
    id: "grant_bob1",
    principalId: bobId,
    principalName: "bob",
    createdAt: Date.UTC(2026, 10, 5),
  });

  const visitor = galleryBrowser(service.url);
  const home = await (await visitor.request("/login")).text();
  assert.doesNotMatch(home, /Connected apps/, "no link for a signed-out visitor");
  const page = await visitor.request("/connected-apps");
  assert.equal(page.status, 303);
  assert.equal(page.headers.get("location"), "/login?next=%2Fconnected-apps");
  await page.body?.cancel();

  const admin = await signedInBrowser(service.url, ADMIN_TOKEN);
  const html = await (await admin.request("/connected-apps")).text();
  assert.deepEqual(shownGrants(html), ["grant_bob1", "grant_alice1"], "everyone's, newest first");
  assert.match(html, /<dt>Allowed by<\/dt><dd>bob \(/);
  const csrf = /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? "";
  const revoked = await admin.post("/connected-apps/grant_bob1/revoke", { _csrf: csrf });
  assert.equal(revoked.status, 303);
  await revoked.body?.cancel();
  assert.equal((await getGrant(service.kv, "grant_bob1"))?.revokedBy, "token");
  const after = await (await admin.request("/connected-apps")).text();
  assert.deepEqual(shownGrants(after), ["grant_alice1"]);
});

const PUBLIC_BASE = "https://images.example";
const APP_REDIRECT = "http://127.0.0.1:8123/callback";
const VERIFIER = "connected-apps-verifier-".padEnd(64, "x");

/**
 * Walks a DCR client through the real endpoints: registration, the consent page approved by the
 * signed-in `browser`, the token exchange. Returns the access token.
 */
async function connectApp(
  base: string,
  browser: ReturnType<typeof galleryBrowser>,
): Promise<string> {
  const registered = await fetch(`${base}/oauth/register`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({
      redirect_uris: [APP_REDIRECT],
      client_name: "Sketch app",
      token_endpoint_auth_method: "none",
    }),
  });
  assert.equal(registered.status, 201);
  const { client_id } = await registered.json() as { client_id: string };
  const challenge = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(VERIFIER)),
  ).toBase64({ alphabet: "base64url", omitPadding: true });
  const query = new URLSearchParams({
    response_type: "code",
    client_id,
    redirect_uri: APP_REDIRECT,
    code_challenge: challenge,
    code_challenge_method: "S256",
    resource: `${PUBLIC_BASE}/mcp`,
    scope: "images:read",
    state: "s1",
  });
  const consent = await (await browser.request(`/oauth/authorize?${query}`)).text();
  const request = /name="request" value="([^"]+)"/.exec(consent)?.[1] ?? "";
  const csrf = /name="_csrf" value="([^"]+)"/.exec(consent)?.[1] ?? "";
  const approved = await browser.post("/oauth/authorize", {
    _csrf: csrf,
    request,
    key: "",
    decision: "approve",
  });
  await approved.body?.cancel();
  assert.equal(approved.status, 303, "the signed-in person approved");
  const code = new URL(approved.headers.get("location") ?? "").searchParams.get("code") ?? "";
  const tokens = await fetch(`${base}/oauth/token`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code,
      redirect_uri: APP_REDIRECT,
      client_id,
      code_verifier: VERIFIER,
      resource: `${PUBLIC_BASE}/mcp`,
    }),
  });
  assert.equal(tokens.status, 200);
  return ((await tokens.json()) as { access_token: string }).access_token;
}

Deno.test("an app connected through the consent page is listed, and revoking it here refuses its token", async () => {
  await using service = await startInProcessService({
    MCP_HTTP_SESSIONS: "stateless",
    PUBLIC_BASE_URL: PUBLIC_BASE,
  });
  const alice = await signedInBrowser(service.url, service.keys.alice);
  const token = await connectApp(service.url, alice);
  const asApp = () =>
    fetch(`${service.url}/v1/images`, { headers: { Authorization: `Bearer ${token}` } });
  const before = await asApp();
  assert.equal(before.status, 200, "the app's token works");
  await before.body?.cancel();

  const html = await (await alice.request("/connected-apps")).text();
  const [grantId] = shownGrants(html);
  assert.ok(grantId, "the consent made a grant");
  assert.match(html, />Sketch app<\/h2>/);
  assert.match(html, /<dt>Returns to<\/dt><dd>127\.0\.0\.1:8123<\/dd>/);
  assert.match(html, /<dd class="chips"><span class="chip">images:read<\/span><\/dd>/);
  const csrf = /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? "";
  const revoked = await alice.post(`/connected-apps/${grantId}/revoke`, { _csrf: csrf });
  assert.equal(revoked.status, 303);
  await revoked.body?.cancel();

  const after = await asApp();
  assert.equal(after.status, 401, "the revoked app's token is refused");
  await after.body?.cancel();
});

Deno.test("an app whose consenting API key was revoked shows as inactive, and its token is refused", async () => {
  await using service = await startInProcessService({
    MCP_HTTP_SESSIONS: "stateless",
    PUBLIC_BASE_URL: PUBLIC_BASE,
    MCP_AUTH_TOKEN: ADMIN_TOKEN,
  });
  const alice = await signedInBrowser(service.url, service.keys.alice);
  const token = await connectApp(service.url, alice);
  await seedGrant(service.kv, {
    id: "grant_bob1",
    principalId: service.keyIds.bob,
    principalName: "bob",
  });
  await revokeApiKey(service.kv, service.keyIds.alice, { now: Date.now });

  const refused = await fetch(`${service.url}/v1/images`, {
    headers: { Authorization: `Bearer ${token}` },
  });
  assert.equal(refused.status, 401, "the token of a revoked key's grant is refused");
  await refused.body?.cancel();

  const admin = await signedInBrowser(service.url, ADMIN_TOKEN);
  const html = await (await admin.request("/connected-apps")).text();
  const status = (id: string) =>
    new RegExp(`data-grant-id="([^"]+)" data-grant-status="${id}"`).exec(html)?.[1];
  assert.equal(status("active"), "grant_bob1");
  assert.ok(status("key-revoked")?.startsWith("grant_"), "alice's grant is inactive");
  assert.notEqual(status("key-revoked"), "grant_bob1");
  assert.match(html, /<dt>Status<\/dt><dd>Inactive \(key revoked\): the API key that allowed it/);
  assert.match(html, /<dt>Status<\/dt><dd>Active<\/dd>/);
});
