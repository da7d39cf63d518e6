/**
 * `GET /` — the grid, newest first; `?q=` searches prompts, `?model=` filters, `?cursor=` pages,
 * `?notice=` shows the note of a finished action (deleted, signed out).
 *
 * @module
 */
import type { Hono } from "hono";
import type { ImageRecord } from "../../../core_types.ts";
import { toAppError } from "../../../errors.ts";
import type { ShownError } from "../components.tsx";
import type { GalleryContext } from "../context.ts";
import { GalleryPage } from "../gallery_page.tsx";
import { callerOf, canBrowse, readPageRequest, toLogin } from "../page_request.ts";
import { frameOf, page, shownError, shownImages } from "../render.tsx";

/** Images per gallery page. */
export const PAGE_SIZE = 24;

const NOTICES: Record<string, string> = {
  deleted: "The image was deleted.",
  signed_out: "You are signed out.",
};

/** Registers the grid on `app`. */
export function registerGalleryRoutes(app: Hono, ctx: GalleryContext): void {
  const { images, registry } = ctx;
  app.get("/", ctx.headers, async (c) => {
    const req = await readPageRequest(ctx, c);
    if (!canBrowse(req)) return toLogin(c);
    const query = (c.req.query("q") ?? "").trim().slice(0, 200);
    const modelParam = (c.req.query("model") ?? "").trim();
    const model = registry.get(modelParam)?.id ?? (modelParam.length <= 100 ? modelParam : "");
    const cursor = c.req.query("cursor") || undefined;
    let items: readonly ImageRecord[] = [];
    let nextCursor: string | undefined;
    let error: ShownError | undefined;
    try {
      const result = await images.list(callerOf(req), {
        limit: PAGE_SIZE,
        ...(cursor ? { cursor } : {}),
        ...(model ? { model } : {}),
        ...(query ? { query } : {}),
      });
      items = result.items;
      nextCursor = result.nextCursor;
    } catch (thrown) {
      const appError = toAppError(thrown);
      if (appError.kind === "internal") throw thrown;
      error = appError.field === "cursor"
        ? {
          kind: "not_found",
          message: "This page link is no longer valid: start from the newest images",
        }
        : shownError(ctx, appError);
    }
    let nextHref: string | undefined;
    if (nextCursor) {
      const params = new URLSearchParams();
      if (query) params.set("q", query);
      if (model) params.set("model", model);
      params.set("cursor", nextCursor);
      nextHref = `/?${params}`;
    }
    const models = registry.ids();
    if (model && !models.includes(model)) models.push(model);
    return page(
      c,
      <GalleryPage
        frame={await frameOf(req)}
        images={await shownImages(ctx, items)}
        query={query}
        model={model}
        models={models}
        paged={cursor !== undefined}
        nextHref={nextHref}
        notice={NOTICES[c.req.query("notice") ?? ""]}
        error={error}
        canGenerate={req.viewer.principal !== null}
        now={ctx.now()}
      />,
    );
  });
}
