/**
 * Signing in and out: `GET /login` shows the form (or returns to `?next=` when there is nothing to
 * sign in to), `POST /login` exchanges an API key (or `MCP_AUTH_TOKEN`) for a session, `POST
 * /logout` ends it. A wrong key counts against the caller's address like a wrong bearer token.
 *
 * @module
 */
import type { Hono } from "hono";
import { authenticate } from "../../../auth/tokens.ts";
import { getLog } from "../../../log.ts";
import { recordAuthFailure } from "../../../ratelimit/auth_failures.ts";
import { clientIp } from "../../client_ip.ts";
import type { GalleryContext } from "../context.ts";
import { readSubmittedForm } from "../form_token.ts";
import { readPageRequest, safeNext } from "../page_request.ts";
import { frameOf, page } from "../render.tsx";
import { clearSessionCookie, sessionCookie, setSessionCookie } from "../session.ts";
import { LoginPage } from "../simple_pages.tsx";

const log = getLog("http", "gallery");

/** Registers the sign-in form and sign-out on `app`. */
export function registerLoginRoutes(app: Hono, ctx: GalleryContext): void {
  const { config, kv, sessions, now } = ctx;

  app.get("/login", ctx.headers, async (c) => {
    const req = await readPageRequest(ctx, c);
    const next = safeNext(c.req.query("next"));
    if (!req.viewer.authRequired || req.session) return c.redirect(next, 303);
    return page(c, <LoginPage frame={await frameOf(req)} next={next} />);
  });

  app.post("/login", ctx.headers, async (c) => {
    const req = await readPageRequest(ctx, c);
    const form = await readSubmittedForm(req);
    const next = safeNext(form.next);
    if (!req.viewer.authRequired) return c.redirect(next, 303);
    const key = (form.key ?? "").trim();
    const principal = key === ""
      ? null
      : await authenticate(kv, key, { authToken: config.mcpAuthToken, now });
    if (principal === null) {
      // A wrong key counts against the address like a wrong bearer token on the API; the right
      // key is never held back, so a shared address cannot lock its people out.
      const lockout = key === "" ? null : await recordAuthFailure(kv, clientIp(c, config), {
        limit: config.authFailureLimit,
        now,
      });
      if (lockout !== null) c.header("Retry-After", String(lockout.retryAfterSeconds));
      return page(
        c,
        <LoginPage
          frame={await frameOf(req)}
          next={next}
          error={lockout === null
            ? "That key was not accepted: check it and try again"
            : `Too many attempts: try again in ${lockout.retryAfterSeconds} s`}
        />,
        lockout === null ? 401 : 429,
      );
    }
    // A new session id on every sign-in, so a planted cookie can never become a session.
    await sessions.delete(sessionCookie(c, req.scope));
    const created = await sessions.create(principal);
    setSessionCookie(
      c,
      req.scope,
      created.id,
      Math.floor((created.session.expires - now()) / 1000),
    );
    log.info("Gallery sign-in by {principal}", { principal: principal.id });
    return c.redirect(next, 303);
  });

  app.post("/logout", ctx.headers, async (c) => {
    const req = await readPageRequest(ctx, c);
    await readSubmittedForm(req);
    await sessions.delete(sessionCookie(c, req.scope));
    clearSessionCookie(c, req.scope);
    return c.redirect("/?notice=signed_out", 303);
  });
}
