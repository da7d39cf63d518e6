/**
 * Tasks as the 2026-07-28 extension `io.modelcontextprotocol/tasks` has them (server-directed):
 * a request whose own `clientCapabilities` declare the extension may be answered with a flat
 * `resultType: "task"` handle; the client polls `tasks/get` (terminal tasks carry the result
 * inline), answers input with `tasks/update` and cancels with `tasks/cancel`. There is no
 * `tasks/list` and no `tasks/result`. Messages are shaped here from the era-neutral
 * {@link TaskService}; the door registers the methods with its SDK.
 *
 * @module
 */
import type { Principal } from "../../core_types.ts";
import { ERROR_CODES, ProtocolError } from "../protocol_error.ts";
import { asProtocolErrors, commonTaskFields, paramsObject, taskIdParam } from "./params.ts";
import { TaskError, type TaskService, type TaskView, type ToolResult } from "./task_service.ts";

import { TASKS_EXTENSION } from "../identity.ts";

/** The extension's identifier, and what this server adds to its capabilities for it. */
export { TASKS_EXTENSION, TASKS_EXTENSION_CAPABILITIES } from "../identity.ts";
/** The request `_meta` key holding the client's capabilities for that request. */
export const CLIENT_CAPABILITIES_META = "io.modelcontextprotocol/clientCapabilities";

/** A task as the extension carries it. */
export interface ExtensionTask {
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
  /** Lifetime from creation, integer milliseconds. */
  ttlMs: number | null;
  /** Suggested poll interval, integer milliseconds. */
  pollIntervalMs?: number;
}

/** A task with what its status carries inline: the result or the JSON-RPC error. */
export type DetailedTask =
  & ExtensionTask
  & { result?: ToolResult; error?: { code: number; message: string; data?: unknown } };

/** True when the request's own capabilities (`params._meta`) declare the tasks extension. */
export function declaresTasksExtension(params: unknown): boolean {
  if (typeof params !== "object" || params === null) return false;
  const meta = (params as { _meta?: unknown })._meta;
  if (typeof meta !== "object" || meta === null) return false;
  return capabilitiesDeclareTasks((meta as Record<string, unknown>)[CLIENT_CAPABILITIES_META]);
}

/** True when client capabilities (one request's `clientCapabilities`) declare the extension. */
export function capabilitiesDeclareTasks(capabilities: unknown): boolean {
  if (typeof capabilities !== "object" || capabilities === null) return false;
  const extensions = (capabilities as { extensions?: unknown }).extensions;
  if (typeof extensions !== "object" || extensions === null) return false;
  const setting = (extensions as Record<string, unknown>)[TASKS_EXTENSION];
  return typeof setting === "object" && setting !== null && !Array.isArray(setting);
}

/** Throws the `-32021` the extension requires when the request does not declare it. */
export function requireTasksExtension(method: string, params: unknown): void {
  if (declaresTasksExtension(params)) return;
  throw new ProtocolError(
    ERROR_CODES.missingRequiredClientCapability,
    `Missing required client capability: ${method} needs the ${TASKS_EXTENSION} extension in ` +
      `the request's ${CLIENT_CAPABILITIES_META}`,
    { requiredCapabilities: { extensions: { [TASKS_EXTENSION]: {} } } },
  );
}

/** The `taskId` of an extension method's params, once the request has declared the extension. */
function extensionTaskId(method: string, params: unknown): string {
  requireTasksExtension(method, params);
  return taskIdParam(method, params);
}

/** A task view in the extension's shape. */
export function extensionTask(view: TaskView): ExtensionTask {
  return {
    ...commonTaskFields(view),
    ttlMs: Math.round(view.ttlMs),
    pollIntervalMs: Math.round(view.pollIntervalMs),
  };
}

/** The `CreateTaskResult` answering a `tools/call`: the task, flat, with `resultType: "task"`. */
export function extensionCreateTaskResult(view: TaskView): ExtensionTask & { resultType: "task" } {
  return { resultType: "task", ...extensionTask(view) };
}

/** The 2026-07-28 extension's `tasks/*` methods over a {@link TaskService}. */
export class ExtensionTaskMethods {
  #tasks: TaskService;

  /** Serves the methods from `tasks`. */
  constructor(tasks: TaskService) {
    this.#tasks = tasks;
  }

  /**
   * `tasks/get`: the task with its inline payload. A tool call that ended with an `isError`
   * result is `completed` (the extension keeps `failed` for JSON-RPC errors).
   */
  async get(
    params: unknown,
    principal: Pick<Principal, "id">,
  ): Promise<DetailedTask & { resultType: "complete" }> {
    const taskId = extensionTaskId("tasks/get", params);
    return await asProtocolErrors(async () => ({
      resultType: "complete",
      ...await this.detailedTask(taskId, principal),
    }));
  }

  /**
   * `tasks/update`: acknowledges input responses. This server asks for input before it creates a
   * task (multi round-trip on the `tools/call`), so no key is ever outstanding and responses are
   * ignored, as the extension says of keys that are not outstanding.
   */
  async update(
    params: unknown,
    principal: Pick<Principal, "id">,
  ): Promise<{ resultType: "complete" }> {
    const taskId = extensionTaskId("tasks/update", params);
    const { inputResponses } = paramsObject("tasks/update", params);
    if (typeof inputResponses !== "object" || inputResponses === null) {
      throw new ProtocolError(
        ERROR_CODES.invalidParams,
        `Invalid inputResponses of tasks/update: expected an object keyed by input request, got ${
          JSON.stringify(inputResponses) ?? "nothing"
        }`,
      );
    }
    return await this.#acknowledge(taskId, principal);
  }

  /**
   * `tasks/cancel`: asks the job to stop on whichever instance runs it and acknowledges. Cancelling
   * is cooperative: a task that already ended keeps its end, and the ack is the same.
   */
  async cancel(
    params: unknown,
    principal: Pick<Principal, "id">,
  ): Promise<{ resultType: "complete" }> {
    const taskId = extensionTaskId("tasks/cancel", params);
    return await this.#acknowledge(taskId, principal, async (view) => {
      if (view.state === "working") await this.#tasks.cancel(taskId, principal);
    });
  }

  /** Finds the caller's task (an unknown one is an error), runs `then` on it and acknowledges. */
  async #acknowledge(
    taskId: string,
    principal: Pick<Principal, "id">,
    then?: (view: TaskView) => Promise<void>,
  ): Promise<{ resultType: "complete" }> {
    return await asProtocolErrors(async () => {
      const view = await this.#tasks.status(taskId, principal);
      await then?.(view);
      return { resultType: "complete" as const };
    });
  }

  /** The `notifications/tasks` notification a `subscriptions/listen` stream carries for a task. */
  async notification(
    taskId: string,
    principal: Pick<Principal, "id">,
  ): Promise<{ method: "notifications/tasks"; params: DetailedTask }> {
    return {
      method: "notifications/tasks",
      params: await asProtocolErrors(() => this.detailedTask(taskId, principal)),
    };
  }

  /** The task with the payload of its status (a render failure becomes a `failed` task). */
  async detailedTask(taskId: string, principal: Pick<Principal, "id">): Promise<DetailedTask> {
    let outcome;
    try {
      outcome = await this.#tasks.outcome(taskId, principal);
    } catch (error) {
      if (error instanceof TaskError) throw error;
      const view = await this.#tasks.status(taskId, principal);
      return {
        ...extensionTask(view),
        status: "failed",
        statusMessage: "The result could not be prepared",
        error: { code: ERROR_CODES.internalError, message: "The result could not be prepared" },
      };
    }
    const task = extensionTask(outcome);
    switch (outcome.state) {
      case "working":
      case "cancelled":
        return task;
      default:
        // Failures of the generation are tool results with isError: completed, result inline.
        return { ...task, status: "completed", result: outcome.result! };
    }
  }
}
