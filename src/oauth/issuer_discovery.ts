/**
 * Discovery of an external authorization server: its RFC 8414 metadata
 * (`/.well-known/oauth-authorization-server`) or, failing that, its OpenID Connect Discovery
 * document (`/.well-known/openid-configuration`), checked to name the configured issuer exactly
 * (RFC 8414 §3.3) and to point at a JWKS over https (http only for a loopback issuer).
 *
 * @module
 */
import { z } from "zod";
import { AppError } from "../errors.ts";
import { isLoopbackHost } from "../config.ts";
import { getLog } from "../log.ts";

/** What the service needs from an issuer's metadata. */
export interface IssuerMetadata {
  /** The issuer identifier, identical to the configured one. */
  readonly issuer: string;
  /** Where the issuer publishes its signing keys. */
  readonly jwksUri: string;
  /** The document the metadata came from. */
  readonly source: string;
}

/** Options of {@link discoverIssuer}. */
export interface DiscoverIssuerOptions {
  /** Fetch to use (default: the global one). */
  fetch?: typeof fetch;
  /** Time allowed for each metadata request, milliseconds (default 5000). */
  timeoutMs?: number;
}

const METADATA = z.object({
  issuer: z.string(),
  jwks_uri: z.string(),
}).passthrough();

/**
 * The metadata document URLs of `issuer`, in the order they are tried: RFC 8414 (well-known
 * segment inserted before the issuer's path), then OpenID Connect Discovery both inserted and
 * appended (OIDC Discovery §4, which deployments with a path use).
 */
export function metadataUrls(issuer: string): string[] {
  const url = new URL(issuer);
  const path = url.pathname === "/" ? "" : url.pathname.replace(/\/$/, "");
  const at = (wellKnown: string) => new URL(`/.well-known/${wellKnown}${path}`, url.origin).href;
  const urls = [at("oauth-authorization-server"), at("openid-configuration")];
  if (path !== "") urls.push(`${url.origin}${path}/.well-known/openid-configuration`);
  return urls;
}

/** True for an https URL, or an http URL on a loopback host. */
export function isSecureUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === "https:" ||
      (url.protocol === "http:" && isLoopbackHost(url.hostname));
  } catch {
    return false;
  }
}

/**
 * Fetches and checks the metadata of `issuer`. Throws `AppError("upstream_unavailable")` (logged
 * with the reason) when no document answers, or the one that answers names another issuer or no
 * usable `jwks_uri`: the issuer cannot be used, which is never the caller's fault.
 */
export async function discoverIssuer(
  issuer: string,
  options: DiscoverIssuerOptions = {},
): Promise<IssuerMetadata> {
  const fetcher = options.fetch ?? fetch;
  const failures: string[] = [];
  for (const source of metadataUrls(issuer)) {
    let response: Response;
    try {
      response = await fetcher(source, {
        headers: { accept: "application/json" },
        redirect: "error",
        signal: AbortSignal.timeout(options.timeoutMs ?? 5000),
      });
    } catch (error) {
      failures.push(`${source}: ${error instanceof Error ? error.message : String(error)}`);
      continue;
    }
    if (!response.ok) {
      await response.body?.cancel();
      failures.push(`${source}: HTTP ${response.status}`);
      continue;
    }
    const parsed = METADATA.safeParse(await response.json().catch(() => null));
    if (!parsed.success) {
      failures.push(`${source}: not a metadata document with issuer and jwks_uri`);
      continue;
    }
    return checked(issuer, source, parsed.data);
  }
  throw unavailable(issuer, `no metadata document answered (${failures.join("; ")})`);
}

function checked(
  issuer: string,
  source: string,
  document: z.infer<typeof METADATA>,
): IssuerMetadata {
  if (document.issuer !== issuer) {
    throw unavailable(
      issuer,
      `${source} names issuer ${
        JSON.stringify(document.issuer)
      }, which must equal OAUTH_ISSUER exactly`,
    );
  }
  if (!isSecureUrl(document.jwks_uri)) {
    throw unavailable(
      issuer,
      `${source} gives jwks_uri ${JSON.stringify(document.jwks_uri)}, which is not an https URL`,
    );
  }
  return Object.freeze({ issuer, jwksUri: document.jwks_uri, source });
}

/**
 * The error of an issuer the service cannot use (retryable). The reason, which may name internal
 * addresses, goes to the log for the operator; the caller learns only which issuer failed.
 */
export function unavailable(issuer: string, reason: string, cause?: unknown): AppError {
  getLog("oauth").warn("Authorization server {issuer} is unavailable: {reason}", {
    issuer,
    reason,
  });
  return new AppError(
    "upstream_unavailable",
    `Cannot verify the access token: the authorization server ${issuer} is unavailable`,
    { cause: cause ?? new Error(reason), retryAfterSeconds: 30 },
  );
}
