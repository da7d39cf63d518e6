/**
 * Security headers on every response, by Hono's `secureHeaders`: no MIME sniffing, no framing, no
 * referrer leaks, an isolated browsing context, and a Content-Security-Policy that lets a
 * server-rendered page (Swagger UI) load its own scripts, styles and images and nothing from
 * elsewhere. A route that needs a different policy sets its own headers (the gallery applies this
 * middleware with its stricter policy); the app-wide copy keeps them.
 *
 * Two of the library's defaults are off: `Cross-Origin-Resource-Policy: same-origin` would stop
 * other sites' pages (a chat client showing a generated image) from embedding image files, and
 * `Strict-Transport-Security` (with `includeSubDomains`) is the operator's decision for their
 * domain, made at the proxy that terminates TLS.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { secureHeaders } from "hono/secure-headers";

/** A Content-Security-Policy as `secureHeaders` takes it (camel-case directives). */
export type CspDirectives = NonNullable<
  NonNullable<Parameters<typeof secureHeaders>[0]>["contentSecurityPolicy"]
>;

/** The default Content-Security-Policy: same-origin assets only, no framing, no plugins. */
export const DEFAULT_CSP: CspDirectives = {
  defaultSrc: ["'self'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'", "'unsafe-inline'"],
  imgSrc: ["'self'", "data:", "blob:"],
  fontSrc: ["'self'", "data:"],
  connectSrc: ["'self'"],
  objectSrc: ["'none'"],
  baseUri: ["'none'"],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
};

/** Options of {@link securityHeaders}. */
export interface SecurityHeadersOptions {
  /** The policy (default {@link DEFAULT_CSP}). */
  readonly contentSecurityPolicy?: CspDirectives;
  /**
   * Whether headers a route (or a middleware nearer to it) already set are kept: true for the
   * app-wide copy, so a route's own policy wins. Default false (this middleware's headers win).
   */
  readonly keepRouteHeaders?: boolean;
}

/** Middleware adding the security headers to every response it wraps. */
export function securityHeaders(options: SecurityHeadersOptions = {}): MiddlewareHandler {
  return secureHeaders({
    contentSecurityPolicy: options.contentSecurityPolicy ?? DEFAULT_CSP,
    xFrameOptions: "DENY",
    crossOriginResourcePolicy: false,
    strictTransportSecurity: false,
    overwrite: !options.keepRouteHeaders,
  });
}
