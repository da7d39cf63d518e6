/**
 * Reading the parameters of `tasks/*` requests, shared by both eras: one place says what a task
 * id is and how a {@link TaskError} becomes the `-32602` the specifications ask for.
 *
 * @module
 */
import { ERROR_CODES, ProtocolError } from "../protocol_error.ts";
import { TaskError, type TaskView } from "./task_service.ts";

/** `params` as an object; a `-32602` error naming `method` otherwise. */
export function paramsObject(method: string, params: unknown): Record<string, unknown> {
  if (typeof params === "object" && params !== null && !Array.isArray(params)) {
    return params as Record<string, unknown>;
  }
  throw new ProtocolError(
    ERROR_CODES.invalidParams,
    `Invalid params of ${method}: expected an object with a taskId`,
  );
}

/** `params.taskId`; a `-32602` error saying what is accepted otherwise. */
export function taskIdParam(method: string, params: unknown): string {
  const { taskId } = paramsObject(method, params);
  if (typeof taskId === "string" && taskId.length > 0 && taskId.length <= 128) return taskId;
  throw new ProtocolError(
    ERROR_CODES.invalidParams,
    `Invalid taskId of ${method}: expected the taskId string a task creation returned, got ${
      JSON.stringify(taskId) ?? "nothing"
    }`,
  );
}

/** Runs `work`, answering a {@link TaskError} as the `-32602` both eras specify. */
export async function asProtocolErrors<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof TaskError) {
      throw new ProtocolError(ERROR_CODES.invalidParams, error.message);
    }
    throw error;
  }
}

/** The fields both eras' tasks share (lifetime and poll interval differ in name). */
export function commonTaskFields(view: TaskView): {
  taskId: string;
  status: string;
  statusMessage: string;
  createdAt: string;
  lastUpdatedAt: string;
} {
  return {
    taskId: view.taskId,
    status: view.state,
    statusMessage: view.statusMessage,
    createdAt: new Date(view.createdAt).toISOString(),
    lastUpdatedAt: new Date(view.updatedAt).toISOString(),
  };
}
