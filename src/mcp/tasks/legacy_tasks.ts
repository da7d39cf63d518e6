/**
 * Tasks as protocol version 2025-11-25 has them (experimental, requestor-driven): the client adds
 * `task: { ttl }` to a `tools/call` of a tool whose `execution.taskSupport` allows it and gets
 * `{ task }` back; then `tasks/get`, the blocking `tasks/result`, `tasks/list` and `tasks/cancel`;
 * the server may send `notifications/tasks/status`. Messages are shaped here from the
 * era-neutral {@link TaskService}; the door registers the methods with its SDK.
 *
 * @module
 */
import type { Principal } from "../../core_types.ts";
import { ERROR_CODES, ProtocolError } from "../protocol_error.ts";
import { asProtocolErrors, commonTaskFields, paramsObject, taskIdParam } from "./params.ts";
import type { TaskService, TaskView, ToolResult } from "./task_service.ts";

/** `_meta` key tying a message to its task. */
export const RELATED_TASK_META = "io.modelcontextprotocol/related-task";
/** `_meta` key of a `CreateTaskResult` with text a host may hand the model at once. */
export const MODEL_IMMEDIATE_RESPONSE_META = "io.modelcontextprotocol/model-immediate-response";

/** `capabilities.tasks` of this server: list, cancel, and task-augmented `tools/call`. */
export { LEGACY_TASKS_CAPABILITY } from "../identity.ts";

/** How a tool takes task augmentation (`execution.taskSupport`). */
export type TaskSupport = "forbidden" | "optional" | "required";

/** A task as 2025-11-25 carries it. */
export interface LegacyTask {
  /** Task id. */
  taskId: string;
  /** `working`, `input_required`, `completed`, `failed` or `cancelled`. */
  status: string;
  /** What is happening. */
  statusMessage?: string;
  /** ISO 8601. */
  createdAt: string;
  /** ISO 8601. */
  lastUpdatedAt: string;
  /** Retention from creation, milliseconds. */
  ttl: number | null;
  /** Suggested poll interval, milliseconds. */
  pollInterval?: number;
}

/** The task augmentation a `tools/call` asked for. */
export interface TaskRequest {
  /** The lifetime asked for, if any. */
  readonly ttlMs?: number;
}

/**
 * What `params` of a `tools/call` ask for: a task (`params.task`), or null for a plain call.
 * Throws `-32601` for a task on a tool that forbids it (or none on one that requires it) and
 * `-32602` for a malformed `task`.
 */
export function requestedTask(
  tool: string,
  params: Record<string, unknown>,
  support: TaskSupport,
): TaskRequest | null {
  const { task } = params;
  if (task === undefined) {
    if (support !== "required") return null;
    throw new ProtocolError(
      ERROR_CODES.methodNotFound,
      `Tool ${tool} must be called as a task: add "task": {} to the tools/call params`,
    );
  }
  if (support === "forbidden") {
    throw new ProtocolError(
      ERROR_CODES.methodNotFound,
      `Tool ${tool} does not run as a task: call it without "task"`,
    );
  }
  if (typeof task !== "object" || task === null || Array.isArray(task)) {
    throw new ProtocolError(
      ERROR_CODES.invalidParams,
      `Invalid task of tools/call: expected an object such as {"ttl": 3600000}, got ${
        JSON.stringify(task)
      }`,
    );
  }
  const { ttl } = task as { ttl?: unknown };
  if (ttl === undefined) return {};
  if (typeof ttl !== "number" || !Number.isFinite(ttl) || ttl < 0) {
    throw new ProtocolError(
      ERROR_CODES.invalidParams,
      `Invalid task.ttl of tools/call: expected milliseconds (a number of 0 or more), got ${
        JSON.stringify(ttl)
      }`,
    );
  }
  return { ttlMs: ttl };
}

/** A task view in the 2025-11-25 shape. */
export function legacyTask(view: TaskView): LegacyTask {
  return { ...commonTaskFields(view), ttl: view.ttlMs, pollInterval: view.pollIntervalMs };
}

/** The `CreateTaskResult` of a task-augmented `tools/call`: `{ task }`, with a note for the model. */
export function legacyCreateTaskResult(
  view: TaskView,
): { task: LegacyTask; _meta: Record<string, unknown> } {
  return {
    task: legacyTask(view),
    _meta: {
      [MODEL_IMMEDIATE_RESPONSE_META]: `The image generation runs as task ${view.taskId}; ` +
        "its result arrives when the task completes.",
    },
  };
}

/** The `notifications/tasks/status` notification for a task's new state. */
export function legacyStatusNotification(
  view: TaskView,
): { method: "notifications/tasks/status"; params: LegacyTask } {
  return { method: "notifications/tasks/status", params: legacyTask(view) };
}

/** The 2025-11-25 `tasks/*` methods over a {@link TaskService}. */
export class LegacyTaskMethods {
  #tasks: TaskService;
  #pageSize: number;

  /** Serves the methods from `tasks`; `tasks/list` pages hold `pageSize` tasks (default 50). */
  constructor(tasks: TaskService, options: { pageSize?: number } = {}) {
    this.#tasks = tasks;
    this.#pageSize = options.pageSize ?? 50;
  }

  /** `tasks/get`: the task's current state. */
  async get(params: unknown, principal: Pick<Principal, "id">): Promise<LegacyTask> {
    const taskId = taskIdParam("tasks/get", params);
    return await asProtocolErrors(async () =>
      legacyTask(await this.#tasks.status(taskId, principal))
    );
  }

  /**
   * `tasks/result`: waits until the task is terminal, then answers what the `tools/call` would
   * have (images or an `isError` result), tied to the task by `_meta`.
   */
  async result(
    params: unknown,
    principal: Pick<Principal, "id">,
    options: { signal?: AbortSignal } = {},
  ): Promise<ToolResult> {
    const taskId = taskIdParam("tasks/result", params);
    return await asProtocolErrors(async () => {
      const { result } = await this.#tasks.waitForOutcome(taskId, principal, options);
      return { ...result, _meta: { ...result._meta, [RELATED_TASK_META]: { taskId } } };
    });
  }

  /** `tasks/list`: the caller's tasks, newest first, with a cursor for the next page. */
  async list(
    params: unknown,
    principal: Pick<Principal, "id">,
  ): Promise<{ tasks: LegacyTask[]; nextCursor?: string }> {
    const { cursor } = params === undefined ? {} : paramsObject("tasks/list", params);
    if (cursor !== undefined && typeof cursor !== "string") {
      throw new ProtocolError(
        ERROR_CODES.invalidParams,
        `Invalid cursor of tasks/list: expected the nextCursor string of a previous answer, got ${
          JSON.stringify(cursor)
        }`,
      );
    }
    return await asProtocolErrors(async () => {
      const page = await this.#tasks.list(principal, {
        limit: this.#pageSize,
        ...(cursor === undefined ? {} : { cursor }),
      });
      return {
        tasks: page.tasks.map(legacyTask),
        ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}),
      };
    });
  }

  /** `tasks/cancel`: cancels the job and answers the task, already `cancelled`. */
  async cancel(params: unknown, principal: Pick<Principal, "id">): Promise<LegacyTask> {
    const taskId = taskIdParam("tasks/cancel", params);
    return await asProtocolErrors(async () =>
      legacyTask(await this.#tasks.cancel(taskId, principal))
    );
  }
}
