/**
 * Rendering a gallery page: the HTML response every page goes through (never cached, varying by
 * cookie; the security headers come from the routes' middleware), the frame a page shares, the
 * message page for errors, and errors and images as pages show them.
 *
 * @module
 */
import type { Context } from "hono";
import { html } from "hono/html";
import type { Child } from "hono/jsx";
import type { ImageRecord } from "../../core_types.ts";
import { type AppError, toAppError } from "../../errors.ts";
import type { ShownError, ShownImage } from "./components.tsx";
import type { GalleryContext } from "./context.ts";
import { formToken } from "./form_token.ts";
import type { Frame } from "./layout.tsx";
import { type GalleryRequest, type PageRequest, readPageRequest } from "./page_request.ts";
import { MessagePage } from "./simple_pages.tsx";

/** The HTML response of a page. */
export function page(c: Context, node: Child, status = 200): Response | Promise<Response> {
  c.header("Cache-Control", "no-store");
  c.header("Vary", "Cookie");
  return c.html(html`<!DOCTYPE html>${node}`, status as 200);
}

/** The frame of a page for `req`. */
export async function frameOf(req: PageRequest): Promise<Frame> {
  return { assets: req.ctx.assets, viewer: req.viewer, csrf: await formToken(req) };
}

/** An error as pages show it (message redacted). */
export function shownError(ctx: GalleryContext, error: unknown): ShownError {
  const appError = toAppError(error);
  return {
    kind: appError.kind,
    message: ctx.redact(appError.message),
    retryAfterSeconds: appError.retryAfterSeconds,
  };
}

/** Images as cards show them, with their thumbnail URLs. */
export async function shownImages(
  ctx: GalleryContext,
  records: readonly ImageRecord[],
): Promise<ShownImage[]> {
  return await Promise.all(
    records.map(async (record) => ({ record, thumbUrl: await ctx.imageUrl(record, "thumb") })),
  );
}

/**
 * The message page for `error`, with the status of the error (a 5xx as 500, a cancellation as
 * 409) unless `status` is given. Without a viewer (an error before it was known) it is read again.
 */
export async function messagePage(
  req: GalleryRequest | PageRequest,
  error: AppError,
  status?: number,
): Promise<Response> {
  const { ctx, c } = req;
  const request = "viewer" in req ? req : await readPageRequest(ctx, c).catch(() => null);
  const frame: Frame = request ? await frameOf(request) : {
    assets: ctx.assets,
    csrf: "",
    viewer: { principal: null, authRequired: true, signedIn: false },
  };
  const code = status ?? (error.status >= 400 && error.status < 499 ? error.status : 500);
  if (error.retryAfterSeconds !== undefined) {
    c.header("Retry-After", String(Math.max(1, Math.ceil(error.retryAfterSeconds))));
  }
  return page(
    c,
    <MessagePage frame={frame} kind={error.kind} message={ctx.redact(error.message)} />,
    code === 499 ? 409 : code,
  );
}
