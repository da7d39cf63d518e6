/**
 * Security headers on every response: no MIME sniffing, no framing, no referrer leaks, and a
 * Content-Security-Policy that lets a server-rendered page load its own scripts, styles and
 * images and nothing from elsewhere. A route that needs a different policy sets its own
 * `Content-Security-Policy` header; it is kept.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";

/** The default Content-Security-Policy: same-origin assets only, no framing, no plugins. */
export const DEFAULT_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

/** Middleware adding the security headers to every response. */
export function securityHeaders(): MiddlewareHandler {
  return async function securityHeadersMiddleware(c, next) {
    await next();
    const hasPolicy = c.res.headers.has("Content-Security-Policy");
    // `c.header` copes with responses whose headers are immutable (it re-wraps them).
    c.header("X-Content-Type-Options", "nosniff");
    c.header("X-Frame-Options", "DENY");
    c.header("Referrer-Policy", "no-referrer");
    c.header("Cross-Origin-Opener-Policy", "same-origin");
    if (!hasPolicy) c.header("Content-Security-Policy", DEFAULT_CSP);
  };
}
