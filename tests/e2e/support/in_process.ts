/**
 * The real HTTP service in this process (so a test can move its clock), on a loopback port,
 * against the fake upstream, with two API keys of two principals — plus the MCP SDK's client
 * over real HTTP to it.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createApiKey } from "../../../src/auth/api_keys.ts";
import { resolveConfig } from "../../../src/config.ts";
import { type HttpService, startHttpService } from "../../../src/http_door.ts";
import { setupLogging } from "../../../src/log.ts";
import { type FakeOpenAI, startFakeOpenAI } from "../../fake_openai.ts";
import { manualClock } from "../../support/pinned_time.ts";
import { Client, StreamableHTTPClientTransport } from "./mcp_client.ts";
import { TEST_OPENAI_KEY } from "./http_server.ts";

/** A running in-process service. */
export interface InProcessService extends AsyncDisposable {
  /** Base address, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  /** The fake upstream it calls. */
  readonly fake: FakeOpenAI;
  /** Its DATA_DIR (images are in `images/` below it). */
  readonly dataDir: string;
  /** Two API keys of two different principals. */
  readonly keys: { alice: string; bob: string };
  /** The ids of those keys (the principals' ids). */
  readonly keyIds: { alice: string; bob: string };
  /** The service's KV database (in memory), to seed or inspect records. */
  readonly kv: Deno.Kv;
  /** Moves the service's clock. */
  advance(ms: number): void;
  /** Stateful sessions the service holds (after closing the idle ones). */
  openSessions(): Promise<number>;
  /** The service's log lines so far (JSON). */
  logs(): string[];
}

/** Starts the service with `env` on top of test defaults (stateful MCP sessions among them). */
export async function startInProcessService(
  env: Record<string, string> = {},
): Promise<InProcessService> {
  const dataDir = await Deno.makeTempDir({ prefix: "mcp-sessions-" });
  const fake = await startFakeOpenAI();
  const kv = await Deno.openKv(":memory:");
  const clock = manualClock();
  const now = clock.now;
  const config = resolveConfig({
    env: {
      OPENAI_API_KEY: TEST_OPENAI_KEY,
      OPENAI_BASE_URL: fake.baseUrl,
      OPENAI_MAX_RETRIES: "0",
      DATA_DIR: dataDir,
      PORT: "0",
      MCP_HTTP_SESSIONS: "stateful",
      MCP_SESSION_IDLE_SECONDS: "600",
      IMAGE_GENERATION_RATE_LIMIT: "1000",
      REQUEST_RATE_LIMIT: "0",
      LOG_LEVEL: "warning",
      LOG_FORMAT: "json",
      ...env,
    },
    dotenv: {},
    flags: {},
  });
  const alice = await createApiKey(kv, { name: "alice", role: "user", now });
  const bob = await createApiKey(kv, { name: "bob", role: "user", now });
  const lines: string[] = [];
  const decoder = new TextDecoder();
  const logging = await setupLogging(config, {
    write: (bytes) => lines.push(decoder.decode(bytes)),
    isTerminal: false,
  });
  const service: HttpService | undefined = await startHttpService(config, {
    logging,
    services: { kv, now, skipStartupReconcile: true },
  });
  assert.ok(service, "the service started");
  return {
    url: service.url,
    fake,
    dataDir,
    keys: { alice: alice.key, bob: bob.key },
    keyIds: { alice: alice.record.id, bob: bob.record.id },
    kv,
    advance: clock.advance,
    openSessions: () => service.openMcpSessions(),
    logs: () => [...lines],
    async [Symbol.asyncDispose]() {
      await service.shutdown(2_000);
      await logging[Symbol.asyncDispose]();
      kv.close();
      await fake.close();
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    },
  };
}

/** A notification a client received. */
export type Notification = { method: string; params?: Record<string, unknown> };

/** A connected SDK client that records its notifications. */
export interface McpSession extends AsyncDisposable {
  /** The SDK client. */
  client: InstanceType<typeof Client>;
  /** Its transport (session id, termination). */
  transport: InstanceType<typeof StreamableHTTPClientTransport>;
  /** Every notification this client received, in order. */
  notifications: Notification[];
}

/** Connects an SDK client to `url`/mcp with `key`; disposing ends the session (DELETE). */
export async function connectMcp(
  url: string,
  key: string,
  name = "in-process-e2e",
): Promise<McpSession> {
  const transport = new StreamableHTTPClientTransport(new URL(`${url}/mcp`), {
    requestInit: { headers: { Authorization: `Bearer ${key}` } },
    // No reconnection: a closed stream should stay closed in these tests.
    reconnectionOptions: {
      maxReconnectionDelay: 1,
      initialReconnectionDelay: 1,
      reconnectionDelayGrowFactor: 1,
      maxRetries: 0,
    },
  });
  const client = new Client({ name, version: "1.0.0" });
  const notifications: Notification[] = [];
  client.fallbackNotificationHandler = (notification) => {
    notifications.push(notification as Notification);
    return Promise.resolve();
  };
  await client.connect(transport);
  return {
    client,
    transport,
    notifications,
    async [Symbol.asyncDispose]() {
      await transport.terminateSession().catch(() => {});
      await client.close().catch(() => {});
    },
  };
}
