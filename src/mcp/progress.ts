/**
 * Progress notifications for slow tool calls: a heartbeat at least every few seconds with the
 * elapsed time and stage, so clients that reset their timeout on progress keep waiting.
 *
 * @module
 */
import type { JobStage } from "../core_types.ts";
import type { ServerContext } from "./sdk.ts";
import { systemClock } from "../clock.ts";

/** The request context the SDK hands to a tool, resource or prompt handler. */
export type ToolExtra = ServerContext;

/** Each stage of a generation in words, as progress messages and task statuses show it. */
export const STAGE_TEXT: Readonly<Record<JobStage, string>> = {
  queued: "Queued",
  waiting_for_upstream_budget: "Waiting for the shared OpenAI images-per-minute budget",
  generating: "Generating",
  partial_image: "Partial image received",
  storing: "Storing the image",
  done: "Done",
};

/** Sends progress for one request; a no-op when the client sent no progress token. */
export interface ProgressReporter extends Disposable {
  /** Reports a stage change now (and remembers it for the heartbeat). */
  stage(stage: JobStage, detail?: string): void;
  /** Stops the heartbeat; nothing is sent afterwards. */
  stop(): void;
}

/** Options of {@link createProgressReporter}. */
export interface ProgressOptions {
  /** Heartbeat interval; the MCP issue asks for at least one notification every 5 s. */
  intervalMs?: number;
  /** What is being made, e.g. `gpt-image-2, 1024x1024, medium`. */
  subject?: string;
  /** Clock, for tests. */
  now?: () => number;
}

/** Starts a heartbeat of `notifications/progress` for the tool call in `extra`. */
export function createProgressReporter(
  extra: ToolExtra,
  options: ProgressOptions = {},
): ProgressReporter {
  const token = extra.mcpReq._meta?.progressToken;
  const now = options.now ?? systemClock;
  const started = now();
  let current: JobStage = "queued";
  let detail: string | undefined;
  let last = 0;
  let stopped = token === undefined;
  const send = () => {
    if (stopped || extra.mcpReq.signal.aborted) return;
    const elapsedMs = now() - started;
    // Progress must strictly increase; elapsed seconds with a tiny step guarantee it.
    const progress = Math.max(Math.round(elapsedMs / 100) / 10, last + 0.001);
    last = progress;
    const seconds = Math.round(elapsedMs / 1000);
    const parts = [STAGE_TEXT[current], options.subject, detail, `${seconds} s elapsed`]
      .filter(Boolean);
    extra.mcpReq.notify({
      method: "notifications/progress",
      params: { progressToken: token!, progress, message: parts.join(" · ") },
    }).catch(() => {
      // The client may be gone; progress is best effort.
    });
  };
  const timer = stopped ? undefined : setInterval(send, options.intervalMs ?? 4000);
  const stop = () => {
    stopped = true;
    if (timer !== undefined) clearInterval(timer);
  };
  return {
    stage(stage, text) {
      current = stage;
      detail = text;
      send();
    },
    stop,
    [Symbol.dispose]: stop,
  };
}
