/**
 * One image: `GET /gallery/:id` (`/i/:id` redirects there; an id still being generated redirects
 * to its job), `POST /gallery/:id/edit` starts an edit of it, `POST /gallery/:id/delete` deletes
 * it. Who may edit or delete is the core's decision; the page only chooses which controls to offer.
 *
 * @module
 */
import type { Hono } from "hono";
import type { ImageRecord } from "../../../core_types.ts";
import { permits } from "../../../core/policy.ts";
import { AppError, toAppError, ValidationError } from "../../../errors.ts";
import { isImageId } from "../../../images/ids.ts";
import { getLog } from "../../../log.ts";
import { requestBaseUrl } from "../../client_ip.ts";
import type { ShownError } from "../components.tsx";
import type { GalleryContext } from "../context.ts";
import { DetailPage } from "../detail_page.tsx";
import { readSubmittedForm } from "../form_token.ts";
import { formText } from "../form_request.ts";
import {
  callerOf,
  canBrowse,
  type PageRequest,
  readPageRequest,
  toLogin,
} from "../page_request.ts";
import { frameOf, messagePage, page, shownError } from "../render.tsx";
import { startJob } from "../start_job.ts";

const log = getLog("http", "gallery");

interface DetailExtras {
  error?: ShownError;
  editPrompt?: string;
  notice?: string;
  status?: number;
}

/** The model an edit of `record` uses, or null when its model cannot edit (now). */
function editModelFor(ctx: GalleryContext, record: ImageRecord): string | null {
  const model = ctx.registry.get(record.model);
  if (!model || !model.edits.supported) return null;
  return ctx.registry.availableIds(new Date(ctx.now())).includes(model.id) ? model.id : null;
}

async function renderDetail(
  req: PageRequest,
  record: ImageRecord,
  extra: DetailExtras = {},
): Promise<Response> {
  const { ctx, c } = req;
  const fullUrl = await ctx.imageUrl(record, "full");
  const shareUrl = new URL(fullUrl, `${requestBaseUrl(c, ctx.config)}/`).href;
  return page(
    c,
    <DetailPage
      frame={await frameOf(req)}
      record={record}
      fullUrl={fullUrl}
      shareUrl={shareUrl}
      canEdit={req.viewer.principal !== null}
      canDelete={permits(callerOf(req), "delete", ctx.config, record)}
      editModel={editModelFor(ctx, record)}
      editPrompt={extra.editPrompt}
      error={extra.error}
      notice={extra.notice}
      now={ctx.now()}
    />,
    extra.status,
  );
}

function noImage(req: PageRequest, id: string): Promise<Response> {
  return messagePage(req, new AppError("not_found", `There is no image ${id.slice(0, 80)}`));
}

/** Registers the image page and its actions on `app`. */
export function registerDetailRoutes(app: Hono, ctx: GalleryContext): void {
  const { images } = ctx;

  app.get(
    "/i/:id",
    ctx.headers,
    (c) => c.redirect(`/gallery/${encodeURIComponent(c.req.param("id"))}`, 301),
  );

  app.get("/gallery/:id", ctx.headers, async (c) => {
    const req = await readPageRequest(ctx, c);
    if (!canBrowse(req)) return toLogin(c);
    const id = c.req.param("id");
    const record = isImageId(id) ? await images.get(id, callerOf(req)) : null;
    if (record === null) {
      if (isImageId(id)) {
        const found = await images.lookup(id, callerOf(req), { waitMs: 0 });
        if (found.status === "pending") return c.redirect(`/jobs/${found.job.id}`, 303);
      }
      return await noImage(req, id);
    }
    return await renderDetail(req, record);
  });

  app.post("/gallery/:id/edit", ctx.headers, async (c) => {
    const req = await readPageRequest(ctx, c);
    const form = await readSubmittedForm(req);
    const principal = req.viewer.principal;
    if (principal === null) return toLogin(c, `/gallery/${c.req.param("id")}`);
    const id = c.req.param("id");
    const record = isImageId(id) ? await images.get(id, callerOf(req)) : null;
    if (record === null) return await noImage(req, id);
    const prompt = formText(form, "prompt");
    try {
      if (prompt === "") {
        throw new ValidationError("prompt", "Describe the change: the edit prompt is empty");
      }
      const model = editModelFor(ctx, record);
      const jobId = await startJob(ctx, {
        kind: "edit",
        input: { prompt, images: [record.id], ...(model ? { model } : {}) },
        principal,
      });
      return c.redirect(`/jobs/${jobId}`, 303);
    } catch (thrown) {
      const appError = toAppError(thrown);
      if (appError.kind === "internal") throw thrown;
      return await renderDetail(req, record, {
        error: shownError(ctx, appError),
        editPrompt: prompt,
        status: appError.status,
      });
    }
  });

  app.post("/gallery/:id/delete", ctx.headers, async (c) => {
    const req = await readPageRequest(ctx, c);
    await readSubmittedForm(req);
    if (req.viewer.principal === null) return toLogin(c, `/gallery/${c.req.param("id")}`);
    const id = c.req.param("id");
    if (!isImageId(id) || !(await images.delete(id, callerOf(req)))) return await noImage(req, id);
    log.info("Image {id} deleted from the gallery by {principal}", {
      id,
      principal: req.viewer.principal.id,
    });
    return c.redirect("/?notice=deleted", 303);
  });
}
