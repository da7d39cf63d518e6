/**
 * Stateful MCP sessions have an end: the real HTTP service (in this process, so its clock can be
 * moved) on a loopback port, driven by the MCP SDK's client over real HTTP. Sessions idle for
 * MCP_SESSION_IDLE_SECONDS are closed and let go; a principal holds at most MCP_SESSIONS_PER_KEY;
 * a session's log and progress notifications reach that session only.
 */
import assert from "node:assert/strict";
import { eventually } from "../support/eventually.ts";
import { INITIALIZE, postMcp } from "./support/mcp_http.ts";
import {
  connectMcp as connect,
  type McpSession as Session,
  startInProcessService as startService,
} from "./support/in_process.ts";

/** The idle time the in-process service runs with. */
const IDLE_SECONDS = 600;

/** The SDK's client schedules reconnection timers it does not always clear (see remote_mcp_test). */
function sdkClientTest(name: string, fn: () => Promise<void>) {
  Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });
}

/** A raw `initialize` POST, as a client that never comes back would send it. */
function initializeRaw(url: string, key: string): Promise<Response> {
  return postMcp(url, INITIALIZE, { Authorization: `Bearer ${key}` });
}

sdkClientTest(
  "stateful sessions idle for MCP_SESSION_IDLE_SECONDS are closed and no longer held",
  async () => {
    await using service = await startService({ MCP_SESSIONS_PER_KEY: "1000" });
    for (let i = 0; i < 200; i++) {
      const response = await initializeRaw(service.url, service.keys.alice);
      await response.body?.cancel();
      assert.equal(response.status, 200);
      assert.ok(response.headers.get("mcp-session-id"));
    }
    await using active = await connect(service.url, service.keys.bob);
    assert.equal(await service.openSessions(), 201);

    // Half-way, one session is used: its idle time starts again.
    service.advance(IDLE_SECONDS * 500);
    await active.client.listTools();
    service.advance(IDLE_SECONDS * 500);
    assert.equal(await service.openSessions(), 1, "the 200 abandoned sessions are gone");

    service.advance(IDLE_SECONDS * 1000);
    assert.equal(await service.openSessions(), 0, "the used one expires in its turn");
    const refused = await active.client.listTools().then(() => undefined, (error) => error);
    assert.ok(refused instanceof Error, "a call on an expired session fails");
    assert.match(String(refused.message), /404|Session not found/);

    // The client's way back is a new session.
    await using again = await connect(service.url, service.keys.bob);
    const { tools } = await again.client.listTools();
    assert.ok(tools.some((t) => t.name === "generate_image"));
  },
);

sdkClientTest(
  "a session answering a long tool call is not closed as idle",
  async () => {
    await using service = await startService();
    await using session = await connect(service.url, service.keys.alice);
    const controller = new AbortController();
    const call = session.client.callTool(
      { name: "generate_image", arguments: { prompt: "never finishes [fault:hang]" } },
      undefined,
      { signal: controller.signal, timeout: 60_000 },
    ).catch((error: unknown) => error);
    await eventually(() => service.fake.stats.inFlight > 0, "the upstream request", 20_000);
    service.advance(IDLE_SECONDS * 3000);
    assert.equal(await service.openSessions(), 1, "busy, so not idle");
    controller.abort("done waiting");
    await call;
    await eventually(
      () => service.fake.stats.inFlight === 0,
      "the upstream request to end",
      20_000,
    );
  },
);

sdkClientTest(
  "a principal holding MCP_SESSIONS_PER_KEY sessions is refused another with 429 naming the setting",
  async () => {
    await using service = await startService({ MCP_SESSIONS_PER_KEY: "3" });
    const held: Session[] = [];
    try {
      for (let i = 0; i < 3; i++) held.push(await connect(service.url, service.keys.alice));
      const refused = await initializeRaw(service.url, service.keys.alice);
      const body = await refused.json();
      assert.equal(refused.status, 429);
      assert.equal(body.jsonrpc, "2.0");
      assert.match(body.error.message, /Too many open MCP sessions/);
      assert.match(body.error.message, /MCP_SESSIONS_PER_KEY/);
      assert.match(body.error.message, /DELETE/);

      // Another principal is not affected.
      await using other = await connect(service.url, service.keys.bob);
      assert.ok(other.transport.sessionId);

      // Ending one session (DELETE) frees its place.
      await held.shift()![Symbol.asyncDispose]();
      await using replacement = await connect(service.url, service.keys.alice);
      assert.ok(replacement.transport.sessionId);

      // So does idling out.
      service.advance(IDLE_SECONDS * 1000);
      const after = await initializeRaw(service.url, service.keys.alice);
      await after.body?.cancel();
      assert.equal(after.status, 200);
    } finally {
      for (const session of held) await session[Symbol.asyncDispose]();
    }
  },
);

sdkClientTest(
  "a request that is no initialize leaves no session behind",
  async () => {
    await using service = await startService();
    for (let i = 0; i < 20; i++) {
      const response = await postMcp(
        service.url,
        { jsonrpc: "2.0", id: i, method: "tools/list" },
        { Authorization: `Bearer ${service.keys.alice}` },
      );
      await response.body?.cancel();
      assert.equal(response.status, 400);
    }
    assert.equal(await service.openSessions(), 0);
    // Nor do they count against the cap.
    await using session = await connect(service.url, service.keys.alice);
    assert.ok(session.transport.sessionId);
  },
);

sdkClientTest(
  "log and progress notifications reach only the session whose call caused them",
  async () => {
    await using service = await startService({ LOG_LEVEL: "info" });
    await using alice = await connect(service.url, service.keys.alice, "alice");
    await using bob = await connect(service.url, service.keys.bob, "bob");
    await using aliceAgain = await connect(service.url, service.keys.alice, "alice-2");

    const progress: number[] = [];
    const result = await alice.client.callTool(
      {
        name: "generate_image",
        // The upstream sends more images than asked: the service logs a warning about it.
        arguments: { prompt: "a fox [fault:extra_images=2]", quality: "low" },
      },
      undefined,
      { onprogress: (p) => progress.push(p.progress), timeout: 60_000 },
    );
    assert.ok(!result.isError, JSON.stringify(result));
    assert.ok(progress.length >= 1, "alice's call reported progress to alice");
    const isWarning = (n: { method: string; params?: Record<string, unknown> }) =>
      n.method === "notifications/message" && /were asked for/.test(String(n.params?.data));
    await eventually(() => alice.notifications.some(isWarning), "alice's log message", 10_000);
    assert.ok(
      service.logs().some((line) => /were asked for/.test(line)),
      "the warning was logged",
    );

    for (const [name, other] of [["bob", bob], ["alice's other session", aliceAgain]] as const) {
      const seen = other.notifications.map((n) => n.method);
      assert.ok(!seen.includes("notifications/message"), `${name} heard someone's log: ${seen}`);
      assert.ok(!seen.includes("notifications/progress"), `${name} heard someone's progress`);
    }
  },
);
