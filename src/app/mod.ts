/**
 * The composition root: the whole HTTP app — REST, `/v1`, images, admin, docs, `/mcp` and the
 * gallery — built from the services, for the HTTP door and for every test of the whole app. The
 * only folder that imports both `src/http/` and `src/mcp/`.
 *
 * @module
 */
export { type ComposedHttpApp, createHttpApp, type HttpAppOptions } from "./http_app.ts";
export { oauthOffReason } from "../http/mod.ts";
