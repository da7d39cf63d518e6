/**
 * MCP over Streamable HTTP on `/mcp`: the same MCP server as the stdio door (one factory), behind
 * Origin/Host validation and the app's bearer auth and limits. Stateless by default (a fresh server
 * per request, so any instance can answer); `MCP_HTTP_SESSIONS=stateful` keeps `Mcp-Session-Id`
 * sessions in this process. A `notifications/cancelled` reaches the running call through KV even
 * when it arrives at another instance or in another stateless request.
 *
 * @module
 */
import type { Context } from "hono";
import type { Config } from "../config.ts";
import type { GenerationJob, ImageService, Principal } from "../core_types.ts";
import { kvCommit, kvGet } from "../images/kv_retry.ts";
import { getLog, type LoggingHandle } from "../log.ts";
import type { McpContext } from "../mcp/context.ts";
import { createMcpServer } from "../mcp/server.ts";
import { type McpServer, WebStandardStreamableHTTPServerTransport } from "../mcp/sdk.ts";
import { requestBaseUrl } from "./client_ip.ts";
import type { HttpEnv } from "./deps.ts";

const log = getLog("http", "mcp");

/** How long a request id → job id mapping is kept for cancels. */
const REQUEST_JOB_TTL_MS = 3_600_000;

/** Options of {@link createMcpEndpoint}. */
export interface McpEndpointOptions {
  /** Settings (sessions mode, allowed origins/hosts, bind address). */
  config: Config;
  /** The core. */
  images: ImageService;
  /** KV shared by every instance (cancel routing). */
  kv: Deno.Kv;
  /** Log forwarding to clients. */
  logging?: Pick<LoggingHandle, "addListener" | "redact">;
}

/** The `/mcp` handler plus cleanup of stateful sessions. */
export interface McpEndpoint extends AsyncDisposable {
  /** Handles one HTTP request on `/mcp` (JSON-RPC POST, SSE GET, DELETE). */
  handle(c: Context<HttpEnv>): Promise<Response>;
}

const LOOPBACK_NAMES = ["localhost", "127.0.0.1", "[::1]", "::1"];

function isLoopbackHost(host: string): boolean {
  return host === "localhost" || host.startsWith("127.") || host === "::1" || host === "[::1]";
}

function hostName(hostHeader: string): string {
  if (hostHeader.startsWith("[")) return hostHeader.slice(0, hostHeader.indexOf("]") + 1);
  return hostHeader.split(":")[0].toLowerCase();
}

/** Decides whether a request's Origin and Host may reach the MCP endpoint. */
export function checkOriginAndHost(
  config: Pick<Config, "host" | "mcpAllowedOrigins" | "mcpAllowedHosts" | "publicBaseUrl">,
  headers: Headers,
): { ok: true } | { ok: false; reason: string } {
  const loopbackBind = isLoopbackHost(config.host);
  const host = headers.get("host");
  if (host !== null) {
    const name = hostName(host);
    const allowedHosts = config.mcpAllowedHosts ??
      (loopbackBind ? LOOPBACK_NAMES : undefined);
    if (allowedHosts && !allowedHosts.map((h) => h.toLowerCase()).includes(name)) {
      return { ok: false, reason: `Host "${host}" is not allowed (MCP_ALLOWED_HOSTS)` };
    }
  }
  const origin = headers.get("origin");
  if (origin !== null) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {
      return { ok: false, reason: `Origin "${origin}" is not a valid origin` };
    }
    const configured = config.mcpAllowedOrigins;
    const allowed = configured
      ? configured.includes("*") || configured.includes(parsed.origin)
      : loopbackBind
      ? isLoopbackHost(parsed.hostname)
      : config.publicBaseUrl !== undefined &&
        new URL(config.publicBaseUrl).origin === parsed.origin;
    if (!allowed) {
      return { ok: false, reason: `Origin "${origin}" is not allowed (MCP_ALLOWED_ORIGINS)` };
    }
  }
  return { ok: true };
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

type JsonRpc = { method?: string; params?: Record<string, unknown> };

function messagesOf(body: unknown): JsonRpc[] {
  if (Array.isArray(body)) return body as JsonRpc[];
  return body && typeof body === "object" ? [body as JsonRpc] : [];
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
  const images = options.images;
  const stateful = config.mcpHttpSessions === "stateful";
  const sessions = new Map<
    string,
    {
      server: McpServer & { dispose(): void };
      transport: WebStandardStreamableHTTPServerTransport;
      owner: string;
    }
  >();
  const redact = options.logging?.redact ?? ((text: string) => text);

  /**
   * The MCP server for one principal. `baseUrl` is where this client reached the service: result
   * text links images over HTTP there (a remote client cannot open the server's file paths).
   */
  function buildServer(principal: Principal, sessionKey: () => string, baseUrl: string) {
    // Remote clients get HTTP links only: the server's file paths mean nothing to them.
    const linked: Config = Object.assign({}, config, {
      publicBaseUrl: config.publicBaseUrl ?? baseUrl,
      fileLinks: false,
    });
    return createMcpServer((server): McpContext => ({
      images,
      config: linked,
      principal: () => principal,
      client: () => ({ name: server.server.getClientVersion()?.name }),
      redact,
      onJobStarted: async (extra, job: GenerationJob) => {
        await kvCommit(
          kv,
          (op) =>
            op.set(requestJobKey(principal, sessionKey(), extra.requestId), job.id, {
              expireIn: REQUEST_JOB_TTL_MS,
            }),
        );
      },
    }), { logging: options.logging });
  }

  /** Routes every `notifications/cancelled` in `body` to its job; returns how many were found. */
  async function routeCancels(
    principal: Principal,
    sessionId: string,
    body: unknown,
  ): Promise<number> {
    let found = 0;
    for (const message of messagesOf(body)) {
      if (message.method !== "notifications/cancelled") continue;
      const requestId = message.params?.requestId;
      if (typeof requestId !== "string" && typeof requestId !== "number") continue;
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

  async function handleStateless(c: Context<HttpEnv>, principal: Principal, body: unknown) {
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
    await routeCancels(principal, "", body);
    const server = buildServer(principal, () => "", requestBaseUrl(c, config));
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
    });
    await server.connect(transport);
    const response = await transport.handleRequest(c.req.raw, { parsedBody: body });
    // The response may still be streaming (SSE); close the per-request server when it ends.
    if (response.body) {
      const closing = new TransformStream();
      // A client that goes away mid-stream rejects the pipe; that is normal, not an error.
      const release = () => {
        server.dispose();
        server.close().catch(() => {});
      };
      response.body.pipeTo(closing.writable).then(release, release);
      return new Response(closing.readable, response);
    }
    server.dispose();
    await server.close();
    return response;
  }

  async function handleStateful(c: Context<HttpEnv>, principal: Principal, body: unknown) {
    const sessionId = c.req.header("mcp-session-id");
    if (sessionId) {
      const session = sessions.get(sessionId);
      if (!session) {
        // The session may live on another instance (no sticky routing): a cancel for one of its
        // calls still reaches the job through KV, keyed by principal, session and request id.
        const messages = messagesOf(body);
        const onlyCancels = c.req.method === "POST" && messages.length > 0 &&
          messages.every((m) => m.method === "notifications/cancelled");
        if (onlyCancels && await routeCancels(principal, sessionId, body) > 0) {
          return new Response(null, { status: 202 });
        }
        return jsonRpcError(404, -32001, "Session not found: start a new session");
      }
      if (session.owner !== principal.id) {
        return jsonRpcError(403, -32003, "This session belongs to another key");
      }
      await routeCancels(principal, sessionId, body);
      return await session.transport.handleRequest(c.req.raw, { parsedBody: body });
    }
    if (c.req.method !== "POST") {
      return jsonRpcError(400, -32000, "Bad request: no Mcp-Session-Id header (initialize first)");
    }
    let assigned = "";
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => crypto.randomUUID(),
      eventStore: new MemoryEventStore(),
      onsessioninitialized: (id) => {
        assigned = id;
        sessions.set(id, { server, transport, owner: principal.id });
      },
      onsessionclosed: (id) => {
        const session = sessions.get(id);
        sessions.delete(id);
        session?.server.dispose();
      },
    });
    const server = buildServer(principal, () => assigned, requestBaseUrl(c, config));
    await server.connect(transport);
    return await transport.handleRequest(c.req.raw, { parsedBody: body });
  }

  return {
    async handle(c) {
      const verdict = checkOriginAndHost(config, c.req.raw.headers);
      if (!verdict.ok) return jsonRpcError(403, -32000, `Forbidden: ${verdict.reason}`);
      const principal = c.get("principal");
      const body = c.req.method === "POST" ? c.get("parsedBody") : undefined;
      return stateful
        ? await handleStateful(c, principal, body)
        : await handleStateless(c, principal, body);
    },
    async [Symbol.asyncDispose]() {
      for (const session of sessions.values()) {
        session.server.dispose();
        await session.server.close().catch(() => {});
      }
      sessions.clear();
    },
  };
}
