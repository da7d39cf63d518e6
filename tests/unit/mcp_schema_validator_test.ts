/**
 * The schema validator of the e2e tasks tests: it accepts the messages the specification's own
 * shapes describe, rejects messages of the wrong era or with missing fields, and the project's
 * task message builders produce messages the published schemas accept.
 */
import assert from "node:assert/strict";
import { assertSchema, definitionsOf, schemaErrors } from "../e2e/support/mcp_schema_validator.ts";
import {
  extensionCreateTaskResult,
  legacyCreateTaskResult,
  legacyStatusNotification,
  type TaskView,
} from "../../src/mcp/tasks/mod.ts";

const view: TaskView = {
  taskId: "task-0123456789abcdef",
  state: "working",
  statusMessage: "Generating · 3 s",
  createdAt: Date.UTC(2026, 6, 28, 12, 0, 0),
  updatedAt: Date.UTC(2026, 6, 28, 12, 0, 3),
  ttlMs: 3_600_000,
  pollIntervalMs: 1000,
};

const flatTask = {
  resultType: "task",
  taskId: "t1",
  status: "working",
  createdAt: "2026-07-28T12:00:00.000Z",
  lastUpdatedAt: "2026-07-28T12:00:00.000Z",
  ttlMs: 60000,
  pollIntervalMs: 500,
};

Deno.test("each vendored schema has the task definitions the tests name", () => {
  for (const name of ["CreateTaskResult", "GetTaskResult", "UpdateTaskRequest", "Task"]) {
    assert.ok(definitionsOf("ext-tasks").includes(name), `ext-tasks ${name}`);
  }
  for (const name of ["CreateTaskResult", "GetTaskPayloadResult", "TaskStatusNotification"]) {
    assert.ok(definitionsOf("2025-11-25").includes(name), `2025-11-25 ${name}`);
  }
  for (const name of ["CallToolRequest", "InputRequiredResult", "DiscoverResult"]) {
    assert.ok(definitionsOf("2026-07-28").includes(name), `2026-07-28 ${name}`);
  }
});

Deno.test("a flat 2026 CreateTaskResult passes and the bad variants are rejected", () => {
  assert.deepEqual(schemaErrors("ext-tasks", "CreateTaskResult", flatTask), []);
  const { ttlMs: _, ...withoutTtl } = flatTask;
  assert.notDeepEqual(schemaErrors("ext-tasks", "CreateTaskResult", withoutTtl), []);
  assert.notDeepEqual(
    schemaErrors("ext-tasks", "CreateTaskResult", { ...flatTask, ttlMs: 1.5 }),
    [],
    "ttlMs is an integer",
  );
  assert.notDeepEqual(
    schemaErrors("ext-tasks", "CreateTaskResult", { ...flatTask, status: "running" }),
    [],
    "status is one of the five",
  );
  const { resultType: __, ...withoutResultType } = flatTask;
  assert.notDeepEqual(schemaErrors("ext-tasks", "CreateTaskResult", withoutResultType), []);
});

Deno.test("the 2025 nested shape is not a 2026 task and the 2026 flat shape is not a 2025 one", () => {
  const nested = { task: { ...flatTask, ttl: 60000 } };
  assert.notDeepEqual(schemaErrors("ext-tasks", "CreateTaskResult", nested), []);
  assert.notDeepEqual(schemaErrors("2025-11-25", "CreateTaskResult", flatTask), []);
});

Deno.test("assertSchema names the definition and the failing location", () => {
  assert.throws(
    () => assertSchema("ext-tasks", "GetTaskResult", { resultType: "complete", taskId: 7 }),
    (error: Error) => /GetTaskResult \(ext-tasks\)/.test(error.message),
  );
  assert.throws(() => assertSchema("ext-tasks", "NoSuchThing", {}), RangeError);
});

Deno.test("the project's task messages conform to the published schemas", () => {
  assertSchema("ext-tasks", "CreateTaskResult", extensionCreateTaskResult(view));
  assertSchema("ext-tasks", "Task", extensionCreateTaskResult(view));
  assertSchema("2025-11-25", "CreateTaskResult", legacyCreateTaskResult(view));
  assertSchema("2025-11-25", "TaskStatusNotification", {
    jsonrpc: "2.0",
    ...legacyStatusNotification(view),
  });
});
