/**
 * Generations as MCP tasks in both protocol eras: the era-neutral {@link TaskService} (jobs in
 * KV, visible to every instance), the 2025-11-25 methods ({@link LegacyTaskMethods}), the
 * 2026-07-28 extension ({@link ExtensionTaskMethods}) and the result renderer the door uses.
 *
 * @module
 */
export {
  DEFAULT_TTL_POLICY,
  grantedTtl,
  type StartTask,
  TaskDrain,
  TaskError,
  type TaskOutcome,
  type TaskResultRenderer,
  TaskService,
  type TaskServiceDeps,
  type TaskState,
  type TaskTtlPolicy,
  type TaskView,
  TERMINAL_STATES,
  type ToolResult,
} from "./task_service.ts";
export {
  LEGACY_TASKS_CAPABILITY,
  legacyCreateTaskResult,
  legacyStatusNotification,
  type LegacyTask,
  legacyTask,
  LegacyTaskMethods,
  MODEL_IMMEDIATE_RESPONSE_META,
  RELATED_TASK_META,
  requestedTask,
  type TaskRequest,
  type TaskSupport,
} from "./legacy_tasks.ts";
export {
  capabilitiesDeclareTasks,
  CLIENT_CAPABILITIES_META,
  declaresTasksExtension,
  type DetailedTask,
  extensionCreateTaskResult,
  type ExtensionTask,
  extensionTask,
  ExtensionTaskMethods,
  requireTasksExtension,
  TASKS_EXTENSION,
  TASKS_EXTENSION_CAPABILITIES,
} from "./extension_tasks.ts";
export { createTaskResultRenderer, type TaskRenderContext } from "./render.ts";
