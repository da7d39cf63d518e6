/**
 * Access tokens of an external authorization server (`OAUTH_ISSUER`): JWTs verified with `jose`
 * against the issuer's JWKS, which is discovered from its metadata, fetched on first use, cached
 * and refetched (after a cooldown) when a token names a key it does not hold.
 *
 * A token is accepted when it is a JWS signed with an asymmetric algorithm by a key of the JWKS,
 * `iss` equals the issuer exactly, `aud` contains the audience (this resource, RFC 8707), `exp` is
 * present and not past and `nbf` (if any) is reached by the injected clock, `sub` is present, and
 * it is not sender-constrained (`cnf`, which this service cannot check). `typ` may be `at+jwt`
 * (RFC 9068, what `oidc-provider` and most current servers send), `JWT` or absent (Keycloak, Entra
 * ID and others still send those): the audience, not the type, keeps an ID token out, because an ID
 * token's audience is a client id, never this resource.
 *
 * @module
 */
import { createRemoteJWKSet, customFetch, decodeJwt, decodeProtectedHeader, jwtVerify } from "jose";
import type { JWTPayload } from "jose";
import type { Clock } from "../clock.ts";
import type { OAuthScope, Principal } from "../core_types.ts";
import { discoverIssuer, unavailable } from "./issuer_discovery.ts";
import { OAUTH_SCOPES } from "./scopes.ts";
import type { AccessTokenVerifier } from "./verifier.ts";

/** Signature algorithms accepted: asymmetric only, never `none` or an HMAC (`HS*`). */
export const ACCEPTED_ALGORITHMS: readonly string[] = Object.freeze([
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
  "Ed25519",
]);

const ACCEPTED_TYPES = new Set(["at+jwt", "application/at+jwt", "jwt", "application/jwt"]);

// Failures of the token itself (signature, claims, key not in the JWKS); anything else jose throws
// while verifying (JWKS timeout, unreadable JWKS, network) is the issuer's failure.
const TOKEN_FAILURES = new Set([
  "ERR_JOSE_ALG_NOT_ALLOWED",
  "ERR_JOSE_NOT_SUPPORTED",
  "ERR_JWK_INVALID",
  "ERR_JWKS_MULTIPLE_MATCHING_KEYS",
  "ERR_JWKS_NO_MATCHING_KEY",
  "ERR_JWS_INVALID",
  "ERR_JWS_SIGNATURE_VERIFICATION_FAILED",
  "ERR_JWT_CLAIM_VALIDATION_FAILED",
  "ERR_JWT_EXPIRED",
  "ERR_JWT_INVALID",
]);

const MAX_TOKEN_LENGTH = 16_384;
const MAX_NAME_LENGTH = 100;

/** Options of {@link createExternalTokenVerifier}. */
export interface ExternalTokenVerifierOptions {
  /** `OAUTH_ISSUER`: the issuer identifier, compared with `iss` exactly. */
  issuer: string;
  /** `OAUTH_AUDIENCE`, by default the resource URL `${PUBLIC_BASE_URL}/mcp`. */
  audience: string;
  /** Clock deciding `exp` and `nbf`. */
  now: Clock;
  /** Fetch for metadata and JWKS (default: the global one). */
  fetch?: typeof fetch;
  /** Time allowed for each request to the issuer, milliseconds (default 5000). */
  timeoutMs?: number;
  /** Leeway for `exp` and `nbf` between the issuer's clock and this one, seconds (default 30). */
  clockToleranceSeconds?: number;
  /** Minimum time between two JWKS fetches, milliseconds (default 30 000). */
  jwksCooldownMs?: number;
  /** Age after which the cached JWKS is fetched again, milliseconds (default 600 000). */
  jwksMaxAgeMs?: number;
}

type KeySet = ReturnType<typeof createRemoteJWKSet>;

/**
 * A verifier of the issuer's JWT access tokens. It answers null for any token that fails
 * verification (not a JWT, another issuer, another audience, expired, bad signature, unknown key)
 * and throws only `AppError("upstream_unavailable")`, when the issuer's metadata or keys cannot be
 * fetched: the caller did nothing wrong and may retry, so it is neither a 401 nor a 500.
 */
export function createExternalTokenVerifier(
  options: ExternalTokenVerifierOptions,
): AccessTokenVerifier {
  const fetcher = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 5000;
  let keySet: Promise<KeySet> | undefined;
  const keys = () => {
    keySet ??= discoverIssuer(options.issuer, { fetch: fetcher, timeoutMs }).then((metadata) =>
      createRemoteJWKSet(new URL(metadata.jwksUri), {
        timeoutDuration: timeoutMs,
        cooldownDuration: options.jwksCooldownMs ?? 30_000,
        cacheMaxAge: options.jwksMaxAgeMs ?? 600_000,
        [customFetch]: (url, init) => fetcher(url, { ...init, redirect: "error" }),
      })
    ).catch((error) => {
      keySet = undefined; // the next token tries again
      throw error;
    });
    return keySet;
  };
  return async (token) => {
    if (!plausible(token, options.issuer)) return null;
    const jwks = await keys();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, jwks, {
        issuer: options.issuer,
        audience: options.audience,
        algorithms: [...ACCEPTED_ALGORITHMS],
        currentDate: new Date(options.now()),
        clockTolerance: options.clockToleranceSeconds ?? 30,
        requiredClaims: ["exp", "sub"],
      }));
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (typeof code === "string" && TOKEN_FAILURES.has(code)) return null;
      throw unavailable(options.issuer, `cannot read its JWKS: ${String(error)}`, error);
    }
    return principalOf(payload);
  };
}

/**
 * True when `token` looks like a signed JWT of `issuer` with an accepted algorithm and type, read
 * without verification: anything else (API keys, opaque or encrypted tokens, other issuers) is
 * refused before the issuer is asked for anything.
 */
function plausible(token: string, issuer: string): boolean {
  if (token.length > MAX_TOKEN_LENGTH || !/^[\w-]+\.[\w-]+\.[\w-]+$/.test(token)) return false;
  try {
    const header = decodeProtectedHeader(token);
    const typ = header.typ?.toLowerCase();
    if (header.alg === undefined || !ACCEPTED_ALGORITHMS.includes(header.alg)) return false;
    if (typ !== undefined && !ACCEPTED_TYPES.has(typ)) return false;
    return decodeJwt(token).iss === issuer;
  } catch {
    return false;
  }
}

/** The principal of a verified token, or null for a sender-constrained one or a bad `sub`. */
export function principalOf(payload: JWTPayload): Principal | null {
  const sub = payload.sub;
  if (typeof sub !== "string" || sub === "" || payload.cnf !== undefined) return null;
  const scopes = scopesOf(payload);
  const name = [payload.name, payload.preferred_username, payload.client_id, sub]
    .find((v): v is string => typeof v === "string" && v.trim() !== "")!;
  // deno-lint-ignore no-control-regex
  const printable = name.replace(/[\u0000-\u001f\u007f]/g, "").trim().slice(0, MAX_NAME_LENGTH);
  return Object.freeze({
    id: `oidc:${sub}`,
    name: printable === "" ? sub : printable,
    role: scopes.includes("admin") ? "admin" : "user",
    kind: "oauth",
    scopes,
  });
}

/**
 * The service's scopes a token carries, in canonical order: from `scope` (space separated,
 * RFC 9068) or `scp` (an array or string, as Entra ID and Okta send); others are ignored.
 */
export function scopesOf(payload: JWTPayload): readonly OAuthScope[] {
  const words = new Set<string>();
  for (const claim of [payload.scope, payload.scp]) {
    const list = typeof claim === "string" ? claim.split(/\s+/) : Array.isArray(claim) ? claim : [];
    for (const word of list) if (typeof word === "string") words.add(word);
  }
  return Object.freeze(OAUTH_SCOPES.filter((scope) => words.has(scope)));
}
