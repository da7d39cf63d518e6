/**
 * Generations as MCP tasks, in both protocol eras, against the real core (createServices, the
 * fake OpenAI, an in-memory KV). Every message is checked against the shapes the specification
 * publishes (tests/support/mcp_shapes.ts).
 */
import assert from "node:assert/strict";
import type { Services } from "../../src/services.ts";
import {
  extensionCreateTaskResult,
  ExtensionTaskMethods,
  grantedTtl,
  LEGACY_TASKS_CAPABILITY,
  legacyCreateTaskResult,
  legacyStatusNotification,
  LegacyTaskMethods,
  requestedTask,
  TASKS_EXTENSION,
  TaskService,
  type TaskView,
} from "../../src/mcp/tasks/mod.ts";
import { ProtocolError } from "../../src/mcp/protocol_error.ts";
import type { FakeOpenAI } from "../fake_openai.ts";
import { eventually } from "../support/eventually.ts";
import { manualClock } from "../support/pinned_time.ts";
import { taskServiceFor, withRealCore } from "../support/real_core.ts";
import {
  CallToolResult2025,
  CreateTaskResult2025,
  CreateTaskResult2026,
  EmptyResult2026,
  GetTaskResult2026,
  ListTasksResult2025,
  MissingRequiredClientCapability,
  ServerTasksCapability2025,
  TaskNotification2026,
  TaskPayloadResult2025,
  TaskResult2025,
  TaskStatusNotification2025,
} from "../support/mcp_shapes.ts";

const alice = { id: "key-alice", name: "Alice", role: "user" as const };
const bob = { id: "key-bob", name: "Bob", role: "user" as const };
/** `_meta` of a 2026-07-28 request that declares the tasks extension. */
const withExtension = {
  _meta: {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientCapabilities": { extensions: { [TASKS_EXTENSION]: {} } },
  },
};
const withoutExtension = {
  _meta: {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientCapabilities": {},
  },
};

interface Harness {
  fake: FakeOpenAI;
  services: Services;
  tasks: TaskService;
  legacy: LegacyTaskMethods;
  modern: ExtensionTaskMethods;
  notified: TaskView[];
  generate(prompt: string, principal?: typeof alice, ttlMs?: number): Promise<TaskView>;
}

async function withTasks(
  fn: (h: Harness) => Promise<void>,
  options: { latencyMs?: number; now?: () => number } = {},
): Promise<void> {
  await withRealCore(async ({ fake, services, kv }) => {
    const tasks = taskServiceFor(services, { kv, ...(options.now ? { now: options.now } : {}) });
    const notified: TaskView[] = [];
    try {
      await fn({
        fake,
        services,
        tasks,
        legacy: new LegacyTaskMethods(tasks),
        modern: new ExtensionTaskMethods(tasks),
        notified,
        generate: (prompt, principal = alice, ttlMs) =>
          tasks.start({
            tool: "generate_image",
            principal,
            ...(ttlMs === undefined ? {} : { ttlMs }),
            start: (start) => services.images.generate({ prompt, quality: "low" }, start),
            onStateChange: (view) => notified.push(view),
          }),
      });
    } finally {
      await services.drain();
      await tasks.drain();
    }
  }, {
    fake: { latencyMs: options.latencyMs ?? 0 },
    ...(options.now ? { now: options.now } : {}),
  });
}

/** Resolves once the fake holds an unanswered request (the job is at the upstream call). */
async function upstreamInFlight(fake: FakeOpenAI): Promise<void> {
  await eventually(() => fake.stats.inFlight > 0, "the upstream request");
}

/** How the fake's first request ended, once the fake has noticed (a closed socket takes a moment). */
async function upstreamOutcome(fake: FakeOpenAI): Promise<string | undefined> {
  await eventually(() => fake.requests[0]?.outcome !== "pending", "the upstream request to end");
  return fake.requests[0]?.outcome;
}

/** The tool result a completed extension task carries inline. */
function inlineResult(detailed: ReturnType<typeof GetTaskResult2026.parse>) {
  assert.equal(detailed.status, "completed");
  return CallToolResult2025.parse((detailed as { result: unknown }).result);
}

async function rejection(promise: Promise<unknown>): Promise<ProtocolError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ProtocolError, `expected a ProtocolError, got ${error}`);
    return error;
  }
  assert.fail("expected the request to be refused");
}

Deno.test("a 2025-11-25 task answers { task } at once, and tasks/result returns the image tied to the task", async () => {
  await withTasks(async ({ generate, legacy }) => {
    const view = await generate("a lighthouse at dusk");
    const created = CreateTaskResult2025.parse(legacyCreateTaskResult(view));
    assert.equal(created.task.status, "working");
    const got = TaskResult2025.parse(await legacy.get({ taskId: view.taskId }, alice));
    assert.equal(got.taskId, view.taskId);

    const payload = TaskPayloadResult2025.parse(
      await legacy.result({ taskId: view.taskId }, alice),
    );
    assert.deepEqual(payload._meta["io.modelcontextprotocol/related-task"], {
      taskId: view.taskId,
    });
    assert.ok(payload.content.some((block) => block.type === "image"), "carries the preview");
    assert.equal(payload.isError, undefined);
    const done = TaskResult2025.parse(await legacy.get({ taskId: view.taskId }, alice));
    assert.equal(done.status, "completed");
  });
});

Deno.test("a failed generation is a failed task in 2025-11-25 and a completed one with an isError result in the extension", async () => {
  await withTasks(async ({ generate, legacy, modern }) => {
    const view = await generate("a poster [fault:moderation]");
    const payload = TaskPayloadResult2025.parse(
      await legacy.result({ taskId: view.taskId }, alice),
    );
    assert.equal(payload.isError, true);
    assert.match(JSON.stringify(payload.content), /moderation/i);
    assert.equal(
      TaskResult2025.parse(await legacy.get({ taskId: view.taskId }, alice)).status,
      "failed",
    );

    const detailed = GetTaskResult2026.parse(
      await modern.get({ taskId: view.taskId, ...withExtension }, alice),
    );
    assert.equal(inlineResult(detailed).isError, true);
  });
});

Deno.test("a request declaring the tasks extension gets a flat task handle, and tasks/get carries the result inline", async () => {
  await withTasks(async ({ generate, modern, tasks }) => {
    const view = await generate("a paper crane");
    const handle = CreateTaskResult2026.parse(extensionCreateTaskResult(view));
    assert.equal(handle.resultType, "task");
    assert.equal(handle.ttlMs, 3_600_000, "the default lifetime");
    await tasks.waitForOutcome(view.taskId, alice);

    const detailed = GetTaskResult2026.parse(
      await modern.get({ taskId: view.taskId, ...withExtension }, alice),
    );
    assert.equal(detailed.status, "completed");
    assert.ok(inlineResult(detailed).content.some((block) => block.type === "image"));
    TaskNotification2026.parse(await modern.notification(view.taskId, alice));
  });
});

Deno.test("the extension's tasks methods refuse a request that does not declare it with -32021", async () => {
  await withTasks(async ({ generate, modern }) => {
    const view = await generate("a kite");
    for (
      const refused of [
        modern.get({ taskId: view.taskId, ...withoutExtension }, alice),
        modern.cancel({ taskId: view.taskId }, alice),
        modern.update({ taskId: view.taskId, inputResponses: {}, ...withoutExtension }, alice),
      ]
    ) {
      const error = await rejection(refused);
      const shaped = MissingRequiredClientCapability.parse(error.toJSON());
      assert.deepEqual(shaped.data.requiredCapabilities, { extensions: { [TASKS_EXTENSION]: {} } });
    }
  });
});

Deno.test("tasks/update is acknowledged, and a malformed one names what is accepted", async () => {
  await withTasks(async ({ generate, modern }) => {
    const view = await generate("a teapot");
    EmptyResult2026.parse(
      await modern.update({ taskId: view.taskId, inputResponses: {}, ...withExtension }, alice),
    );
    const error = await rejection(modern.update({ taskId: view.taskId, ...withExtension }, alice));
    assert.equal(error.code, -32602);
    assert.match(error.message, /inputResponses .*expected an object/);
  });
});

Deno.test("another principal's task reads as not found, in both eras", async () => {
  await withTasks(async ({ generate, legacy, modern }) => {
    const view = await generate("a secret garden");
    for (
      const refused of [
        legacy.get({ taskId: view.taskId }, bob),
        legacy.result({ taskId: view.taskId }, bob),
        legacy.cancel({ taskId: view.taskId }, bob),
        modern.get({ taskId: view.taskId, ...withExtension }, bob),
      ]
    ) {
      const error = await rejection(refused);
      assert.equal(error.code, -32602);
      assert.equal(error.message, "Failed to retrieve task: Task not found");
    }
    const listed = ListTasksResult2025.parse(await legacy.list({}, bob));
    assert.deepEqual(listed.tasks, []);
  });
});

Deno.test("a task past its ttl answers -32602 Task has expired", async () => {
  const clock = manualClock(Date.UTC(2026, 11, 2, 12));
  await withTasks(async ({ generate, legacy, tasks }) => {
    const view = await generate("a glacier", alice, 90_000);
    assert.equal(view.ttlMs, 90_000);
    await tasks.waitForOutcome(view.taskId, alice);
    clock.advance(90_000);
    const error = await rejection(legacy.get({ taskId: view.taskId }, alice));
    assert.equal(error.code, -32602);
    assert.equal(error.message, "Failed to retrieve task: Task has expired");
    assert.deepEqual((await legacy.list({}, alice)).tasks, [], "expired tasks are not listed");
  }, { now: clock.now });
});

Deno.test("tasks/list pages through the caller's tasks newest first, and refuses a made-up cursor", async () => {
  const clock = manualClock(Date.UTC(2026, 11, 2, 12));
  await withTasks(async ({ generate, legacy, tasks }) => {
    const made: string[] = [];
    for (const prompt of ["one", "two", "three"]) {
      made.push((await generate(`image ${prompt}`)).taskId);
      clock.advance(1000);
    }
    await generate("not alice's", bob);
    const paged = new LegacyTaskMethods(tasks, { pageSize: 2 });
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = ListTasksResult2025.parse(
        await paged.list(cursor === undefined ? {} : { cursor }, alice),
      );
      assert.ok(page.tasks.length <= 2);
      seen.push(...page.tasks.map((task) => task.taskId));
      cursor = page.nextCursor;
    } while (cursor);
    assert.deepEqual(seen, made.toReversed());
    ListTasksResult2025.parse(await legacy.list(undefined, alice));
    const error = await rejection(legacy.list({ cursor: "not-a-cursor" }, alice));
    assert.equal(error.code, -32602);
    assert.match(error.message, /Invalid cursor .*nextCursor/);
  }, { now: clock.now });
});

Deno.test("tasks/cancel of 2025-11-25 answers the task already cancelled, and refuses a finished one", async () => {
  await withTasks(async ({ generate, legacy, fake, tasks }) => {
    const view = await generate("a slow sunrise [fault:hang]");
    await upstreamInFlight(fake);
    const cancelled = TaskResult2025.parse(await legacy.cancel({ taskId: view.taskId }, alice));
    assert.equal(cancelled.status, "cancelled");
    const payload = TaskPayloadResult2025.parse(
      await legacy.result({ taskId: view.taskId }, alice),
    );
    assert.equal(payload.isError, true);
    assert.match(JSON.stringify(payload.content), /cancelled/);
    await tasks.drain();
    assert.equal(await upstreamOutcome(fake), "client_closed", "the upstream call was aborted");

    const again = await rejection(legacy.cancel({ taskId: view.taskId }, alice));
    assert.equal(again.code, -32602);
    assert.equal(again.message, "Cannot cancel task: already in terminal status 'cancelled'");
  });
});

Deno.test("tasks/cancel of the extension is acknowledged, even for a task that has ended", async () => {
  await withTasks(async ({ generate, modern, tasks }) => {
    const view = await generate("a quick sketch");
    await tasks.waitForOutcome(view.taskId, alice);
    EmptyResult2026.parse(await modern.cancel({ taskId: view.taskId, ...withExtension }, alice));
    const detailed = GetTaskResult2026.parse(
      await modern.get({ taskId: view.taskId, ...withExtension }, alice),
    );
    assert.equal(detailed.status, "completed", "an ended task keeps its end");
  });
});

Deno.test("the end of a task is announced as notifications/tasks/status", async () => {
  await withTasks(async ({ generate, tasks, notified }) => {
    const view = await generate("a harbour");
    await tasks.waitForOutcome(view.taskId, alice);
    await tasks.drain();
    assert.equal(notified.length, 1);
    const notification = TaskStatusNotification2025.parse(legacyStatusNotification(notified[0]));
    assert.equal(notification.params.status, "completed");
  });
});

Deno.test("a tools/call asks for a task only where the tool's taskSupport allows it", () => {
  ServerTasksCapability2025.parse(LEGACY_TASKS_CAPABILITY);
  assert.equal(requestedTask("generate_image", {}, "optional"), null);
  assert.deepEqual(requestedTask("generate_image", { task: {} }, "optional"), {});
  assert.deepEqual(requestedTask("generate_image", { task: { ttl: 60000 } }, "required"), {
    ttlMs: 60000,
  });
  assert.throws(
    () => requestedTask("list_models", { task: {} }, "forbidden"),
    (error: ProtocolError) => error.code === -32601 && /does not run as a task/.test(error.message),
  );
  assert.throws(
    () => requestedTask("generate_image", {}, "required"),
    (error: ProtocolError) =>
      error.code === -32601 && /must be called as a task/.test(error.message),
  );
  assert.throws(
    () => requestedTask("generate_image", { task: { ttl: "soon" } }, "optional"),
    (error: ProtocolError) =>
      error.code === -32602 && /task\.ttl .*expected milliseconds.*"soon"/.test(error.message),
  );
});

Deno.test("a requested ttl is clamped to one minute to one day", () => {
  assert.equal(grantedTtl(), 3_600_000);
  assert.equal(grantedTtl(5), 60_000);
  assert.equal(grantedTtl(7 * 86_400_000), 86_400_000);
  assert.equal(grantedTtl(600_000), 600_000);
});
