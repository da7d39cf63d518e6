/**
 * A generation task seen from two instances sharing one KV file, against a slowed fake OpenAI:
 * the task exists within a second, its status follows the job's stages, the other instance
 * answers the same, the result carries the image, and a cancel sent to the other instance stops
 * the upstream request where it runs.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { resolveConfig } from "../../src/config.ts";
import { createServices, type Services } from "../../src/services.ts";
import { ExtensionTaskMethods, type TaskService } from "../../src/mcp/tasks/mod.ts";
import { eventually } from "../support/eventually.ts";
import { taskServiceFor } from "../support/real_core.ts";
import { type FakeOpenAI, startFakeOpenAI } from "../fake_openai.ts";
import { CallToolResult2025, GetTaskResult2026 } from "../support/mcp_shapes.ts";

const alice = { id: "key-alice", name: "Alice", role: "user" as const };
const withExtension = {
  _meta: {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientCapabilities": {
      extensions: { "io.modelcontextprotocol/tasks": {} },
    },
  },
};

interface Instance {
  services: Services;
  tasks: TaskService;
  methods: ExtensionTaskMethods;
}

async function instance(env: Record<string, string>): Promise<Instance> {
  const config = resolveConfig({ env });
  const services = await createServices(config, { door: "mcp", skipStartupReconcile: true });
  const tasks = taskServiceFor(services, { pollIntervalMs: 100 });
  return { services, tasks, methods: new ExtensionTaskMethods(tasks) };
}

async function close(...instances: Instance[]): Promise<void> {
  for (const { services, tasks } of instances) {
    await services.drain();
    await tasks.drain();
    await services.close();
  }
}

/** How the fake's request ended, once the fake has noticed. */
async function outcomeOf(fake: FakeOpenAI, seq: number): Promise<string | undefined> {
  const find = () => fake.requests.find((request) => request.seq === seq)?.outcome;
  await eventually(() => find() !== undefined && find() !== "pending", `request ${seq} to end`);
  return find();
}

const stageOf = (message: string | undefined) => message?.split(" · ")[0];

Deno.test("a task runs on one instance and is followed, answered and cancelled from another", async () => {
  await using fake = await startFakeOpenAI({ latencyMs: 700, streamIntervalMs: 400 });
  const dataDir = await Deno.makeTempDir({ prefix: "mcp-task-instances-" });
  const env = {
    OPENAI_API_KEY: "sk-test-task-instances-0123",
    OPENAI_BASE_URL: fake.baseUrl,
    DATA_DIR: dataDir,
    KV_PATH: join(dataDir, "shared.sqlite3"),
  };
  const a = await instance(env);
  const b = await instance(env);
  try {
    const started = performance.now();
    const view = await a.tasks.start({
      tool: "generate_image",
      principal: alice,
      start: (options) =>
        a.services.images.generate(
          { prompt: "a lighthouse in fog", quality: "low", partial_images: 2 },
          options,
        ),
    });
    assert.ok(performance.now() - started < 1000, "the task handle comes back within 1 s");
    assert.equal((await b.tasks.status(view.taskId, alice)).state, "working", "B finds it at once");

    const stages: string[] = [];
    await eventually(
      async () => {
        const [onA, onB] = [
          await a.tasks.status(view.taskId, alice),
          await b.tasks.status(view.taskId, alice),
        ];
        assert.equal(onB.state, onA.state, "both instances answer the same state");
        if (onB.state !== "working") return true;
        const stage = stageOf(onB.statusMessage)!;
        if (stages.at(-1) !== stage) stages.push(stage);
        return false;
      },
      "the task to finish",
      30_000,
    );
    assert.ok(stages.includes("Generating"), `stages seen: ${stages.join(" → ")}`);
    assert.ok(stages.includes("Partial image received"), `stages seen: ${stages.join(" → ")}`);
    assert.ok(
      stages.indexOf("Generating") < stages.indexOf("Partial image received"),
      `stages in order: ${stages.join(" → ")}`,
    );

    const detailed = GetTaskResult2026.parse(
      await b.methods.get({ taskId: view.taskId, ...withExtension }, alice),
    );
    assert.equal(detailed.status, "completed");
    const result = CallToolResult2025.parse((detailed as { result: unknown }).result);
    assert.ok(result.content.some((block) => block.type === "image"), "the image is in the result");

    const hanging = await a.tasks.start({
      tool: "generate_image",
      principal: alice,
      start: (options) =>
        a.services.images.generate({ prompt: "a slow dawn [fault:hang]", quality: "low" }, options),
    });
    await eventually(() => fake.stats.inFlight > 0, "the upstream request");
    const seq = fake.requests.at(-1)!.seq;
    await b.methods.cancel({ taskId: hanging.taskId, ...withExtension }, alice);
    assert.equal(await outcomeOf(fake, seq), "client_closed", "the upstream request was closed");
    assert.equal((await a.tasks.status(hanging.taskId, alice)).state, "cancelled");
    assert.equal((await b.tasks.status(hanging.taskId, alice)).state, "cancelled");
  } finally {
    await close(a, b);
    await Deno.remove(dataDir, { recursive: true });
  }
});
