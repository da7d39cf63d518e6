/**
 * The HTTP door's parts, which the composition root (`src/app/`) assembles: the Hono app factory,
 * the gallery, the readiness probe's key, the request's own base URL, and what `/mcp` needs from
 * HTTP — the JSON-RPC body check and the session table.
 *
 * @module
 */
export { type AppDeps, createApp, type HttpApp } from "./app.ts";
export type { HttpEnv } from "./deps.ts";
export { requestBaseUrl } from "./client_ip.ts";
export { checkJsonRpcBody, isAcceptedId, type JsonRpcMessage } from "./jsonrpc_body.ts";
export { McpSessionTable } from "./mcp_sessions.ts";
export { createGalleryApp } from "./gallery/mod.ts";
export { readyProbeKey } from "./routes/legacy.ts";
export { createConsentFlow, type OAuthConsent } from "./oauth/consent.ts";
export { builtInOAuth, type HttpOAuth, oauthOffReason } from "./oauth/wiring.ts";
