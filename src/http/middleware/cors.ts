/**
 * CORS. The API, only when `CORS_ORIGINS` is set: browsers on the listed origins (or any, with
 * `*`) may call it with a bearer token and read the rate-limit and request-id headers. The OAuth
 * discovery documents and the token, registration and revocation endpoints, always and for any
 * origin: browser-based OAuth clients (an MCP client in a web page) call them directly, and they
 * take no cookies, so a page gains nothing it could not get by calling them from a server. The
 * authorization endpoint is never opened: a browser navigates to it, no script calls it.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { cors as honoCors } from "hono/cors";
import { OAUTH_PATHS } from "../../oauth/mod.ts";

/** Headers a browser may send cross-origin. */
export const CORS_ALLOW_HEADERS: readonly string[] = Object.freeze([
  "Authorization",
  "Content-Type",
  "X-Request-Id",
  "Mcp-Session-Id",
  "Mcp-Protocol-Version",
  "Last-Event-ID",
]);

/** Response headers a cross-origin script may read. */
export const CORS_EXPOSE_HEADERS: readonly string[] = Object.freeze([
  "X-Request-Id",
  "RateLimit",
  "RateLimit-Policy",
  "RateLimit-Limit",
  "RateLimit-Remaining",
  "RateLimit-Reset",
  "Retry-After",
  "ETag",
  "WWW-Authenticate",
  "Mcp-Session-Id",
]);

/** True for the OAuth paths any origin may call (see the module documentation). */
function isOpenOAuthPath(path: string): boolean {
  return path === OAUTH_PATHS.token || path === OAUTH_PATHS.register ||
    path === OAUTH_PATHS.revoke || path === OAUTH_PATHS.authorizationServer ||
    path === OAUTH_PATHS.protectedResource || path.startsWith(`${OAUTH_PATHS.protectedResource}/`);
}

const openOAuthCors = honoCors({
  origin: "*",
  allowMethods: ["GET", "HEAD", "POST", "OPTIONS"],
  allowHeaders: ["Authorization", "Content-Type", "Mcp-Protocol-Version"],
  maxAge: 600,
});

/**
 * Middleware for `origins` (`CORS_ORIGINS`), a pass-through when the list is empty or unset, and
 * open CORS on the OAuth paths of {@link isOpenOAuthPath} in any case.
 */
export function cors(origins: readonly string[] | undefined): MiddlewareHandler {
  const api = apiCors(origins);
  return function corsMiddleware(c, next) {
    return (isOpenOAuthPath(c.req.path) ? openOAuthCors : api)(c, next);
  };
}

function apiCors(origins: readonly string[] | undefined): MiddlewareHandler {
  if (origins === undefined || origins.length === 0) {
    return async function noCors(_c, next) {
      await next();
    };
  }
  const any = origins.includes("*");
  const allowed = new Set(origins.map((o) => o.replace(/\/+$/, "")));
  return honoCors({
    origin: any ? "*" : (origin) => (allowed.has(origin) ? origin : null),
    allowMethods: ["GET", "HEAD", "POST", "DELETE", "OPTIONS"],
    allowHeaders: [...CORS_ALLOW_HEADERS],
    exposeHeaders: [...CORS_EXPOSE_HEADERS],
    maxAge: 600,
  });
}
