/**
 * Named API keys with roles, kept in Deno KV. A key is `oig_` + 32 random bytes in base64url; it
 * is shown once, at creation, and only its SHA-256 digest is stored. A short non-secret prefix of
 * the key and a key id are kept for display. Revoking removes the digest index at once, so the
 * key is refused by every process sharing the KV on its next request (there is no cache).
 *
 * Key layout:
 * ```
 * ["auth", "key", keyId]            → StoredKey (also kept after revocation, for listing)
 * ["auth", "key_by_hash", sha256Hex] → keyId (active keys only)
 * ```
 *
 * @module
 */
import { AppError, ValidationError } from "../errors.ts";
import { kvCommit, kvGet, kvList } from "../kv/mod.ts";
import { digestHex, randomToken } from "./secrets.ts";

/** What a principal may do: `admin` includes everything `user` may. */
export type Role = "admin" | "user";

/** Every role, weakest first. */
export const ROLES: readonly Role[] = Object.freeze(["user", "admin"] as Role[]);

/** The public view of an API key (never the key or its digest). */
export interface ApiKeyInfo {
  /** Key id, e.g. `key_Ab3dE9fG`; names the key in lists, logs and usage reports. */
  readonly id: string;
  /** A human name. */
  readonly name: string;
  /** The key's role. */
  readonly role: Role;
  /** The first characters of the key, for recognising it (`oig_Ab3d`). */
  readonly prefix: string;
  /** Creation time, epoch milliseconds. */
  readonly createdAt: number;
  /** Last successful use, epoch milliseconds (to the minute), or null. */
  readonly lastUsedAt: number | null;
  /** Revocation time, epoch milliseconds, or null while active. */
  readonly revokedAt: number | null;
}

/** What KV holds for a key. */
export interface StoredKey extends ApiKeyInfo {
  /** Hex SHA-256 digest of the key. */
  readonly hash: string;
}

/** Prefix of every API key this service issues. */
export const KEY_PREFIX = "oig_";
const PREFIX_SHOWN = KEY_PREFIX.length + 4;
const KEY_BYTES = 32;
const NAME_MAX = 100;

/** KV keys of the API-key records. */
export const AUTH_KEYS = {
  key: (id: string): Deno.KvKey => ["auth", "key", id],
  allKeys: ["auth", "key"] as Deno.KvKey,
  byHash: (hashHex: string): Deno.KvKey => ["auth", "key_by_hash", hashHex],
  allHashes: ["auth", "key_by_hash"] as Deno.KvKey,
} as const;

/** The public view of a stored key. */
export function publicView(stored: StoredKey): ApiKeyInfo {
  const { hash: _hash, ...info } = stored;
  return info;
}

/** True when `value` is one of {@link ROLES}. */
export function isRole(value: unknown): value is Role {
  return value === "admin" || value === "user";
}

/** Options of {@link createApiKey}. */
export interface CreateApiKeyOptions {
  /** A human name (1–100 characters). */
  name: string;
  /** The key's role. */
  role: Role;
  /** Clock, epoch milliseconds. */
  now: () => number;
}

/** Creates a key. The returned `key` is the only time the secret is available. */
export async function createApiKey(
  kv: Deno.Kv,
  options: CreateApiKeyOptions,
): Promise<{ key: string; record: ApiKeyInfo }> {
  const name = options.name?.trim() ?? "";
  if (name === "" || name.length > NAME_MAX || /\p{Cc}/u.test(name)) {
    throw new ValidationError(
      "name",
      `Invalid key name: expected 1–${NAME_MAX} printable characters`,
    );
  }
  if (!isRole(options.role)) {
    throw new ValidationError(
      "role",
      `Invalid role ${JSON.stringify(options.role)}: expected one of ${ROLES.join(", ")}`,
    );
  }
  for (let attempt = 0; attempt < 5; attempt++) {
    const key = KEY_PREFIX + randomToken(KEY_BYTES);
    const hash = await digestHex(key);
    const stored: StoredKey = {
      id: `key_${randomToken(6)}`,
      name,
      role: options.role,
      prefix: key.slice(0, PREFIX_SHOWN),
      createdAt: options.now(),
      lastUsedAt: null,
      revokedAt: null,
      hash,
    };
    const result = await kvCommit(
      kv,
      (op) =>
        op.check({ key: AUTH_KEYS.key(stored.id), versionstamp: null })
          .check({ key: AUTH_KEYS.byHash(hash), versionstamp: null })
          .set(AUTH_KEYS.key(stored.id), stored)
          .set(AUTH_KEYS.byHash(hash), stored.id),
    );
    if (result.ok) return { key, record: publicView(stored) };
  }
  throw new AppError("storage", "Cannot create an API key: the KV store refused the record");
}

/** Keys, oldest first; revoked keys only when asked for. */
export async function listApiKeys(
  kv: Deno.Kv,
  options: { includeRevoked?: boolean } = {},
): Promise<ApiKeyInfo[]> {
  const out: ApiKeyInfo[] = [];
  for await (const entry of kvList<StoredKey>(kv, { prefix: AUTH_KEYS.allKeys })) {
    if (entry.value.revokedAt !== null && !options.includeRevoked) continue;
    out.push(publicView(entry.value));
  }
  return out.sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
}

/**
 * Revokes a key: from this call on, no process sharing the KV accepts it. Revoking a revoked key
 * returns it unchanged; an unknown id is `AppError("not_found")`.
 */
export async function revokeApiKey(
  kv: Deno.Kv,
  id: string,
  options: { now: () => number },
): Promise<ApiKeyInfo> {
  for (;;) {
    const entry = await kvGet<StoredKey>(kv, AUTH_KEYS.key(id));
    if (entry.value === null) {
      throw new AppError(
        "not_found",
        `Cannot revoke API key: no key with id ${JSON.stringify(id)}`,
      );
    }
    if (entry.value.revokedAt !== null) return publicView(entry.value);
    const revoked: StoredKey = { ...entry.value, revokedAt: options.now() };
    const result = await kvCommit(kv, (op) =>
      op.check(entry)
        .set(AUTH_KEYS.key(id), revoked)
        .delete(AUTH_KEYS.byHash(entry.value!.hash)));
    if (result.ok) return publicView(revoked);
  }
}

/** True when at least one active key exists. */
export async function hasActiveKeys(kv: Deno.Kv): Promise<boolean> {
  for await (const _ of kvList(kv, { prefix: AUTH_KEYS.allHashes }, { limit: 1 })) return true;
  return false;
}
