/**
 * Whether OAuth is active and with which pieces: the resource's identity (`PUBLIC_BASE_URL`), the
 * access-token verifier the authentication middleware consults, and the built-in authorization
 * server's settings when it is the one issuing tokens.
 *
 * @module
 */
import type { Config } from "../../config.ts";
import { resolveWithDeno } from "../../net/mod.ts";
import {
  type AccessTokenVerifier,
  builtInVerifier,
  type ClientMetadataResolver,
  createClientMetadataResolver,
  DEFAULT_CLIENT_METADATA_CACHE_TTL_MS,
  resourceMetadataUrl,
  resourceUrl,
} from "../../oauth/mod.ts";

/** The built-in authorization server's settings and collaborators. */
export interface BuiltInAuthorizationServer {
  /** Resolves Client ID Metadata Document URLs; absent: only DCR clients are accepted. */
  readonly resolveClientMetadata?: ClientMetadataResolver | undefined;
  /** `OAUTH_DCR`. */
  readonly dcr: boolean;
  /** `OAUTH_DCR_LIMIT`. */
  readonly dcrLimit: number;
  /** `OAUTH_ACCESS_TOKEN_SECONDS`. */
  readonly accessTokenSeconds: number;
  /** `OAUTH_REFRESH_TOKEN_DAYS`. */
  readonly refreshTokenDays: number;
}

/** OAuth as the HTTP app uses it. */
export interface HttpOAuth {
  /** `PUBLIC_BASE_URL`, without a trailing slash. */
  readonly baseUrl: string;
  /** The protected resource, `${baseUrl}/mcp`. */
  readonly resource: string;
  /** Where the resource's RFC 9728 metadata is (named in `WWW-Authenticate`). */
  readonly resourceMetadataUrl: string;
  /** The authorization server the resource metadata names. */
  readonly issuer: string;
  /** Verifies bearer tokens that are neither an API key nor `MCP_AUTH_TOKEN`. */
  readonly verifyAccessToken: AccessTokenVerifier;
  /** The built-in authorization server, whose endpoints are mounted when present. */
  readonly authorizationServer?: BuiltInAuthorizationServer;
}

/**
 * Why OAuth is off under `config`, or null when it is active. It needs `PUBLIC_BASE_URL`, and at
 * the root of a host: for an issuer with a path, RFC 8414 §3 (and the MCP authorization
 * specification's discovery order) puts the metadata at `/.well-known/oauth-authorization-server`
 * followed by the path, outside the path a proxy forwards, and the consent page, a gallery page,
 * links to the root.
 */
export function oauthOffReason(
  config: Pick<Config, "oauthEnabled" | "publicBaseUrl">,
): string | null {
  if (!config.oauthEnabled) return "OAUTH_ENABLED=false";
  if (config.publicBaseUrl === undefined) {
    return "PUBLIC_BASE_URL is not set (OAuth needs the resource's public URL as its identity)";
  }
  const url = new URL(config.publicBaseUrl);
  const path = url.pathname.replace(/\/+$/, "");
  if (path !== "") {
    return `PUBLIC_BASE_URL has a path (${path}), and OAuth needs the service at the root of its ` +
      `host: clients look for the authorization server's metadata at ${url.origin}` +
      `/.well-known/oauth-authorization-server${path} (RFC 8414 section 3), outside that path, ` +
      "and the consent page links to the root; serve the service at the root of a host name of " +
      "its own (like https://images.example.com)";
  }
  return null;
}

/** Options of {@link builtInOAuth}. */
export interface BuiltInOAuthOptions {
  /** KV holding the authorization server's state. */
  kv: Deno.Kv;
  /** Clock, epoch milliseconds. */
  now: () => number;
  /**
   * Resolves Client ID Metadata Document URLs (default: fetched through the SSRF guard with
   * `OAUTH_CLIENT_METADATA_MAX_BYTES` and `OAUTH_CLIENT_METADATA_TIMEOUT_MS`, cached).
   */
  resolveClientMetadata?: ClientMetadataResolver | undefined;
}

/** The protected resource named by `PUBLIC_BASE_URL`: base URL, resource and metadata URL. */
export function resourceIdentity(
  publicBaseUrl: string,
): Pick<HttpOAuth, "baseUrl" | "resource" | "resourceMetadataUrl"> {
  const baseUrl = publicBaseUrl.replace(/\/+$/, "");
  return {
    baseUrl,
    resource: resourceUrl(baseUrl),
    resourceMetadataUrl: resourceMetadataUrl(baseUrl),
  };
}

/** The built-in authorization server's OAuth under `config`, or undefined while OAuth is off. */
export function builtInOAuth(config: Config, options: BuiltInOAuthOptions): HttpOAuth | undefined {
  if (oauthOffReason(config) !== null) return undefined;
  const identity = resourceIdentity(config.publicBaseUrl!);
  const { baseUrl, resource } = identity;
  return {
    ...identity,
    issuer: baseUrl,
    verifyAccessToken: builtInVerifier(options.kv, {
      resource,
      now: options.now,
      authToken: config.mcpAuthToken,
    }),
    authorizationServer: {
      resolveClientMetadata: options.resolveClientMetadata ?? createClientMetadataResolver({
        resolveDns: resolveWithDeno,
        maxBytes: config.oauthClientMetadataMaxBytes,
        timeoutMs: config.oauthClientMetadataTimeoutMs,
        cacheTtlMs: DEFAULT_CLIENT_METADATA_CACHE_TTL_MS,
        now: options.now,
      }),
      dcr: config.oauthDcr,
      dcrLimit: config.oauthDcrLimit,
      accessTokenSeconds: config.oauthAccessTokenSeconds,
      refreshTokenDays: config.oauthRefreshTokenDays,
    },
  };
}
