/**
 * Generations as MCP tasks and price confirmations, end to end through the real doors, with a raw
 * client that checks every message against the published schemas (`support/mcp_tasks_client.ts`).
 *
 * Tasks, each shape (2026-07-28 extension, 2025-11-25 experimental): a client with a 5 s timeout
 * calls generate_image against a fake upstream slowed to 15 s. The task exists at once, its status
 * moves through the stages, another instance sharing the KV file answers the same status, the
 * result carries the image, and a second task cancelled midway stops the upstream request (the
 * fake sees its connection closed). The same shapes over stdio.
 *
 * Confirmations (MCP_CONFIRM_ABOVE_USD=0.01): a 2026 client gets `input_required` showing price,
 * size and quality; accepting runs the generation, declining makes no upstream call; the same for
 * a 2025 client with elicitation (stdio and a stateful HTTP session); a client with neither gets
 * an isError result and no upstream call.
 */
import assert from "node:assert/strict";
import { type FakeOpenAI, startFakeOpenAI } from "../fake_openai.ts";
import { STAGE_TEXT } from "../../src/mcp/progress.ts";
import { eventually } from "../support/eventually.ts";
import { startFleet } from "./support/fleet.ts";
import { withHttpService } from "./support/http_server.ts";
import {
  httpWire,
  LegacyClient,
  ModernClient,
  RpcError,
  stdioWire,
  type Wire,
} from "./support/mcp_tasks_client.ts";

const TOKEN = "tasks-e2e-token-0123456789abcdef";
const AUTH = { Authorization: `Bearer ${TOKEN}` };
/** The client's patience for one request: a synchronous 15 s generation would miss it. */
const CLIENT_TIMEOUT_MS = 5_000;
const SLOW = "[fault:slow=15000]";
const POLL_MS = 250;

function serviceEnv(fake: FakeOpenAI, extra: Record<string, string> = {}): Record<string, string> {
  return {
    OPENAI_API_KEY: "sk-test-tasks-0123456789",
    OPENAI_BASE_URL: fake.baseUrl,
    OPENAI_MAX_RETRIES: "0",
    MCP_AUTH_TOKEN: TOKEN,
    IMAGE_STORE: "kv",
    MCP_PARTIAL_IMAGES: "2",
    MAX_INFLIGHT_PER_KEY: "0",
    REQUEST_RATE_LIMIT: "0",
    ...extra,
  };
}

interface TaskLike {
  status?: unknown;
  statusMessage?: unknown;
}

/**
 * Polls the task on instance A and then on B until it is no longer working; the two must agree
 * (B is read later, so when they differ A is read again and must have caught up). Returns the
 * stages seen, in order, and B's last answer.
 */
async function follow<T extends TaskLike>(
  onA: () => Promise<T>,
  onB: () => Promise<T>,
): Promise<{ stages: string[]; last: T }> {
  const stages: string[] = [];
  for (;;) {
    const a = await onA();
    const b = await onB();
    if (a.status !== b.status) {
      assert.equal(
        (await onA()).status,
        b.status,
        "polling another instance gives the same status",
      );
    }
    const stage = String(b.statusMessage ?? "").split(" · ")[0];
    if (stage !== "" && stages.at(-1) !== stage) stages.push(stage);
    if (b.status !== "working") return { stages, last: b };
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

function assertStages(stages: string[]): void {
  const generating = stages.indexOf(STAGE_TEXT.generating);
  const partial = stages.indexOf(STAGE_TEXT.partial_image);
  assert.ok(generating >= 0, `stages seen: ${stages.join(" → ")}`);
  assert.ok(partial > generating, `stages in order: ${stages.join(" → ")}`);
}

function assertImage(result: unknown): void {
  const content = (result as { content?: { type: string }[] }).content ?? [];
  assert.ok(
    content.some((block) => block.type === "image"),
    `the result carries the image: ${JSON.stringify(result).slice(0, 500)}`,
  );
}

/** Starts a second slow generation with `start`, cancels it with `cancel`, checks the upstream. */
async function cancelMidway(
  fake: FakeOpenAI,
  start: () => Promise<string>,
  cancel: (taskId: string) => Promise<void>,
): Promise<string> {
  const before = fake.requests.length;
  const taskId = await start();
  await eventually(
    () => fake.requests.length > before && fake.requests.at(-1)!.outcome === "pending",
    "the second task's upstream request",
  );
  const { seq } = fake.requests.at(-1)!;
  await cancel(taskId);
  await eventually(
    () => fake.requests.find((r) => r.seq === seq)!.outcome !== "pending",
    "the cancelled upstream request to end",
  );
  assert.equal(
    fake.requests.find((r) => r.seq === seq)!.outcome,
    "client_closed",
    "the fake sees the upstream connection closed",
  );
  return taskId;
}

/** Runs `fn` with a stdio server (`serviceEnv` plus `extra`) in a fresh data directory. */
async function withStdio(
  fake: FakeOpenAI,
  extra: Record<string, string>,
  fn: (wire: Wire) => Promise<void>,
): Promise<void> {
  const dataDir = await Deno.makeTempDir({ prefix: "mcp-tasks-stdio-" });
  try {
    await using wire = stdioWire(dataDir, serviceEnv(fake, extra));
    await fn(wire);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
}

// ---- tasks, 2026-07-28 extension -------------------------------------------------------------

Deno.test("[2026-07-28 HTTP] a task outlives the client timeout, is followed on another instance, and a cancel stops upstream", async () => {
  await using fake = await startFakeOpenAI();
  await using fleet = await startFleet(2, serviceEnv(fake));
  const [a, b] = fleet.instances.map((i) => new ModernClient(httpWire(i.url, AUTH)));

  const discovered = await a.discover();
  assert.deepEqual(
    (discovered.capabilities as { extensions?: Record<string, unknown> }).extensions?.[
      "io.modelcontextprotocol/tasks"
    ],
    {},
    "the server advertises the tasks extension",
  );

  const created = await a.callTool(
    "generate_image",
    { prompt: `a lighthouse in fog ${SLOW}`, quality: "low" },
    { signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS) },
  );
  assert.equal(created.resultType, "task");
  assert.equal(created.status, "working");
  const taskId = String(created.taskId);
  const first = await b.getTask(taskId, AbortSignal.timeout(1_000));
  assert.equal(first.status, "working", "the other instance finds the task at once");

  const { stages, last } = await follow(() => a.getTask(taskId), () => b.getTask(taskId));
  assertStages(stages);
  assert.equal(last.status, "completed", JSON.stringify(last));
  assertImage(last.result);

  const cancelled = await cancelMidway(
    fake,
    async () =>
      String(
        (await a.callTool("generate_image", { prompt: `a slow dusk ${SLOW}`, quality: "low" }, {
          signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS),
        })).taskId,
      ),
    async (id) => assert.deepEqual((await b.cancelTask(id)).resultType, "complete"),
  );
  for (const client of [a, b]) {
    assert.equal((await client.getTask(cancelled)).status, "cancelled");
  }
});

Deno.test("[2026-07-28 HTTP] no task without the per-request extension; tasks/* without it is -32021", async () => {
  await using fake = await startFakeOpenAI();
  await using fleet = await startFleet(1, serviceEnv(fake));
  const plain = new ModernClient(httpWire(fleet.instances[0].url, AUTH), { tasks: false });
  const result = await plain.callTool("generate_image", { prompt: "a pebble", quality: "low" });
  assert.equal(result.resultType, "complete", "a request without the extension runs synchronously");
  assertImage(result);
  const refused = await plain.request("tasks/get", { taskId: "no-such-task" });
  assert.equal(refused.response.error?.code, -32021, JSON.stringify(refused.response));
  assert.deepEqual(
    (refused.response.error?.data as { requiredCapabilities?: unknown }).requiredCapabilities,
    { extensions: { "io.modelcontextprotocol/tasks": {} } },
  );
  const tasks = new ModernClient(httpWire(fleet.instances[0].url, AUTH));
  await assert.rejects(
    tasks.getTask("no-such-task"),
    (error: RpcError) => error.error.code === -32602,
    "an unknown task is -32602",
  );
});

Deno.test("[2026-07-28 stdio] a task runs to its image and a cancelled one stops upstream", async () => {
  await using fake = await startFakeOpenAI();
  await withStdio(fake, {}, async (wire) => {
    const client = new ModernClient(wire);
    const created = await client.callTool("generate_image", {
      prompt: "a lighthouse [fault:slow=3000]",
      quality: "low",
    });
    assert.equal(created.resultType, "task");
    const taskId = String(created.taskId);
    const { stages, last } = await follow(
      () => client.getTask(taskId),
      () => client.getTask(taskId),
    );
    assertStages(stages);
    assert.equal(last.status, "completed");
    assertImage(last.result);
    const cancelled = await cancelMidway(
      fake,
      async () =>
        String((await client.callTool("generate_image", { prompt: `dusk ${SLOW}` })).taskId),
      async (id) => void await client.cancelTask(id),
    );
    assert.equal((await client.getTask(cancelled)).status, "cancelled");
  });
});

// ---- tasks, 2025-11-25 experimental ----------------------------------------------------------

/** Initializes `client` and checks the server offers task-augmented tools/call. */
async function initializeWithTasks(client: LegacyClient): Promise<void> {
  const init = await client.initialize();
  const tasks = (init.capabilities as { tasks?: Record<string, unknown> }).tasks;
  assert.deepEqual(tasks?.requests, { tools: { call: {} } }, "task-augmented tools/call");
}

/** The 2025 task flow: started on `a`, followed on `a` and `b`, answered and cancelled on `b`. */
async function legacyTaskFlow(fake: FakeOpenAI, a: LegacyClient, b: LegacyClient): Promise<void> {
  const { tools } = await a.request("tools/list", {}) as { tools: Record<string, unknown>[] };
  const generate = tools.find((t) => t.name === "generate_image");
  assert.deepEqual(generate?.execution, { taskSupport: "optional" });

  const created = await a.callTool(
    "generate_image",
    { prompt: `a lighthouse in fog ${SLOW}`, quality: "low" },
    { task: { ttl: 600_000 }, signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS) },
  );
  const task = created.task as { taskId: string; status: string };
  assert.equal(task.status, "working");
  const first = await b.getTask(task.taskId, AbortSignal.timeout(1_000));
  assert.equal(first.status, "working", "the other side finds the task at once");

  const { stages, last } = await follow(() => a.getTask(task.taskId), () => b.getTask(task.taskId));
  assertStages(stages);
  assert.equal(last.status, "completed");
  const result = await b.taskResult(task.taskId);
  assertImage(result);
  assert.deepEqual(
    (result._meta as Record<string, unknown>)["io.modelcontextprotocol/related-task"],
    { taskId: task.taskId },
  );
  const listed = (await b.listTasks()).tasks as { taskId: string }[];
  assert.ok(listed.some((t) => t.taskId === task.taskId), "tasks/list shows the task");

  const cancelled = await cancelMidway(
    fake,
    async () =>
      ((await a.callTool("generate_image", { prompt: `a slow dusk ${SLOW}`, quality: "low" }, {
        task: {},
        signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS),
      })).task as { taskId: string }).taskId,
    async (id) => assert.equal((await b.cancelTask(id)).status, "cancelled"),
  );
  assert.equal((await a.getTask(cancelled)).status, "cancelled");
  await assert.rejects(
    b.cancelTask(cancelled),
    (error: RpcError) => error.error.code === -32602,
    "a terminal task cannot be cancelled",
  );
}

Deno.test("[2025-11-25 HTTP] a task outlives the client timeout, is followed on another instance, and a cancel stops upstream", async () => {
  await using fake = await startFakeOpenAI();
  await using fleet = await startFleet(2, serviceEnv(fake));
  const [a, b] = fleet.instances.map((i) => new LegacyClient(httpWire(i.url, AUTH)));
  await initializeWithTasks(a);
  await initializeWithTasks(b);
  await legacyTaskFlow(fake, a, b);
});

Deno.test("[2025-11-25 stdio] a task runs to its image with status notifications, and a cancel stops upstream", async () => {
  await using fake = await startFakeOpenAI();
  await withStdio(fake, {}, async (wire) => {
    const client = new LegacyClient(wire);
    await initializeWithTasks(client);
    // One connection plays both sides: stdio has no second instance.
    await legacyTaskFlow(fake, client, client);
    const statuses = client.notifications.filter((n) => n.method === "notifications/tasks/status");
    assert.ok(
      statuses.some((n) => n.params?.status === "completed"),
      `notifications/tasks/status reports completion: ${JSON.stringify(statuses)}`,
    );
  });
});

// ---- confirmations ---------------------------------------------------------------------------

const CONFIRM = { MCP_CONFIRM_ABOVE_USD: "0.01" };
const PRICEY = { prompt: "a red fox in snow", quality: "high", size: "1024x1024" };

function assertShowsPrice(message: unknown): void {
  const text = String(message);
  assert.match(text, /\$\d/, `shows the price: ${text}`);
  assert.match(text, /1024x1024/, `shows the size: ${text}`);
  assert.match(text, /high/, `shows the quality: ${text}`);
}

function errorText(result: Record<string, unknown>): string {
  assert.equal(result.isError, true, JSON.stringify(result));
  return (result.content as { text?: string }[]).map((b) => b.text ?? "").join("\n");
}

Deno.test("[2026-07-28] a price above MCP_CONFIRM_ABOVE_USD asks via input_required; accept runs, decline does not", async () => {
  await withHttpService({ ...CONFIRM, MCP_PARTIAL_IMAGES: "0" }, async ({ server, fake }) => {
    const client = new ModernClient(httpWire(server.url), { tasks: false, elicitation: true });
    const asked = await client.callTool("generate_image", PRICEY);
    assert.equal(asked.resultType, "input_required");
    const request = (asked.inputRequests as Record<string, { method: string; params: unknown }>)
      .confirm_price;
    assert.equal(request.method, "elicitation/create");
    const params = request.params as { message: string; requestedSchema: unknown };
    assertShowsPrice(params.message + JSON.stringify(params.requestedSchema));
    assert.equal(fake.requests.length, 0, "nothing is sent upstream before the answer");

    const accepted = await client.callTool("generate_image", PRICEY, {
      inputResponses: { confirm_price: { action: "accept", content: { confirm: true } } },
      requestState: asked.requestState,
    });
    assert.equal(accepted.resultType, "complete");
    assertImage(accepted);
    assert.equal(fake.requests.length, 1, "accepting runs the generation");

    const again = await client.callTool("generate_image", PRICEY);
    const declined = await client.callTool("generate_image", PRICEY, {
      inputResponses: { confirm_price: { action: "decline" } },
      requestState: again.requestState,
    });
    assert.match(errorText(declined), /not confirmed/);
    assert.equal(fake.requests.length, 1, "declining makes no upstream call");
  });
});

Deno.test("[2026-07-28] a tampered or foreign requestState is a -32602 JSON-RPC error, and nothing runs", async () => {
  await withHttpService({ ...CONFIRM, MCP_PARTIAL_IMAGES: "0" }, async ({ server, fake }) => {
    const client = new ModernClient(httpWire(server.url), { tasks: false, elicitation: true });
    const asked = await client.callTool("generate_image", PRICEY);
    const state = String(asked.requestState);
    const accept = { confirm_price: { action: "accept", content: { confirm: true } } };
    // The first character of the state's signature changed; then the genuine state for other
    // arguments (the state is `v1.<payload>.<signature>`).
    const [version, payload, mac] = state.split(".");
    const tampered = [version, payload, (mac[0] === "A" ? "B" : "A") + mac.slice(1)].join(".");
    const retries = [
      { args: PRICEY, requestState: tampered, reason: /signature/ },
      { args: { ...PRICEY, prompt: "a blue fox" }, requestState: state, reason: /another/ },
    ];
    for (const { args, requestState, reason } of retries) {
      const refused = await client.callTool("generate_image", args, {
        inputResponses: accept,
        requestState,
      }).then((result) => assert.fail(`a result: ${JSON.stringify(result)}`), (error) => error);
      assert.ok(refused instanceof RpcError, String(refused));
      assert.equal(refused.error.code, -32602);
      assert.match(refused.error.message, /Invalid or expired requestState/);
      assert.match(refused.error.message, reason);
    }
    assert.equal(fake.requests.length, 0, "nothing is sent upstream");
  });
});

async function legacyConfirmation(wire: Wire, fake: FakeOpenAI): Promise<void> {
  const client = new LegacyClient(wire, { tasks: false, elicitation: true });
  await client.initialize();
  client.onServerRequest = () => ({ action: "accept", content: { confirm: true } });
  const accepted = await client.callTool("generate_image", PRICEY);
  const [elicit] = client.serverRequests;
  assert.equal(elicit?.method, "elicitation/create");
  assertShowsPrice(elicit.params!.message + JSON.stringify(elicit.params!.requestedSchema));
  assertImage(accepted);
  assert.equal(fake.requests.length, 1, "accepting runs the generation");

  client.onServerRequest = () => ({ action: "decline" });
  const declined = await client.callTool("generate_image", PRICEY);
  assert.equal(client.serverRequests.length, 2, "asked again");
  assert.match(errorText(declined), /not confirmed/);
  assert.equal(fake.requests.length, 1, "declining makes no upstream call");
}

Deno.test("[2025-11-25 stdio] a price above MCP_CONFIRM_ABOVE_USD is confirmed by elicitation/create", async () => {
  await using fake = await startFakeOpenAI();
  await withStdio(
    fake,
    { ...CONFIRM, MCP_PARTIAL_IMAGES: "0" },
    (wire) => legacyConfirmation(wire, fake),
  );
});

Deno.test("[2025-11-25 stateful HTTP] a price above MCP_CONFIRM_ABOVE_USD is confirmed by elicitation/create", async () => {
  await withHttpService(
    { ...CONFIRM, MCP_PARTIAL_IMAGES: "0", MCP_HTTP_SESSIONS: "stateful" },
    async ({ server, fake }) => await legacyConfirmation(httpWire(server.url), fake),
  );
});

Deno.test("a client with neither input_required nor elicitation gets isError and no upstream call", async () => {
  await withHttpService({ ...CONFIRM, MCP_PARTIAL_IMAGES: "0" }, async ({ server, fake }) => {
    const modern = new ModernClient(httpWire(server.url), { tasks: false, elicitation: false });
    const legacy = new LegacyClient(httpWire(server.url), { tasks: false, elicitation: false });
    await legacy.initialize();
    for (
      const result of [
        await modern.callTool("generate_image", PRICEY),
        await legacy.callTool("generate_image", PRICEY),
      ]
    ) {
      const text = errorText(result);
      assert.match(text, /confirm_price_usd/, text);
      assertShowsPrice(text);
    }
    assert.equal(fake.requests.length, 0, "no upstream call");
  });
});

Deno.test("a client that cannot be asked goes ahead with confirm_price_usd at or above the price", async () => {
  await withHttpService({ ...CONFIRM, MCP_PARTIAL_IMAGES: "0" }, async ({ server, fake }) => {
    const modern = new ModernClient(httpWire(server.url), { tasks: false, elicitation: false });
    const legacy = new LegacyClient(httpWire(server.url), { tasks: false, elicitation: false });
    await legacy.initialize();
    const refused = errorText(await modern.callTool("generate_image", PRICEY));
    const price = Number(/"confirm_price_usd": ([\d.]+)/.exec(refused)?.[1]);
    assert.ok(price > 0.01, `the error names the price to pass: ${refused}`);

    const below = await legacy.callTool("generate_image", { ...PRICEY, confirm_price_usd: 0.01 });
    assert.match(errorText(below), /confirm_price_usd 0\.01 is below that price/);
    assert.equal(fake.requests.length, 0, "a lower amount is no confirmation");

    for (const client of [modern, legacy]) {
      const before: number = fake.requests.length;
      assertImage(await client.callTool("generate_image", { ...PRICEY, confirm_price_usd: price }));
      assert.equal(fake.requests.length, before + 1, "the named price confirms");
    }
    for (const request of fake.requests) {
      assert.ok(request.fields && !("confirm_price_usd" in request.fields), "never sent upstream");
    }
  });
});
