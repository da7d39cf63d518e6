/**
 * The KV key layout of the built-in authorization server, in one place. Codes and tokens are
 * stored under the hex SHA-256 digest of the secret, never the secret itself.
 *
 * ```
 * ["oauth", "client", clientId]        → RegisteredClient (DCR)
 * ["oauth", "request", requestId]      → PendingAuthorization (expires after 10 minutes)
 * ["oauth", "code", sha256Hex]         → StoredCode (kept after use, to detect a replay)
 * ["oauth", "access", sha256Hex]       → StoredAccessToken
 * ["oauth", "refresh", sha256Hex]      → StoredRefreshToken (kept after rotation, to detect reuse)
 * ["oauth", "grant", grantId]          → OAuthGrant (kept after revocation, for listing)
 * ```
 *
 * @module
 */

/** KV keys of the authorization server's records. */
export const OAUTH_KEYS = {
  client: (clientId: string): Deno.KvKey => ["oauth", "client", clientId],
  request: (requestId: string): Deno.KvKey => ["oauth", "request", requestId],
  code: (digestHex: string): Deno.KvKey => ["oauth", "code", digestHex],
  access: (digestHex: string): Deno.KvKey => ["oauth", "access", digestHex],
  refresh: (digestHex: string): Deno.KvKey => ["oauth", "refresh", digestHex],
  grant: (grantId: string): Deno.KvKey => ["oauth", "grant", grantId],
  allGrants: ["oauth", "grant"] as Deno.KvKey,
} as const;
