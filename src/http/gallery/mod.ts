/**
 * The web gallery, as a Hono sub-app mounted at `/`: server-rendered pages that work without
 * JavaScript (the one script only adds live progress, model-dependent form choices and copy-link).
 *
 * Routes, one module per page in `routes/`:
 * - `GET /` — the grid (`routes/gallery.tsx`)
 * - `GET /gallery/:id` (`/i/:id` redirects), `POST /gallery/:id/edit`, `/delete` (`routes/detail.tsx`)
 * - `GET|POST /generate` — the form; a POST starts a job, 303 to `/jobs/:id` (`routes/generate.tsx`)
 * - `GET /jobs/:id`, `POST /jobs/:id/cancel` (`routes/job.tsx`); `GET /jobs/:id/events`, server-sent
 *   events `progress`, `partial`, `done`, `failure` (`routes/job_events.ts`)
 * - `GET|POST /login`, `POST /logout` (`routes/login.tsx`)
 * - `GET /connected-apps`, `POST /connected-apps/:id/revoke` — OAuth grants (`routes/connected_apps.tsx`)
 * - `GET|POST /oauth/authorize`, the OAuth consent page, when the built-in authorization server is
 *   active (`routes/consent.tsx`; the protocol is `../oauth/consent.ts`)
 * - `/assets/*`, `/favicon.svg`, `/favicon.ico` (`routes/assets.ts`)
 *
 * Shared by the routes: who is asking (`page_request.ts`), sessions (`session.ts`), the form token
 * every state-changing form carries (`form_token.ts`), the security headers (`headers.ts`),
 * rendering (`render.tsx`) and starting jobs (`start_job.ts`). Who may do what is the core's
 * decision (docs/authorization.md); the pages only choose which controls to offer.
 *
 * The sub-app registers no `*` middleware (each route carries the security headers itself), so
 * mounting it does not touch the other routes.
 *
 * @module
 */
import { Hono } from "hono";
import { toAppError } from "../../errors.ts";
import { getLog } from "../../log.ts";
import { createGalleryContext, type GalleryDeps } from "./context.ts";
import { messagePage } from "./render.tsx";
import { registerAssetRoutes } from "./routes/assets.ts";
import { registerConnectedAppsRoutes } from "./routes/connected_apps.tsx";
import { registerDetailRoutes } from "./routes/detail.tsx";
import { registerGalleryRoutes } from "./routes/gallery.tsx";
import { registerGenerateRoutes } from "./routes/generate.tsx";
import { registerJobEventRoutes } from "./routes/job_events.ts";
import { registerJobRoutes } from "./routes/job.tsx";
import { registerLoginRoutes } from "./routes/login.tsx";
import { registerConsentRoutes } from "./routes/consent.tsx";

export type { GalleryDeps } from "./context.ts";

const log = getLog("http", "gallery");

/** Builds the gallery sub-app. Nothing is read or opened until a request arrives. */
export function createGalleryApp(deps: GalleryDeps): Hono {
  const ctx = createGalleryContext(deps);
  const app = new Hono();
  app.onError(async (error, c) => {
    const appError = toAppError(error);
    if (appError.kind === "internal") {
      log.error("Gallery request failed: {error}", { error: String(error) });
    }
    return await messagePage({ ctx, c }, appError);
  });
  registerAssetRoutes(app, ctx);
  registerGalleryRoutes(app, ctx);
  registerDetailRoutes(app, ctx);
  registerGenerateRoutes(app, ctx);
  registerJobRoutes(app, ctx);
  registerJobEventRoutes(app, ctx);
  registerLoginRoutes(app, ctx);
  registerConnectedAppsRoutes(app, ctx);
  if (deps.oauthConsent !== undefined) registerConsentRoutes(app, ctx, deps.oauthConsent);
  return app;
}
