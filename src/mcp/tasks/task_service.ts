/**
 * Generations as MCP tasks, independent of protocol era and SDK: a task is a generation job plus
 * a {@link TaskRecord}. The state a client sees is derived, on whichever instance it asks, from
 * the job (through the core's `lookup`, which also knows jobs whose instance died) and the task
 * record (cancelled flag, last reported stage). Both era modules (`legacy_tasks.ts` for
 * 2025-11-25, `extension_tasks.ts` for the 2026-07-28 extension) shape their messages from the
 * {@link TaskView} and {@link TaskOutcome} produced here.
 *
 * @module
 */
import type {
  Caller,
  GenerationJob,
  ImageRecord,
  ImageService,
  Principal,
  StartOptions,
} from "../../core_types.ts";
import { AppError } from "../../errors.ts";
import type { Clock } from "../../clock.ts";
import { getLog } from "../../log.ts";
import { STAGE_TEXT } from "../progress.ts";
import { type TaskRecord, TaskStore } from "./task_store.ts";

const log = getLog("mcp.tasks");

/** Task states this server produces (`input_required` never: input is asked before a task). */
export type TaskState = "working" | "completed" | "failed" | "cancelled";

/** Terminal task states. */
export const TERMINAL_STATES: readonly TaskState[] = ["completed", "failed", "cancelled"];

/** A tool result as both eras carry it (the SDK's `CallToolResult` is one). */
export interface ToolResult {
  /** Content blocks. */
  content: Record<string, unknown>[];
  /** Structured result, when the tool declares one. */
  structuredContent?: Record<string, unknown>;
  /** True for a failed tool call. */
  isError?: boolean;
  /** Metadata. */
  _meta?: Record<string, unknown>;
}

/** What a client may see of a task, era-neutral. */
export interface TaskView {
  /** Task id. */
  readonly taskId: string;
  /** Current state. */
  readonly state: TaskState;
  /** What is happening, in words. */
  readonly statusMessage: string;
  /** Creation time, epoch milliseconds. */
  readonly createdAt: number;
  /** Last change, epoch milliseconds. */
  readonly updatedAt: number;
  /** Lifetime from creation, milliseconds. */
  readonly ttlMs: number;
  /** Suggested time between polls, milliseconds. */
  readonly pollIntervalMs: number;
}

/** A terminal task with the result the tool call would have returned. */
export interface TaskOutcome extends TaskView {
  /** The tool result: the images, or an `isError` result saying what went wrong. */
  readonly result: ToolResult;
}

/** How a finished job becomes a tool result (the door's result shaping). */
export interface TaskResultRenderer {
  /** The result of a job that stored `images`, shown to the task's owner `caller`. */
  images(images: readonly ImageRecord[], jobId: string, caller: Caller): Promise<ToolResult>;
  /** The `isError` result of a job that failed or was cancelled. */
  error(error: AppError): ToolResult;
}

/** Why a task request cannot be served; the era modules map it to `-32602`. */
export class TaskError extends Error {
  /** What is wrong with the task. */
  readonly reason: "not_found" | "expired" | "terminal" | "bad_cursor";

  /** Creates the error. */
  constructor(reason: TaskError["reason"], message: string) {
    super(message);
    this.name = "TaskError";
    this.reason = reason;
  }
}

/** Lifetimes a client may ask for; the server clamps into this range (spec: receivers MAY). */
export interface TaskTtlPolicy {
  /** Lifetime when the client names none. */
  readonly defaultMs: number;
  /** Shortest lifetime granted. */
  readonly minMs: number;
  /** Longest lifetime granted. */
  readonly maxMs: number;
}

/** Default task lifetimes: an hour by default, one minute to one day on request. */
export const DEFAULT_TTL_POLICY: TaskTtlPolicy = Object.freeze({
  defaultMs: 3_600_000,
  minMs: 60_000,
  maxMs: 86_400_000,
});

/** The lifetime granted for a requested one: clamped to the policy, its default when none. */
export function grantedTtl(
  requestedMs?: number,
  policy: TaskTtlPolicy = DEFAULT_TTL_POLICY,
): number {
  if (requestedMs === undefined) return policy.defaultMs;
  return Math.min(policy.maxMs, Math.max(policy.minMs, Math.round(requestedMs)));
}

/** Collaborators of {@link TaskService}. */
export interface TaskServiceDeps {
  /** The core: job lookups (any instance), image records and cross-instance cancels. */
  images: Pick<ImageService, "lookup" | "get" | "cancel">;
  /** The configured KV, shared by every instance (where jobs live). */
  kv: Deno.Kv;
  /** Clock, epoch milliseconds. */
  now: Clock;
  /** Turns a finished job into the tool result. */
  render: TaskResultRenderer;
  /** Task lifetimes (default {@link DEFAULT_TTL_POLICY}). */
  ttl?: TaskTtlPolicy;
  /** Suggested poll interval (default 2 s: generations take seconds to minutes). */
  pollIntervalMs?: number;
  /** Where the ends of tasks still being recorded are tracked (shared by a door's instances). */
  drain?: TaskDrain;
}

/**
 * The task ends still being written to KV, for every {@link TaskService} of a process (a door
 * builds one service per server instance): its shutdown awaits {@link TaskDrain.drain} before it
 * closes the KV.
 */
export class TaskDrain {
  #settling = new Set<Promise<void>>();

  /** Tracks `settled` until it settles. */
  track(settled: Promise<void>): void {
    this.#settling.add(settled);
    settled.finally(() => this.#settling.delete(settled));
  }

  /** Waits until every tracked task end has been recorded. */
  async drain(): Promise<void> {
    while (this.#settling.size > 0) await Promise.allSettled([...this.#settling]);
  }
}

/** The core caller a task acts as: its owner, through the MCP door. */
function ownerOf(record: TaskRecord): Caller {
  return { principal: record.owner, door: "mcp" };
}

/** What {@link TaskService.start} takes. */
export interface StartTask {
  /** The tool that was called. */
  tool: string;
  /** Who calls; only they will see the task. */
  principal: Principal;
  /** Lifetime the client asked for, if any. */
  ttlMs?: number;
  /** Starts the job with the options the task needs (no caller signal: the task outlives it). */
  start: (options: StartOptions) => Promise<GenerationJob>;
  /** Partial images the door wants (`MCP_PARTIAL_IMAGES`). */
  partialImages?: number;
  /** Also told of every stage (e.g. progress notifications for a 2025 progress token). */
  onProgress?: StartOptions["onProgress"];
  /** Called on this instance when the task's state changes (status notifications). */
  onStateChange?: (view: TaskView) => void;
}

/** Generation tasks over the core and KV. */
export class TaskService {
  #deps: TaskServiceDeps;
  #store: TaskStore;
  #ttl: TaskTtlPolicy;
  #pollIntervalMs: number;
  #drain: TaskDrain;

  /** Creates the service. */
  constructor(deps: TaskServiceDeps) {
    this.#deps = deps;
    this.#store = new TaskStore(deps.kv);
    this.#ttl = deps.ttl ?? DEFAULT_TTL_POLICY;
    this.#pollIntervalMs = deps.pollIntervalMs ?? 2000;
    this.#drain = deps.drain ?? new TaskDrain();
  }

  /**
   * Starts the job and records the task; resolves once `tasks/get` on any instance finds it.
   * Validation errors of the request are thrown as they are (the door answers them as the tool
   * call would have), before any task exists.
   */
  async start(input: StartTask): Promise<TaskView> {
    const { now } = this.#deps;
    const taskId = crypto.randomUUID();
    // Stages arrive from the first moment of the job, before the record exists: the latest one
    // goes into the record when it is created, later ones are written as they come, in order.
    let latest: Pick<TaskRecord, "stage" | "detail"> = { stage: "queued" };
    let created = false;
    let writes = Promise.resolve();
    const report = () => {
      const { stage, detail } = latest;
      writes = writes.then(() =>
        this.#store.update(
          taskId,
          (record) =>
            record.stage === stage && record.detail === detail
              ? null
              : { ...record, stage, detail, updated: now() },
        )
      ).then(
        () => {},
        (error) =>
          log.warning("Cannot record the stage of task {taskId}: {message}", {
            taskId,
            message: String(error?.message ?? error),
          }),
      );
    };
    const job = await input.start({
      door: "mcp",
      principal: input.principal,
      ...(input.partialImages ? { partialImages: input.partialImages } : {}),
      onProgress: (event) => {
        input.onProgress?.(event);
        if (event.stage === "done") return;
        const index = event.partialImage?.index;
        latest = {
          stage: event.stage,
          ...(index === undefined ? {} : { detail: `partial image ${index + 1}` }),
        };
        if (created) report();
      },
    });
    let record: TaskRecord;
    try {
      record = await this.#store.create({
        taskId,
        jobId: job.id,
        imageIds: [...job.imageIds],
        principalId: input.principal.id,
        owner: {
          id: input.principal.id,
          name: input.principal.name,
          role: input.principal.role,
        },
        tool: input.tool,
        created: now(),
        ttlMs: grantedTtl(input.ttlMs, this.#ttl),
      }, latest);
      created = true;
      // A stage reported while the record was being written is not in it yet.
      report();
    } catch (error) {
      // Nobody could ever ask for the result: do not pay for it.
      job.cancel("the task could not be recorded");
      throw error;
    }
    const settled = job.done.then(() => {}, () => {}).then(async () => {
      try {
        await writes;
        // The task's lastUpdatedAt moves with the end of its job.
        await this.#store.update(taskId, (current) => ({ ...current, updated: now() }));
        const view = await this.#viewOf(taskId);
        if (view && view.state !== "working") input.onStateChange?.(view);
      } catch (error) {
        log.warning("Cannot record the end of task {taskId}: {message}", {
          taskId,
          message: String((error as Error)?.message ?? error),
        });
      }
    });
    this.#drain.track(settled);
    return this.#working(record);
  }

  /** Waits until every task started here has recorded its end (before closing the KV). */
  async drain(): Promise<void> {
    await this.#drain.drain();
  }

  /** The task as `principal` may see it; a TaskError when unknown, expired or someone else's. */
  async status(taskId: string, principal: Pick<Principal, "id">): Promise<TaskView> {
    return (await this.#derive(await this.#find(taskId, principal))).view;
  }

  /**
   * The task with its result when it is terminal (`result` absent while it works). The result is
   * what the tool call would have returned: images, or an `isError` result.
   */
  async outcome(
    taskId: string,
    principal: Pick<Principal, "id">,
  ): Promise<TaskView & { result?: ToolResult }> {
    const derived = await this.#derive(await this.#find(taskId, principal));
    if (derived.view.state === "working") return derived.view;
    return { ...derived.view, result: await this.#resultOf(derived) };
  }

  /** Waits until the task is terminal (polling the core) and returns its outcome. */
  async waitForOutcome(
    taskId: string,
    principal: Pick<Principal, "id">,
    options: { signal?: AbortSignal } = {},
  ): Promise<TaskOutcome> {
    for (;;) {
      const record = await this.#find(taskId, principal);
      const derived = await this.#derive(record);
      if (derived.view.state !== "working") {
        return { ...derived.view, result: await this.#resultOf(derived) };
      }
      options.signal?.throwIfAborted();
      // The core's lookup waits for the job itself, on any instance.
      await this.#deps.images.lookup(record.jobId, ownerOf(record), {
        waitMs: this.#pollIntervalMs,
        ...(options.signal ? { signal: options.signal } : {}),
      });
    }
  }

  /**
   * Cancels the task: it reads `cancelled` from now on, and the job is aborted on whichever
   * instance runs it. A TaskError (`terminal`) when it has already ended.
   */
  async cancel(taskId: string, principal: Pick<Principal, "id">): Promise<TaskView> {
    const derived = await this.#derive(await this.#find(taskId, principal));
    if (derived.view.state !== "working") {
      throw new TaskError(
        "terminal",
        `Cannot cancel task: already in terminal status '${derived.view.state}'`,
      );
    }
    const record = await this.#store.update(
      taskId,
      (current) =>
        current.cancelled ? null : { ...current, cancelled: true, updated: this.#deps.now() },
    );
    await this.#deps.images.cancel(derived.record.jobId, ownerOf(derived.record));
    return (await this.#derive(record ?? derived.record)).view;
  }

  /** The tasks of `principal`, newest first; expired ones left out. */
  async list(
    principal: Pick<Principal, "id">,
    options: { cursor?: string; limit?: number } = {},
  ): Promise<{ tasks: TaskView[]; nextCursor?: string }> {
    let page;
    try {
      page = await this.#store.list(principal.id, {
        limit: options.limit ?? 50,
        ...(options.cursor === undefined ? {} : { cursor: options.cursor }),
      });
    } catch (error) {
      if (error instanceof RangeError) throw new TaskError("bad_cursor", error.message);
      throw error;
    }
    const now = this.#deps.now();
    const live = page.items.filter((record) => now < record.created + record.ttlMs);
    const tasks = await Promise.all(live.map(async (record) => (await this.#derive(record)).view));
    return { tasks, ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) };
  }

  async #find(taskId: string, principal: Pick<Principal, "id">): Promise<TaskRecord> {
    const record = typeof taskId === "string" && taskId.length <= 128
      ? await this.#store.get(taskId)
      : null;
    // Someone else's task reads as unknown: its existence is not theirs to learn.
    if (!record || record.principalId !== principal.id) {
      throw new TaskError("not_found", "Failed to retrieve task: Task not found");
    }
    if (this.#deps.now() >= record.created + record.ttlMs) {
      throw new TaskError("expired", "Failed to retrieve task: Task has expired");
    }
    return record;
  }

  async #viewOf(taskId: string): Promise<TaskView | null> {
    const record = await this.#store.get(taskId);
    return record ? (await this.#derive(record)).view : null;
  }

  #working(record: TaskRecord): TaskView {
    return this.#view(record, "working", stageMessage(record, this.#deps.now()), record.updated);
  }

  #view(record: TaskRecord, state: TaskState, statusMessage: string, updatedAt: number): TaskView {
    return {
      taskId: record.taskId,
      state,
      statusMessage,
      createdAt: record.created,
      updatedAt: Math.max(updatedAt, record.updated),
      ttlMs: record.ttlMs,
      pollIntervalMs: this.#pollIntervalMs,
    };
  }

  async #derive(record: TaskRecord): Promise<Derived> {
    if (record.cancelled) {
      return {
        record,
        view: this.#view(record, "cancelled", "The task was cancelled by request", record.updated),
        error: new AppError("cancelled", "The image generation was cancelled by request"),
      };
    }
    const found = await this.#deps.images.lookup(record.jobId, ownerOf(record));
    switch (found.status) {
      case "pending":
        return {
          record,
          view: {
            ...this.#working(record),
            updatedAt: Math.max(found.job.updated, record.updated),
          },
        };
      case "failed": {
        const state = found.error.kind === "cancelled" ? "cancelled" : "failed";
        return {
          record,
          view: this.#view(record, state, found.error.message, found.job.updated),
          error: found.error,
        };
      }
      case "ready":
      case "missing": {
        const images = (await Promise.all(
          record.imageIds.map((id) => this.#deps.images.get(id, ownerOf(record))),
        ))
          .filter((image): image is ImageRecord => image !== null);
        if (images.length === 0) {
          const error = new AppError(
            "not_found",
            "The images of this task are no longer available: they were deleted, or made with " +
              "save: false on another instance",
          );
          return {
            record,
            view: this.#view(record, "failed", error.message, record.updated),
            error,
          };
        }
        const updated = Math.max(...images.map((image) => image.created));
        const count = images.length === 1 ? "1 image" : `${images.length} images`;
        return {
          record,
          view: this.#view(record, "completed", `Done: ${count} stored`, updated),
          images,
        };
      }
    }
  }

  async #resultOf(derived: Derived): Promise<ToolResult> {
    if (derived.images) {
      return await this.#deps.render.images(
        derived.images,
        derived.record.jobId,
        ownerOf(derived.record),
      );
    }
    return this.#deps.render.error(derived.error ?? new AppError("internal", "Unknown failure"));
  }
}

interface Derived {
  record: TaskRecord;
  view: TaskView;
  images?: readonly ImageRecord[];
  error?: AppError;
}

function stageMessage(record: TaskRecord, now: number): string {
  const seconds = Math.max(0, Math.round((now - record.created) / 1000));
  return [STAGE_TEXT[record.stage], record.detail, `${seconds} s elapsed`].filter(Boolean)
    .join(" · ");
}
