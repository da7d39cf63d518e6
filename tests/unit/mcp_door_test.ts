/**
 * The MCP door on SDK v2, in process: the early `initialize` answer of the fast stdio transport is
 * exactly the SDK's own, a 2026-07-28 client's first `server/discover` waits for the SDK and gets
 * its answer, and a custom request handler (`tasks/get`, registered with an explicit schema) is
 * served on both eras — over stdio after `initialize`, over HTTP through the 2026-07-28 entry.
 */
import assert from "node:assert/strict";
import { z } from "zod";
import { resolveConfig } from "../../src/config.ts";
import { FastStdioTransport } from "../../src/mcp/fast_stdio.ts";
import { createMcpServer } from "../../src/mcp/server.ts";
import { createTaskSetup } from "../../src/mcp/task_door.ts";
import { createMcpHandler, type ProtocolEra, serveStdio } from "../../src/mcp/sdk.ts";
import { FakeImageService } from "../support/fake_image_service.ts";
import { initializeLine, PROTOCOL_VERSION } from "../e2e/support/initialize.ts";

type Message = Record<string, unknown>;

const ENVELOPE = {
  "io.modelcontextprotocol/protocolVersion": "2026-07-28",
  "io.modelcontextprotocol/clientCapabilities": {},
  "io.modelcontextprotocol/clientInfo": { name: "door-test", version: "1.0.0" },
};

/**
 * The project's server as the doors build it (serving tasks, so the capabilities are the doors'),
 * with its `tasks/get` replaced by one answering with the era it ran in.
 */
function factory({ era }: { era: ProtocolEra }) {
  const config = resolveConfig({ env: { DATA_DIR: "/tmp/unused", KV_PATH: ":memory:" } });
  const server = createMcpServer(() => ({
    images: new FakeImageService(),
    config,
    principal: () => ({ id: "local", name: "local", role: "admin" }),
    redact: (text) => text,
  }), { era, tasks: createTaskSetup(() => Promise.reject(new Error("No KV in this test"))) });
  server.server.setRequestHandler(
    "tasks/get",
    { params: z.looseObject({ taskId: z.string() }) },
    (params) => ({ taskId: params.taskId, era: server.context.era }),
  );
  return server;
}

/**
 * Runs `lines` through the fast stdio transport; once `earlyAnswers` answers were written (or,
 * expecting none, after a short pause), through `serveStdio` until `answers` in all were written.
 */
async function overStdio(lines: Message[], earlyAnswers: number, answers: number) {
  const written: Message[] = [];
  const suppressed: Message[] = [];
  const enough = Promise.withResolvers<void>();
  const early = Promise.withResolvers<void>();
  const input = new ReadableStream<Uint8Array>({
    start(controller) {
      const text = lines.map((line) => `${JSON.stringify(line)}\n`).join("");
      controller.enqueue(new TextEncoder().encode(text));
    },
  });
  const transport = new FastStdioTransport({
    input,
    write: (bytes) => {
      written.push(JSON.parse(new TextDecoder().decode(bytes)));
      if (written.length >= earlyAnswers) early.resolve();
      if (written.length >= answers) enough.resolve();
      return Promise.resolve();
    },
    onSuppressed: (message) => suppressed.push(message),
  });
  // The transport listens before the SDK exists, as in src/main_mcp.ts.
  transport.listen();
  if (earlyAnswers > 0) await early.promise;
  else await new Promise((resolve) => setTimeout(resolve, 50));
  const beforeSdk = [...written];
  const handle = serveStdio(factory, { transport });
  await enough.promise;
  await handle.close();
  return { written, suppressed, early: beforeSdk };
}

Deno.test("stdio: the early initialize answer is the SDK's own, and a custom tasks/get is served on the 2025 era", async () => {
  const { written, suppressed, early } = await overStdio(
    [
      JSON.parse(initializeLine("door-test")),
      { jsonrpc: "2.0", method: "notifications/initialized" },
      { jsonrpc: "2.0", id: 2, method: "tasks/get", params: { taskId: "t-1" } },
    ],
    1,
    2,
  );
  assert.equal(early.length, 1, "initialize was answered before the SDK connected");
  assert.equal(suppressed.length, 1, "the SDK's own answer was dropped");
  assert.deepEqual(early[0], suppressed[0], "and it is the same answer");
  assert.equal((early[0].result as Message).protocolVersion, PROTOCOL_VERSION);
  assert.deepEqual(written[1], { jsonrpc: "2.0", id: 2, result: { taskId: "t-1", era: "legacy" } });
});

Deno.test("stdio: a 2026-07-28 client's server/discover waits for the SDK, then custom tasks/get is served on the modern era", async () => {
  const { written, early } = await overStdio(
    [
      { jsonrpc: "2.0", id: 1, method: "server/discover", params: { _meta: ENVELOPE } },
      { jsonrpc: "2.0", id: 2, method: "tasks/get", params: { taskId: "t-2", _meta: ENVELOPE } },
    ],
    0,
    2,
  );
  assert.deepEqual(early, [], "nothing is answered before the SDK is there");
  const discover = written[0].result as Message;
  assert.deepEqual(discover.supportedVersions, ["2026-07-28"]);
  const task = written[1].result as Message;
  assert.deepEqual([task.taskId, task.era, task.resultType], ["t-2", "modern", "complete"]);
});

Deno.test("http: the 2026-07-28 entry lets a custom tasks/get through its era gate", async () => {
  const handler = createMcpHandler(factory, { legacy: "reject" });
  try {
    const response = await handler.fetch(
      new Request("http://127.0.0.1/mcp", {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          Accept: "application/json, text/event-stream",
          "MCP-Protocol-Version": "2026-07-28",
          "Mcp-Method": "tasks/get",
          "Mcp-Name": "t-3",
        },
        body: JSON.stringify({
          jsonrpc: "2.0",
          id: 3,
          method: "tasks/get",
          params: { taskId: "t-3", _meta: ENVELOPE },
        }),
      }),
    );
    const answer = await response.json() as { result?: Message; error?: unknown };
    assert.equal(response.status, 200, JSON.stringify(answer));
    assert.deepEqual(
      [answer.result?.taskId, answer.result?.era, answer.result?.resultType],
      ["t-3", "modern", "complete"],
    );
  } finally {
    await handler.close();
  }
});
