/**
 * Discovery: `/.well-known/oauth-protected-resource` (RFC 9728; also at the path-inserted
 * `/.well-known/oauth-protected-resource/mcp` for the resource `/mcp`) and, for the built-in
 * server, `/.well-known/oauth-authorization-server` (RFC 8414). The MCP authorization
 * specification asks an authorization server for one of RFC 8414 and OpenID Connect Discovery and
 * its clients to try both; this server is no OpenID provider, so it publishes RFC 8414 only.
 *
 * @module
 */
import type { Hono } from "hono";
import {
  authorizationServerMetadata,
  OAUTH_PATHS,
  protectedResourceMetadata,
} from "../../oauth/mod.ts";
import type { HttpEnv } from "../deps.ts";
import type { HttpOAuth } from "./wiring.ts";

const CACHE = "public, max-age=300";

/** Registers the discovery documents of `oauth` on `app`. */
export function registerMetadataRoutes(app: Hono<HttpEnv>, oauth: HttpOAuth): void {
  const resource = protectedResourceMetadata({ baseUrl: oauth.baseUrl, issuer: oauth.issuer });
  for (const path of [OAUTH_PATHS.protectedResource, `${OAUTH_PATHS.protectedResource}/mcp`]) {
    app.get(path, (c) => c.json(resource, 200, { "Cache-Control": CACHE }));
  }
  const server = oauth.authorizationServer;
  if (server === undefined) return;
  const metadata = authorizationServerMetadata(oauth.baseUrl, {
    dcr: server.dcr,
    clientMetadataDocuments: server.resolveClientMetadata !== undefined,
  });
  app.get(
    OAUTH_PATHS.authorizationServer,
    (c) => c.json(metadata, 200, { "Cache-Control": CACHE }),
  );
}
