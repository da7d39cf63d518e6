/**
 * The tool result of a finished task, shaped like the answer of the `tools/call` itself
 * (`results.ts`): preview + link + summary for stored images, an `isError` result for failures.
 * Rebuilt from the catalog, so any instance can answer for a job another instance ran.
 *
 * @module
 */
import type { ImageService } from "../../core_types.ts";
import { type ClientTraits, errorResult, generationResult, type ResultConfig } from "../results.ts";
import type { TaskResultRenderer, ToolResult } from "./task_service.ts";

/** What {@link createTaskResultRenderer} needs: the core, result settings and the client. */
export interface TaskRenderContext {
  /** The core (previews). */
  readonly images: ImageService;
  /** Result settings. */
  readonly config: ResultConfig;
  /** The client asking (structured content or not). */
  client(): ClientTraits;
  /** Masks secrets in error text. */
  redact(text: string): string;
}

/** The renderer the MCP door hands to the task service. */
export function createTaskResultRenderer(ctx: TaskRenderContext): TaskResultRenderer {
  return {
    async images(records, jobId, caller) {
      const costs = records.map((record) => record.costUsd);
      const usd = costs.some((cost) => cost === null)
        ? null
        : Math.round(costs.reduce<number>((sum, cost) => sum + cost!, 0) * 1e6) / 1e6;
      const result = await generationResult(
        { images: ctx.images, caller },
        ctx.config,
        ctx.client(),
        {
          jobId,
          images: records,
          // Warnings were shown when the task was created; the catalog keeps none.
          warnings: [],
          cost: usd === null ? { usd, reason: "the cost of some images is unknown" } : { usd },
        },
      );
      return result as ToolResult;
    },
    error: (error) => errorResult(error, ctx.redact) as ToolResult,
  };
}
