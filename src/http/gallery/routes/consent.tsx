/**
 * The OAuth authorization endpoint's pages: `GET /oauth/authorize` checks the request and shows
 * the consent page (or redirects an error back to the client), `POST /oauth/authorize` takes the
 * decision from the form (form token checked like every gallery form) and redirects to the
 * client. Approving needs an API key or `MCP_AUTH_TOKEN` typed into the form, or a gallery
 * session; a wrong key counts against the address like a wrong bearer token.
 *
 * The page's Content-Security-Policy lets its form lead to the client's redirect URI (browsers
 * apply `form-action` to the redirect after a form post).
 *
 * @module
 */
import type { Context, Hono } from "hono";
import { authenticate } from "../../../auth/mod.ts";
import type { Principal } from "../../../core_types.ts";
import { AppError } from "../../../errors.ts";
import type { AuthorizationRequest } from "../../../oauth/mod.ts";
import { recordAuthFailure, recordAuthorizationRequest } from "../../../ratelimit/mod.ts";
import { clientIp } from "../../client_ip.ts";
import { securityHeaders } from "../../middleware/security_headers.ts";
import type { OAuthConsent } from "../../oauth/consent.ts";
import { ConsentPage } from "../consent_page.tsx";
import type { GalleryContext } from "../context.ts";
import { readSubmittedForm } from "../form_token.ts";
import { galleryCsp } from "../headers.ts";
import { type PageRequest, readPageRequest } from "../page_request.ts";
import { frameOf, messagePage, page } from "../render.tsx";

const PATH = "/oauth/authorize";

/**
 * The CSP source matching `redirectUri`: its origin, or for a native app's private-use scheme
 * (`com.example.app:/callback`, RFC 8252 §7.1), whose origin is opaque, the scheme.
 */
function redirectSource(redirectUri: string): string {
  const url = new URL(redirectUri);
  return url.protocol === "https:" || url.protocol === "http:" ? url.origin : url.protocol;
}

/** Registers the authorization endpoint's pages on `app`. */
export function registerConsentRoutes(
  app: Hono,
  ctx: GalleryContext,
  consent: OAuthConsent,
): void {
  const { config, kv, now } = ctx;

  /** The page for `request`, its form allowed to lead to the request's redirect URI. */
  async function consentPage(
    req: PageRequest,
    requestId: string,
    request: AuthorizationRequest,
    error?: { message: string; status: number },
  ): Promise<Response> {
    const csp = {
      ...galleryCsp(config),
      formAction: ["'self'", redirectSource(request.redirectUri)],
    };
    const frame = await frameOf(req);
    await securityHeaders({ contentSecurityPolicy: csp })(req.c, async () => {
      req.c.res = await page(
        req.c,
        <ConsentPage
          frame={frame}
          requestId={requestId}
          request={request}
          error={error?.message}
        />,
        error?.status ?? 200,
      );
    });
    return req.c.res;
  }

  function redirect(c: Context, location: string): Response {
    c.header("Cache-Control", "no-store");
    return c.redirect(location, 303);
  }

  app.get(PATH, async (c) => {
    const req = await readPageRequest(ctx, c);
    // Each request may fetch a client metadata document and keeps a pending request in KV.
    const refusal = await recordAuthorizationRequest(kv, clientIp(c, config), { now });
    if (refusal !== null) throw refusal;
    const start = await consent.begin(new URL(c.req.url).searchParams, c.req.raw.signal);
    if (start.kind === "redirect") return redirect(c, start.location);
    if (start.kind === "refused") {
      await ctx.headers(c, async () => {
        c.res = await messagePage(req, new AppError("validation", start.error.message), 400);
      });
      return c.res;
    }
    return consentPage(req, start.requestId, start.request);
  });

  app.post(PATH, ctx.headers, async (c) => {
    const req = await readPageRequest(ctx, c);
    const form = await readSubmittedForm(req);
    const requestId = form.request ?? "";
    const pending = await consent.pending(requestId);
    if (pending === null) {
      throw new AppError(
        "not_found",
        "This sign-in request has expired or was already answered: start again from the application",
      );
    }
    if (form.decision === "deny") {
      const location = await consent.deny(requestId);
      if (location !== null) return redirect(c, location);
      throw new AppError("not_found", "This sign-in request was already answered");
    }
    const key = (form.key ?? "").trim();
    let principal: Principal | null = null;
    if (key !== "") {
      principal = await authenticate(kv, key, { authToken: config.mcpAuthToken, now });
      if (principal === null) {
        const lockout = await recordAuthFailure(kv, clientIp(c, config), {
          limit: config.authFailureLimit,
          now,
        });
        if (lockout !== null) throw lockout;
      }
    } else if (req.session !== null) {
      principal = req.session.principal;
    }
    if (principal === null) {
      const message = key === ""
        ? "Enter an API key or the service's access token to approve"
        : "That key was not accepted: check it and try again";
      return consentPage(req, requestId, pending, { message, status: 401 });
    }
    const location = await consent.approve(requestId, principal);
    if (location === null) {
      throw new AppError("not_found", "This sign-in request was already answered");
    }
    return redirect(c, location);
  });
}
