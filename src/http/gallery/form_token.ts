/**
 * The form token (CSRF protection) of the gallery's state-changing forms: every form carries one
 * (the session's own, or without a session a double-submit token; see `session.ts`), and
 * {@link readSubmittedForm} refuses a form whose token is wrong or which did not come from the
 * gallery's own origin.
 *
 * Why not Hono's `csrf` middleware: the edge guard (`edge/guard.ts`) already checks `Origin` and
 * `Sec-Fetch-Site` of every state-changing request app-wide, which is all `csrf` does. The check
 * here is narrower — only the gallery's own origin, not the other origins the API allows — and it
 * lets a form with neither header through to the token (non-browser clients), where `csrf`
 * refuses such a form outright and accepts one whose `Sec-Fetch-Site` alone looks right; it also
 * answers with the gallery's own page rather than a bare `Forbidden`.
 *
 * @module
 */
import type { Context } from "hono";
import { AppError, ValidationError } from "../../errors.ts";
import { requestBaseUrl } from "../client_ip.ts";
import type { GalleryContext } from "./context.ts";
import type { PageRequest } from "./page_request.ts";
import { csrfNonce, existingCsrfNonce, tokensEqual } from "./session.ts";

/** Largest form body accepted, in bytes (a 32,000-character prompt fits several times). */
const MAX_FORM_BYTES = 512 * 1024;

/** The token the forms of a page for `req` carry. */
export async function formToken(req: PageRequest): Promise<string> {
  if (req.session) return req.session.csrf;
  return await req.ctx.csrf.tokenFor(csrfNonce(req.c, req.scope));
}

/** The text fields of a submitted form, once its origin and token are checked. */
export async function readSubmittedForm(req: PageRequest): Promise<Record<string, string>> {
  const { ctx, c } = req;
  const form = await readForm(c);
  const token = form._csrf;
  const valid = sameOrigin(ctx, c) &&
    (req.session
      ? tokensEqual(token, req.session.csrf)
      : await ctx.csrf.verify(existingCsrfNonce(c, req.scope), token));
  if (!valid) {
    throw new AppError(
      "forbidden",
      "This form has expired or did not come from this site: reload the page and try again",
    );
  }
  return form;
}

async function readForm(c: Context): Promise<Record<string, string>> {
  const length = Number(c.req.header("content-length") ?? "0");
  if (length > MAX_FORM_BYTES) {
    throw new AppError("payload_too_large", "The form is too large: shorten the prompt");
  }
  let body: Awaited<ReturnType<typeof c.req.parseBody>>;
  try {
    body = await c.req.parseBody();
  } catch (error) {
    // Past the limit the edge answers 413 itself; anything else is the client's malformed form.
    throw new ValidationError("body", `Malformed form body: ${(error as Error).message}`);
  }
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(body)) {
    if (typeof value === "string") out[name] = value;
  }
  return out;
}

/** Whether a browser's `Sec-Fetch-Site` and `Origin` (when sent) say the form is the gallery's. */
function sameOrigin(ctx: GalleryContext, c: Context): boolean {
  const { config } = ctx;
  const site = c.req.header("sec-fetch-site");
  if (site !== undefined && site !== "same-origin" && site !== "none") return false;
  const origin = c.req.header("origin");
  if (origin === undefined || origin === "null") return origin === undefined;
  const own = new Set([
    new URL(c.req.url).origin,
    new URL(requestBaseUrl(c, config)).origin,
    new URL(requestBaseUrl(c, { trustProxy: config.trustProxy, publicBaseUrl: undefined }))
      .origin,
  ]);
  return own.has(origin);
}
