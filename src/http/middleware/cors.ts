/**
 * CORS, only when `CORS_ORIGINS` is set: browsers on the listed origins (or any, with `*`) may
 * call the API with a bearer token and read the rate-limit and request-id headers.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { cors as honoCors } from "hono/cors";

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

/** Middleware for `origins` (`CORS_ORIGINS`); a pass-through when the list is empty or unset. */
export function cors(origins: readonly string[] | undefined): MiddlewareHandler {
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
