/**
 * Generations started from the gallery in this process: their stage, elapsed time and latest
 * partial images, and listeners for the progress page's event stream. Only what the live page
 * needs is kept here; the job's state of record lives in KV (`ImageService.lookup`), so a page
 * served by another instance still shows status, just without partial images.
 *
 * Finished jobs are kept for a while so their page can show the outcome, then dropped the next
 * time a job starts; there are no timers.
 *
 * @module
 */
import { permits, type PolicySettings } from "../../core/policy.ts";
import type {
  Caller,
  GenerationResult,
  ImageRecord,
  JobStage,
  ProgressListener,
} from "../../core_types.ts";
import type { AppError } from "../../errors.ts";
import { encodeBase64 } from "../../encoding.ts";

/** What happened to a tracked job, as sent to listeners. */
export type JobEvent =
  | { readonly type: "progress"; readonly stage: JobStage; readonly elapsedMs: number }
  | { readonly type: "partial"; readonly index: number; readonly dataUrl: string }
  | { readonly type: "done"; readonly images: readonly ImageRecord[] }
  | { readonly type: "failed"; readonly error: JobFailure };

/** A failure, as the page shows it. */
export interface JobFailure {
  /** Error kind. */
  readonly kind: string;
  /** The message (already redacted). */
  readonly message: string;
  /** Seconds until a retry may succeed, when known. */
  readonly retryAfterSeconds?: number;
}

/** A job started here. */
export interface TrackedJob {
  /** Job id (set once the job has started). */
  id: string;
  /** Image ids reserved for the job. */
  imageIds: readonly string[];
  /** Model. */
  model: string;
  /** Prompt. */
  prompt: string;
  /** Who started it (principal id). */
  owner: string;
  /** Start time, epoch milliseconds. */
  started: number;
  /** Latest stage. */
  stage: JobStage;
  /** Partial images requested. */
  partialImages: number;
  /** Latest partial image per index, as data URLs. */
  partials: Map<number, string>;
  /** Outcome, once settled. */
  outcome?:
    | { readonly state: "succeeded"; readonly images: readonly ImageRecord[] }
    | { readonly state: "failed"; readonly error: JobFailure };
  /** When it settled, epoch milliseconds. */
  settledAt?: number;
}

/** Options of {@link JobTracker}. */
export interface JobTrackerOptions {
  /** Clock, epoch milliseconds. */
  now: () => number;
  /** How long a settled job stays (default 30 minutes). */
  keepMs?: number;
  /** Most jobs kept (default 200); the oldest settled ones go first. */
  maxJobs?: number;
  /** Masks secrets in error messages. */
  redact?: (text: string) => string;
}

/** Jobs started from the gallery in this process. */
export class JobTracker {
  #jobs = new Map<string, TrackedJob>();
  #listeners = new Map<TrackedJob, Set<(event: JobEvent) => void>>();
  #options: JobTrackerOptions;

  /** Creates an empty tracker. */
  constructor(options: JobTrackerOptions) {
    this.#options = options;
  }

  /**
   * A job record to fill before the job has an id, and the progress listener to pass to the
   * ImageService; call {@link register} once the job has started.
   */
  prepare(
    fields: Pick<TrackedJob, "model" | "prompt" | "owner" | "partialImages">,
  ): { job: TrackedJob; onProgress: ProgressListener } {
    const job: TrackedJob = {
      id: "",
      imageIds: [],
      ...fields,
      started: this.#options.now(),
      stage: "queued",
      partials: new Map(),
    };
    const onProgress: ProgressListener = (event) => {
      job.stage = event.stage;
      if (event.partialImage) {
        const { index, bytes, mime } = event.partialImage;
        const dataUrl = `data:${mime};base64,${encodeBase64(bytes)}`;
        job.partials.set(index, dataUrl);
        this.#emit(job, { type: "partial", index, dataUrl });
      }
      this.#emit(job, { type: "progress", stage: event.stage, elapsedMs: event.elapsedMs });
    };
    return { job, onProgress };
  }

  /** Makes `job` findable by `id` and follows `result` to its end. */
  register(
    job: TrackedJob,
    started: { id: string; imageIds: readonly string[]; model: string },
    result: Promise<GenerationResult>,
  ): void {
    this.#prune();
    job.id = started.id;
    job.imageIds = started.imageIds;
    job.model = started.model;
    this.#jobs.set(job.id, job);
    result.then(
      (done) => this.#settle(job, { state: "succeeded", images: done.images }),
      (error: AppError) => {
        const redact = this.#options.redact ?? ((text: string) => text);
        this.#settle(job, {
          state: "failed",
          error: {
            kind: error?.kind ?? "internal",
            message: redact(String(error?.message ?? error)),
            ...(error?.retryAfterSeconds === undefined
              ? {}
              : { retryAfterSeconds: error.retryAfterSeconds }),
          },
        });
      },
    );
  }

  /** The job `id` names (a job id or one of its image ids), if it was started here. */
  get(id: string): TrackedJob | undefined {
    const direct = this.#jobs.get(id);
    if (direct) return direct;
    for (const job of this.#jobs.values()) if (job.imageIds.includes(id)) return job;
    return undefined;
  }

  /**
   * The job `id` names if it was started here and `caller` may read its images; otherwise
   * undefined, and the core's lookup (which checks the caller too) says what there is.
   */
  getFor(
    id: string,
    caller: Pick<Caller, "principal" | "via">,
    settings: PolicySettings,
  ): TrackedJob | undefined {
    const job = this.get(id);
    return job && permits(caller, "read", settings, { id: job.id, creator: job.owner })
      ? job
      : undefined;
  }

  /** Calls `listener` for each event of `job` until the returned function is called. */
  subscribe(job: TrackedJob, listener: (event: JobEvent) => void): () => void {
    let set = this.#listeners.get(job);
    if (!set) this.#listeners.set(job, set = new Set());
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.#listeners.delete(job);
    };
  }

  #settle(job: TrackedJob, outcome: NonNullable<TrackedJob["outcome"]>): void {
    job.outcome = outcome;
    job.settledAt = this.#options.now();
    job.stage = outcome.state === "succeeded" ? "done" : job.stage;
    this.#emit(
      job,
      outcome.state === "succeeded"
        ? { type: "done", images: outcome.images }
        : { type: "failed", error: outcome.error },
    );
    this.#listeners.delete(job);
  }

  #emit(job: TrackedJob, event: JobEvent): void {
    for (const listener of [...(this.#listeners.get(job) ?? [])]) {
      try {
        listener(event);
      } catch {
        // A listener's failure (a closed stream) must not affect the job or other listeners.
      }
    }
  }

  #prune(): void {
    const now = this.#options.now();
    const keep = this.#options.keepMs ?? 30 * 60_000;
    const max = this.#options.maxJobs ?? 200;
    for (const [id, job] of this.#jobs) {
      if (job.settledAt !== undefined && now - job.settledAt > keep) this.#jobs.delete(id);
    }
    if (this.#jobs.size < max) return;
    const settled = [...this.#jobs.values()]
      .filter((job) => job.settledAt !== undefined)
      .sort((a, b) => a.settledAt! - b.settledAt!);
    for (const job of settled) {
      if (this.#jobs.size < max) break;
      this.#jobs.delete(job.id);
    }
  }
}
