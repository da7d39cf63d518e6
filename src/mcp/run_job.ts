/**
 * The flow shared by `generate_image` and `edit_image`: for a client that asked for a task (see
 * `task_door.ts`), start the job as a task and answer with it at once; otherwise start the job
 * with the caller's abort signal, report progress, and answer with the images — or, when the job
 * outlives `MCP_LONG_JOB_SECONDS`, with the pending ids while the job finishes in the background.
 *
 * @module
 */
import type { GenerationJob, StartOptions } from "../core_types.ts";
import { callerOf, type McpContext } from "./context.ts";
import { createProgressReporter, type ToolExtra } from "./progress.ts";
import { errorResult, generationResult, pendingResult } from "./results.ts";
import type { CallToolResult } from "./sdk.ts";
import { getLog } from "../log.ts";

const log = getLog("mcp");

/** Starts a job with `start` and answers the tool call in `extra`. */
export async function runJobTool(
  ctx: McpContext,
  extra: ToolExtra,
  start: (options: StartOptions) => Promise<GenerationJob>,
): Promise<CallToolResult> {
  try {
    const task = await ctx.tasks?.start(extra, start);
    if (task) return task;
  } catch (error) {
    return errorResult(error, ctx.redact);
  }
  const progress = createProgressReporter(extra);
  let job: GenerationJob | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    job = await start({
      door: "mcp",
      principal: ctx.principal(extra),
      signal: extra.mcpReq.signal,
      partialImages: ctx.config.mcpPartialImages,
      onProgress: (event) => {
        progress.stage(
          event.stage,
          event.partialImage ? `partial image ${event.partialImage.index + 1}` : undefined,
        );
      },
    });
    await ctx.onJobStarted?.(extra, job);
    const started = ctx.images.now();
    const longJobMs = ctx.config.mcpLongJobSeconds * 1000;
    const timedOut = new Promise<"pending">((resolve) => {
      timer = setTimeout(() => resolve("pending"), longJobMs);
    });
    const outcome = await Promise.race([job.done, timedOut]);
    if (outcome === "pending") {
      // The client may stop waiting soon: keep the paid-for generation running to completion.
      job.detach();
      job.done.catch((error) =>
        log.warning("Background job {jobId} failed: {message}", {
          jobId: job!.id,
          message: String(error?.message ?? error),
        })
      );
      return await pendingResult(
        ctx.config,
        ctx.client(extra),
        job,
        (ctx.images.now() - started) / 1000,
      );
    }
    progress.stage("done");
    return await generationResult(
      { images: ctx.images, caller: callerOf(ctx, extra) },
      ctx.config,
      ctx.client(extra),
      outcome,
    );
  } catch (error) {
    return errorResult(error, ctx.redact);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    progress.stop();
  }
}
