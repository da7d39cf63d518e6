/**
 * Connected apps: `GET /connected-apps` lists the OAuth grants the viewer may see (their own,
 * everyone's for an admin), `POST /connected-apps/:id/revoke` revokes one. Whose grants a viewer
 * reaches is the core's decision (src/core/policy.ts): revoking someone else's as a user is 403.
 *
 * @module
 */
import type { Hono } from "hono";
import { grantScopeOf, listGrantsAs, revokeGrantAs } from "../../../core/mod.ts";
import { getLog } from "../../../log.ts";
import { ConnectedAppsPage } from "../connected_apps_page.tsx";
import type { GalleryContext } from "../context.ts";
import { readSubmittedForm } from "../form_token.ts";
import { callerOf, readPageRequest, toLogin } from "../page_request.ts";
import { frameOf, page } from "../render.tsx";

const log = getLog("http", "gallery");

const NOTICES: Record<string, string> = {
  revoked: "The app was revoked: its tokens are refused from now on.",
};

/** Path of the Connected apps page. */
export const CONNECTED_APPS_PATH = "/connected-apps";

/** Registers the Connected apps page and its Revoke action on `app`. */
export function registerConnectedAppsRoutes(app: Hono, ctx: GalleryContext): void {
  const { kv, now } = ctx;

  app.get(CONNECTED_APPS_PATH, ctx.headers, async (c) => {
    const req = await readPageRequest(ctx, c);
    if (req.viewer.principal === null) return toLogin(c);
    const caller = callerOf(req);
    return page(
      c,
      <ConnectedAppsPage
        frame={await frameOf(req)}
        grants={await listGrantsAs(kv, caller, { authToken: ctx.config.mcpAuthToken })}
        everyone={grantScopeOf(caller) === "all"}
        notice={NOTICES[c.req.query("notice") ?? ""]}
        now={now()}
      />,
    );
  });

  app.post(`${CONNECTED_APPS_PATH}/:id/revoke`, ctx.headers, async (c) => {
    const req = await readPageRequest(ctx, c);
    await readSubmittedForm(req);
    const principal = req.viewer.principal;
    if (principal === null) return toLogin(c, CONNECTED_APPS_PATH);
    const grant = await revokeGrantAs(kv, callerOf(req), c.req.param("id"), { now });
    log.info("OAuth grant {grant} of {owner} revoked from the gallery by {principal}", {
      grant: grant.id,
      owner: grant.principalId,
      principal: principal.id,
    });
    return c.redirect(`${CONNECTED_APPS_PATH}?notice=revoked`, 303);
  });
}
