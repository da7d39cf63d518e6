/**
 * The authorization endpoint's state: a checked authorization request waits in KV for the
 * person's decision (so any instance can take the consent form), and an approval turns it into a
 * single-use authorization code bound to the client, redirect URI, PKCE challenge, resource,
 * scopes and the consenting principal.
 *
 * @module
 */
import { digestHex, randomToken, TOKEN_PRINCIPAL } from "../auth/mod.ts";
import type { Principal } from "../core_types.ts";
import { kvCommit, kvGet } from "../kv/mod.ts";
import { checkClientRedirect, findClient, type FindClientOptions } from "./clients.ts";
import { OAuthError } from "./errors.ts";
import { OAUTH_KEYS } from "./kv_keys.ts";
import { checkSingleParams } from "./params.ts";
import { checkChallenge } from "./pkce.ts";
import { type OAuthScope, parseScopes } from "./scopes.ts";

/** A checked authorization request. */
export interface AuthorizationRequest {
  /** The client id. */
  readonly clientId: string;
  /** The client's name, or null. */
  readonly clientName: string | null;
  /** The redirect URI, one of the client's exactly. */
  readonly redirectUri: string;
  /** The client's `state`, returned as it came, or null. */
  readonly state: string | null;
  /** The PKCE S256 challenge. */
  readonly codeChallenge: string;
  /** The scopes asked for. */
  readonly scopes: readonly OAuthScope[];
  /** The protected resource the tokens will be for. */
  readonly resource: string;
}

/** A request waiting for the person's decision, as KV holds it. */
export interface PendingAuthorization extends AuthorizationRequest {
  /** When the consent form stops being accepted, epoch milliseconds. */
  readonly expiresAt: number;
}

/** An authorization code, as KV holds it (under the code's digest). */
export interface StoredCode {
  /** The request it answers. */
  readonly request: AuthorizationRequest;
  /** The consenting principal. */
  readonly principal: Pick<Principal, "id" | "name" | "role">;
  /** The scopes granted (those asked, less `admin` for a non-admin). */
  readonly scopes: readonly OAuthScope[];
  /** Expiry, epoch milliseconds. */
  readonly expiresAt: number;
  /** When it was exchanged, or null while unused. */
  readonly usedAt: number | null;
  /** The grant its exchange created, or null while unused. */
  readonly grantId: string | null;
  /** For a consent given with `MCP_AUTH_TOKEN`: hex SHA-256 of it (see `OAuthGrant`). */
  readonly tokenDigest?: string;
}

/** How long the consent form waits for a decision. */
export const PENDING_TTL_MS = 10 * 60_000;
/** How long an authorization code lives. */
export const CODE_TTL_MS = 60_000;
/** How long a code is kept after use, so that a replay is recognised and its tokens revoked. */
export const USED_CODE_KEEP_MS = 24 * 3600_000;
const STATE_MAX = 1000;

/** What checking an authorization request found. */
export type AuthorizationCheck =
  | { readonly ok: true; readonly request: AuthorizationRequest }
  /** The client or redirect URI cannot be trusted: show the error, never redirect (RFC 6749 §4.1.2.1). */
  | { readonly ok: false; readonly redirect: false; readonly error: OAuthError }
  /** Anything else: redirect back to the client with the error. */
  | {
    readonly ok: false;
    readonly redirect: true;
    readonly error: OAuthError;
    readonly redirectUri: string;
    readonly state: string | null;
  };

/** Options of {@link checkAuthorizationRequest}. */
export interface CheckAuthorizationOptions extends FindClientOptions {
  /** This server's protected resource (`${PUBLIC_BASE_URL}/mcp`). */
  resource: string;
}

/** Checks the query of `GET /oauth/authorize`. */
export async function checkAuthorizationRequest(
  kv: Deno.Kv,
  params: URLSearchParams,
  options: CheckAuthorizationOptions,
): Promise<AuthorizationCheck> {
  let clientId: string;
  let clientName: string | null;
  let redirectUri: string;
  try {
    checkSingleParams(params, ["client_id", "redirect_uri"]);
    const client = await findClient(kv, params.get("client_id"), options);
    redirectUri = checkClientRedirect(client, params.get("redirect_uri"));
    clientId = client.clientId;
    clientName = client.clientName;
  } catch (error) {
    if (error instanceof OAuthError) return { ok: false, redirect: false, error };
    throw error;
  }
  const state = params.get("state");
  try {
    checkSingleParams(params, [
      "state",
      "response_type",
      "code_challenge",
      "code_challenge_method",
      "scope",
    ]);
    if (state !== null && state.length > STATE_MAX) {
      throw new OAuthError("invalid_request", `The state is longer than ${STATE_MAX} characters`);
    }
    const responseType = params.get("response_type");
    if (responseType !== "code") {
      throw new OAuthError(
        "unsupported_response_type",
        `Unsupported response_type ${JSON.stringify(responseType ?? "")}: only code is supported`,
      );
    }
    const codeChallenge = checkChallenge(
      params.get("code_challenge"),
      params.get("code_challenge_method"),
    );
    const resource = checkResource(params.getAll("resource"), options.resource);
    const scopes = parseScopes(params.get("scope"));
    return {
      ok: true,
      request: { clientId, clientName, redirectUri, state, codeChallenge, scopes, resource },
    };
  } catch (error) {
    if (!(error instanceof OAuthError)) throw error;
    return { ok: false, redirect: true, error, redirectUri, state };
  }
}

/**
 * The resource a request names (RFC 8707): this server's resource, which is also the default when
 * none is named. Any other resource, or more than one, is `invalid_target`.
 */
export function checkResource(values: readonly string[], expected: string): string {
  if (values.length === 0) return expected;
  if (values.length > 1) {
    throw new OAuthError("invalid_target", "More than one resource: this server protects one");
  }
  if (values[0] !== expected) {
    throw new OAuthError(
      "invalid_target",
      `Unknown resource ${JSON.stringify(values[0])}: this server issues tokens for ${expected}`,
    );
  }
  return expected;
}

/** Keeps a checked request for the consent form; returns its id. */
export async function savePendingAuthorization(
  kv: Deno.Kv,
  request: AuthorizationRequest,
  options: { now: () => number },
): Promise<string> {
  const requestId = randomToken(24);
  const pending: PendingAuthorization = { ...request, expiresAt: options.now() + PENDING_TTL_MS };
  const result = await kvCommit(
    kv,
    (op) => op.set(OAUTH_KEYS.request(requestId), pending, { expireIn: PENDING_TTL_MS }),
  );
  if (!result.ok) {
    throw new OAuthError("temporarily_unavailable", "Cannot keep the authorization request");
  }
  return requestId;
}

/** The pending request `requestId` names, or null when it is unknown, decided or expired. */
export async function loadPendingAuthorization(
  kv: Deno.Kv,
  requestId: string,
  options: { now: () => number },
): Promise<PendingAuthorization | null> {
  if (!/^[A-Za-z0-9_-]{32}$/.test(requestId)) return null;
  const pending = (await kvGet<PendingAuthorization>(kv, OAUTH_KEYS.request(requestId))).value;
  if (pending === null || pending.expiresAt <= options.now()) return null;
  return pending;
}

/** Ends a pending request without a code (the person denied it). */
export async function discardPendingAuthorization(kv: Deno.Kv, requestId: string): Promise<void> {
  await kvCommit(kv, (op) => op.delete(OAUTH_KEYS.request(requestId)));
}

/**
 * The scopes a principal may be granted of those asked: `admin` only for an admin. Scopes never
 * widen what the principal's role allows (src/core/policy.ts checks both).
 */
export function grantableScopes(
  asked: readonly OAuthScope[],
  principal: Pick<Principal, "role">,
): OAuthScope[] {
  return asked.filter((scope) => scope !== "admin" || principal.role === "admin");
}

/**
 * Approves a pending request for `principal`: the request is consumed (a form is decided once,
 * on whichever instance) and a code is returned, valid for {@link CODE_TTL_MS}. Null when the
 * request is gone (decided or expired). A consent given with `MCP_AUTH_TOKEN` (`options.authToken`)
 * records the token's digest, so that its grant ends when the token is changed.
 */
export async function issueCode(
  kv: Deno.Kv,
  requestId: string,
  principal: Pick<Principal, "id" | "name" | "role">,
  options: { now: () => number; authToken?: string | undefined },
): Promise<{ code: string; request: AuthorizationRequest } | null> {
  let tokenDigest: string | undefined;
  if (principal.id === TOKEN_PRINCIPAL.id) {
    if (!options.authToken) throw new Error("Approving as MCP_AUTH_TOKEN needs options.authToken");
    tokenDigest = await digestHex(options.authToken);
  }
  const entry = await kvGet<PendingAuthorization>(kv, OAUTH_KEYS.request(requestId));
  const pending = entry.value;
  if (pending === null || pending.expiresAt <= options.now()) return null;
  const { expiresAt: _expiresAt, ...request } = pending;
  const code = randomToken(32);
  const stored: StoredCode = {
    request,
    principal: { id: principal.id, name: principal.name, role: principal.role },
    scopes: grantableScopes(request.scopes, principal),
    expiresAt: options.now() + CODE_TTL_MS,
    usedAt: null,
    grantId: null,
    ...(tokenDigest === undefined ? {} : { tokenDigest }),
  };
  const key = OAUTH_KEYS.code(await digestHex(code));
  const result = await kvCommit(
    kv,
    (op) =>
      op.check(entry).delete(OAUTH_KEYS.request(requestId))
        .set(key, stored, { expireIn: USED_CODE_KEEP_MS }),
  );
  return result.ok ? { code, request } : null;
}
