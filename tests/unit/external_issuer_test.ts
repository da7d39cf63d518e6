/**
 * The external-issuer mode's token check, against a real OpenID provider (`oidc-provider` from npm)
 * started on loopback: its JWT access tokens for this resource are accepted and mapped to a
 * principal; tokens for another audience, from another issuer, expired, tampered, unsigned, signed
 * with a key it does not publish, or sender-constrained are refused; an unreachable or misnamed
 * issuer is an outage (`upstream_unavailable`), never a 401 or a 500.
 */
import assert from "node:assert/strict";
import { decodeJwt, generateKeyPair, type JWTPayload, SignJWT } from "jose";
import { resolveConfig } from "../../src/config.ts";
import { AppError } from "../../src/errors.ts";
import { externalOAuth } from "../../src/http/mod.ts";
import { createExternalTokenVerifier } from "../../src/oauth/mod.ts";
import { startTestApp } from "../support/http_app.ts";
import { type OidcProvider, startOidcProvider } from "../support/oidc_provider.ts";
import { manualClock } from "../support/pinned_time.ts";

const RESOURCE = "http://127.0.0.1:8080/mcp";

/** A verifier of `provider`'s tokens whose clock stands at the token's issue time. */
function verifierAt(provider: OidcProvider, token: string, audience = RESOURCE) {
  const clock = manualClock(decodeJwt(token).iat! * 1000);
  const verify = createExternalTokenVerifier({ issuer: provider.issuer, audience, now: clock.now });
  return { verify, clock };
}

/** A token signed by `provider`'s own key with `claims` over valid defaults. */
function forge(
  provider: OidcProvider,
  claims: JWTPayload,
  header: Record<string, unknown> = {},
): Promise<string> {
  const iat = Math.floor(Date.now() / 1000);
  return new SignJWT({
    iss: provider.issuer,
    aud: RESOURCE,
    sub: "mallory",
    scope: "images:read",
    iat,
    exp: iat + 300,
    ...claims,
  }).setProtectedHeader({ alg: "ES256", typ: "at+jwt", kid: provider.signing.kid, ...header })
    .sign(provider.signing.key);
}

function base64url(value: unknown): string {
  return new TextEncoder().encode(JSON.stringify(value)).toBase64({
    alphabet: "base64url",
    omitPadding: true,
  });
}

Deno.test("external issuer", async (t) => {
  await using provider = await startOidcProvider({ resource: RESOURCE });

  await t.step("a real access token for this resource is a principal with its scopes", async () => {
    provider.account = { sub: "alice", username: "Alice" };
    const { access_token } = await provider.obtainTokens("images:read images:write");
    const { verify } = verifierAt(provider, access_token);
    assert.deepEqual(await verify(access_token), {
      id: "oidc:alice",
      name: "Alice",
      role: "user",
      kind: "oauth",
      scopes: ["images:read", "images:write"],
    });
  });

  await t.step("the admin role comes only with the admin scope", async () => {
    const { access_token } = await provider.obtainTokens("images:read admin");
    const { verify } = verifierAt(provider, access_token);
    assert.equal((await verify(access_token))?.role, "admin");
  });

  await t.step("scopes the account did not grant are not in the principal", async () => {
    provider.account = { sub: "bob", username: "Bob", grants: ["images:read"] };
    const { access_token } = await provider.obtainTokens("images:read images:delete admin");
    const { verify } = verifierAt(provider, access_token);
    const principal = await verify(access_token);
    assert.deepEqual([principal?.id, principal?.role, principal?.scopes], [
      "oidc:bob",
      "user",
      ["images:read"],
    ]);
    provider.account = { sub: "alice", username: "Alice" };
  });

  await t.step("a token for another resource is refused", async () => {
    const { access_token } = await provider.obtainTokens(
      "images:read",
      "http://127.0.0.1:8080/other",
    );
    assert.equal(decodeJwt(access_token).aud, "http://127.0.0.1:8080/other");
    const { verify } = verifierAt(provider, access_token);
    assert.equal(await verify(access_token), null);
    // The same token is fine for a verifier of that audience: the refusal is the audience's.
    const other = verifierAt(provider, access_token, "http://127.0.0.1:8080/other");
    assert.equal((await other.verify(access_token))?.id, "oidc:alice");
  });

  await t.step("a token is refused once expired by the verifier's clock", async () => {
    const { access_token, expires_in } = await provider.obtainTokens("images:read");
    const { verify, clock } = verifierAt(provider, access_token);
    clock.advance(expires_in * 1000 - 1000);
    assert.equal((await verify(access_token))?.id, "oidc:alice");
    clock.advance(60_000); // beyond the 30 s leeway
    assert.equal(await verify(access_token), null);
  });

  await t.step("a token is refused before its nbf", async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = await forge(provider, { nbf: now + 3600, exp: now + 7200 });
    const { verify, clock } = verifierAt(provider, token);
    assert.equal(await verify(token), null);
    clock.advance(3600_000);
    assert.equal((await verify(token))?.id, "oidc:mallory");
  });

  await t.step("a token without exp or without sub is refused", async () => {
    const noExp = await forge(provider, { exp: undefined });
    const noSub = await forge(provider, { sub: undefined });
    assert.equal(await verifierAt(provider, noExp).verify(noExp), null);
    assert.equal(await verifierAt(provider, noSub).verify(noSub), null);
  });

  await t.step("a tampered token is refused", async () => {
    const { access_token } = await provider.obtainTokens("images:read");
    const [header, , signature] = access_token.split(".");
    const payload = { ...decodeJwt(access_token), scope: "images:read admin" };
    const tampered = `${header}.${base64url(payload)}.${signature}`;
    assert.equal(await verifierAt(provider, access_token).verify(tampered), null);
  });

  await t.step("an unsigned token (alg none) is refused", async () => {
    const { access_token } = await provider.obtainTokens("images:read");
    const payload = decodeJwt(access_token);
    const unsigned = `${base64url({ alg: "none", typ: "at+jwt" })}.${base64url(payload)}.`;
    const unsignedWithPart = `${unsigned}x`;
    const { verify } = verifierAt(provider, access_token);
    assert.equal(await verify(unsigned), null);
    assert.equal(await verify(unsignedWithPart), null);
  });

  await t.step("an HMAC token keyed with the public JWKS is refused", async () => {
    const jwks = await (await fetch(`${provider.issuer}/jwks`)).text();
    const iat = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({
      iss: provider.issuer,
      aud: RESOURCE,
      sub: "mallory",
      scope: "admin",
      iat,
      exp: iat + 300,
    }).setProtectedHeader({ alg: "HS256", kid: provider.signing.kid })
      .sign(new TextEncoder().encode(jwks));
    assert.equal(await verifierAt(provider, token).verify(token), null);
  });

  await t.step("a token signed with a key the issuer does not publish is refused", async () => {
    const { privateKey } = await generateKeyPair("ES256");
    const iat = Math.floor(Date.now() / 1000);
    const claims = { iss: provider.issuer, aud: RESOURCE, sub: "mallory", iat, exp: iat + 300 };
    const unknownKid = await new SignJWT(claims)
      .setProtectedHeader({ alg: "ES256", typ: "at+jwt", kid: "not-published" })
      .sign(privateKey);
    const borrowedKid = await new SignJWT(claims)
      .setProtectedHeader({ alg: "ES256", typ: "at+jwt", kid: provider.signing.kid })
      .sign(privateKey);
    assert.equal(await verifierAt(provider, unknownKid).verify(unknownKid), null);
    assert.equal(await verifierAt(provider, borrowedKid).verify(borrowedKid), null);
  });

  await t.step("a token of another issuer is refused", async () => {
    await using other = await startOidcProvider({ resource: RESOURCE });
    const { access_token } = await other.obtainTokens("images:read");
    assert.equal(await verifierAt(provider, access_token).verify(access_token), null);
    // A token claiming this issuer but signed with the other issuer's key fails its signature.
    const impostor = await new SignJWT({ ...decodeJwt(access_token), iss: provider.issuer })
      .setProtectedHeader({ alg: "ES256", typ: "at+jwt", kid: other.signing.kid })
      .sign(other.signing.key);
    assert.equal(await verifierAt(provider, impostor).verify(impostor), null);
  });

  await t.step("plain JWT and untyped tokens are accepted, other types are not", async () => {
    const typed = (typ: string | undefined) => forge(provider, {}, { typ });
    const verify = (token: string) => verifierAt(provider, token).verify(token);
    assert.equal((await verify(await typed("JWT")))?.id, "oidc:mallory");
    assert.equal((await verify(await typed(undefined)))?.id, "oidc:mallory");
    assert.equal(await verify(await typed("dpop+jwt")), null);
    assert.equal(await verify(await typed("logout+jwt")), null);
  });

  await t.step("a sender-constrained token (cnf) is refused", async () => {
    const token = await forge(provider, {
      cnf: { jkt: "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I" },
    });
    assert.equal(await verifierAt(provider, token).verify(token), null);
  });

  await t.step("scp claims count, unknown scopes are ignored, the name falls back", async () => {
    const token = await forge(provider, {
      scope: undefined,
      scp: ["images:read", "images:delete", "calendar:read"],
      client_id: "robot",
    });
    assert.deepEqual(await verifierAt(provider, token).verify(token), {
      id: "oidc:mallory",
      name: "robot",
      role: "user",
      kind: "oauth",
      scopes: ["images:read", "images:delete"],
    });
  });

  await t.step(
    "API keys and other non-JWT bearers are refused without asking the issuer",
    async () => {
      const verify = createExternalTokenVerifier({
        issuer: "http://127.0.0.1:9/", // nothing listens: any request would fail
        audience: RESOURCE,
        now: Date.now,
      });
      assert.equal(await verify("igk_0123456789abcdef"), null);
      assert.equal(await verify("a.b"), null);
      assert.equal(await verify(await forge(provider, {})), null); // another iss
    },
  );
});

Deno.test("an unreachable issuer is an outage, not a refusal", async () => {
  const issuer = "http://127.0.0.1:9";
  const verify = createExternalTokenVerifier({ issuer, audience: RESOURCE, now: Date.now });
  const { privateKey } = await generateKeyPair("ES256");
  const token = await new SignJWT({ iss: issuer, aud: RESOURCE, sub: "x", exp: 9e9 })
    .setProtectedHeader({ alg: "ES256" }).sign(privateKey);
  await assert.rejects(verify(token), (error) => {
    assert.ok(error instanceof AppError);
    assert.equal(error.kind, "upstream_unavailable");
    assert.equal(
      error.message,
      "Cannot verify the access token: the authorization server http://127.0.0.1:9 is unavailable",
    );
    return true;
  });
});

Deno.test("over HTTP, an unreachable issuer is a retryable 502, a foreign token a 401", async () => {
  const issuer = "http://127.0.0.1:9";
  const env = { PUBLIC_BASE_URL: "http://127.0.0.1:8080", OAUTH_ISSUER: issuer };
  const config = resolveConfig({ env });
  await using app = await startTestApp({
    env,
    deps: { oauth: externalOAuth(config, { now: Date.now }) },
  });
  const { privateKey } = await generateKeyPair("ES256");
  const bearer = async (iss: string) => ({
    authorization: `Bearer ${await new SignJWT({ iss, aud: RESOURCE, sub: "x", exp: 9e9 })
      .setProtectedHeader({ alg: "ES256" }).sign(privateKey)}`,
  });
  const down = await app.request("/v1/images", { headers: await bearer(issuer) });
  assert.equal(down.status, 502);
  assert.ok(down.headers.get("retry-after"));
  assert.match(await down.text(), /authorization server http:\/\/127\.0\.0\.1:9 is unavailable/);
  const foreign = await app.request("/v1/images", {
    headers: await bearer("https://other.example"),
  });
  await foreign.body?.cancel();
  assert.equal(foreign.status, 401);
  assert.match(foreign.headers.get("www-authenticate") ?? "", /resource_metadata=/);
});

Deno.test("an issuer whose metadata names another issuer is not used", async () => {
  await using provider = await startOidcProvider({ resource: RESOURCE });
  const { access_token } = await provider.obtainTokens("images:read");
  const issuer = `${provider.issuer}/`; // the provider's identifier has no trailing slash
  const verify = createExternalTokenVerifier({ issuer, audience: RESOURCE, now: Date.now });
  const token = await new SignJWT({ ...decodeJwt(access_token), iss: issuer })
    .setProtectedHeader({ alg: "ES256", kid: provider.signing.kid })
    .sign(provider.signing.key);
  await assert.rejects(
    verify(token),
    (error) => error instanceof AppError && error.kind === "upstream_unavailable",
  );
});

Deno.test("OAUTH_ISSUER must be https (http only on loopback), kept exactly as written", () => {
  const base = { PUBLIC_BASE_URL: "https://img.example.com/" };
  const config = resolveConfig({ env: { ...base, OAUTH_ISSUER: "https://id.example.com/" } });
  assert.equal(config.oauthIssuer, "https://id.example.com/");
  assert.equal(config.oauthAudience, "https://img.example.com/mcp");
  assert.equal(
    resolveConfig({ env: { ...base, OAUTH_ISSUER: "http://127.0.0.1:4000" } }).oauthIssuer,
    "http://127.0.0.1:4000",
  );
  assert.equal(
    resolveConfig({ env: { ...base, OAUTH_AUDIENCE: "api://images" } }).oauthAudience,
    "api://images",
  );
  const refused = (env: Record<string, string>) => {
    try {
      resolveConfig({ env });
    } catch (error) {
      return String((error as Error).message);
    }
    return "accepted";
  };
  assert.match(
    refused({ ...base, OAUTH_ISSUER: "http://id.example.com" }),
    /OAUTH_ISSUER="http:\/\/id.example.com" is not an https URL/,
  );
  assert.match(
    refused({ ...base, OAUTH_ISSUER: "https://id.example.com/?tenant=1" }),
    /OAUTH_ISSUER=.* has a query or fragment/,
  );
  assert.match(
    refused({ OAUTH_ISSUER: "https://id.example.com" }),
    /OAUTH_ISSUER="https:\/\/id.example.com" needs PUBLIC_BASE_URL/,
  );
});
