/**
 * Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document, which the MCP
 * authorization specification recommends since 2025-11-25): a client whose `client_id` is an
 * https URL publishes its metadata (name, redirect URIs, …) as JSON at that URL, and the
 * authorization server fetches it instead of keeping a registration.
 *
 * Fetched through the SSRF guard of `src/net/` (public addresses only, https connections pinned
 * to the checked address), with no redirects followed (the draft forbids following them), a size
 * cap (5 KB by default, the draft's recommendation) and a deadline. A document is accepted only
 * when it is served with 200 as `application/json` (or `application/…+json`), is a JSON object
 * whose `client_id` equals the URL character for character, lists its `redirect_uris`, holds no
 * shared secret and describes a public client (`token_endpoint_auth_method` `none` or absent: the
 * token endpoint authenticates clients by PKCE only, never by a key). Good documents are cached per client id for their `Cache-Control: max-age`
 * kept within bounds (a default when absent); failures are never cached (the draft forbids it),
 * and concurrent lookups of one id share one fetch.
 *
 * @module
 */

import type { Clock } from "../clock.ts";
import { ValidationError } from "../errors.ts";
import {
  guardedFetch,
  NetRefusal,
  pinnedDenoClient,
  type ResolveDns,
  untilAborted,
} from "../net/mod.ts";

/** A client as its metadata document describes it, checked. */
export interface ClientMetadata {
  /** The client id: the document's URL. */
  clientId: string;
  /** `client_name`, or `null` when the document has none. */
  clientName: string | null;
  /** `redirect_uris`: the only redirect URIs an authorization request may name (exact match). */
  redirectUris: readonly string[];
  /** `client_uri`, or `null`. */
  clientUri: string | null;
  /** `logo_uri`, or `null`. */
  logoUri: string | null;
  /** `token_endpoint_auth_method`: always `none` (a public client proving itself with PKCE). */
  tokenEndpointAuthMethod: "none";
  /** `grant_types` (default `["authorization_code"]`). */
  grantTypes: readonly string[];
  /** `response_types` (default `["code"]`). */
  responseTypes: readonly string[];
  /** `scope`, or `null`. */
  scope: string | null;
}

/** Options of {@link createClientMetadataResolver}. */
export interface ClientMetadataResolverOptions {
  /** The transport (default: the global fetch). */
  fetch?: typeof fetch;
  /** DNS lookup whose answers are checked (and connected to). */
  resolveDns: ResolveDns;
  /** PEM certificates trusted besides the system roots (tests: a throwaway CA). */
  caCerts?: readonly string[];
  /** Largest document accepted, in bytes (`OAUTH_CLIENT_METADATA_MAX_BYTES`). */
  maxBytes: number;
  /** Deadline for the answer and its body, in milliseconds (`OAUTH_CLIENT_METADATA_TIMEOUT_MS`). */
  timeoutMs: number;
  /** How long a document without `Cache-Control: max-age` is kept, in milliseconds. */
  cacheTtlMs: number;
  /** Shortest time a good document is kept, whatever it says (default 60 s). */
  minCacheTtlMs?: number;
  /** Longest time a good document is kept, whatever it says (default 24 h). */
  maxCacheTtlMs?: number;
  /** Most documents kept; the oldest go first (default 1000). */
  maxCacheEntries?: number;
  /** The clock the cache ages by. */
  now: Clock;
  /** Test-only: addresses allowed despite being private (e.g. 127.0.0.1); never a setting. */
  allowAddress?: (address: string) => boolean;
}

/** Looks up a client's metadata by its client id URL; throws {@link ClientMetadataError}. */
export type ClientMetadataResolver = (
  clientId: string,
  signal?: AbortSignal,
) => Promise<ClientMetadata>;

/** The draft's recommended size cap for a client metadata document, in bytes. */
export const DEFAULT_CLIENT_METADATA_MAX_BYTES = 5120;
/** Default deadline for fetching a client metadata document, in milliseconds. */
export const DEFAULT_CLIENT_METADATA_TIMEOUT_MS = 5000;
/** Default time a document without `max-age` is cached, in milliseconds (10 minutes). */
export const DEFAULT_CLIENT_METADATA_CACHE_TTL_MS = 10 * 60_000;

const DEFAULT_MIN_TTL_MS = 60_000;
const DEFAULT_MAX_TTL_MS = 24 * 3_600_000;
const DEFAULT_MAX_ENTRIES = 1000;
const MAX_CLIENT_ID_LENGTH = 2048;

/** The OAuth error a refusal maps to: a malformed `client_id` or an unusable client. */
export type ClientMetadataOAuthError = "invalid_request" | "invalid_client";

/**
 * A client id that cannot be used: a `validation` error for field `client_id` whose message
 * names what was wrong and what is accepted, with `oauthError` for the OAuth endpoints
 * (`invalid_request` for a malformed client id, `invalid_client` for a document that cannot be
 * fetched or is not acceptable) and a machine-readable `reason`.
 */
export class ClientMetadataError extends ValidationError {
  /** The OAuth `error` code this refusal maps to. */
  readonly oauthError: ClientMetadataOAuthError;
  /** Why, e.g. `not_json`, `client_id_mismatch`, `blocked_address`, `timeout`. */
  readonly reason: string;

  /** Creates the refusal of `clientId` for `reason` with `detail` (lower-case, no period). */
  constructor(
    clientId: string,
    reason: string,
    detail: string,
    oauthError: ClientMetadataOAuthError = "invalid_client",
    details: Record<string, unknown> = {},
  ) {
    super(
      "client_id",
      `Cannot use client_id ${JSON.stringify(clientId.slice(0, 200))}: ${detail}`,
      { reason, oauthError, ...details },
    );
    this.name = "ClientMetadataError";
    this.oauthError = oauthError;
    this.reason = reason;
  }
}

/** Why `clientId` is not a client id URL, or `null` when it is one. */
function clientIdProblem(clientId: string): string | null {
  const accepted = "a client id URL is an https URL with a path, like https://app.example/client";
  if (clientId.length > MAX_CLIENT_ID_LENGTH) {
    return `it is longer than ${MAX_CLIENT_ID_LENGTH} characters`;
  }
  let url: URL;
  try {
    url = new URL(clientId);
  } catch {
    return `it is not a URL; ${accepted}`;
  }
  if (url.protocol !== "https:") return `it is an ${url.protocol} URL; ${accepted}`;
  if (url.username !== "" || url.password !== "") return "it has a user name or password";
  if (clientId.includes("#")) return "it has a fragment (#…), which a client id URL may not";
  if (url.pathname === "/") return `it has no path; ${accepted}`;
  if (url.href !== clientId) {
    return `it is not written in canonical form (${
      JSON.stringify(url.href.slice(0, 200))
    }): dot segments, default ports, upper-case hosts and unescaped characters are refused`;
  }
  return null;
}

/** True when `clientId` is a client id URL: https, a path, canonical, no user, no fragment. */
export function isClientMetadataUrl(clientId: string): boolean {
  return clientIdProblem(clientId) === null;
}

const JSON_TYPE = /^application\/(?:[a-z0-9!#$&^_.+-]+\+)?json$/;
const UNSAFE_SCHEMES = new Set(["javascript:", "data:", "vbscript:", "file:", "blob:", "about:"]);
const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** Checks a fetched document's body and turns it into {@link ClientMetadata}. */
function parseDocument(clientId: string, body: Uint8Array): ClientMetadata {
  const refuse = (reason: string, detail: string) =>
    new ClientMetadataError(clientId, reason, detail);
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
  } catch {
    throw refuse("not_json", "the document is not valid JSON; serve a JSON object");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    const kind = parsed === null ? "null" : Array.isArray(parsed) ? "an array" : typeof parsed;
    throw refuse("not_an_object", `the document is JSON ${kind}, not an object`);
  }
  const doc = parsed as Record<string, unknown>;
  if (doc.client_id !== clientId) {
    throw refuse(
      "client_id_mismatch",
      typeof doc.client_id === "string"
        ? `the document's client_id ${
          JSON.stringify(doc.client_id.slice(0, 200))
        } is not the URL it was fetched from; they must be equal, character for character`
        : "the document has no client_id string; it must name its own URL as client_id",
    );
  }
  const redirectUris = stringList(doc, "redirect_uris", refuse);
  if (redirectUris === undefined || redirectUris.length === 0) {
    throw refuse(
      "redirect_uris",
      "the document lists no redirect_uris; it must hold a non-empty array of redirect URI strings",
    );
  }
  redirectUris.forEach((uri) => checkRedirectUri(uri, refuse));
  return {
    clientId,
    clientName: optionalString(doc, "client_name", refuse),
    redirectUris: Object.freeze(redirectUris),
    clientUri: optionalWebUrl(doc, "client_uri", refuse),
    logoUri: optionalWebUrl(doc, "logo_uri", refuse),
    tokenEndpointAuthMethod: authMethod(doc, refuse),
    grantTypes: Object.freeze(stringList(doc, "grant_types", refuse) ?? ["authorization_code"]),
    responseTypes: Object.freeze(stringList(doc, "response_types", refuse) ?? ["code"]),
    scope: optionalString(doc, "scope", refuse),
  };
}

type Refuse = (reason: string, detail: string) => ClientMetadataError;

function stringList(
  doc: Record<string, unknown>,
  key: string,
  refuse: Refuse,
): string[] | undefined {
  const value = doc[key];
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) {
    throw refuse(key, `the document's ${key} is not an array of strings`);
  }
  return [...value];
}

function optionalString(doc: Record<string, unknown>, key: string, refuse: Refuse): string | null {
  const value = doc[key];
  if (value === undefined || value === null) return null;
  if (typeof value !== "string") throw refuse(key, `the document's ${key} is not a string`);
  return value;
}

function optionalWebUrl(doc: Record<string, unknown>, key: string, refuse: Refuse): string | null {
  const value = optionalString(doc, key, refuse);
  if (value === null) return null;
  const url = URL.parse(value);
  if (url === null || (url.protocol !== "https:" && url.protocol !== "http:")) {
    throw refuse(key, `the document's ${key} is not an http or https URL`);
  }
  return value;
}

function checkRedirectUri(uri: string, refuse: Refuse): void {
  const shown = JSON.stringify(uri.slice(0, 200));
  const url = URL.parse(uri);
  if (url === null) throw refuse("redirect_uris", `redirect URI ${shown} is not an absolute URL`);
  if (uri.includes("#")) {
    throw refuse("redirect_uris", `redirect URI ${shown} has a fragment, which is not allowed`);
  }
  if (UNSAFE_SCHEMES.has(url.protocol)) {
    throw refuse("redirect_uris", `redirect URI ${shown} uses the ${url.protocol} scheme`);
  }
  if (url.protocol === "http:" && !LOOPBACK_HOSTS.has(url.hostname)) {
    throw refuse(
      "redirect_uris",
      `redirect URI ${shown} is plain http; http is accepted only for loopback hosts (localhost, 127.0.0.1, [::1]), anything else must be https`,
    );
  }
}

function authMethod(doc: Record<string, unknown>, refuse: Refuse): "none" {
  for (const key of ["client_secret", "client_secret_expires_at"]) {
    if (key in doc) {
      throw refuse(
        "client_secret",
        `the document holds ${key}; a client metadata document cannot carry a shared secret`,
      );
    }
  }
  const method = doc.token_endpoint_auth_method ?? "none";
  if (method === "none") return method;
  // The token endpoint authenticates no client with a key or secret: every client is a public
  // one proving possession with PKCE, so a document asking for anything else cannot be honoured.
  const accepted =
    "only public clients (token_endpoint_auth_method none) that prove themselves with PKCE are supported";
  const shown = typeof method === "string" ? method : JSON.stringify(method);
  throw refuse(
    "token_endpoint_auth_method",
    `token_endpoint_auth_method ${shown} is not supported: ${accepted}`,
  );
}

/** The cache lifetime a response asks for, in milliseconds, or `null` when it names none. */
function requestedTtl(headers: Headers): number | null {
  const directives = (headers.get("cache-control") ?? "").toLowerCase().split(",").map((d) =>
    d.trim()
  );
  if (directives.includes("no-store") || directives.includes("no-cache")) return 0;
  for (const directive of directives) {
    const m = /^max-age\s*=\s*"?(\d+)"?$/.exec(directive);
    if (m) return Number(m[1]) * 1000;
  }
  return null;
}

/**
 * Builds the resolver of client id URLs: validates the id, fetches its document under the SSRF
 * guard, checks it and caches good documents. Throws {@link ClientMetadataError}; an abort through
 * the caller's `signal` rethrows its reason (the shared fetch goes on for other callers).
 */
export function createClientMetadataResolver(
  o: ClientMetadataResolverOptions,
): ClientMetadataResolver {
  const minTtl = o.minCacheTtlMs ?? DEFAULT_MIN_TTL_MS;
  const maxTtl = Math.max(minTtl, o.maxCacheTtlMs ?? DEFAULT_MAX_TTL_MS);
  const maxEntries = Math.max(1, o.maxCacheEntries ?? DEFAULT_MAX_ENTRIES);
  const cache = new Map<string, { metadata: ClientMetadata; expiresAt: number }>();
  const pending = new Map<string, Promise<ClientMetadata>>();

  function remember(clientId: string, metadata: ClientMetadata, headers: Headers): void {
    const ttl = Math.min(maxTtl, Math.max(minTtl, requestedTtl(headers) ?? o.cacheTtlMs));
    const now = o.now();
    cache.delete(clientId);
    for (const [id, entry] of cache) {
      if (cache.size < maxEntries && entry.expiresAt > now) break;
      cache.delete(id);
    }
    cache.set(clientId, { metadata, expiresAt: now + ttl });
  }

  async function load(clientId: string): Promise<ClientMetadata> {
    const refuse = (reason: string, detail: string) =>
      new ClientMetadataError(clientId, reason, detail);
    let answer;
    try {
      answer = await guardedFetch(clientId, {
        ...(o.fetch === undefined ? {} : { fetch: o.fetch }),
        resolveDns: o.resolveDns,
        pinnedClient: pinnedDenoClient,
        pinHttps: true,
        ...(o.caCerts === undefined ? {} : { caCerts: o.caCerts }),
        ...(o.allowAddress === undefined ? {} : { allowAddress: o.allowAddress }),
        maxBytes: o.maxBytes,
        timeoutMs: o.timeoutMs,
        maxRedirects: 0,
        headers: { accept: "application/json" },
        checkResponse(response) {
          if (response.status !== 200) {
            throw refuse(
              "http_status",
              `its URL answered HTTP ${response.status}; the document must be served with 200 OK`,
            );
          }
          const type = (response.headers.get("content-type") ?? "").split(";")[0].trim()
            .toLowerCase();
          if (!JSON_TYPE.test(type)) {
            throw refuse(
              "content_type",
              `the document is served as ${
                type === "" ? "no content type" : JSON.stringify(type.slice(0, 80))
              }; accepted: application/json or application/<name>+json`,
            );
          }
        },
      });
    } catch (error) {
      if (!(error instanceof NetRefusal)) throw error;
      const detail = error.reason === "too_large"
        ? `the document is larger than the ${o.maxBytes}-byte limit for a client metadata document`
        : error.message;
      throw new ClientMetadataError(
        clientId,
        error.reason,
        detail,
        "invalid_client",
        error.details,
      );
    }
    const metadata = parseDocument(clientId, answer.body);
    remember(clientId, metadata, answer.headers);
    return metadata;
  }

  return (clientId, signal) => {
    signal?.throwIfAborted();
    const problem = clientIdProblem(clientId);
    if (problem !== null) {
      return Promise.reject(
        new ClientMetadataError(clientId, "bad_client_id", problem, "invalid_request"),
      );
    }
    const hit = cache.get(clientId);
    if (hit !== undefined && hit.expiresAt > o.now()) return Promise.resolve(hit.metadata);
    let shared = pending.get(clientId);
    if (shared === undefined) {
      shared = load(clientId).finally(() => pending.delete(clientId));
      pending.set(clientId, shared);
    }
    return untilAborted(shared, signal);
  };
}
