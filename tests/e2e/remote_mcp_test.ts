/**
 * End-to-end: remote MCP over Streamable HTTP on `/mcp` of the real HTTP service process, driven
 * by the MCP SDK's Client over StreamableHTTPClientTransport, in both session modes — progress,
 * `image://` resources, cancels (also when the cancel reaches a second instance sharing the KV),
 * refusals of foreign origins and bad tokens, and the predecessor's REST answers on the same path.
 */
import assert from "node:assert/strict";
import { decodeBase64 } from "../../src/encoding.ts";
import { type FakeOpenAI, startFakeOpenAI } from "../fake_openai.ts";
import { Client, StreamableHTTPClientTransport } from "./support/mcp_client.ts";
import { eventually } from "../support/eventually.ts";
import { INITIALIZE, postMcp } from "./support/mcp_http.ts";
import {
  type HttpServerProcess,
  startHttpServer,
  TEST_OPENAI_KEY,
  withHttpService,
} from "./support/http_server.ts";

const TOKEN = "remote-mcp-token-0123456789abcdef";

/**
 * The SDK's StreamableHTTPClientTransport schedules SSE reconnection timers
 * (client/streamableHttp.js `_scheduleReconnection`) when a stream ends without its response, and
 * `close()` clears only the latest one: tests driving that client cannot pass the ops sanitizer.
 */
function sdkClientTest(name: string, fn: () => Promise<void>) {
  Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });
}
const MODES = ["stateless", "stateful"] as const;
type Mode = typeof MODES[number];

type Block = { type: string; text?: string; data?: string; mimeType?: string; uri?: string };
type ToolResult = { content: Block[]; isError?: boolean };

function texts(result: ToolResult): string {
  return result.content.filter((b) => b.type === "text").map((b) => b.text).join("\n");
}

function envFor(mode: Mode): Record<string, string> {
  return {
    MCP_AUTH_TOKEN: TOKEN,
    MCP_HTTP_SESSIONS: mode,
    IMAGE_GENERATION_RATE_LIMIT: "1000",
  };
}

/** A connected SDK client that also records the JSON-RPC ids of its `tools/call` requests. */
interface RemoteSession extends AsyncDisposable {
  client: InstanceType<typeof Client>;
  transport: InstanceType<typeof StreamableHTTPClientTransport>;
  /** Ids of the `tools/call` requests sent so far, in order. */
  callIds: (string | number)[];
}

async function connect(url: string, token = TOKEN): Promise<RemoteSession> {
  const callIds: (string | number)[] = [];
  const recording = (input: string | URL | Request, init?: RequestInit) => {
    if (typeof init?.body === "string") {
      const message = JSON.parse(init.body);
      if (message.method === "tools/call") callIds.push(message.id);
    }
    return fetch(input, init);
  };
  const transport = new StreamableHTTPClientTransport(new URL(`${url}/mcp`), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
    fetch: recording,
  });
  const client = new Client({ name: "remote-e2e", version: "1.0.0" });
  await client.connect(transport);
  return {
    client,
    transport,
    callIds,
    async [Symbol.asyncDispose]() {
      // A well-behaved client ends its session (DELETE) before it goes; without it a stateful
      // session's idle GET stream stays open on the server until the session is cleaned up.
      if (transport.sessionId !== undefined) await transport.terminateSession().catch(() => {});
      await client.close();
    },
  };
}

async function catalogCount(server: HttpServerProcess): Promise<number> {
  const response = await fetch(`${server.url}/admin/images/stats`, {
    headers: { Authorization: `Bearer ${TOKEN}` },
  });
  const body = await response.json();
  assert.equal(response.status, 200, JSON.stringify(body));
  return body.stats.count;
}

/** Starts a hanging generation through `session`; resolves once the upstream request is open. */
async function startHangingCall(session: RemoteSession, fake: FakeOpenAI, signal?: AbortSignal) {
  const before = session.callIds.length;
  const call = session.client.callTool(
    { name: "generate_image", arguments: { prompt: "never finishes [fault:hang]" } },
    undefined,
    { ...(signal ? { signal } : {}), timeout: 60_000 },
  ).then((result) => result as ToolResult, (error: unknown) => error as Error);
  await eventually(() => fake.stats.inFlight > 0, "the upstream request", 20_000);
  assert.equal(session.callIds.length, before + 1);
  return { call, requestId: session.callIds[before] };
}

for (const mode of MODES) {
  sdkClientTest(
    `[${mode}] a remote client generates with progress and reads the image:// resource`,
    async () => {
      await withHttpService(envFor(mode), async ({ server, fake }) => {
        await using session = await connect(server.url);
        if (mode === "stateful") assert.ok(session.transport.sessionId, "a session id");
        else assert.equal(session.transport.sessionId, undefined, "no session id");
        const { tools } = await session.client.listTools();
        assert.ok(tools.some((t) => t.name === "generate_image"));

        const progress: number[] = [];
        const result = await session.client.callTool(
          { name: "generate_image", arguments: { prompt: "a red fox in snow", quality: "low" } },
          undefined,
          {
            onprogress: (p) => progress.push(p.progress),
            resetTimeoutOnProgress: true,
            timeout: 60_000,
          },
        ) as ToolResult;
        assert.ok(!result.isError, texts(result));
        assert.ok(progress.length >= 1, "progress notifications arrived");
        for (let i = 1; i < progress.length; i++) assert.ok(progress[i] > progress[i - 1]);
        assert.ok(result.content.some((b) => b.type === "image"), "an inline preview");
        const link = result.content.find((b) => b.type === "resource_link")!;
        assert.match(link.uri!, /^image:\/\/[0-9a-f-]{36}$/);
        const id = link.uri!.slice("image://".length);
        assert.match(texts(result), new RegExp(`${server.url}/images/${id}`));
        assert.doesNotMatch(texts(result), /file:\/\//, "no server file paths for remote clients");

        const read = await session.client.readResource({ uri: link.uri! });
        const content = read.contents[0] as { blob: string; mimeType: string; uri: string };
        assert.equal(content.uri, link.uri);
        const bytes = decodeBase64(content.blob);
        const served = await fetch(`${server.url}/images/${id}.png`);
        assert.equal(served.status, 200);
        assert.deepEqual(bytes, new Uint8Array(await served.arrayBuffer()));
        assert.equal(content.mimeType, "image/png");
        assert.equal(fake.stats.imagesProduced, 1);
        assert.equal(await catalogCount(server), 1);
      });
    },
  );

  sdkClientTest(
    `[${mode}] aborting a call cancels the upstream request and stores nothing`,
    async () => {
      await withHttpService(envFor(mode), async ({ server, fake }) => {
        await using session = await connect(server.url);
        const controller = new AbortController();
        const { call } = await startHangingCall(session, fake, controller.signal);
        const closedBefore = fake.stats.connectionsClosedByClient;
        controller.abort("the user changed their mind");
        assert.ok(await call instanceof Error, "the call rejects on abort");
        await eventually(
          () => fake.stats.connectionsClosedByClient > closedBefore,
          "the upstream connection to close",
          20_000,
        );
        await eventually(() => fake.stats.inFlight === 0, "no upstream request left", 20_000);
        assert.equal(fake.stats.imagesProduced, 0);
        assert.equal(await catalogCount(server), 0);
        const list = await session.client.callTool({ name: "list_images", arguments: {} });
        assert.match(texts(list as ToolResult), /No images found/);
      });
    },
  );

  sdkClientTest(
    `[${mode}] a cancel sent to a second instance sharing the KV stops the call`,
    async () => {
      const dataDir = await Deno.makeTempDir({ prefix: "remote-mcp-shared-" });
      await using fake = await startFakeOpenAI();
      const env = {
        ...envFor(mode),
        DATA_DIR: dataDir,
        KV_PATH: `${dataDir}/kv.sqlite3`,
        OPENAI_BASE_URL: fake.baseUrl,
        OPENAI_API_KEY: TEST_OPENAI_KEY,
        OPENAI_MAX_RETRIES: "0",
      };
      const servers: HttpServerProcess[] = [];
      try {
        servers.push(await startHttpServer(env), await startHttpServer(env));
        const [a, b] = servers;
        await using session = await connect(a.url);
        const { call, requestId } = await startHangingCall(session, fake);
        const closedBefore = fake.stats.connectionsClosedByClient;
        const sessionHeader: Record<string, string> = session.transport.sessionId
          ? { "Mcp-Session-Id": session.transport.sessionId }
          : {};
        // The request id → job mapping is written just after the job starts: a cancel that comes
        // earlier finds nothing, so it is repeated (bounded) until the upstream request closes.
        let accepted = 0;
        for (let attempt = 0; attempt < 20; attempt++) {
          const cancel = await postMcp(b.url, {
            jsonrpc: "2.0",
            method: "notifications/cancelled",
            params: { requestId, reason: "cancelled from another tab" },
          }, { Authorization: `Bearer ${TOKEN}`, ...sessionHeader });
          await cancel.body?.cancel();
          if (cancel.status === 202) accepted++;
          const closed = await eventually(
            () => fake.stats.connectionsClosedByClient > closedBefore,
            "the upstream connection to close",
            1_000,
          ).then(() => true, () => false);
          if (closed) break;
        }
        assert.ok(accepted > 0, "instance B accepted the cancel");
        assert.ok(fake.stats.connectionsClosedByClient > closedBefore, "the upstream call closed");
        const settled = await call;
        if (!(settled instanceof Error)) {
          assert.equal(settled.isError, true);
          assert.match(texts(settled), /cancel/i);
        }
        await eventually(() => fake.stats.inFlight === 0, "no upstream request left", 20_000);
        assert.equal(fake.stats.imagesProduced, 0);
        assert.equal(await catalogCount(a), 0);
        assert.equal(await catalogCount(b), 0);

        // Someone else's cancel (another principal) is not routed to this caller's calls.
        const other = await postMcp(b.url, {
          jsonrpc: "2.0",
          method: "notifications/cancelled",
          params: { requestId, reason: "x" },
        }, { Authorization: "Bearer wrong-token-0123456789", ...sessionHeader });
        await other.body?.cancel();
        assert.equal(other.status, 401);
      } catch (error) {
        for (const server of servers) console.error(`--- ${server.url} ---\n${server.stderr()}`);
        throw error;
      } finally {
        for (const server of servers) await server.stop();
        await Deno.remove(dataDir, { recursive: true }).catch(() => {});
      }
    },
  );

  sdkClientTest(
    `[${mode}] foreign origins and missing or wrong tokens are refused; REST callers keep the predecessor's answers`,
    async () => {
      await withHttpService(envFor(mode), async ({ server }) => {
        const foreign = await postMcp(server.url, INITIALIZE, {
          Authorization: `Bearer ${TOKEN}`,
          Origin: "http://evil.example",
        });
        const foreignBody = await foreign.json();
        assert.equal(foreign.status, 403);
        assert.match(foreignBody.error.message, /Origin/);

        const local = await postMcp(server.url, INITIALIZE, {
          Authorization: `Bearer ${TOKEN}`,
          Origin: server.url,
        });
        await local.body?.cancel();
        assert.equal(local.status, 200, "a loopback origin is fine");

        const anonymous = await postMcp(server.url, INITIALIZE);
        const anonymousBody = await anonymous.json();
        assert.equal(anonymous.status, 401);
        assert.match(anonymous.headers.get("www-authenticate") ?? "", /^Bearer realm="[^"]+"$/);
        assert.equal(anonymousBody.jsonrpc, "2.0");

        const wrong = await postMcp(server.url, INITIALIZE, {
          Authorization: "Bearer wrong-token-0123456789",
        });
        await wrong.body?.cancel();
        assert.equal(wrong.status, 401, "MCP clients get 401, not the REST 403");
        assert.match(wrong.headers.get("www-authenticate") ?? "", /error="invalid_token"/);

        const refused = await connect(server.url, "wrong-token-0123456789").then(
          async (session) => {
            await session.client.close();
            return undefined;
          },
          (error: unknown) => error,
        );
        assert.ok(refused instanceof Error, "the SDK client cannot connect with a wrong token");

        // The predecessor's REST use of the same path.
        const tool = await fetch(`${server.url}/mcp`, {
          headers: { Authorization: `Bearer ${TOKEN}`, Accept: "application/json" },
        });
        const description = await tool.json();
        assert.equal(tool.status, 200);
        assert.equal(description.name, "generate_image");
        assert.equal(description.parameters.type, "object");
        const rest = await fetch(`${server.url}/mcp`, {
          method: "POST",
          headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
          body: JSON.stringify({ prompt: "a REST call", quality: "low" }),
        });
        const restBody = await rest.json();
        assert.equal(rest.status, 200, JSON.stringify(restBody));
        assert.equal(restBody.success, true);
        assert.match(restBody.data.imageUrl, new RegExp(`^${server.url}/images/`));
        const wrongRest = await fetch(`${server.url}/mcp`, {
          method: "POST",
          headers: { Authorization: "Bearer wrong-0123456789", "Content-Type": "application/json" },
          body: JSON.stringify({ prompt: "x" }),
        });
        await wrongRest.body?.cancel();
        assert.equal(wrongRest.status, 403, "REST callers keep 403 for a wrong token");
        assert.equal(await catalogCount(server), 1);
      });
    },
  );
}
