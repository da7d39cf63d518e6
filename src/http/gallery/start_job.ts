/**
 * Starting a generation or edit from a gallery form: the core runs it, detached from the request
 * (it finishes when the browser goes away), and the gallery's tracker follows its progress and
 * partial images for the job page.
 *
 * @module
 */
import type { Principal } from "../../core_types.ts";
import type { GalleryContext } from "./context.ts";

/** What {@link startJob} starts. */
export interface JobStart {
  /** Which kind of job. */
  readonly kind: "generate" | "edit";
  /** The request, as the core takes it. */
  readonly input: Record<string, unknown>;
  /** Who starts it. */
  readonly principal: Principal;
}

/** Starts a job from a form's request; answers the job's id. */
export async function startJob(ctx: GalleryContext, start: JobStart): Promise<string> {
  const { kind, input, principal } = start;
  const partialImages = typeof input.partial_images === "number" ? input.partial_images : 0;
  const model = typeof input.model === "string" ? input.model : ctx.config.defaultModel;
  const prepared = ctx.jobs.prepare({
    model,
    prompt: String(input.prompt ?? ""),
    owner: principal.id,
    partialImages,
  });
  const job = await ctx.images[kind](input, {
    door: "http",
    principal,
    onProgress: prepared.onProgress,
    partialImages,
  });
  // Not following a caller's signal: the job finishes even when the browser goes away.
  job.detach();
  ctx.jobs.register(prepared.job, job, job.done);
  return job.id;
}
