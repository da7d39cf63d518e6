/**
 * Who is calling. `MCP_AUTH_TOKEN` (the predecessor's single shared token) still works and grants
 * full access; named API keys with roles (`admin`, `user`) are stored hashed in KV. Every check
 * goes to KV: a revoked key is refused on its very next request, by every process.
 *
 * @module
 */
import type { Principal } from "../core_types.ts";
import { kvCommit, kvGet } from "../kv/mod.ts";
import { getLog } from "../log.ts";
import { AUTH_KEYS, hasActiveKeys, KEY_PREFIX, type Role, type StoredKey } from "./api_keys.ts";
import { constantTimeEqual, sha256 } from "./constant_time.ts";

/** The principal of `MCP_AUTH_TOKEN`: full access. */
export const TOKEN_PRINCIPAL: Principal = Object.freeze({
  id: "token",
  name: "MCP_AUTH_TOKEN",
  role: "admin",
  kind: "token",
});

// lastUsedAt is written at most once per this interval per key, not on every request.
const LAST_USED_RESOLUTION_MS = 60_000;

// `MCP_AUTH_TOKEN` is fixed for the life of a process: its digest is made once, not per request.
let configured: { token: string; digest: Uint8Array } | undefined;

/** SHA-256 of `MCP_AUTH_TOKEN` (the configured value `token`), computed once per value. */
export async function authTokenDigest(token: string): Promise<Uint8Array> {
  if (configured?.token !== token) configured = { token, digest: await sha256(token) };
  return configured.digest;
}

/** Options of {@link authenticate}. */
export interface AuthenticateOptions {
  /** `MCP_AUTH_TOKEN`, if set. */
  authToken?: string | undefined;
  /** Clock, epoch milliseconds. */
  now: () => number;
}

/**
 * The principal a bearer token stands for, or null when it matches neither `MCP_AUTH_TOKEN` nor
 * an active API key. Comparisons run over SHA-256 digests in constant time.
 */
export async function authenticate(
  kv: Deno.Kv,
  token: string,
  options: AuthenticateOptions,
): Promise<Principal | null> {
  if (token === "") return null;
  const digest = await sha256(token);
  if (options.authToken !== undefined && options.authToken !== "") {
    if (constantTimeEqual(digest, await authTokenDigest(options.authToken))) return TOKEN_PRINCIPAL;
  }
  if (!token.startsWith(KEY_PREFIX)) return null;
  const hex = digest.toHex();
  const index = await kvGet<string>(kv, AUTH_KEYS.byHash(hex));
  if (index.value === null) return null;
  const entry = await kvGet<StoredKey>(kv, AUTH_KEYS.key(index.value));
  const stored = entry.value;
  if (stored === null || stored.revokedAt !== null) return null;
  if (!constantTimeEqual(Uint8Array.fromHex(stored.hash), digest)) return null;
  const t = options.now();
  if (stored.lastUsedAt === null || t - stored.lastUsedAt >= LAST_USED_RESOLUTION_MS) {
    // Checked against the entry read above, so a concurrent revoke is never overwritten.
    await kvCommit(
      kv,
      (op) => op.check(entry).set(AUTH_KEYS.key(stored.id), { ...stored, lastUsedAt: t }),
    ).catch((error) => {
      getLog("auth").warn("Cannot record the last use of key {id}: {error}", {
        id: stored.id,
        error,
      });
    });
  }
  return { id: stored.id, name: stored.name, role: stored.role, kind: "key" };
}

/** True for an address of this machine (127.0.0.0/8, ::1, or IPv4 loopback mapped into IPv6). */
export function isLoopbackAddress(address: string): boolean {
  const v4 = address.startsWith("::ffff:") ? address.slice(7) : address;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4) || address === "::1";
}

/**
 * A caller without credentials while auth is off, named by address. On a loopback address it is
 * the person running the service and acts as the admin; elsewhere (a public bind with
 * `ALLOW_UNAUTHENTICATED=true`) it is a user owning the images it made (docs/authorization.md).
 */
export function anonymousPrincipal(address: string): Principal {
  const role: Role = isLoopbackAddress(address) ? "admin" : "user";
  return { id: `ip:${address}`, name: address, role, kind: "anonymous" };
}

/** True when `principal` may do what `required` may (`admin` includes `user`). */
export function hasRole(principal: Pick<Principal, "role">, required: Role): boolean {
  return principal.role === "admin" || principal.role === required;
}

/**
 * True when callers must authenticate: `MCP_AUTH_TOKEN` is set, an external authorization server
 * issues tokens (`OAUTH_ISSUER` with OAuth on), or any active key exists.
 */
export async function authRequired(
  config: {
    readonly mcpAuthToken?: string | undefined;
    readonly oauthIssuer?: string | undefined;
    readonly oauthEnabled?: boolean;
  },
  kv: Deno.Kv,
): Promise<boolean> {
  if (config.mcpAuthToken !== undefined && config.mcpAuthToken !== "") return true;
  if (config.oauthIssuer !== undefined && config.oauthEnabled !== false) return true;
  return await hasActiveKeys(kv);
}
