/**
 * OAuth grants written straight into KV under the authorization server's key layout, for tests of
 * the surfaces that list and revoke them (the CLI's `clients`, the gallery's Connected apps) without
 * running a whole authorization flow first.
 *
 * @module
 */
import { OAUTH_KEYS, type OAuthGrant } from "../../src/oauth/mod.ts";

/** Writes a grant with `fields` over plausible defaults (an active claude.ai grant); returns it. */
export async function seedGrant(
  kv: Deno.Kv,
  fields: Partial<OAuthGrant> & Pick<OAuthGrant, "id" | "principalId">,
): Promise<OAuthGrant> {
  const grant: OAuthGrant = {
    principalName: fields.principalId,
    principalRole: "user",
    clientId: "https://claude.ai/oauth/mcp-oauth-client-metadata",
    clientName: "Claude",
    redirectHost: "claude.ai",
    scopes: ["images:read", "images:write"],
    resource: "https://images.example/mcp",
    createdAt: Date.UTC(2026, 10, 1, 9, 0),
    lastUsedAt: null,
    revokedAt: null,
    revokedBy: null,
    ...fields,
  };
  const result = await kv.set(OAUTH_KEYS.grant(grant.id), grant);
  if (!result.ok) throw new Error(`Cannot seed grant ${grant.id}`);
  return grant;
}
