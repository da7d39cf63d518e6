/**
 * Authentication and roles. A bearer token is either `MCP_AUTH_TOKEN` (full access) or a named
 * API key from KV (checked on every request, so a revoked key is refused at once). With no token
 * configured and no active key, auth is off: a caller on a loopback address is an anonymous admin,
 * as with the predecessor; one on another address (a public bind with `ALLOW_UNAUTHENTICATED`) is
 * an anonymous user (see docs/authorization.md).
 *
 * A credential that matches nothing counts against the caller's address (`AUTH_FAILURE_LIMIT`):
 * past the limit, further failures answer 429 with `Retry-After` while a valid credential is still
 * accepted from that address.
 *
 * Status codes follow the route family: the predecessor's REST routes answer 401 for a missing or
 * malformed header and 403 for a wrong token; `/v1` and MCP traffic answer 401 with
 * `WWW-Authenticate` for anything but a valid key, and 403 only for a valid key lacking the role.
 *
 * @module
 */
import type { Context, MiddlewareHandler } from "hono";
import {
  anonymousPrincipal,
  authenticate,
  type AuthorizationHeader,
  authRequired,
  hasRole,
  parseAuthorization,
  type Role,
} from "../../auth/mod.ts";
import type { Config } from "../../config.ts";
import type { Principal } from "../../core_types.ts";
import type { AccessTokenVerifier } from "../../oauth/mod.ts";
import { AppError } from "../../errors.ts";
import { recordAuthFailure } from "../../ratelimit/mod.ts";
import { clientIp } from "../client_ip.ts";
import type { HttpEnv } from "../deps.ts";

/** Which status-code convention a route family uses. */
export type AuthStyle = "rest" | "bearer";

/** Collaborators and settings of authentication. */
export interface AuthContext {
  /** `MCP_AUTH_TOKEN`, `TRUST_PROXY` (callers' addresses) and `AUTH_FAILURE_LIMIT`. */
  config: Pick<Config, "mcpAuthToken" | "trustProxy" | "authFailureLimit">;
  /** KV holding the API keys. */
  kv: Deno.Kv;
  /** Clock, epoch milliseconds. */
  now: () => number;
  /**
   * Verifies OAuth access tokens (bearer tokens that are neither an API key nor `MCP_AUTH_TOKEN`)
   * while OAuth is active.
   */
  verifyAccessToken?: AccessTokenVerifier | undefined;
}

/** Options of {@link requireAuth}. */
export interface RequireAuthOptions {
  /** Role the route needs. */
  role: Role;
  /** Status-code convention. */
  style: AuthStyle;
}

const CHALLENGE_HINT = "send `Authorization: Bearer <token>` with MCP_AUTH_TOKEN or an API key";

/**
 * Who `c` is: the principal of a valid credential, or an anonymous admin while auth is off; else
 * the Authorization header that did not do. A credential that matches nothing is counted against
 * the caller's address, and throws the lockout (429) once the address has none left.
 */
async function identify(
  c: Context,
  auth: AuthContext,
): Promise<{ principal: Principal } | { refused: AuthorizationHeader }> {
  const header = parseAuthorization(c.req.header("authorization"));
  if (header.kind === "bearer") {
    const principal = await authenticate(auth.kv, header.token, {
      authToken: auth.config.mcpAuthToken,
      now: auth.now,
    });
    if (principal !== null) return { principal };
    const oauth = await auth.verifyAccessToken?.(header.token) ?? null;
    if (oauth !== null) return { principal: oauth };
  }
  if (!(await authRequired(auth.config, auth.kv))) {
    // Auth is off: the address decides the role (docs/authorization.md); a stray token is ignored.
    return { principal: anonymousPrincipal(clientIp(c, auth.config)) };
  }
  if (header.kind !== "missing") {
    const lockout = await recordAuthFailure(auth.kv, clientIp(c, auth.config), {
      limit: auth.config.authFailureLimit,
      now: auth.now,
    });
    if (lockout !== null) throw lockout;
  }
  return { refused: header };
}

/**
 * The caller of `c` when its credentials are valid (or auth is off), or null; used where a token is
 * one of several ways in (signed image URLs, checked first). Throws only the lockout (429) of an
 * address that has spent its failed credentials.
 */
export async function optionalPrincipal(
  c: Context,
  auth: AuthContext,
): Promise<Principal | null> {
  const caller = await identify(c, auth);
  return "principal" in caller ? caller.principal : null;
}

/** The caller of `c`, or an `unauthorized`/`forbidden`/`rate_limited` AppError per `options.style`. */
export async function resolvePrincipal(
  c: Context,
  auth: AuthContext,
  options: RequireAuthOptions,
): Promise<Principal> {
  const caller = await identify(c, auth);
  if (!("principal" in caller)) {
    const header = caller.refused;
    if (header.kind === "missing") {
      throw new AppError("unauthorized", `Authentication required: ${CHALLENGE_HINT}`);
    }
    if (header.kind === "malformed") {
      throw new AppError("unauthorized", `Malformed Authorization header: ${header.reason}`, {
        details: { authError: "invalid_token" },
      });
    }
    // An OAuth client needs 401 with invalid_token to know it should refresh, on every route.
    if (options.style === "rest" && auth.verifyAccessToken === undefined) {
      throw new AppError("forbidden", "Invalid token: it matches no active key");
    }
    const message = auth.verifyAccessToken === undefined
      ? "Invalid API key: it matches no active key"
      : "Invalid token: it matches no active key or valid access token";
    throw new AppError("unauthorized", message, { details: { authError: "invalid_token" } });
  }
  const { principal } = caller;
  if (!hasRole(principal, options.role)) {
    throw new AppError(
      "forbidden",
      `Forbidden: this needs the ${options.role} role; key ${principal.id} has the ${principal.role} role`,
    );
  }
  return principal;
}

/** Middleware authenticating the caller and checking `options.role`; sets `principal`. */
export function requireAuth(
  auth: AuthContext,
  options: RequireAuthOptions,
): MiddlewareHandler<HttpEnv> {
  return async function authMiddleware(c, next) {
    c.set("principal", await resolvePrincipal(c, auth, options));
    await next();
  };
}
