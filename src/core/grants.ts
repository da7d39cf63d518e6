/**
 * Connected apps (OAuth grants) as a caller may see and revoke them, for the doors that list them
 * (the CLI's `clients`, the gallery's Connected apps page): the policy decides whose grants a
 * caller reaches (src/core/policy.ts), the authorization server's grant records do the rest.
 *
 * @module
 */
import type { Caller } from "../core_types.ts";
import { AppError } from "../errors.ts";
import {
  getGrant,
  type ListedGrant,
  listGrants,
  type OAuthGrant,
  revokeGrant,
} from "../oauth/mod.ts";
import { authorizeGrantRevocation, grantScopeOf } from "./policy.ts";

// Grant ids are short random tokens; anything else cannot name one (and a long one would not even
// fit in a KV key), so it is "no such grant" rather than an error of the store.
const GRANT_ID = /^[A-Za-z0-9_-]{1,128}$/;

/** Options of {@link listGrantsAs}. */
export interface ListGrantsAsOptions {
  /** Include revoked grants (default false). */
  includeRevoked?: boolean;
  /** Only the grants of this principal (an admin's filter; others see only their own anyway). */
  principalId?: string;
  /** `MCP_AUTH_TOKEN` now: grants it approved are listed inactive once it changes. */
  authToken?: string | undefined;
}

/**
 * The grants `caller` may see, newest first: everyone's for an admin, else only their own; each
 * says whether the API key that allowed it was revoked since (then its tokens are refused).
 */
export async function listGrantsAs(
  kv: Deno.Kv,
  caller: Pick<Caller, "principal">,
  options: ListGrantsAsOptions = {},
): Promise<ListedGrant[]> {
  const scope = grantScopeOf(caller);
  if (scope === "none") return [];
  const own = scope === "own" ? caller.principal?.id : undefined;
  if (own !== undefined && options.principalId !== undefined && options.principalId !== own) {
    return [];
  }
  const principalId = own ?? options.principalId;
  return await listGrants(kv, {
    includeRevoked: options.includeRevoked ?? false,
    authToken: options.authToken,
    ...(principalId === undefined ? {} : { principalId }),
  });
}

/**
 * Revokes grant `grantId` on behalf of `caller` (recorded as the revoker). An unknown or
 * malformed id is `not_found`; someone else's grant is `forbidden` unless the caller is an admin.
 * Revoking a revoked grant returns it unchanged.
 */
export async function revokeGrantAs(
  kv: Deno.Kv,
  caller: Pick<Caller, "principal">,
  grantId: string,
  options: { now: () => number },
): Promise<OAuthGrant> {
  const grant = GRANT_ID.test(grantId) ? await getGrant(kv, grantId) : null;
  if (grant === null) {
    throw new AppError(
      "not_found",
      `Cannot revoke connected app: no grant with id ${JSON.stringify(grantId.slice(0, 80))}`,
    );
  }
  authorizeGrantRevocation(caller, grant);
  return await revokeGrant(kv, grantId, { by: caller.principal?.id ?? "guest", now: options.now });
}
