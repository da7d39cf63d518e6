/**
 * A generation's page, `GET /jobs/:id` (it refreshes itself without JavaScript; the script
 * follows `/jobs/:id/events`), and `POST /jobs/:id/cancel`. A job started from this process is
 * shown from the gallery's tracker (stage, partial images); any other from the core's records.
 *
 * @module
 */
import type { Hono } from "hono";
import type { ImageLookup } from "../../../core_types.ts";
import { permits } from "../../../core/policy.ts";
import { AppError } from "../../../errors.ts";
import type { GalleryContext } from "../context.ts";
import { readSubmittedForm } from "../form_token.ts";
import { stageLabel } from "../format.ts";
import { JobPage, type JobView } from "../job_page.tsx";
import { isJobId } from "../../../images/mod.ts";
import type { TrackedJob } from "../jobs.ts";
import { callerOf, type PageRequest, readPageRequest, toLogin } from "../page_request.ts";
import { frameOf, messagePage, page, shownError, shownImages } from "../render.tsx";

/** Whether to offer a cancel button (the core decides again when it is pressed). */
function mayCancel(req: PageRequest, job: TrackedJob | undefined): boolean {
  if (req.viewer.principal === null) return false;
  return permits(callerOf(req), "cancel", req.ctx.config, { id: "", creator: job?.owner ?? null });
}

async function trackedView(ctx: GalleryContext, job: TrackedJob): Promise<JobView> {
  if (job.outcome?.state === "succeeded") {
    return { state: "succeeded", images: await shownImages(ctx, job.outcome.images) };
  }
  if (job.outcome?.state === "failed") return { state: "failed", error: job.outcome.error };
  return {
    state: "running",
    elapsedSeconds: Math.floor((ctx.now() - job.started) / 1000),
    stageLabel: stageLabel(job.stage),
    partials: [...job.partials].map(([index, dataUrl]) => ({ index, dataUrl })),
  };
}

async function renderTracked(req: PageRequest, job: TrackedJob): Promise<Response> {
  return await page(
    req.c,
    <JobPage
      frame={await frameOf(req)}
      jobId={job.id}
      prompt={job.prompt}
      model={job.model}
      count={job.imageIds.length}
      view={await trackedView(req.ctx, job)}
      canCancel={mayCancel(req, job)}
    />,
  );
}

async function renderLookup(req: PageRequest, id: string): Promise<Response> {
  const { ctx } = req;
  const found: ImageLookup = isJobId(id)
    ? await ctx.images.lookup(id, callerOf(req), { waitMs: 0 })
    : { status: "missing" };
  if (found.status === "missing") {
    return await messagePage(
      req,
      new AppError("not_found", `There is no generation ${id.slice(0, 80)}`),
    );
  }
  let view: JobView;
  let model: string | undefined;
  let count = 1;
  if (found.status === "pending") {
    model = found.job.model;
    count = found.job.imageIds.length;
    view = {
      state: "running",
      elapsedSeconds: Math.floor((ctx.now() - found.job.created) / 1000),
      stageLabel: stageLabel(found.job.state === "running" ? "generating" : "queued"),
      partials: [],
    };
  } else if (found.status === "failed") {
    model = found.job.model;
    view = { state: "failed", error: shownError(ctx, found.error) };
  } else {
    model = found.record.model;
    view = { state: "succeeded", images: await shownImages(ctx, [found.record]) };
  }
  return await page(
    req.c,
    <JobPage
      frame={await frameOf(req)}
      jobId={id}
      prompt={found.status === "ready" ? found.record.prompt : undefined}
      model={model}
      count={count}
      view={view}
      canCancel={mayCancel(req, undefined)}
    />,
  );
}

/** Registers the job page and its cancel action on `app`. */
export function registerJobRoutes(app: Hono, ctx: GalleryContext): void {
  app.get("/jobs/:id", ctx.headers, async (c) => {
    const req = await readPageRequest(ctx, c);
    if (req.viewer.principal === null) return toLogin(c);
    const id = c.req.param("id");
    const tracked = isJobId(id) ? ctx.jobs.getFor(id, callerOf(req), ctx.config) : undefined;
    return tracked ? await renderTracked(req, tracked) : await renderLookup(req, id);
  });

  app.post("/jobs/:id/cancel", ctx.headers, async (c) => {
    const req = await readPageRequest(ctx, c);
    await readSubmittedForm(req);
    if (req.viewer.principal === null) return toLogin(c);
    const id = c.req.param("id");
    if (isJobId(id)) await ctx.images.cancel(id, callerOf(req));
    return c.redirect(`/jobs/${id}`, 303);
  });
}
