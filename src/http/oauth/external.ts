/**
 * OAuth with an external authorization server (`OAUTH_ISSUER`): the resource metadata names that
 * issuer, its JWT access tokens are verified against its JWKS, and the built-in server's endpoints
 * (metadata, token, register, revoke, consent) are not mounted.
 *
 * @module
 */
import type { Clock } from "../../clock.ts";
import type { Config } from "../../config.ts";
import { createExternalTokenVerifier } from "../../oauth/mod.ts";
import { type HttpOAuth, oauthOffReason, resourceIdentity } from "./wiring.ts";

/** Options of {@link externalOAuth}. */
export interface ExternalOAuthOptions {
  /** Clock deciding whether a token has expired. */
  now: Clock;
  /** Fetch for the issuer's metadata and keys (default: the global one). */
  fetch?: typeof fetch;
}

/** OAuth through `OAUTH_ISSUER` under `config`, or undefined when OAuth is off or none is set. */
export function externalOAuth(
  config: Pick<
    Config,
    "oauthEnabled" | "publicBaseUrl" | "oauthIssuer" | "oauthAudience"
  >,
  options: ExternalOAuthOptions,
): HttpOAuth | undefined {
  if (config.oauthIssuer === undefined || oauthOffReason(config) !== null) return undefined;
  const identity = resourceIdentity(config.publicBaseUrl!);
  return {
    ...identity,
    issuer: config.oauthIssuer,
    verifyAccessToken: createExternalTokenVerifier({
      issuer: config.oauthIssuer,
      audience: config.oauthAudience ?? identity.resource,
      now: options.now,
      ...(options.fetch ? { fetch: options.fetch } : {}),
    }),
  };
}
