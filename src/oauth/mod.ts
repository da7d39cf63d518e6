/**
 * OAuth 2.1 for the service's protected resource: the built-in authorization server's state and
 * flows, external issuers' tokens, and clients identified by their metadata documents. The
 * public module of `src/oauth/`.
 *
 * @module
 */

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
