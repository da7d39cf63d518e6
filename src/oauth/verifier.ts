/**
 * The authentication seam for OAuth access tokens: a bearer token that is neither an API key nor
 * `MCP_AUTH_TOKEN` goes to one {@link AccessTokenVerifier}, chosen at wiring time — the built-in
 * authorization server's ({@link builtInVerifier}) or an external issuer's (external_issuer.ts).
 *
 * @module
 */
import type { Principal } from "../core_types.ts";
import { verifyAccessToken } from "./tokens.ts";

/**
 * The principal (`kind: "oauth"`, with its scopes) an access token stands for, or null when the
 * token is not valid here (unknown, expired, revoked, or for another resource).
 */
export type AccessTokenVerifier = (token: string) => Promise<Principal | null>;

/** The verifier of the built-in authorization server's tokens for `resource`. */
export function builtInVerifier(
  kv: Deno.Kv,
  options: { resource: string; now: () => number; authToken?: string | undefined },
): AccessTokenVerifier {
  return (token) => verifyAccessToken(kv, token, options);
}
