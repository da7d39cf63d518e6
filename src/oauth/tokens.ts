/**
 * Access and refresh tokens. Both are opaque random strings stored only as SHA-256 digests. An
 * access token is short-lived and bound to the resource, scopes and grant; a refresh token is
 * single use: each refresh rotates it, and presenting a rotated one again revokes the whole grant
 * (the token family), as OAuth 2.1 asks of public clients. A replayed authorization code likewise
 * revokes the grant its first exchange created (RFC 6749 §4.1.2).
 *
 * @module
 */
import { digestHex, randomToken, type Role } from "../auth/mod.ts";
import type { Principal } from "../core_types.ts";
import { kvCommit, kvGet } from "../kv/mod.ts";
import { checkResource, type StoredCode, USED_CODE_KEEP_MS } from "./authorization.ts";
import { OAuthError } from "./errors.ts";
import { consenterRole, getGrant, type OAuthGrant, revokeGrant, useGrant } from "./grants.ts";
import { OAUTH_KEYS } from "./kv_keys.ts";
import { verifyPkce } from "./pkce.ts";
import { formatScopes, type OAuthScope, parseScopes } from "./scopes.ts";

/** Prefix of access tokens (tells them from API keys, `oig_`). */
export const ACCESS_TOKEN_PREFIX = "oat_";
/** Prefix of refresh tokens. */
export const REFRESH_TOKEN_PREFIX = "ort_";

/** An access token, as KV holds it. */
interface StoredAccessToken {
  readonly grantId: string;
  readonly clientId: string;
  readonly resource: string;
  readonly scopes: readonly OAuthScope[];
  readonly expiresAt: number;
}

/** A refresh token, as KV holds it. */
interface StoredRefreshToken {
  readonly grantId: string;
  readonly clientId: string;
  readonly resource: string;
  readonly scopes: readonly OAuthScope[];
  readonly expiresAt: number;
  /** When it was exchanged for a new pair, or null while it is the family's current one. */
  readonly rotatedAt: number | null;
}

/** Lifetimes and the clock of the token endpoint. */
export interface TokenSettings {
  /** This server's protected resource (`${PUBLIC_BASE_URL}/mcp`). */
  resource: string;
  /** Access token lifetime, seconds (`OAUTH_ACCESS_TOKEN_SECONDS`). */
  accessTokenSeconds: number;
  /** Refresh token lifetime, days (`OAUTH_REFRESH_TOKEN_DAYS`). */
  refreshTokenDays: number;
  /** Clock, epoch milliseconds. */
  now: () => number;
  /** `MCP_AUTH_TOKEN` now: grants it approved end when it changes. */
  authToken?: string | undefined;
}

/** The token endpoint's successful answer (RFC 6749 §5.1). */
export interface TokenResponse {
  /** The access token. */
  readonly access_token: string;
  /** Always `Bearer`. */
  readonly token_type: "Bearer";
  /** Seconds the access token lives. */
  readonly expires_in: number;
  /** The new refresh token. */
  readonly refresh_token: string;
  /** The scopes granted, space-separated. */
  readonly scope: string;
}

/** The parameters of an `authorization_code` grant. */
export interface CodeExchange {
  /** `code`. */
  code: string | null;
  /** `client_id`. */
  clientId: string | null;
  /** `redirect_uri`. */
  redirectUri: string | null;
  /** `code_verifier`. */
  codeVerifier: string | null;
  /** Every `resource` given. */
  resources: readonly string[];
}

/** The parameters of a `refresh_token` grant. */
export interface RefreshExchange {
  /** `refresh_token`. */
  refreshToken: string | null;
  /** `client_id`. */
  clientId: string | null;
  /** `scope`, to narrow the grant's scopes, or null. */
  scope: string | null;
  /** Every `resource` given. */
  resources: readonly string[];
}

function required(value: string | null, name: string): string {
  if (value === null || value === "") throw new OAuthError("invalid_request", `Missing ${name}`);
  return value;
}

/**
 * A new access and refresh token pair: the answer, and the writes that store it. The access token
 * carries `scopes`; the refresh token keeps `refreshScopes` (RFC 6749 §6: a refresh that narrows
 * the access token's scopes leaves the refresh token's as they were).
 */
async function mintPair(
  grant: Pick<OAuthGrant, "id" | "clientId" | "resource">,
  scopes: readonly OAuthScope[],
  settings: TokenSettings,
  refreshScopes: readonly OAuthScope[] = scopes,
): Promise<{ response: TokenResponse; write: (op: Deno.AtomicOperation) => void }> {
  const now = settings.now();
  const accessMs = settings.accessTokenSeconds * 1000;
  const refreshMs = settings.refreshTokenDays * 86_400_000;
  const access = ACCESS_TOKEN_PREFIX + randomToken(32);
  const refresh = REFRESH_TOKEN_PREFIX + randomToken(32);
  const [accessKey, refreshKey] = [
    OAUTH_KEYS.access(await digestHex(access)),
    OAUTH_KEYS.refresh(await digestHex(refresh)),
  ];
  const base = { grantId: grant.id, clientId: grant.clientId, resource: grant.resource, scopes };
  const accessRecord: StoredAccessToken = { ...base, expiresAt: now + accessMs };
  const refreshRecord: StoredRefreshToken = {
    ...base,
    scopes: refreshScopes,
    expiresAt: now + refreshMs,
    rotatedAt: null,
  };
  return {
    response: {
      access_token: access,
      token_type: "Bearer",
      expires_in: settings.accessTokenSeconds,
      refresh_token: refresh,
      scope: formatScopes(scopes),
    },
    write: (op) => {
      op.set(accessKey, accessRecord, { expireIn: accessMs })
        .set(refreshKey, refreshRecord, { expireIn: refreshMs });
    },
  };
}

/**
 * Exchanges an authorization code (single use, PKCE-checked, bound to client, redirect URI and
 * resource) for tokens under a new grant. A code presented again revokes that grant.
 */
export async function exchangeCode(
  kv: Deno.Kv,
  params: CodeExchange,
  settings: TokenSettings,
): Promise<TokenResponse> {
  const code = required(params.code, "code");
  const clientId = required(params.clientId, "client_id");
  const key = OAUTH_KEYS.code(await digestHex(code));
  const entry = await kvGet<StoredCode>(kv, key);
  const stored = entry.value;
  const now = settings.now();
  if (stored === null) {
    throw new OAuthError("invalid_grant", "Unknown or expired authorization code");
  }
  if (stored.usedAt !== null) {
    if (stored.grantId !== null) {
      await revokeGrant(kv, stored.grantId, { by: "code_replay", now: settings.now });
    }
    throw new OAuthError(
      "invalid_grant",
      "The authorization code was already used: the tokens issued for it are revoked",
    );
  }
  if (stored.expiresAt <= now) {
    throw new OAuthError("invalid_grant", "The authorization code expired");
  }
  const { request } = stored;
  if (request.clientId !== clientId) {
    throw new OAuthError("invalid_grant", "The authorization code was issued to another client");
  }
  if (params.redirectUri !== request.redirectUri) {
    throw new OAuthError(
      "invalid_grant",
      "The redirect_uri does not match the one of the authorization request",
    );
  }
  if (params.resources.length > 0) {
    const resource = checkResource(params.resources, settings.resource);
    if (resource !== request.resource) {
      throw new OAuthError("invalid_target", "The resource differs from the authorized one");
    }
  }
  if (request.resource !== settings.resource) {
    throw new OAuthError("invalid_grant", "The authorization code is for another resource");
  }
  await verifyPkce(params.codeVerifier, request.codeChallenge);
  const grant: OAuthGrant = {
    id: `grant_${randomToken(9)}`,
    principalId: stored.principal.id,
    principalName: stored.principal.name,
    principalRole: stored.principal.role,
    clientId,
    clientName: request.clientName,
    redirectHost: new URL(request.redirectUri).host,
    scopes: stored.scopes,
    resource: request.resource,
    createdAt: now,
    lastUsedAt: null,
    revokedAt: null,
    revokedBy: null,
    ...(stored.tokenDigest === undefined ? {} : { tokenDigest: stored.tokenDigest }),
  };
  const used: StoredCode = { ...stored, usedAt: now, grantId: grant.id };
  const pair = await mintPair(grant, grant.scopes, settings);
  const result = await kvCommit(kv, (op) => {
    op.check(entry)
      .set(key, used, { expireIn: USED_CODE_KEEP_MS })
      .check({ key: OAUTH_KEYS.grant(grant.id), versionstamp: null })
      .set(OAUTH_KEYS.grant(grant.id), grant);
    pair.write(op);
  });
  if (!result.ok) {
    // Another exchange of the same code won the race: this one is the replay.
    return await exchangeCode(kv, params, settings);
  }
  return pair.response;
}

/**
 * Exchanges a refresh token for a new pair, rotating it. A rotated refresh token presented again
 * revokes its grant, so a stolen token and its legitimate twin both stop working.
 */
export async function refreshTokens(
  kv: Deno.Kv,
  params: RefreshExchange,
  settings: TokenSettings,
): Promise<TokenResponse> {
  const token = required(params.refreshToken, "refresh_token");
  const clientId = required(params.clientId, "client_id");
  const key = OAUTH_KEYS.refresh(await digestHex(token));
  const entry = await kvGet<StoredRefreshToken>(kv, key);
  const stored = entry.value;
  const now = settings.now();
  if (stored === null || stored.expiresAt <= now) {
    throw new OAuthError("invalid_grant", "Unknown or expired refresh token");
  }
  if (stored.clientId !== clientId) {
    throw new OAuthError("invalid_grant", "The refresh token was issued to another client");
  }
  if (stored.rotatedAt !== null) {
    await revokeGrant(kv, stored.grantId, { by: "refresh_reuse", now: settings.now });
    throw new OAuthError(
      "invalid_grant",
      "The refresh token was already used: the grant is revoked, sign in again",
    );
  }
  if (params.resources.length > 0) checkResource(params.resources, stored.resource);
  if (stored.resource !== settings.resource) {
    throw new OAuthError("invalid_grant", "The refresh token is for another resource");
  }
  const grant = await getGrant(kv, stored.grantId);
  if (grant === null || grant.revokedAt !== null) {
    throw new OAuthError("invalid_grant", "The grant of this refresh token was revoked");
  }
  if (await consenterRole(kv, grant, settings.authToken) === null) {
    throw new OAuthError(
      "invalid_grant",
      "The key that approved this client was revoked or changed: sign in again",
    );
  }
  let scopes = stored.scopes;
  if (params.scope !== null && params.scope.trim() !== "") {
    const asked = parseScopes(params.scope);
    const extra = asked.find((s) => !stored.scopes.includes(s));
    if (extra !== undefined) {
      throw new OAuthError("invalid_scope", `The scope ${extra} was not granted to this client`);
    }
    scopes = asked;
  }
  const rotated: StoredRefreshToken = { ...stored, rotatedAt: now };
  const pair = await mintPair(grant, scopes, settings, stored.scopes);
  const result = await kvCommit(kv, (op) => {
    op.check(entry).set(key, rotated, { expireIn: Math.max(1, stored.expiresAt - now) });
    pair.write(op);
  });
  if (!result.ok) return await refreshTokens(kv, params, settings);
  return pair.response;
}

/** The role a grant's token acts in: admin only with the `admin` scope and an admin consenter. */
function tokenRole(grant: OAuthGrant, scopes: readonly OAuthScope[], current: Role): Role {
  return scopes.includes("admin") && grant.principalRole === "admin" && current === "admin"
    ? "admin"
    : "user";
}

/** Options of {@link verifyAccessToken}. */
export interface VerifyAccessTokenOptions {
  /** The resource this server is (a token for another is refused). */
  resource: string;
  /** Clock, epoch milliseconds. */
  now: () => number;
  /** `MCP_AUTH_TOKEN` now: tokens of grants it approved are refused once it changes. */
  authToken?: string | undefined;
}

/**
 * The principal an access token stands for, or null when it is unknown, expired, for another
 * resource, of a revoked grant, or of an API key revoked (or an `MCP_AUTH_TOKEN` changed) since
 * the consent. Reads KV every time.
 */
export async function verifyAccessToken(
  kv: Deno.Kv,
  token: string,
  options: VerifyAccessTokenOptions,
): Promise<Principal | null> {
  if (!token.startsWith(ACCESS_TOKEN_PREFIX)) return null;
  const stored = (await kvGet<StoredAccessToken>(kv, OAUTH_KEYS.access(await digestHex(token))))
    .value;
  if (stored === null || stored.expiresAt <= options.now()) return null;
  if (stored.resource !== options.resource) return null;
  const grant = await useGrant(kv, stored.grantId, options.now);
  if (grant === null) return null;
  const role = await consenterRole(kv, grant, options.authToken);
  if (role === null) return null;
  return {
    id: grant.principalId,
    name: grant.principalName,
    role: tokenRole(grant, stored.scopes, role),
    kind: "oauth",
    scopes: stored.scopes,
  };
}

/**
 * Revokes a token (RFC 7009): a refresh token revokes its whole grant, an access token too (the
 * grant is the unit a person consented to). Unknown tokens and tokens of another client are
 * ignored, as §2.2 asks (the answer is 200 either way).
 */
export async function revokeToken(
  kv: Deno.Kv,
  token: string,
  options: { clientId: string | null; now: () => number },
): Promise<void> {
  const digest = await digestHex(token);
  const [access, refresh] = await Promise.all([
    kvGet<StoredAccessToken>(kv, OAUTH_KEYS.access(digest)),
    kvGet<StoredRefreshToken>(kv, OAUTH_KEYS.refresh(digest)),
  ]);
  const stored = access.value ?? refresh.value;
  if (stored === null) return;
  if (options.clientId !== null && stored.clientId !== options.clientId) return;
  await revokeGrant(kv, stored.grantId, { by: "client", now: options.now }).catch(() => undefined);
}
