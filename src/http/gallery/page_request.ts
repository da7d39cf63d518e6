/**
 * Who a gallery request comes from. With auth off (no `MCP_AUTH_TOKEN`, no API key) there is no
 * sign-in: a caller is `ip:<address>` with the `user` role, except that a caller on a loopback
 * address (the person running the service on their own machine) is an admin. With auth on, a
 * session from the sign-in form decides; browsing without one (a guest) is allowed only when
 * `IMAGES_PUBLIC=true`.
 *
 * @module
 */
import type { Context } from "hono";
import { anonymousPrincipal, authRequired } from "../../auth/tokens.ts";
import type { Caller } from "../../core_types.ts";
import { clientIp, requestBaseUrl } from "../client_ip.ts";
import type { GalleryContext } from "./context.ts";
import type { Viewer } from "./layout.tsx";
import { type CookieScope, type Session, sessionCookie } from "./session.ts";

/** A request to the gallery, with the gallery it was made to. */
export interface GalleryRequest {
  /** The gallery. */
  readonly ctx: GalleryContext;
  /** The request's Hono context. */
  readonly c: Context;
}

/** A gallery request with its viewer, session and cookie scope. */
export interface PageRequest extends GalleryRequest {
  /** Who is looking. */
  readonly viewer: Viewer;
  /** Their session, when signed in. */
  readonly session: Session | null;
  /** How the gallery's cookies are scoped on this request. */
  readonly scope: CookieScope;
}

/** Reads who `c` comes from. */
export async function readPageRequest(ctx: GalleryContext, c: Context): Promise<PageRequest> {
  const { config, kv } = ctx;
  const base = requestBaseUrl(c, { trustProxy: config.trustProxy, publicBaseUrl: undefined });
  const scope: CookieScope = { secure: base.startsWith("https:") };
  if (!(await authRequired(config, kv))) {
    const principal = anonymousPrincipal(clientIp(c, config));
    const viewer = { principal, authRequired: false, signedIn: false };
    return { ctx, c, viewer, session: null, scope };
  }
  const session = await ctx.sessions.read(sessionCookie(c, scope));
  return {
    ctx,
    c,
    viewer: {
      principal: session?.principal ?? null,
      authRequired: true,
      signedIn: session !== null,
    },
    session,
    scope,
  };
}

/** The caller of a page request, as the core takes it. */
export function callerOf(req: PageRequest): Caller {
  return { principal: req.viewer.principal, door: "http" };
}

/** Whether the viewer may see images (a guest only when `IMAGES_PUBLIC=true`). */
export function canBrowse(req: PageRequest): boolean {
  return !req.viewer.authRequired || req.viewer.principal !== null || req.ctx.config.imagesPublic;
}

/** A path on this site to return to, or `/` when `raw` is anything else. */
export function safeNext(raw: string | undefined): string {
  if (!raw || raw.length > 1000 || !raw.startsWith("/") || /^\/[/\\]/.test(raw)) return "/";
  if ([...raw].some((ch) => ch.charCodeAt(0) < 0x20)) return "/";
  return raw;
}

/** A redirect to the sign-in form, which returns to `next` (default: this page). */
export function toLogin(c: Context, next?: string): Response {
  const url = new URL(c.req.url);
  const target = next ?? `${url.pathname}${url.search}`;
  return c.redirect(`/login?next=${encodeURIComponent(safeNext(target))}`, 303);
}
