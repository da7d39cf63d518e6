/**
 * The gallery's security headers: the app-wide set (`middleware/security_headers.ts`, Hono's
 * `secureHeaders`) with a stricter Content-Security-Policy — nothing but the gallery's own
 * script, stylesheet and images (plus `data:`/`blob:` previews and, behind `PUBLIC_BASE_URL`, that
 * origin's image URLs), no inline code of any kind, forms posting only here. Every page's script
 * and style are files, so no nonce is needed.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import type { Config } from "../../config.ts";
import { type CspDirectives, securityHeaders } from "../middleware/security_headers.ts";

/** The gallery's Content-Security-Policy under `config`. */
export function galleryCsp(config: Pick<Config, "publicBaseUrl">): CspDirectives {
  const imgSrc = ["'self'", "data:", "blob:"];
  if (config.publicBaseUrl) imgSrc.push(new URL(config.publicBaseUrl).origin);
  return {
    defaultSrc: ["'none'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'"],
    imgSrc,
    connectSrc: ["'self'"],
    formAction: ["'self'"],
    baseUri: ["'none'"],
    frameAncestors: ["'none'"],
    objectSrc: ["'none'"],
  };
}

/** Middleware setting the gallery's security headers on the responses of a route. */
export function galleryHeaders(config: Pick<Config, "publicBaseUrl">): MiddlewareHandler {
  return securityHeaders({ contentSecurityPolicy: galleryCsp(config) });
}
