/**
 * The discovery documents: RFC 9728 protected resource metadata (which authorization server
 * protects `/mcp`) and RFC 8414 authorization server metadata (the endpoints of the built-in
 * one). The issuer is `PUBLIC_BASE_URL`; the resource is `${PUBLIC_BASE_URL}/mcp`.
 *
 * @module
 */
import { OAUTH_SCOPES } from "./scopes.ts";

/** The paths of the built-in authorization server's endpoints. */
export const OAUTH_PATHS = {
  authorize: "/oauth/authorize",
  token: "/oauth/token",
  register: "/oauth/register",
  revoke: "/oauth/revoke",
  protectedResource: "/.well-known/oauth-protected-resource",
  authorizationServer: "/.well-known/oauth-authorization-server",
} as const;

/** The identity of the protected resource and the server that issues its tokens. */
export interface OAuthIdentity {
  /** `PUBLIC_BASE_URL` without a trailing slash. */
  baseUrl: string;
  /** The issuer of the tokens `/mcp` accepts: the built-in one (`baseUrl`) or `OAUTH_ISSUER`. */
  issuer: string;
}

/** The protected resource: `${baseUrl}/mcp` (RFC 8707 `resource`, the tokens' audience). */
export function resourceUrl(baseUrl: string): string {
  return `${baseUrl}/mcp`;
}

/**
 * Where the resource's metadata is (RFC 9728 §3.1: the well-known path inserted before the
 * resource's path), for `WWW-Authenticate: Bearer resource_metadata="…"`.
 */
export function resourceMetadataUrl(baseUrl: string): string {
  const url = new URL(resourceUrl(baseUrl));
  return `${url.origin}${OAUTH_PATHS.protectedResource}${url.pathname}`;
}

/** RFC 9728 protected resource metadata of `/mcp`. */
export function protectedResourceMetadata(identity: OAuthIdentity): Record<string, unknown> {
  return {
    resource: resourceUrl(identity.baseUrl),
    authorization_servers: [identity.issuer],
    scopes_supported: OAUTH_SCOPES,
    bearer_methods_supported: ["header"],
    resource_name: "OpenAI image generation",
  };
}

/** RFC 8414 metadata of the built-in authorization server. */
export function authorizationServerMetadata(
  baseUrl: string,
  options: { dcr: boolean; clientMetadataDocuments: boolean },
): Record<string, unknown> {
  return {
    issuer: baseUrl,
    authorization_endpoint: baseUrl + OAUTH_PATHS.authorize,
    token_endpoint: baseUrl + OAUTH_PATHS.token,
    ...(options.dcr ? { registration_endpoint: baseUrl + OAUTH_PATHS.register } : {}),
    revocation_endpoint: baseUrl + OAUTH_PATHS.revoke,
    scopes_supported: OAUTH_SCOPES,
    response_types_supported: ["code"],
    response_modes_supported: ["query"],
    grant_types_supported: ["authorization_code", "refresh_token"],
    token_endpoint_auth_methods_supported: ["none"],
    revocation_endpoint_auth_methods_supported: ["none"],
    code_challenge_methods_supported: ["S256"],
    authorization_response_iss_parameter_supported: true,
    client_id_metadata_document_supported: options.clientMetadataDocuments,
  };
}
