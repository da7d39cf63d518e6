/**
 * Who is calling: `MCP_AUTH_TOKEN` and named API keys with roles, kept hashed in KV; the parsed
 * `Authorization` header; constant-time comparisons.
 *
 * @module
 */
export {
  anonymousPrincipal,
  authenticate,
  type AuthenticateOptions,
  authRequired,
  authTokenDigest,
  hasRole,
  TOKEN_PRINCIPAL,
} from "./tokens.ts";
export {
  type ApiKeyInfo,
  AUTH_KEYS,
  createApiKey,
  type CreateApiKeyOptions,
  isRole,
  KEY_PREFIX,
  listApiKeys,
  revokeApiKey,
  type Role,
  ROLES,
  type StoredKey,
} from "./api_keys.ts";
export { type AuthorizationHeader, parseAuthorization } from "./authorization.ts";
export { constantTimeEqual, secretsEqual, sha256 } from "./constant_time.ts";
export { digestHex, randomToken } from "./secrets.ts";
