/**
 * OAuth clients: those registered by RFC 7591 Dynamic Client Registration (kept in KV), and those
 * identified by a Client ID Metadata Document URL (resolved by an injected resolver, see
 * client_metadata.ts). All are public clients (`token_endpoint_auth_method: none`) that prove
 * possession with PKCE.
 *
 * @module
 */
import { randomToken } from "../auth/mod.ts";
import { kvCommit, kvGet } from "../kv/mod.ts";
import { ClientMetadataError, type ClientMetadataResolver } from "./client_metadata.ts";
import { OAuthError } from "./errors.ts";
import { OAUTH_KEYS } from "./kv_keys.ts";

/** What the authorization server needs of a client. */
export interface OAuthClient {
  /** The client id. */
  readonly clientId: string;
  /** Its human name, or null. */
  readonly clientName: string | null;
  /** The redirect URIs it may use, exactly. */
  readonly redirectUris: readonly string[];
}

/** A client registered by DCR, as KV holds it. */
export interface RegisteredClient extends OAuthClient {
  /** Registration time, epoch milliseconds. */
  readonly createdAt: number;
  /** Its home page, or null. */
  readonly clientUri: string | null;
}

const NAME_MAX = 200;
const REDIRECT_URIS_MAX = 10;
const URI_MAX = 2000;

/** True for a loopback host (a native client's redirect, RFC 8252 §7.3). */
function isLoopbackHost(hostname: string): boolean {
  return hostname === "localhost" || hostname === "[::1]" || /^127(\.\d{1,3}){3}$/.test(hostname);
}

/**
 * Throws `invalid_redirect_uri` unless `uri` is an absolute https URL, or an http URL on a
 * loopback host, without a fragment.
 */
export function checkRedirectUri(uri: unknown): string {
  if (typeof uri !== "string" || uri === "" || uri.length > URI_MAX) {
    throw new OAuthError(
      "invalid_redirect_uri",
      `Invalid redirect URI: expected a URL of at most ${URI_MAX} characters`,
    );
  }
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new OAuthError(
      "invalid_redirect_uri",
      `Invalid redirect URI ${JSON.stringify(uri)}: not a URL`,
    );
  }
  if (url.hash !== "" || uri.includes("#")) {
    throw new OAuthError(
      "invalid_redirect_uri",
      `Invalid redirect URI ${JSON.stringify(uri)}: it has a fragment`,
    );
  }
  if (url.protocol === "https:") return uri;
  if (url.protocol === "http:" && isLoopbackHost(url.hostname)) return uri;
  throw new OAuthError(
    "invalid_redirect_uri",
    `Invalid redirect URI ${JSON.stringify(uri)}: expected https, or http on a loopback address`,
  );
}

function optionalString(body: Record<string, unknown>, field: string, max: number): string | null {
  const value = body[field];
  if (value === undefined || value === null) return null;
  if (typeof value !== "string" || value.length > max || /\p{Cc}/u.test(value)) {
    throw new OAuthError(
      "invalid_client_metadata",
      `Invalid ${field}: expected a string of at most ${max} printable characters`,
    );
  }
  return value.trim() === "" ? null : value.trim();
}

function checkList(body: Record<string, unknown>, field: string, allowed: readonly string[]): void {
  const value = body[field];
  if (value === undefined) return;
  if (!Array.isArray(value) || value.some((v) => typeof v !== "string")) {
    throw new OAuthError(
      "invalid_client_metadata",
      `Invalid ${field}: expected an array of strings`,
    );
  }
  const other = value.find((v) => !allowed.includes(v));
  if (other !== undefined) {
    throw new OAuthError(
      "invalid_client_metadata",
      `Unsupported ${field} value ${JSON.stringify(other)}: this server supports ${
        allowed.join(", ")
      }`,
    );
  }
}

/** The registration response of RFC 7591 §3.2.1 for `client`. */
export function registrationResponse(client: RegisteredClient): Record<string, unknown> {
  return {
    client_id: client.clientId,
    client_id_issued_at: Math.floor(client.createdAt / 1000),
    redirect_uris: client.redirectUris,
    ...(client.clientName === null ? {} : { client_name: client.clientName }),
    ...(client.clientUri === null ? {} : { client_uri: client.clientUri }),
    token_endpoint_auth_method: "none",
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
  };
}

/**
 * Registers a public client from an RFC 7591 registration request body. Redirect URIs must be
 * https or loopback http; a confidential authentication method is replaced by `none` (RFC 7591
 * §3.2.1 lets the server substitute values), since every client proves itself with PKCE.
 */
export async function registerClient(
  kv: Deno.Kv,
  body: unknown,
  options: { now: () => number },
): Promise<RegisteredClient> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new OAuthError("invalid_client_metadata", "Invalid registration: expected a JSON object");
  }
  const fields = body as Record<string, unknown>;
  const uris = fields.redirect_uris;
  if (!Array.isArray(uris) || uris.length === 0 || uris.length > REDIRECT_URIS_MAX) {
    throw new OAuthError(
      "invalid_redirect_uri",
      `Invalid redirect_uris: expected an array of 1–${REDIRECT_URIS_MAX} URLs`,
    );
  }
  const redirectUris = [...new Set(uris.map(checkRedirectUri))];
  checkList(fields, "grant_types", ["authorization_code", "refresh_token"]);
  checkList(fields, "response_types", ["code"]);
  const client: RegisteredClient = {
    clientId: `dcr_${randomToken(16)}`,
    clientName: optionalString(fields, "client_name", NAME_MAX),
    clientUri: optionalString(fields, "client_uri", URI_MAX),
    redirectUris,
    createdAt: options.now(),
  };
  const result = await kvCommit(
    kv,
    (op) =>
      op.check({ key: OAUTH_KEYS.client(client.clientId), versionstamp: null })
        .set(OAUTH_KEYS.client(client.clientId), client),
  );
  if (!result.ok) {
    throw new OAuthError(
      "temporarily_unavailable",
      "Cannot register the client: KV refused the record",
    );
  }
  return client;
}

/** Options of {@link findClient}. */
export interface FindClientOptions {
  /** Resolves metadata document client ids; absent when this server does not accept them. */
  resolveMetadata?: ClientMetadataResolver | undefined;
  /** Aborts a metadata fetch. */
  signal?: AbortSignal;
}

/**
 * The client `clientId` names: a DCR-registered one from KV or, for an https URL, the one its
 * metadata document describes. Unknown ids and unresolvable documents are `invalid_client`.
 */
export async function findClient(
  kv: Deno.Kv,
  clientId: string | null,
  options: FindClientOptions,
): Promise<OAuthClient> {
  if (clientId === null || clientId === "") {
    throw new OAuthError("invalid_request", "Missing client_id");
  }
  if (clientId.startsWith("https://")) {
    if (options.resolveMetadata === undefined) {
      throw new OAuthError(
        "invalid_client",
        "Client ID Metadata Documents are not accepted by this server: register the client first",
      );
    }
    try {
      const client = await options.resolveMetadata(clientId, options.signal);
      return { clientId, clientName: client.clientName, redirectUris: client.redirectUris };
    } catch (error) {
      if (!(error instanceof ClientMetadataError)) throw error;
      throw new OAuthError(error.oauthError, error.message, { cause: error });
    }
  }
  if (clientId.length > 100) throw new OAuthError("invalid_client", "Unknown client_id");
  const stored = (await kvGet<RegisteredClient>(kv, OAUTH_KEYS.client(clientId))).value;
  if (stored === null) {
    throw new OAuthError("invalid_client", `Unknown client_id ${JSON.stringify(clientId)}`);
  }
  return stored;
}

/** Throws `invalid_request` unless `redirectUri` is exactly one of `client`'s redirect URIs. */
export function checkClientRedirect(client: OAuthClient, redirectUri: string | null): string {
  if (redirectUri === null || redirectUri === "") {
    throw new OAuthError("invalid_request", "Missing redirect_uri");
  }
  if (!client.redirectUris.includes(redirectUri)) {
    throw new OAuthError(
      "invalid_request",
      `The redirect_uri ${
        JSON.stringify(redirectUri)
      } is not registered for client ${client.clientId}`,
    );
  }
  return redirectUri;
}
