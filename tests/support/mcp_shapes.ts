/**
 * The message shapes of the MCP specification that tasks and confirmations produce, written by
 * hand as zod schemas from the published texts, so tests can check every message against the
 * specification rather than against the code that made it:
 * - 2025-11-25: `schema/2025-11-25/schema.ts` and `basic/utilities/tasks.mdx` of
 *   modelcontextprotocol/modelcontextprotocol;
 * - 2026-07-28: `schema/2026-07-28/schema.ts` and `basic/patterns/mrtr.mdx` there, and the tasks
 *   extension's `specification/draft/tasks.md` + `schema/draft/schema.ts` (modelcontextprotocol/ext-tasks).
 *
 * Closed interfaces of the specification are strict objects here, so a field of the other era
 * (`ttl` where `ttlMs` belongs, a nested `task` where the fields are flat) fails the check.
 *
 * @module
 */
import { z } from "zod";

const isoTime = z.iso.datetime({ offset: true });
const int = z.number().int();
const meta = z.record(z.string(), z.unknown());
const status = z.enum(["working", "input_required", "completed", "failed", "cancelled"]);

/** JSON-RPC error object (`Error`). */
export const JsonRpcError = z.strictObject({
  code: int,
  message: z.string(),
  data: z.unknown().optional(),
});

/** 2026-07-28 `MissingRequiredClientCapabilityError.error`. */
export const MissingRequiredClientCapability = z.strictObject({
  code: z.literal(-32021),
  message: z.string(),
  data: z.strictObject({ requiredCapabilities: z.record(z.string(), z.unknown()) }),
});

// ---------------------------------------------------------------------------------------------
// 2025-11-25 (experimental tasks)

/** 2025-11-25 `Task`. */
export const Task2025 = z.strictObject({
  taskId: z.string(),
  status,
  statusMessage: z.string().optional(),
  createdAt: isoTime,
  lastUpdatedAt: isoTime,
  ttl: z.number().nullable(),
  pollInterval: z.number().optional(),
});

/** 2025-11-25 `CreateTaskResult`: `Result` with the task nested under `task`. */
export const CreateTaskResult2025 = z.strictObject({ _meta: meta.optional(), task: Task2025 });

/** 2025-11-25 `GetTaskResult` and `CancelTaskResult`: `Result & Task`. */
export const TaskResult2025 = Task2025.extend({ _meta: meta.optional() });

/** 2025-11-25 `ListTasksResult`. */
export const ListTasksResult2025 = z.strictObject({
  _meta: meta.optional(),
  tasks: z.array(Task2025),
  nextCursor: z.string().optional(),
});

/** 2025-11-25 `TaskStatusNotification` (without the JSON-RPC envelope). */
export const TaskStatusNotification2025 = z.strictObject({
  method: z.literal("notifications/tasks/status"),
  params: Task2025.extend({ _meta: meta.optional() }),
});

/** 2025-11-25 capabilities.tasks of a server. */
export const ServerTasksCapability2025 = z.strictObject({
  list: z.object({}).optional(),
  cancel: z.object({}).optional(),
  requests: z.strictObject({
    tools: z.strictObject({ call: z.object({}).optional() }).optional(),
  }).optional(),
});

const contentBlock = z.object({ type: z.string() }).passthrough();

/** `CallToolResult` of 2025-11-25 (no `resultType`). */
export const CallToolResult2025 = z.strictObject({
  _meta: meta.optional(),
  content: z.array(contentBlock),
  structuredContent: z.record(z.string(), z.unknown()).optional(),
  isError: z.boolean().optional(),
});

/** `tasks/result` of a tool task: the `CallToolResult` tied to its task by `_meta`. */
export const TaskPayloadResult2025 = CallToolResult2025.extend({
  _meta: z.object({
    "io.modelcontextprotocol/related-task": z.strictObject({ taskId: z.string() }),
  }).passthrough(),
});

// ---------------------------------------------------------------------------------------------
// 2026-07-28 (tasks extension, multi round-trip)

const task2026Fields = {
  taskId: z.string(),
  statusMessage: z.string().optional(),
  createdAt: isoTime,
  lastUpdatedAt: isoTime,
  ttlMs: int.nullable(),
  pollIntervalMs: int.optional(),
};

/** Extension `CreateTaskResult`: `Result & Task & { resultType: "task" }`, flat. */
export const CreateTaskResult2026 = z.strictObject({
  _meta: meta.optional(),
  resultType: z.literal("task"),
  status,
  ...task2026Fields,
});

/** Extension `GetTaskResult`: a `DetailedTask` with `resultType: "complete"`. */
export const GetTaskResult2026 = z.discriminatedUnion("status", [
  z.strictObject({
    _meta: meta.optional(),
    resultType: z.literal("complete"),
    status: z.literal("working"),
    ...task2026Fields,
  }),
  z.strictObject({
    _meta: meta.optional(),
    resultType: z.literal("complete"),
    status: z.literal("input_required"),
    inputRequests: z.record(z.string(), z.unknown()),
    ...task2026Fields,
  }),
  z.strictObject({
    _meta: meta.optional(),
    resultType: z.literal("complete"),
    status: z.literal("completed"),
    result: z.record(z.string(), z.unknown()),
    ...task2026Fields,
  }),
  z.strictObject({
    _meta: meta.optional(),
    resultType: z.literal("complete"),
    status: z.literal("failed"),
    error: JsonRpcError,
    ...task2026Fields,
  }),
  z.strictObject({
    _meta: meta.optional(),
    resultType: z.literal("complete"),
    status: z.literal("cancelled"),
    ...task2026Fields,
  }),
]);

/** Extension `CancelTaskResult` and `UpdateTaskResult`: an empty `Result`. */
export const EmptyResult2026 = z.strictObject({
  _meta: meta.optional(),
  resultType: z.literal("complete"),
});

/** Extension `TaskStatusNotification`: method `notifications/tasks`, params a DetailedTask. */
export const TaskNotification2026 = z.strictObject({
  method: z.literal("notifications/tasks"),
  params: z.object({ status, ...task2026Fields }).passthrough(),
});

/** Elicitation form field schemas (`PrimitiveSchemaDefinition`, the parts this project uses). */
const primitiveSchema = z.union([
  z.strictObject({
    type: z.literal("string"),
    title: z.string().optional(),
    description: z.string().optional(),
    minLength: int.optional(),
    maxLength: int.optional(),
    format: z.enum(["email", "uri", "date", "date-time"]).optional(),
    default: z.string().optional(),
  }),
  z.strictObject({
    type: z.enum(["number", "integer"]),
    title: z.string().optional(),
    description: z.string().optional(),
    minimum: z.number().optional(),
    maximum: z.number().optional(),
    default: z.number().optional(),
  }),
  z.strictObject({
    type: z.literal("boolean"),
    title: z.string().optional(),
    description: z.string().optional(),
    default: z.boolean().optional(),
  }),
  z.strictObject({
    type: z.literal("string"),
    title: z.string().optional(),
    description: z.string().optional(),
    oneOf: z.array(z.strictObject({ const: z.string(), title: z.string() })),
    default: z.string().optional(),
  }),
]);

/** `ElicitRequestFormParams` (2025-11-25 and 2026-07-28 agree on these fields). */
export const ElicitFormParams = z.strictObject({
  _meta: meta.optional(),
  mode: z.literal("form").optional(),
  message: z.string(),
  requestedSchema: z.strictObject({
    $schema: z.string().optional(),
    type: z.literal("object"),
    properties: z.record(z.string(), primitiveSchema),
    required: z.array(z.string()).optional(),
  }),
});

/** 2026-07-28 embedded `ElicitRequest` (an input request: no `jsonrpc`, no `id`). */
export const EmbeddedElicitRequest = z.strictObject({
  method: z.literal("elicitation/create"),
  params: ElicitFormParams,
});

/** 2026-07-28 `InputRequiredResult` (at least one of `inputRequests`, `requestState`). */
export const InputRequiredResult = z.strictObject({
  _meta: meta.optional(),
  resultType: z.literal("input_required"),
  inputRequests: z.record(z.string(), EmbeddedElicitRequest).optional(),
  requestState: z.string().optional(),
}).refine((r) => r.inputRequests !== undefined || r.requestState !== undefined, {
  message: "at least one of inputRequests or requestState must be present",
});

/** 2026-07-28 `CallToolResult`. */
export const CallToolResult2026 = CallToolResult2025.extend({ resultType: z.literal("complete") });

// ---------------------------------------------------------------------------------------------
// Icons and titles (same names in 2025-11-25 and 2026-07-28)

/** `Icon`. */
export const Icon = z.strictObject({
  src: z.string().refine((src) => /^(https?:|data:)/.test(src), "an http(s) or data: URI"),
  mimeType: z.string().optional(),
  sizes: z.array(z.string().regex(/^(\d+x\d+|any)$/)).optional(),
  theme: z.enum(["light", "dark"]).optional(),
});
