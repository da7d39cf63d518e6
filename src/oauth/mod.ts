/**
 * OAuth 2.1 for the service's protected resource `/mcp`: the built-in authorization server
 * (registered clients, authorization requests, codes with PKCE, access and rotating refresh
 * tokens, grants and their revocation, all in KV under `["oauth", …]`), the access-token seam
 * external issuers plug into, and clients identified by their metadata documents. The public
 * module of `src/oauth/`.
 *
 * @module
 */
// The external issuer (OAUTH_ISSUER): its JWT access tokens, verified against its JWKS.
export {
  createExternalTokenVerifier,
  type ExternalTokenVerifierOptions,
} from "./external_issuer.ts";
export {
  getGrant,
  type ListedGrant,
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
  OAUTH_SCOPES,
  type OAuthScope,
  parseScopes,
  SCOPE_WORDS,
} from "./scopes.ts";
export { OAUTH_KEYS } from "./kv_keys.ts";
export {
  type AuthorizationCheck,
  type AuthorizationRequest,
  type CheckAuthorizationOptions,
  checkAuthorizationRequest,
  discardPendingAuthorization,
  issueCode,
  loadPendingAuthorization,
  type PendingAuthorization,
  savePendingAuthorization,
} from "./authorization.ts";
export {
  findClient,
  type OAuthClient,
  registerClient,
  type RegisteredClient,
  registrationResponse,
} from "./clients.ts";
export {
  authorizationServerMetadata,
  OAUTH_PATHS,
  type OAuthIdentity,
  protectedResourceMetadata,
  resourceMetadataUrl,
  resourceUrl,
} from "./metadata.ts";
export { checkSingleParams } from "./params.ts";
export { s256Challenge } from "./pkce.ts";
export {
  type CodeExchange,
  exchangeCode,
  type RefreshExchange,
  refreshTokens,
  revokeToken,
  type TokenResponse,
  type TokenSettings,
} from "./tokens.ts";
export { type AccessTokenVerifier, builtInVerifier } from "./verifier.ts";
export {
  type ClientMetadata,
  ClientMetadataError,
  type ClientMetadataOAuthError,
  type ClientMetadataResolver,
  type ClientMetadataResolverOptions,
  createClientMetadataResolver,
  DEFAULT_CLIENT_METADATA_CACHE_TTL_MS,
  DEFAULT_CLIENT_METADATA_MAX_BYTES,
  DEFAULT_CLIENT_METADATA_TIMEOUT_MS,
  isClientMetadataUrl,
} from "./client_metadata.ts";
