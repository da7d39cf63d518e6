/**
 * Grants: what a person consented to for one client, and the family of tokens issued under it.
 * A grant is created when an authorization code is exchanged; every access and refresh token
 * names it, and verifying a token reads it, so revoking a grant refuses all its tokens on their
 * next use, in every process sharing the KV (there is no cache).
 *
 * @module
 */
import {
  AUTH_KEYS,
  authTokenDigest,
  constantTimeEqual,
  type Role,
  type StoredKey,
  TOKEN_PRINCIPAL,
} from "../auth/mod.ts";
import type { OAuthScope } from "../core_types.ts";
import { AppError } from "../errors.ts";
import { kvCommit, kvGet, kvList } from "../kv/mod.ts";
import { OAUTH_KEYS } from "./kv_keys.ts";

/** One consent of a person to a client, and the token family issued under it. */
export interface OAuthGrant {
  /** Grant id, e.g. `grant_Ab3dE9fGh1`. */
  readonly id: string;
  /** The consenting principal's id (an API key id, or `token` for MCP_AUTH_TOKEN). */
  readonly principalId: string;
  /** The consenting principal's name. */
  readonly principalName: string;
  /** The consenting principal's role at the time of consent. */
  readonly principalRole: Role;
  /** The client's id (a DCR-issued id or a client metadata document URL). */
  readonly clientId: string;
  /** The client's name, as it registered or published it, or null. */
  readonly clientName: string | null;
  /** Host of the redirect URI the consent was given for. */
  readonly redirectHost: string;
  /** The scopes granted. */
  readonly scopes: readonly OAuthScope[];
  /** The protected resource the tokens are for. */
  readonly resource: string;
  /** Creation time, epoch milliseconds. */
  readonly createdAt: number;
  /** Last use of one of its tokens, epoch milliseconds (to the minute), or null. */
  readonly lastUsedAt: number | null;
  /** Revocation time, epoch milliseconds, or null while active. */
  readonly revokedAt: number | null;
  /** Who or what revoked it (a principal id, or `refresh_reuse`/`code_replay`), or null. */
  readonly revokedBy: string | null;
  /** For a consent given with `MCP_AUTH_TOKEN`: hex SHA-256 of it, so that changing it ends the grant. */
  readonly tokenDigest?: string;
}

/** A grant as listed, with whether the API key that consented is still in force. */
export interface ListedGrant extends OAuthGrant {
  /**
   * True when the consenting API key was revoked (or deleted) since: the grant is not revoked
   * itself, but its tokens are refused, so it is inactive.
   */
  readonly keyRevoked: boolean;
}

/**
 * The role the consenting credential has now, or null when it is no longer in force: an API key
 * revoked or deleted, `MCP_AUTH_TOKEN` unset or changed since the consent (as it ends gallery
 * sessions), or any other principal (only keys and the token can consent).
 */
export async function consenterRole(
  kv: Deno.Kv,
  grant: Pick<OAuthGrant, "principalId" | "tokenDigest">,
  authToken: string | undefined,
): Promise<Role | null> {
  if (grant.principalId === TOKEN_PRINCIPAL.id) {
    if (!authToken || grant.tokenDigest === undefined) return null;
    const current = new TextEncoder().encode((await authTokenDigest(authToken)).toHex());
    const approved = new TextEncoder().encode(grant.tokenDigest);
    return constantTimeEqual(current, approved) ? TOKEN_PRINCIPAL.role : null;
  }
  if (!grant.principalId.startsWith("key_")) return null;
  const key = (await kvGet<StoredKey>(kv, AUTH_KEYS.key(grant.principalId))).value;
  return key === null || key.revokedAt !== null ? null : key.role;
}

/** Options of {@link listGrants}. */
export interface ListGrantsOptions {
  /** Only the grants of this principal. */
  principalId?: string;
  /** Include revoked grants (default false). */
  includeRevoked?: boolean;
  /** `MCP_AUTH_TOKEN` now: grants it approved are inactive once it changes. */
  authToken?: string | undefined;
}

/**
 * Grants, newest first; revoked ones only when asked for. Each says whether its consenting API
 * key was revoked since (each key is read once).
 */
export async function listGrants(
  kv: Deno.Kv,
  options: ListGrantsOptions = {},
): Promise<ListedGrant[]> {
  const out: ListedGrant[] = [];
  const keyRevoked = new Map<string, Promise<boolean>>();
  for await (const entry of kvList<OAuthGrant>(kv, { prefix: OAUTH_KEYS.allGrants })) {
    const grant = entry.value;
    if (options.principalId !== undefined && grant.principalId !== options.principalId) continue;
    if (grant.revokedAt !== null && !options.includeRevoked) continue;
    let revoked = keyRevoked.get(grant.principalId);
    if (revoked === undefined) {
      revoked = consenterRole(kv, grant, options.authToken).then((role) => role === null);
      keyRevoked.set(grant.principalId, revoked);
    }
    out.push({ ...grant, keyRevoked: await revoked });
  }
  return out.sort((a, b) => b.createdAt - a.createdAt || a.id.localeCompare(b.id));
}

/** The grant with `grantId`, or null. */
export async function getGrant(kv: Deno.Kv, grantId: string): Promise<OAuthGrant | null> {
  return (await kvGet<OAuthGrant>(kv, OAUTH_KEYS.grant(grantId))).value;
}

/** Options of {@link revokeGrant}. */
export interface RevokeGrantOptions {
  /** Who revokes it (a principal id) or why (`refresh_reuse`, `code_replay`, `client`). */
  by: string;
  /** Clock, epoch milliseconds. */
  now: () => number;
}

/**
 * Revokes a grant: from this call on, none of its access or refresh tokens is accepted by any
 * process sharing the KV. Revoking a revoked grant returns it unchanged; an unknown id is
 * `AppError("not_found")`.
 */
export async function revokeGrant(
  kv: Deno.Kv,
  grantId: string,
  options: RevokeGrantOptions,
): Promise<OAuthGrant> {
  for (;;) {
    const entry = await kvGet<OAuthGrant>(kv, OAUTH_KEYS.grant(grantId));
    if (entry.value === null) {
      throw new AppError(
        "not_found",
        `Cannot revoke OAuth grant: no grant with id ${JSON.stringify(grantId)}`,
      );
    }
    if (entry.value.revokedAt !== null) return entry.value;
    const revoked: OAuthGrant = { ...entry.value, revokedAt: options.now(), revokedBy: options.by };
    const result = await kvCommit(
      kv,
      (op) => op.check(entry).set(OAUTH_KEYS.grant(grantId), revoked),
    );
    if (result.ok) return revoked;
  }
}

// lastUsedAt is written at most once per this interval per grant, not on every request.
const LAST_USED_RESOLUTION_MS = 60_000;

/**
 * The grant of a token being verified when it is still active (null when revoked or gone), with
 * its last use recorded to the minute.
 */
export async function useGrant(
  kv: Deno.Kv,
  grantId: string,
  now: () => number,
): Promise<OAuthGrant | null> {
  const entry = await kvGet<OAuthGrant>(kv, OAUTH_KEYS.grant(grantId));
  const grant = entry.value;
  if (grant === null || grant.revokedAt !== null) return null;
  const t = now();
  if (grant.lastUsedAt === null || t - grant.lastUsedAt >= LAST_USED_RESOLUTION_MS) {
    // Checked against the entry read above, so a concurrent revoke is never overwritten; a lost
    // race only loses a timestamp.
    await kvCommit(
      kv,
      (op) => op.check(entry).set(OAUTH_KEYS.grant(grantId), { ...grant, lastUsedAt: t }),
    )
      .catch(() => undefined);
  }
  return grant;
}
