/**
 * The generate form: `GET /generate` (`?prompt=` fills it in), `POST /generate` starts a job and
 * answers 303 to `/jobs/:id`, or shows the form again with what was wrong.
 *
 * @module
 */
import type { Hono } from "hono";
import { toAppError } from "../../../errors.ts";
import type { ShownError } from "../components.tsx";
import type { GalleryContext } from "../context.ts";
import { formRequest } from "../form_request.ts";
import { readSubmittedForm } from "../form_token.ts";
import { GeneratePage, type GenerateValues } from "../generate_page.tsx";
import { modelChoices } from "../model_options.ts";
import { callerOf, type PageRequest, readPageRequest, toLogin } from "../page_request.ts";
import { frameOf, page, shownError } from "../render.tsx";
import { startJob } from "../start_job.ts";

interface FormState {
  values: GenerateValues;
  error?: ShownError;
  status?: number;
}

async function renderGenerate(req: PageRequest, state: FormState): Promise<Response> {
  const { ctx, c } = req;
  const choices = modelChoices(ctx.registry, {
    now: new Date(ctx.now()),
    defaultModel: ctx.config.defaultModel,
    defaultQuality: ctx.config.defaultQuality,
  });
  return page(
    c,
    <GeneratePage
      frame={await frameOf(req)}
      models={choices.models}
      defaultModel={choices.defaultModel}
      values={state.values}
      error={state.error}
      hourlyLimit={(await ctx.images.allowance(callerOf(req))).imagesPerHour}
    />,
    state.status,
  );
}

/** Registers the generate form on `app`. */
export function registerGenerateRoutes(app: Hono, ctx: GalleryContext): void {
  app.get("/generate", ctx.headers, async (c) => {
    const req = await readPageRequest(ctx, c);
    if (req.viewer.principal === null) return toLogin(c);
    const prompt = c.req.query("prompt");
    return await renderGenerate(req, {
      values: prompt ? { prompt: prompt.slice(0, 32_000) } : {},
    });
  });

  app.post("/generate", ctx.headers, async (c) => {
    const req = await readPageRequest(ctx, c);
    const form = await readSubmittedForm(req);
    const principal = req.viewer.principal;
    if (principal === null) return toLogin(c, "/generate");
    const values: GenerateValues = {
      prompt: form.prompt,
      model: form.model,
      size: form.size,
      size_custom: form.size_custom,
      quality: form.quality,
      output_format: form.output_format,
      background: form.background,
      n: form.n,
      partial_images: form.partial_images,
    };
    try {
      const jobId = await startJob(ctx, { kind: "generate", input: formRequest(form), principal });
      return c.redirect(`/jobs/${jobId}`, 303);
    } catch (thrown) {
      const appError = toAppError(thrown);
      if (appError.kind === "internal") throw thrown;
      if (appError.retryAfterSeconds !== undefined) {
        c.header("Retry-After", String(Math.ceil(appError.retryAfterSeconds)));
      }
      return await renderGenerate(req, {
        values,
        error: shownError(ctx, appError),
        status: appError.status === 499 ? 409 : appError.status,
      });
    }
  });
}
