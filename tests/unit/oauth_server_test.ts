/**
 * The built-in authorization server's engine (src/oauth/), over a real KV file and a clock the
 * test moves: PKCE, single-use codes (a replay revokes what the first exchange issued), redirect
 * URIs, resource binding, expiry, refresh rotation with reuse detection, revocation, grants.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createApiKey, revokeApiKey, TOKEN_PRINCIPAL } from "../../src/auth/mod.ts";
import {
  builtInVerifier,
  checkAuthorizationRequest,
  exchangeCode,
  listGrants,
  OAuthError,
  refreshTokens,
  registerClient,
  revokeGrant,
  revokeToken,
  s256Challenge,
  type TokenSettings,
} from "../../src/oauth/mod.ts";
import { approvedCode, TEST_REDIRECT, TEST_VERIFIER } from "../support/oauth.ts";
import { manualClock } from "../support/pinned_time.ts";

const BASE = "https://images.example";
const RESOURCE = `${BASE}/mcp`;
const REDIRECT = TEST_REDIRECT;
const VERIFIER = TEST_VERIFIER;

async function withKv(fn: (kv: Deno.Kv) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  const kv = await Deno.openKv(join(dir, "kv.sqlite3"));
  try {
    await fn(kv);
  } finally {
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
}

function settings(now: () => number, resource = RESOURCE): TokenSettings {
  return { resource, accessTokenSeconds: 600, refreshTokenDays: 30, now };
}

/** A code for a new client, approved by a new key of `role` (admin by default). */
async function codeFor(
  kv: Deno.Kv,
  now: () => number,
  options: { scope?: string; role?: "admin" | "user" } = {},
) {
  const { record } = await createApiKey(kv, { name: "alice", role: options.role ?? "admin", now });
  const approved = await approvedCode(kv, {
    resource: RESOURCE,
    principal: record,
    now,
    ...(options.scope ? { scope: options.scope } : {}),
  });
  return { ...approved, keyId: record.id };
}

/** Exchanges `code` as its client would: the right verifier and redirect URI, no resource. */
function exchange(kv: Deno.Kv, approved: { clientId: string; code: string }, now: () => number) {
  return exchangeCode(kv, {
    ...approved,
    redirectUri: REDIRECT,
    codeVerifier: VERIFIER,
    resources: [],
  }, settings(now));
}

/**
 * Checks an authorization request of a new client registered with {@link REDIRECT}, with `params`
 * and then the `repeated` pairs.
 */
async function requestFrom(
  kv: Deno.Kv,
  now: () => number,
  params: Record<string, string>,
  repeated: [string, string][] = [],
) {
  const client = await registerClient(kv, { redirect_uris: [REDIRECT] }, { now });
  const query = new URLSearchParams({
    response_type: "code",
    client_id: client.clientId,
    ...params,
  });
  for (const [name, value] of repeated) query.append(name, value);
  return await checkAuthorizationRequest(kv, query, { resource: RESOURCE });
}

async function refusal(promise: Promise<unknown>): Promise<OAuthError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof OAuthError, String(error));
    return error;
  }
  assert.fail("expected an OAuth error");
}

Deno.test("a code exchanged with the right PKCE verifier gives a token the verifier accepts", async () => {
  await withKv(async (kv) => {
    const clock = manualClock();
    const { clientId, code, keyId } = await codeFor(kv, clock.now);
    const tokens = await exchangeCode(kv, {
      code,
      clientId,
      redirectUri: REDIRECT,
      codeVerifier: VERIFIER,
      resources: [RESOURCE],
    }, settings(clock.now));
    assert.equal(tokens.token_type, "Bearer");
    assert.equal(tokens.scope, "images:read images:write images:delete");
    const principal = await builtInVerifier(kv, { resource: RESOURCE, now: clock.now })(
      tokens.access_token,
    );
    assert.equal(principal?.id, keyId);
    assert.equal(principal?.kind, "oauth");
    assert.equal(principal?.role, "user", "no admin scope: the token acts as a user");
    assert.deepEqual(principal?.scopes, ["images:read", "images:write", "images:delete"]);
  });
});

Deno.test("a missing or wrong PKCE verifier is refused and the code still works with the right one", async () => {
  await withKv(async (kv) => {
    const clock = manualClock();
    const { clientId, code } = await codeFor(kv, clock.now);
    const base = { code, clientId, redirectUri: REDIRECT, resources: [] };
    const missing = await refusal(
      exchangeCode(kv, { ...base, codeVerifier: null }, settings(clock.now)),
    );
    assert.equal(missing.code, "invalid_request");
    assert.match(missing.message, /code_verifier/);
    const wrong = await refusal(
      exchangeCode(kv, { ...base, codeVerifier: "w".repeat(43) }, settings(clock.now)),
    );
    assert.equal(wrong.code, "invalid_grant");
    assert.match(wrong.message, /does not match/);
    const tokens = await exchangeCode(kv, { ...base, codeVerifier: VERIFIER }, settings(clock.now));
    assert.ok(tokens.access_token.startsWith("oat_"));
  });
});

Deno.test("a replayed code is refused and the tokens issued from it are revoked", async () => {
  await withKv(async (kv) => {
    const clock = manualClock();
    const { clientId, code } = await codeFor(kv, clock.now);
    const params = { code, clientId, redirectUri: REDIRECT, codeVerifier: VERIFIER, resources: [] };
    const first = await exchangeCode(kv, params, settings(clock.now));
    const verify = builtInVerifier(kv, { resource: RESOURCE, now: clock.now });
    assert.ok(await verify(first.access_token));
    const replay = await refusal(exchangeCode(kv, params, settings(clock.now)));
    assert.equal(replay.code, "invalid_grant");
    assert.match(replay.message, /already used/);
    assert.equal(await verify(first.access_token), null);
    const refresh = await refusal(refreshTokens(kv, {
      refreshToken: first.refresh_token,
      clientId,
      scope: null,
      resources: [],
    }, settings(clock.now)));
    assert.equal(refresh.code, "invalid_grant");
    const [grant] = await listGrants(kv, { includeRevoked: true });
    assert.equal(grant.revokedBy, "code_replay");
  });
});

Deno.test("a code expires after 60 seconds", async () => {
  await withKv(async (kv) => {
    const clock = manualClock();
    const { clientId, code } = await codeFor(kv, clock.now);
    clock.advance(61_000);
    const error = await refusal(exchange(kv, { clientId, code }, clock.now));
    assert.equal(error.code, "invalid_grant");
    assert.match(error.message, /expired/);
  });
});

Deno.test("an authorization request with an unregistered redirect URI is refused without a redirect", async () => {
  await withKv(async (kv) => {
    const clock = manualClock();
    const check = await requestFrom(kv, clock.now, {
      redirect_uri: "https://attacker.example/callback",
      code_challenge: await s256Challenge(VERIFIER),
      code_challenge_method: "S256",
    });
    assert.equal(check.ok, false);
    assert.ok(!check.ok && !check.redirect, "never redirect to an unregistered URI");
    assert.match(check.error.message, /not registered/);
  });
});

Deno.test("an authorization request without PKCE S256 is redirected back with invalid_request", async () => {
  await withKv(async (kv) => {
    const clock = manualClock();
    const check = await requestFrom(kv, clock.now, {
      redirect_uri: REDIRECT,
      code_challenge: "abc",
      code_challenge_method: "plain",
    });
    assert.ok(!check.ok && check.redirect);
    assert.equal(check.error.code, "invalid_request");
    assert.match(check.error.message, /S256/);
  });
});

Deno.test("a repeated parameter is refused: redirect_uri without a redirect, state with one", async () => {
  await withKv(async (kv) => {
    const clock = manualClock();
    const params = {
      redirect_uri: REDIRECT,
      code_challenge: await s256Challenge(VERIFIER),
      code_challenge_method: "S256",
      state: "one",
    };
    const redirect = await requestFrom(kv, clock.now, params, [
      ["redirect_uri", "https://attacker.example/callback"],
    ]);
    assert.ok(!redirect.ok && !redirect.redirect, JSON.stringify(redirect));
    assert.match(redirect.error.message, /Repeated parameter redirect_uri/);
    const state = await requestFrom(kv, clock.now, params, [["state", "two"]]);
    assert.ok(!state.ok && state.redirect, JSON.stringify(state));
    assert.equal(state.error.code, "invalid_request");
    assert.match(state.error.message, /Repeated parameter state/);
  });
});

Deno.test("DCR refuses redirect URIs that are neither https nor loopback http", async () => {
  await withKv(async (kv) => {
    const clock = manualClock();
    for (const uri of ["http://example.com/cb", "javascript:alert(1)", "https://x.example/#frag"]) {
      const error = await refusal(registerClient(kv, { redirect_uris: [uri] }, { now: clock.now }));
      assert.equal(error.code, "invalid_redirect_uri", uri);
    }
  });
});

Deno.test("a token for another resource is refused at the token endpoint and by another service", async () => {
  await withKv(async (kv) => {
    const clock = manualClock();
    const { clientId, code } = await codeFor(kv, clock.now);
    const params = { code, clientId, redirectUri: REDIRECT, codeVerifier: VERIFIER };
    const mismatch = await refusal(exchangeCode(kv, {
      ...params,
      resources: ["https://other.example/mcp"],
    }, settings(clock.now)));
    assert.equal(mismatch.code, "invalid_target");
    const tokens = await exchangeCode(kv, { ...params, resources: [] }, settings(clock.now));
    // The same KV behind a service with another PUBLIC_BASE_URL: the token is not for it.
    const other = builtInVerifier(kv, { resource: "https://other.example/mcp", now: clock.now });
    assert.equal(await other(tokens.access_token), null);
  });
});

Deno.test("an expired access token is refused", async () => {
  await withKv(async (kv) => {
    const clock = manualClock();
    const { clientId, code } = await codeFor(kv, clock.now);
    const tokens = await exchange(kv, { clientId, code }, clock.now);
    const verify = builtInVerifier(kv, { resource: RESOURCE, now: clock.now });
    clock.advance(599_000);
    assert.ok(await verify(tokens.access_token));
    clock.advance(1_000);
    assert.equal(await verify(tokens.access_token), null);
  });
});

Deno.test("refresh rotates the token; reusing a rotated one revokes the whole family", async () => {
  await withKv(async (kv) => {
    const clock = manualClock();
    const { clientId, code } = await codeFor(kv, clock.now);
    const first = await exchange(kv, { clientId, code }, clock.now);
    const refresh = (token: string) =>
      refreshTokens(
        kv,
        { refreshToken: token, clientId, scope: null, resources: [RESOURCE] },
        settings(clock.now),
      );
    const second = await refresh(first.refresh_token);
    assert.notEqual(second.refresh_token, first.refresh_token);
    const verify = builtInVerifier(kv, { resource: RESOURCE, now: clock.now });
    assert.ok(await verify(second.access_token));
    const reuse = await refusal(refresh(first.refresh_token));
    assert.equal(reuse.code, "invalid_grant");
    assert.match(reuse.message, /already used/);
    assert.equal(await verify(second.access_token), null, "the family is revoked");
    assert.equal((await refusal(refresh(second.refresh_token))).code, "invalid_grant");
  });
});

Deno.test("refresh may narrow the scopes but never widen them", async () => {
  await withKv(async (kv) => {
    const clock = manualClock();
    const { clientId, code } = await codeFor(kv, clock.now, { scope: "images:read" });
    const first = await exchange(kv, { clientId, code }, clock.now);
    const error = await refusal(refreshTokens(kv, {
      refreshToken: first.refresh_token,
      clientId,
      scope: "images:read images:delete",
      resources: [],
    }, settings(clock.now)));
    assert.equal(error.code, "invalid_scope");
  });
});

Deno.test("a narrowed refresh narrows the access token, not the refresh token (RFC 6749 §6)", async () => {
  await withKv(async (kv) => {
    const clock = manualClock();
    const { clientId, code } = await codeFor(kv, clock.now, { scope: "images:read images:write" });
    const first = await exchange(kv, { clientId, code }, clock.now);
    const refresh = (refreshToken: string, scope: string | null) =>
      refreshTokens(kv, { refreshToken, clientId, scope, resources: [] }, settings(clock.now));
    const narrow = await refresh(first.refresh_token, "images:read");
    assert.equal(narrow.scope, "images:read");
    const verify = builtInVerifier(kv, { resource: RESOURCE, now: clock.now });
    assert.deepEqual((await verify(narrow.access_token))?.scopes, ["images:read"]);
    const again = await refresh(narrow.refresh_token, null);
    assert.equal(again.scope, "images:read images:write");
  });
});

Deno.test("revoking a token, a grant or the consenting key refuses the tokens (and refresh) on their next use", async () => {
  await withKv(async (kv) => {
    const clock = manualClock();
    const verify = builtInVerifier(kv, { resource: RESOURCE, now: clock.now });
    const consented = async (scope?: string) => {
      const { clientId, code, keyId } = await codeFor(kv, clock.now, scope ? { scope } : {});
      const tokens = await exchange(kv, { clientId, code }, clock.now);
      return { clientId, keyId, tokens };
    };
    const a = await consented();
    await revokeToken(kv, a.tokens.refresh_token, { clientId: a.clientId, now: clock.now });
    assert.equal(await verify(a.tokens.access_token), null);

    const b = await consented("images:read admin");
    const admin = await verify(b.tokens.access_token);
    assert.equal(admin?.role, "admin", "admin scope and an admin key");
    const [grant] = await listGrants(kv, { principalId: b.keyId });
    assert.equal(grant.clientName, "Test");
    assert.equal(grant.redirectHost, "127.0.0.1:8123");
    await revokeGrant(kv, grant.id, { by: "key_admin", now: clock.now });
    assert.equal(await verify(b.tokens.access_token), null);
    assert.equal((await listGrants(kv, { principalId: b.keyId })).length, 0);

    const c = await consented();
    await revokeApiKey(kv, c.keyId, { now: clock.now });
    assert.equal(await verify(c.tokens.access_token), null);
    const stale = await refusal(refreshTokens(kv, {
      refreshToken: c.tokens.refresh_token,
      clientId: c.clientId,
      scope: null,
      resources: [],
    }, settings(clock.now)));
    assert.equal(stale.code, "invalid_grant");
    assert.match(stale.message, /key that approved this client was revoked or changed/);
    const [listed] = await listGrants(kv, { principalId: c.keyId });
    assert.equal(listed.revokedAt, null, "the grant itself is not revoked");
    assert.equal(listed.keyRevoked, true, "but it is listed as inactive");
  });
});

Deno.test("a user key asking for the admin scope is granted the rest", async () => {
  await withKv(async (kv) => {
    const clock = manualClock();
    const { clientId, code } = await codeFor(kv, clock.now, {
      scope: "images:read admin",
      role: "user",
    });
    const tokens = await exchange(kv, { clientId, code }, clock.now);
    assert.equal(tokens.scope, "images:read");
  });
});

Deno.test("changing MCP_AUTH_TOKEN ends the grants approved with it, as it ends gallery sessions", async () => {
  await withKv(async (kv) => {
    const clock = manualClock();
    const old = "old-admin-token-0123456789";
    const { clientId, code } = await approvedCode(kv, {
      resource: RESOURCE,
      principal: TOKEN_PRINCIPAL,
      now: clock.now,
      scope: "images:read admin",
      authToken: old,
    });
    const tokens = await exchange(kv, { clientId, code }, clock.now);
    const verifyWith = (authToken?: string) =>
      builtInVerifier(kv, { resource: RESOURCE, now: clock.now, authToken })(tokens.access_token);
    assert.equal((await verifyWith(old))?.role, "admin");
    assert.equal(await verifyWith("new-admin-token-0123456789"), null, "token changed");
    assert.equal(await verifyWith(undefined), null, "token unset");
    const error = await refusal(refreshTokens(kv, {
      refreshToken: tokens.refresh_token,
      clientId,
      scope: null,
      resources: [],
    }, { ...settings(clock.now), authToken: "new-admin-token-0123456789" }));
    assert.equal(error.code, "invalid_grant");
    assert.match(error.message, /revoked or changed/);
  });
});

Deno.test("a refresh is refused once the consenting key is revoked", async () => {
  await withKv(async (kv) => {
    const clock = manualClock();
    const { clientId, code, keyId } = await codeFor(kv, clock.now);
    const tokens = await exchange(kv, { clientId, code }, clock.now);
    await revokeApiKey(kv, keyId, { now: clock.now });
    const error = await refusal(refreshTokens(kv, {
      refreshToken: tokens.refresh_token,
      clientId,
      scope: null,
      resources: [],
    }, settings(clock.now)));
    assert.equal(error.code, "invalid_grant");
  });
});
