/**
 * MCP over Streamable HTTP on `/mcp`: the same MCP server as the stdio door (one factory), behind
 * the app's edge guard (Host and Origin, as on every route), bearer auth and limits. Requests of
 * the 2026-07-28 era (a `_meta` envelope on every request, `server/discover`) go to the SDK's
 * `createMcpHandler`, which is stateless by design. Requests of the 2025 era (`initialize` first)
 * are stateless by default too (a fresh server per request, so any instance can answer);
 * `MCP_HTTP_SESSIONS=stateful` keeps their `Mcp-Session-Id` sessions in this process — closed
 * when idle and capped per principal (src/http/mcp_sessions.ts). Log messages reach only the session whose work logged them. A
 * `notifications/cancelled` reaches the running call through KV even when it arrives at another
 * instance or in another stateless request. Bodies are checked (src/http/jsonrpc_body.ts) before
 * the SDK or any KV key sees them. It lives in the composition root because it joins the two
 * doors: the HTTP app mounts it as an opaque handler and never imports `src/mcp/` itself.
 *
 * @module
 */
import type { Context } from "hono";
import { type Clock, systemClock } from "../clock.ts";
import type { Config } from "../config.ts";
import type { GenerationJob, ImageService, Principal } from "../core_types.ts";
import type { ModelRegistry } from "../generation/mod.ts";
import { kvCommit, kvGet } from "../kv/mod.ts";
import { getLog, type LoggingHandle, withLogScope } from "../log.ts";
import {
  createMcpHandler,
  createMcpServer,
  createPriceGate,
  createTaskSetup,
  type ImageMcpServer,
  isLegacyRequest,
  type McpDoorContext,
  type ProtocolEra,
  WebStandardStreamableHTTPServerTransport,
} from "../mcp/mod.ts";
import {
  checkJsonRpcBody,
  type HttpEnv,
  isAcceptedId,
  type JsonRpcMessage,
  McpSessionTable,
  requestBaseUrl,
} from "../http/mod.ts";
import { imagePath, readableImageUrl, UrlSigner } from "../images/mod.ts";

const log = getLog("http", "mcp");

/** The SSE `retry` a stateful session's streams announce (SEP-1699: servers SHOULD send one). */
const SSE_RETRY_MS = 1_000;

/** How long a request id → job id mapping is kept for cancels. */
const REQUEST_JOB_TTL_MS = 3_600_000;

/** Options of {@link createMcpEndpoint}. */
export interface McpEndpointOptions {
  /** Settings (sessions mode, allowed origins/hosts, bind address). */
  config: Config;
  /** The core. */
  images: ImageService;
  /** KV shared by every instance (cancel routing, price confirmation states). */
  kv: Deno.Kv;
  /** The models, for price confirmations (`MCP_CONFIRM_ABOVE_USD`). */
  registry: ModelRegistry;
  /** Log forwarding to clients. */
  logging?: Pick<LoggingHandle, "addListener" | "redact">;
  /** Clock for session idle times (default: the system clock). */
  now?: Clock;
}

/** The `/mcp` handler plus cleanup of stateful sessions. */
export interface McpEndpoint extends AsyncDisposable {
  /** Handles one HTTP request on `/mcp` (JSON-RPC POST, SSE GET, DELETE). */
  handle(c: Context<HttpEnv>): Promise<Response>;
  /** Stateful sessions open in this process (closes the idle ones first). */
  openSessions(): Promise<number>;
  /** Waits until the ends of the tasks started here are recorded (after the jobs drained). */
  drainTasks(): Promise<void>;
}

/** What the server factory of a 2026-era request needs to know about its HTTP request. */
interface ModernSetup {
  readonly principal: Principal;
  readonly baseUrl: string;
  readonly scope: string;
}

function jsonRpcError(status: number, code: number, message: string): Response {
  return Response.json(
    { jsonrpc: "2.0", error: { code, message }, id: null },
    { status },
  );
}

function requestJobKey(principal: Principal, sessionId: string, requestId: string | number) {
  return ["mcp", "request_job", principal.id, sessionId, String(requestId)];
}

/** The first protocol version of the 2026-07-28 era (versions are dates: later ones sort after). */
const FIRST_MODERN_VERSION = "2026-07-28";

/**
 * Why a body a 2026-07-28 client could never send is refused, or undefined. Such bodies classify
 * as 2025-era traffic (responses and batches exist only there), whose leg would answer "Unsupported
 * protocol version" to the header — true, but no help to the client that sent it.
 */
function notModernBody(c: Context<HttpEnv>, body: unknown, messages: readonly JsonRpcMessage[]) {
  const version = c.req.header("mcp-protocol-version")?.trim();
  if (version === undefined || !/^\d{4}-\d{2}-\d{2}$/.test(version)) return undefined;
  if (version < FIRST_MODERN_VERSION) return undefined;
  if (Array.isArray(body)) {
    return `Invalid Request: a ${version} client sends one message per POST, never a JSON-RPC ` +
      "batch (batches are accepted from 2025-era clients only)";
  }
  if (messages.some((message) => message.method === undefined)) {
    return `Invalid Request: a ${version} client posts only requests and notifications, never ` +
      "a JSON-RPC response (responses are accepted from 2025-era clients only)";
  }
  return undefined;
}

/** Session ids this service hands out; anything else cannot name one of its sessions. */
const SESSION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Calls `onEnd` once `response`'s body has been sent or abandoned; returns the response to send. */
function whenSent(response: Response, onEnd: () => void): Response {
  if (!response.body) {
    onEnd();
    return response;
  }
  const passing = new TransformStream();
  // A client that goes away mid-stream rejects the pipe; that is normal, not an error.
  response.body.pipeTo(passing.writable).then(onEnd, onEnd);
  return new Response(passing.readable, response);
}

/** A small bounded event store so stateful SSE streams can be resumed (Last-Event-ID). */
class MemoryEventStore {
  #events = new Map<string, { streamId: string; message: unknown }>();
  #max: number;

  constructor(max = 1000) {
    this.#max = max;
  }

  storeEvent(streamId: string, message: unknown): Promise<string> {
    const id = `${streamId}_${crypto.randomUUID()}`;
    this.#events.set(id, { streamId, message });
    while (this.#events.size > this.#max) this.#events.delete(this.#events.keys().next().value!);
    return Promise.resolve(id);
  }

  getStreamIdForEventId(eventId: string): Promise<string | undefined> {
    return Promise.resolve(this.#events.get(eventId)?.streamId);
  }

  async replayEventsAfter(
    lastEventId: string,
    { send }: { send: (eventId: string, message: never) => Promise<void> },
  ): Promise<string> {
    const start = this.#events.get(lastEventId);
    if (!start) return "";
    let found = false;
    for (const [id, event] of this.#events) {
      if (id === lastEventId) {
        found = true;
        continue;
      }
      if (found && event.streamId === start.streamId) await send(id, event.message as never);
    }
    return start.streamId;
  }
}

/** Builds the `/mcp` endpoint. */
export function createMcpEndpoint(options: McpEndpointOptions): McpEndpoint {
  const { config, kv } = options;
  const now = options.now ?? systemClock;
  const images = options.images;
  const stateful = config.mcpHttpSessions === "stateful";
  type Session = {
    server: ImageMcpServer;
    transport: WebStandardStreamableHTTPServerTransport;
    scope: string;
    close(): Promise<void>;
  };
  const sessions = new McpSessionTable<Session>({
    idleMs: config.mcpSessionIdleSeconds * 1000,
    maxPerOwner: config.mcpSessionsPerKey,
    now,
  });
  const redact = options.logging?.redact ?? ((text: string) => text);
  const signer = new UrlSigner(kv, { now, ttlSeconds: config.imageUrlTtlSeconds });
  const { registry } = options;
  const confirm = createPriceGate(config, () => Promise.resolve({ registry, kv }), now);
  // Generations as tasks: state in the shared KV, so any instance answers for any task.
  const tasks = createTaskSetup(() => Promise.resolve(kv));

  /**
   * The MCP server for one principal. `baseUrl` is where this client reached the service: result
   * text links images over HTTP there (a remote client cannot open the server's file paths).
   * `scope` is the log scope of its work: only records logged in it are forwarded to its client.
   */
  function buildServer(
    principal: Principal,
    sessionKey: () => string,
    baseUrl: string,
    scope: string,
    era: ProtocolEra,
  ): ImageMcpServer {
    // Remote clients get HTTP links only (the server's file paths mean nothing to them), signed
    // when images are not public.
    const base = config.publicBaseUrl ?? baseUrl;
    const linked: Config = Object.assign({}, config, {
      publicBaseUrl: base,
      fileLinks: false,
      imageLink: (file: string) =>
        readableImageUrl(signer, {
          base,
          path: imagePath(file),
          imagesPublic: config.imagesPublic,
        }),
    });
    return createMcpServer((): McpDoorContext => ({
      images,
      config: linked,
      principal: () => principal,
      redact,
      confirm,
      onJobStarted: async (extra, job: GenerationJob) => {
        await kvCommit(
          kv,
          (op) =>
            op.set(requestJobKey(principal, sessionKey(), extra.mcpReq.id), job.id, {
              expireIn: REQUEST_JOB_TTL_MS,
            }),
        );
      },
    }), {
      era,
      ...(options.logging ? { logging: options.logging } : {}),
      logScope: scope,
      tasks,
    });
  }

  // 2026-07-28: the SDK's per-request entry. Its factory learns who is calling from the HTTP
  // request it serves; 2025-era traffic never reaches it (routed below, before it).
  const setups = new WeakMap<Request, ModernSetup>();
  const modern = createMcpHandler(({ era, requestInfo }) => {
    const setup = requestInfo ? setups.get(requestInfo) : undefined;
    if (!setup) throw new Error("MCP request served without its caller");
    return buildServer(setup.principal, () => "", setup.baseUrl, setup.scope, era);
  }, {
    legacy: "reject",
    onerror: (error) => log.debug("MCP: {message}", { message: error.message }),
  });

  async function handleModern(
    c: Context<HttpEnv>,
    principal: Principal,
    body: unknown,
    messages: readonly JsonRpcMessage[],
  ) {
    await routeCancels(principal, "", messages);
    const scope = crypto.randomUUID();
    setups.set(c.req.raw, { principal, baseUrl: requestBaseUrl(c, config), scope });
    return await withLogScope(scope, () => modern.fetch(c.req.raw, { parsedBody: body }));
  }

  /** Routes every `notifications/cancelled` in `messages` to its job; returns how many were found. */
  async function routeCancels(
    principal: Principal,
    sessionId: string,
    messages: readonly JsonRpcMessage[],
  ): Promise<number> {
    let found = 0;
    for (const message of messages) {
      if (message.method !== "notifications/cancelled") continue;
      const requestId = message.params?.requestId;
      // An id this service never accepts cannot name one of its calls (nor fit in a KV key).
      if (!isAcceptedId(requestId)) continue;
      const entry = await kvGet<string>(kv, requestJobKey(principal, sessionId, requestId));
      if (entry.value) {
        found++;
        const cancelled = await images.cancel(entry.value, { principal, door: "mcp" });
        log.debug("Cancel for request {requestId} → job {jobId}: {cancelled}", {
          requestId,
          jobId: entry.value,
          cancelled,
        });
      }
    }
    return found;
  }

  async function handleStateless(
    c: Context<HttpEnv>,
    principal: Principal,
    body: unknown,
    messages: readonly JsonRpcMessage[],
  ) {
    if (c.req.method !== "POST") {
      // Without sessions there is nothing to stream to or close: each POST is self-contained.
      return new Response(
        JSON.stringify({
          jsonrpc: "2.0",
          error: {
            code: -32000,
            message: `Method not allowed: ${c.req.method} needs MCP_HTTP_SESSIONS=stateful`,
          },
          id: null,
        }),
        { status: 405, headers: { "Allow": "POST", "Content-Type": "application/json" } },
      );
    }
    await routeCancels(principal, "", messages);
    const scope = crypto.randomUUID();
    const server = buildServer(principal, () => "", requestBaseUrl(c, config), scope, "legacy");
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
    });
    await server.connect(transport);
    const response = await withLogScope(
      scope,
      () => transport.handleRequest(c.req.raw, { parsedBody: body }),
    );
    // The response may still be streaming (SSE); close the per-request server when it ends.
    return whenSent(response, () => {
      server.dispose();
      server.close().catch(() => {});
    });
  }

  async function handleStateful(
    c: Context<HttpEnv>,
    principal: Principal,
    body: unknown,
    messages: readonly JsonRpcMessage[],
  ) {
    const sessionId = c.req.header("mcp-session-id");
    if (sessionId) {
      const session = SESSION_ID.test(sessionId) ? sessions.lookup(sessionId) : undefined;
      if (!session) {
        // The session may live on another instance (no sticky routing): a cancel for one of its
        // calls still reaches the job through KV, keyed by principal, session and request id.
        const onlyCancels = c.req.method === "POST" && messages.length > 0 &&
          messages.every((m) => m.method === "notifications/cancelled");
        if (
          onlyCancels && SESSION_ID.test(sessionId) &&
          await routeCancels(principal, sessionId, messages) > 0
        ) {
          return new Response(null, { status: 202 });
        }
        return jsonRpcError(404, -32001, "Session not found: start a new session");
      }
      if (session.owner !== principal.id) {
        return jsonRpcError(403, -32003, "This session belongs to another key");
      }
      await routeCancels(principal, sessionId, messages);
      const { transport, scope } = session.session;
      const handle = () =>
        withLogScope(scope, () => transport.handleRequest(c.req.raw, { parsedBody: body }));
      // A GET stream stays open while the client waits for news; that alone is not activity.
      if (c.req.method !== "POST") return await handle();
      const end = sessions.begin(sessionId);
      try {
        return whenSent(await handle(), end);
      } catch (error) {
        end();
        throw error;
      }
    }
    if (c.req.method !== "POST") {
      return jsonRpcError(400, -32000, "Bad request: no Mcp-Session-Id header (initialize first)");
    }
    const slot = sessions.reserve(principal.id);
    if (slot === null) {
      return jsonRpcError(
        429,
        -32000,
        `Too many open MCP sessions: this caller already holds ${config.mcpSessionsPerKey} ` +
          "(MCP_SESSIONS_PER_KEY); end one with DELETE, or wait until one has been idle for " +
          `${config.mcpSessionIdleSeconds} s (MCP_SESSION_IDLE_SECONDS)`,
      );
    }
    const scope = crypto.randomUUID();
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => crypto.randomUUID(),
      eventStore: new MemoryEventStore(),
      // Sent with each stream's priming event: how long a client waits before resuming it.
      retryInterval: SSE_RETRY_MS,
      // Runs during handleRequest below, once `session` exists.
      onsessioninitialized: (id) => slot.commit(id, session),
      onsessionclosed: (id) => {
        sessions.forget(id)?.server.dispose();
      },
    });
    const server = buildServer(
      principal,
      () => transport.sessionId ?? "",
      requestBaseUrl(c, config),
      scope,
      "legacy",
    );
    const session: Session = {
      server,
      transport,
      scope,
      close: async () => {
        server.dispose();
        await server.close();
      },
    };
    await server.connect(transport);
    const response = await withLogScope(
      scope,
      () => transport.handleRequest(c.req.raw, { parsedBody: body }),
    );
    if (transport.sessionId === undefined) {
      // Not an initialize, or a failed one: nothing may stay behind for it.
      slot.release();
      await session.close().catch(() => {});
    }
    return response;
  }

  return {
    async handle(c) {
      const principal = c.get("principal");
      let body: unknown;
      let messages: JsonRpcMessage[] = [];
      if (c.req.method === "POST") {
        body = c.get("parsedBody");
        const checked = checkJsonRpcBody(body);
        if (!checked.ok) return jsonRpcError(400, -32600, checked.reason);
        messages = checked.messages;
        const notModern = notModernBody(c, body, messages);
        if (notModern) return jsonRpcError(400, -32600, notModern);
        if (!await isLegacyRequest(c.req.raw, body)) {
          return await handleModern(c, principal, body, messages);
        }
      }
      return stateful
        ? await handleStateful(c, principal, body, messages)
        : await handleStateless(c, principal, body, messages);
    },
    async openSessions() {
      await sessions.sweep();
      return sessions.size;
    },
    drainTasks: () => tasks.drain(),
    async [Symbol.asyncDispose]() {
      await modern.close();
      await sessions[Symbol.asyncDispose]();
    },
  };
}
