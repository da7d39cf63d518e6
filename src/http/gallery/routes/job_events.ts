/**
 * `GET /jobs/:id/events`: a job's progress as server-sent events — `progress` (stage and elapsed
 * seconds, every second), `partial` (a partial image as a data URL), then `done` (image ids and the
 * job page's URL) or `failure` (what went wrong). A job started in this process is followed
 * through the gallery's tracker; any other through the core's records, for at most five minutes
 * per stream before the browser reconnects.
 *
 * @module
 */
import type { Hono } from "hono";
import { sleep } from "../../../clock.ts";
import { AppError } from "../../../errors.ts";
import { type SendEvent, sseResponse } from "../../sse.ts";
import type { GalleryContext } from "../context.ts";
import { stageLabel } from "../format.ts";
import { isJobId } from "../../../images/mod.ts";
import type { TrackedJob } from "../jobs.ts";
import { callerOf, type PageRequest, readPageRequest } from "../page_request.ts";
import { shownError } from "../render.tsx";

/** How long one event stream of a job followed through KV stays open before the browser reconnects. */
const KV_STREAM_MS = 5 * 60_000;

/** Follows a job of this process until it ends or the client goes away. */
async function followTracked(
  ctx: GalleryContext,
  job: TrackedJob,
  send: SendEvent,
  signal: AbortSignal,
): Promise<void> {
  const progress = () =>
    send("progress", {
      stage: job.stage,
      stageLabel: stageLabel(job.stage),
      elapsedSeconds: Math.floor((ctx.now() - job.started) / 1000),
    });
  const outcome = () => {
    if (job.outcome?.state === "succeeded") {
      send("done", { imageIds: job.outcome.images.map((r) => r.id), url: `/jobs/${job.id}` });
    } else if (job.outcome?.state === "failed") {
      send("failure", { ...job.outcome.error, url: `/jobs/${job.id}` });
    }
  };
  for (const [index, dataUrl] of job.partials) send("partial", { index, dataUrl });
  progress();
  if (job.outcome) return outcome();
  if (signal.aborted) return;
  await new Promise<void>((resolve) => {
    const timer = setInterval(progress, 1000);
    const unsubscribe = ctx.jobs.subscribe(job, (event) => {
      if (event.type === "partial") {
        send("partial", { index: event.index, dataUrl: event.dataUrl });
      } else if (event.type === "progress") progress();
      else {
        outcome();
        stop();
      }
    });
    function stop() {
      clearInterval(timer);
      unsubscribe();
      signal.removeEventListener("abort", stop);
      resolve();
    }
    signal.addEventListener("abort", stop, { once: true });
  });
}

/** Follows a job through the core's records until it ends, the client goes away or time is up. */
async function followLookup(
  req: PageRequest,
  id: string,
  send: SendEvent,
  signal: AbortSignal,
): Promise<void> {
  const { ctx } = req;
  const until = ctx.now() + KV_STREAM_MS;
  while (!signal.aborted && ctx.now() < until) {
    const found = isJobId(id)
      ? await ctx.images.lookup(id, callerOf(req), { waitMs: 1000, signal })
      : { status: "missing" as const };
    if (found.status === "missing") {
      send(
        "failure",
        failureOf(ctx, id, new AppError("not_found", `There is no generation ${id}`)),
      );
      return;
    }
    if (found.status === "ready") {
      send("done", { imageIds: [found.record.id], url: `/jobs/${id}` });
      return;
    }
    if (found.status === "failed") {
      send("failure", failureOf(ctx, id, found.error));
      return;
    }
    const stage = found.job.state === "running" ? "generating" : "queued";
    send("progress", {
      stage,
      stageLabel: stageLabel(stage),
      elapsedSeconds: Math.floor((ctx.now() - found.job.created) / 1000),
    });
    await sleep(250, signal);
  }
}

function failureOf(ctx: GalleryContext, id: string, error: unknown) {
  return { ...shownError(ctx, error), url: `/jobs/${id}` };
}

/** Registers the event stream of job pages on `app`. */
export function registerJobEventRoutes(app: Hono, ctx: GalleryContext): void {
  app.get("/jobs/:id/events", ctx.headers, async (c) => {
    const req = await readPageRequest(ctx, c);
    if (req.viewer.principal === null) {
      throw new AppError("unauthorized", "Sign in to follow this generation");
    }
    const id = c.req.param("id");
    return sseResponse(c, async (send, signal) => {
      const tracked = isJobId(id) ? ctx.jobs.getFor(id, callerOf(req), ctx.config) : undefined;
      if (tracked) await followTracked(ctx, tracked, send, signal);
      else await followLookup(req, id, send, signal);
    }, {
      onError: (error) => failureOf(ctx, id, error),
      errorEvent: "failure",
      retryMs: 2000,
      noStore: true,
    });
  });
}
