/**
 * Junk is a 4xx, never a 500: malformed JSON-RPC batches, ids too long to key a cancel by, list
 * filters too long for a KV key — each answered with a JSON-RPC or JSON error naming what was wrong
 * and what is accepted, before anything is generated (and billed). The real HTTP service in this
 * process, the fake upstream, raw HTTP and the MCP SDK's client.
 */
import assert from "node:assert/strict";
import { connectMcp, startInProcessService } from "./support/in_process.ts";
import { postMcp } from "./support/mcp_http.ts";

/** The SDK's client schedules reconnection timers it does not always clear (see remote_mcp_test). */
function sdkClientTest(name: string, fn: () => Promise<void>) {
  Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });
}

const MODES = ["stateless", "stateful"] as const;

/** POSTs `body` to `/mcp` with `key`, as a Streamable HTTP client would. */
function post(url: string, key: string, body: unknown, headers: Record<string, string> = {}) {
  return postMcp(url, body, { Authorization: `Bearer ${key}`, ...headers });
}

for (const mode of MODES) {
  sdkClientTest(
    `[${mode}] a JSON-RPC batch holding a number and a null is a 400 naming the bad item`,
    async () => {
      await using service = await startInProcessService({ MCP_HTTP_SESSIONS: mode });
      const response = await post(service.url, service.keys.alice, [
        { jsonrpc: "2.0", id: 1, method: "ping" },
        5,
        null,
      ]);
      const body = await response.json();
      assert.equal(response.status, 400);
      assert.equal(body.jsonrpc, "2.0");
      assert.equal(body.error.code, -32600);
      assert.match(body.error.message, /message 2 of the batch is a number/);
      assert.match(body.error.message, /expected a JSON-RPC message object/);

      const empty = await post(service.url, service.keys.alice, [
        { jsonrpc: "2.0", method: "notifications/initialized" },
        { jsonrpc: "1.0", id: 2, method: "ping" },
      ]);
      const emptyBody = await empty.json();
      assert.equal(empty.status, 400);
      assert.match(emptyBody.error.message, /message 2 of the batch has no "jsonrpc": "2.0"/);
    },
  );

  sdkClientTest(
    `[${mode}] a tools/call with a 5,000-character id is a 400 and nothing is generated`,
    async () => {
      await using service = await startInProcessService({ MCP_HTTP_SESSIONS: mode });
      await using session = await connectMcp(service.url, service.keys.alice);
      const headers: Record<string, string> = session.transport.sessionId
        ? { "Mcp-Session-Id": session.transport.sessionId }
        : {};
      const response = await post(service.url, service.keys.alice, {
        jsonrpc: "2.0",
        id: "x".repeat(5_000),
        method: "tools/call",
        params: { name: "generate_image", arguments: { prompt: "a billed fox", quality: "low" } },
      }, headers);
      const body = await response.json();
      assert.equal(response.status, 400);
      assert.equal(body.error.code, -32600);
      assert.match(body.error.message, /id of the message is a string of 5000 characters/);
      assert.match(body.error.message, /at most 128 characters or an integer/);
      assert.equal(service.fake.requests.length, 0, "the upstream was never called");

      // A cancel naming such an id cannot match a call either: refused the same way.
      const cancel = await post(service.url, service.keys.alice, {
        jsonrpc: "2.0",
        method: "notifications/cancelled",
        params: { requestId: "y".repeat(5_000) },
      }, headers);
      await cancel.body?.cancel();
      assert.ok(cancel.status < 500, `a cancel with a long request id answers ${cancel.status}`);

      // The same call with an ordinary id works.
      const ok = await session.client.callTool({
        name: "generate_image",
        arguments: { prompt: "a fox", quality: "low" },
      });
      assert.ok(!ok.isError, JSON.stringify(ok));
      assert.equal(service.fake.stats.imagesProduced, 1);
    },
  );
}

sdkClientTest(
  "a session id no session could have is a 404, also when it only carries a cancel",
  async () => {
    await using service = await startInProcessService({ MCP_HTTP_SESSIONS: "stateful" });
    const response = await post(service.url, service.keys.alice, {
      jsonrpc: "2.0",
      method: "notifications/cancelled",
      params: { requestId: 3 },
    }, { "Mcp-Session-Id": "s".repeat(3_000) });
    const body = await response.json();
    assert.equal(response.status, 404);
    assert.match(body.error.message, /Session not found/);
  },
);

sdkClientTest(
  "a list filter too long for a KV key is a 400 naming it, in /v1 and in list_images",
  async () => {
    await using service = await startInProcessService();
    const long = "m".repeat(2_100);
    const response = await fetch(`${service.url}/v1/images?model=${long}`, {
      headers: { Authorization: `Bearer ${service.keys.alice}` },
    });
    const body = await response.json();
    assert.equal(response.status, 400, JSON.stringify(body));
    assert.equal(body.error.param, "model");
    assert.match(body.error.message, /model/);
    assert.match(body.error.message, /1 to 200 characters/);

    await using session = await connectMcp(service.url, service.keys.alice);
    const result = await session.client.callTool({
      name: "list_images",
      arguments: { model: long },
    }) as { isError?: boolean; content: { type: string; text?: string }[] };
    assert.equal(result.isError, true);
    assert.match(result.content[0].text ?? "", /Invalid model: expected a string of 1 to 200/);
  },
);

sdkClientTest(
  "a JSON-RPC response or batch posted as 2026-07-28 is a 400 saying such a client never sends one",
  async () => {
    await using service = await startInProcessService({ MCP_HTTP_SESSIONS: "stateless" });
    const modern = { "MCP-Protocol-Version": "2026-07-28" };
    const response = await post(service.url, service.keys.alice, {
      jsonrpc: "2.0",
      id: 4,
      result: {},
    }, modern);
    const body = await response.json();
    assert.equal(response.status, 400, JSON.stringify(body));
    assert.equal(body.error.code, -32600);
    assert.match(body.error.message, /2026-07-28 client posts only requests and notifications/);
    assert.doesNotMatch(body.error.message, /Unsupported protocol version/);

    const batch = await post(service.url, service.keys.alice, [
      { jsonrpc: "2.0", id: 5, method: "ping" },
    ], modern);
    const batchBody = await batch.json();
    assert.equal(batch.status, 400, JSON.stringify(batchBody));
    assert.equal(batchBody.error.code, -32600);
    assert.match(batchBody.error.message, /never a JSON-RPC batch/);

    // A 2025-era client may post a response (to a request of its session's server).
    const legacy = await post(service.url, service.keys.alice, {
      jsonrpc: "2.0",
      id: 4,
      result: {},
    });
    await legacy.body?.cancel();
    assert.equal(legacy.status, 202);
  },
);
