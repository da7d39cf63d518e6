/**
 * The HTTP side of OAuth: discovery documents, and for the built-in authorization server its
 * token, registration and revocation endpoints and the consent flow the gallery's authorize page
 * drives (the page itself is in `gallery/`, in the gallery's look).
 *
 * @module
 */
import type { Hono } from "hono";
import type { HttpEnv } from "../deps.ts";
import type { RouteContext } from "../route_context.ts";
import { registerMetadataRoutes } from "./metadata_routes.ts";
import { registerTokenRoutes } from "./token_routes.ts";
import type { HttpOAuth } from "./wiring.ts";

/** Registers the OAuth endpoints of `oauth` on `app`. */
export function registerOAuthRoutes(
  app: Hono<HttpEnv>,
  ctx: RouteContext,
  oauth: HttpOAuth,
): void {
  registerMetadataRoutes(app, oauth);
  if (oauth.authorizationServer !== undefined) {
    registerTokenRoutes(app, ctx, oauth, oauth.authorizationServer);
  }
}
