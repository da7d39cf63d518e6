/**
 * The service as its own OAuth 2.1 authorization server for its protected resource `/mcp`:
 * registered clients, authorization requests, codes with PKCE, access and rotating refresh tokens,
 * grants (consents) and their revocation, all in KV under `["oauth", …]`.
 *
 * @module
 */
export {
  getGrant,
  listGrants,
  type ListGrantsOptions,
  type OAuthGrant,
  revokeGrant,
  type RevokeGrantOptions,
} from "./grants.ts";
export { OAuthError, type OAuthErrorCode } from "./errors.ts";
export {
  DEFAULT_SCOPES,
  formatScopes,
  isOAuthScope,
  OAUTH_SCOPES,
  type OAuthScope,
  parseScopes,
  SCOPE_WORDS,
} from "./scopes.ts";
export { OAUTH_KEYS } from "./kv_keys.ts";
