/**
 * OAuth for tests: a DCR client walked through an authorization request to a code approved by a
 * principal, straight through the engine (src/oauth/), without the consent page.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Principal } from "../../src/core_types.ts";
import {
  checkAuthorizationRequest,
  issueCode,
  registerClient,
  s256Challenge,
  savePendingAuthorization,
} from "../../src/oauth/mod.ts";

/** The redirect URI of the test client. */
export const TEST_REDIRECT = "http://127.0.0.1:8123/callback";
/** The PKCE verifier of the test client. */
export const TEST_VERIFIER = "v".repeat(20) + "-._~" + "0123456789abcdefghijklmnop";

/**
 * Registers a client named `Test` and returns the query of its authorization request (code with
 * PKCE S256 for {@link TEST_VERIFIER}, redirect to {@link TEST_REDIRECT}) with `extra` added.
 */
export async function testAuthorizationQuery(
  kv: Deno.Kv,
  now: () => number,
  extra: Record<string, string> = {},
): Promise<{ clientId: string; query: URLSearchParams }> {
  const client = await registerClient(kv, {
    redirect_uris: [TEST_REDIRECT],
    client_name: "Test",
  }, { now });
  const query = new URLSearchParams({
    response_type: "code",
    client_id: client.clientId,
    redirect_uri: TEST_REDIRECT,
    code_challenge: await s256Challenge(TEST_VERIFIER),
    code_challenge_method: "S256",
    ...extra,
  });
  return { clientId: client.clientId, query };
}

/** Options of {@link approvedCode}. */
export interface ApprovedCodeOptions {
  /** The protected resource. */
  resource: string;
  /** Who approves. */
  principal: Pick<Principal, "id" | "name" | "role">;
  /** Clock, epoch milliseconds. */
  now: () => number;
  /** The `scope` asked for (default: none, the default scopes). */
  scope?: string;
  /** `MCP_AUTH_TOKEN`, when `principal` is the token's. */
  authToken?: string;
}

/** Registers a client named `Test` and returns a code `principal` approved for it. */
export async function approvedCode(
  kv: Deno.Kv,
  options: ApprovedCodeOptions,
): Promise<{ clientId: string; code: string }> {
  const { now, resource } = options;
  const { clientId, query } = await testAuthorizationQuery(kv, now, {
    resource,
    state: "xyz",
    ...(options.scope ? { scope: options.scope } : {}),
  });
  const check = await checkAuthorizationRequest(kv, query, { resource });
  assert.ok(check.ok, JSON.stringify(check));
  const requestId = await savePendingAuthorization(kv, check.request, { now });
  const issued = await issueCode(kv, requestId, options.principal, {
    now,
    authToken: options.authToken,
  });
  assert.ok(issued);
  return { clientId, code: issued.code };
}
