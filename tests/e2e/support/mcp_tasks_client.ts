/**
 * A raw MCP client for tasks and confirmations in both protocol eras, written here because no SDK
 * implements the 2026-07-28 tasks extension: JSON-RPC over Streamable HTTP (POST to /mcp, JSON or
 * SSE answers) or over a spawned stdio server, with every message sent and received checked
 * against the published JSON schemas (`mcp_schema_validator.ts`).
 *
 * - {@link ModernClient} (2026-07-28): stateless requests whose `_meta` carries the protocol
 *   version and this request's client capabilities (`extensions: { "io.modelcontextprotocol/tasks":
 *   {} }` when it speaks tasks), `Mcp-Method`/`Mcp-Name` headers on HTTP; `tools/call` may answer
 *   `resultType: "task"` (flat) or `"input_required"`; `tasks/get|update|cancel`.
 * - {@link LegacyClient} (2025-11-25): `initialize` with `capabilities.tasks` (and elicitation),
 *   `tools/call` with `params.task: { ttl }` → `{ task }`, `tasks/get|result|list|cancel`,
 *   `notifications/tasks/status`, and `elicitation/create` requests answered by a handler.
 *
 * @module
 */
import { assertSchema, type McpSchemaName } from "./mcp_schema_validator.ts";
import { spawnRawStdio } from "./raw_stdio.ts";

/** A JSON-RPC message as this client reads it. */
export interface RpcMessage {
  jsonrpc: "2.0";
  id?: number | string;
  method?: string;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: { code: number; message: string; data?: unknown };
}

/** The answer to one request and what else arrived with it. */
export interface Exchange {
  /** The response (a `result` or an `error`). */
  response: RpcMessage;
  /** Notifications that arrived while waiting. */
  notifications: RpcMessage[];
  /** The HTTP status (stdio: 200). */
  httpStatus: number;
}

/** Answers a server-to-client request (e.g. `elicitation/create`) with a result. */
export type ServerRequestHandler = (request: RpcMessage) => Record<string, unknown>;

/** How messages travel: Streamable HTTP or stdio. */
export interface Wire extends AsyncDisposable {
  /** Sends a request and resolves with its response; server requests go to `onRequest`. */
  request(
    message: RpcMessage,
    options: { headers?: Record<string, string>; signal?: AbortSignal },
    onRequest: (request: RpcMessage) => RpcMessage,
  ): Promise<Exchange>;
  /** Sends a notification. */
  notify(message: RpcMessage, headers?: Record<string, string>): Promise<void>;
  /** Headers every later HTTP request carries (e.g. `Mcp-Session-Id`). */
  sticky: Record<string, string>;
}

/** Streamable HTTP to `url`/mcp with `headers` on every request (e.g. Authorization). */
export function httpWire(url: string, headers: Record<string, string> = {}): Wire {
  const post = (message: RpcMessage, extra: Record<string, string>, signal?: AbortSignal) =>
    fetch(`${url}/mcp`, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json, text/event-stream",
        ...headers,
        ...wire.sticky,
        ...extra,
      },
      body: JSON.stringify(message),
      signal,
    });
  const wire: Wire = {
    sticky: {},
    async request(message, options, onRequest) {
      const extra = options.headers ?? {};
      const response = await post(message, extra, options.signal);
      const sessionId = response.headers.get("mcp-session-id");
      if (sessionId) wire.sticky["Mcp-Session-Id"] = sessionId;
      const notifications: RpcMessage[] = [];
      const type = response.headers.get("content-type") ?? "";
      if (!type.includes("text/event-stream")) {
        const text = await response.text();
        let body: RpcMessage;
        try {
          body = JSON.parse(text);
        } catch {
          throw new Error(
            `HTTP ${response.status} answer to ${message.method} is no JSON: ${text}`,
          );
        }
        return { response: body, notifications, httpStatus: response.status };
      }
      for await (const received of sseMessages(response.body!)) {
        if (received.id === message.id && received.method === undefined) {
          return { response: received, notifications, httpStatus: response.status };
        }
        if (received.method !== undefined && received.id !== undefined) {
          const answer = await post(onRequest(received), extra);
          await answer.body?.cancel();
        } else if (received.method !== undefined) notifications.push(received);
      }
      throw new Error(`The SSE answer to ${message.method} (id ${message.id}) ended without it`);
    },
    async notify(message, extra = {}) {
      const response = await post(message, extra);
      await response.body?.cancel();
    },
    [Symbol.asyncDispose]: () => Promise.resolve(),
  };
  return wire;
}

/** The JSON-RPC messages of a server-sent event stream, as they arrive. */
async function* sseMessages(body: ReadableStream<Uint8Array>): AsyncGenerator<RpcMessage> {
  let buffer = "";
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value.replaceAll("\r\n", "\n");
      let end: number;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const event = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = event.split("\n").filter((l) => l.startsWith("data:"))
          .map((l) => l.slice(5).trimStart()).join("\n");
        if (data !== "") yield JSON.parse(data) as RpcMessage;
      }
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

/** A stdio server spawned in `dataDir` with `env`, as a wire; killed on dispose. */
export function stdioWire(dataDir: string, env: Record<string, string>): Wire & {
  /** Everything the server wrote to stderr, once it has exited. */
  stderr: Promise<string>;
} {
  const server = spawnRawStdio(dataDir, env);
  let read = 0;
  const next = async (what: string): Promise<RpcMessage> => {
    await server.until((all) => all.length > read, what);
    return server.messages()[read++] as unknown as RpcMessage;
  };
  return {
    sticky: {},
    stderr: server.stderr,
    async request(message, _options, onRequest) {
      await server.write(JSON.stringify(message));
      const notifications: RpcMessage[] = [];
      for (;;) {
        const received = await next(`answer to ${message.method} (id ${message.id})`);
        if (received.id === message.id && received.method === undefined) {
          return { response: received, notifications, httpStatus: 200 };
        }
        if (received.method !== undefined && received.id !== undefined) {
          await server.write(JSON.stringify(onRequest(received)));
        } else if (received.method !== undefined) notifications.push(received);
      }
    },
    async notify(message) {
      await server.write(JSON.stringify(message));
    },
    [Symbol.asyncDispose]: () => server[Symbol.asyncDispose](),
  };
}

/** Thrown for a JSON-RPC error answer; carries the error and the HTTP status. */
export class RpcError extends Error {
  /** The JSON-RPC error object. */
  readonly error: { code: number; message: string; data?: unknown };
  /** The HTTP status it came with (stdio: 200). */
  readonly httpStatus: number;

  /** Wraps the error answer of `method`. */
  constructor(method: string, exchange: Exchange) {
    const error = exchange.response.error!;
    super(`${method} answered error ${error.code}: ${error.message}`);
    this.error = error;
    this.httpStatus = exchange.httpStatus;
  }
}

/** Where a message's schema lives: `[schema, definition]`. */
type SchemaRef = readonly [McpSchemaName, string];

const CLIENT_INFO = { name: "raw-tasks-e2e", version: "1.0.0" };

/** Shared request plumbing: ids, validation, server requests. */
abstract class RawClient {
  /** Every notification received so far, in order. */
  readonly notifications: RpcMessage[] = [];
  /** Server requests received so far (e.g. `elicitation/create`). */
  readonly serverRequests: RpcMessage[] = [];
  #wire: Wire;
  #nextId = 1;
  /** Answers server requests; the default declines every elicitation. */
  onServerRequest: ServerRequestHandler = () => ({ action: "decline" });

  /** A client over `wire`. */
  constructor(wire: Wire) {
    this.#wire = wire;
  }

  /** The schema a request of `method` with `params` is checked against. */
  protected abstract requestSchema(method: string): SchemaRef;
  /** The schema of the result of `method` (given the result, for discriminated answers). */
  protected abstract resultSchema(method: string, result: Record<string, unknown>): SchemaRef;
  /** The schema of an incoming notification or server request. */
  protected abstract incomingSchema(message: RpcMessage): SchemaRef;
  /** The schema of this era's responses to server requests, by the request's method. */
  protected abstract replySchema(method: string): SchemaRef;
  /** The schema of an error response. */
  protected abstract errorSchema(): SchemaRef;

  /** Sends `method` with `params`; resolves with the whole exchange (errors included). */
  async exchange(
    method: string,
    params: Record<string, unknown>,
    options: { headers?: Record<string, string>; signal?: AbortSignal } = {},
  ): Promise<Exchange> {
    const message: RpcMessage = { jsonrpc: "2.0", id: this.#nextId++, method, params };
    assertSchema(...this.requestSchema(method), message);
    const exchange = await this.#wire.request(message, options, (request) => {
      assertSchema(...this.incomingSchema(request), request);
      this.serverRequests.push(request);
      const reply: RpcMessage = {
        jsonrpc: "2.0",
        id: request.id,
        result: this.onServerRequest(request),
      };
      assertSchema(...this.replySchema(request.method!), reply.result);
      return reply;
    });
    for (const notification of exchange.notifications) {
      assertSchema(...this.incomingSchema(notification), notification);
      this.notifications.push(notification);
    }
    const { response } = exchange;
    if (response.error) assertSchema(...this.errorSchema(), response);
    else assertSchema(...this.resultSchema(method, response.result ?? {}), response.result);
    return exchange;
  }

  /** Sends `method`; resolves with its result or rejects with an {@link RpcError}. */
  async call(
    method: string,
    params: Record<string, unknown>,
    options: { headers?: Record<string, string>; signal?: AbortSignal } = {},
  ): Promise<Record<string, unknown>> {
    const exchange = await this.exchange(method, params, options);
    if (exchange.response.error) throw new RpcError(method, exchange);
    return exchange.response.result!;
  }

  /** Sends a notification (checked against `schema`). */
  protected async notify(method: string, schema: SchemaRef): Promise<void> {
    const message: RpcMessage = { jsonrpc: "2.0", method };
    assertSchema(...schema, message);
    await this.#wire.notify(message);
  }
}

/** The 2026 methods of the tasks extension (schema `ext-tasks`). */
const EXTENSION_METHODS: Record<string, { request: string; result: string }> = {
  "tasks/get": { request: "GetTaskRequest", result: "GetTaskResult" },
  "tasks/update": { request: "UpdateTaskRequest", result: "UpdateTaskResult" },
  "tasks/cancel": { request: "CancelTaskRequest", result: "CancelTaskResult" },
};

/** What a 2026 client declares on each request. */
export interface ModernOptions {
  /** Declares the tasks extension (default true). */
  tasks?: boolean;
  /** Declares form elicitation (default false). */
  elicitation?: boolean;
}

/** A 2026-07-28 client: stateless requests with per-request `_meta`. */
export class ModernClient extends RawClient {
  #capabilities: Record<string, unknown>;

  /** A client over `wire` declaring what `options` say on every request. */
  constructor(wire: Wire, options: ModernOptions = {}) {
    super(wire);
    this.#capabilities = {
      ...(options.elicitation ? { elicitation: { form: {} } } : {}),
      ...(options.tasks ?? true ? { extensions: { "io.modelcontextprotocol/tasks": {} } } : {}),
    };
  }

  protected requestSchema(method: string): SchemaRef {
    if (method in EXTENSION_METHODS) return ["ext-tasks", EXTENSION_METHODS[method].request];
    if (method === "tools/call") return ["2026-07-28", "CallToolRequest"];
    if (method === "server/discover") return ["2026-07-28", "DiscoverRequest"];
    return ["2026-07-28", "JSONRPCRequest"];
  }

  protected resultSchema(method: string, result: Record<string, unknown>): SchemaRef {
    if (method in EXTENSION_METHODS) return ["ext-tasks", EXTENSION_METHODS[method].result];
    if (result.resultType === "task") return ["ext-tasks", "CreateTaskResult"];
    if (result.resultType === "input_required") return ["2026-07-28", "InputRequiredResult"];
    if (method === "tools/call") return ["2026-07-28", "CallToolResult"];
    if (method === "server/discover") return ["2026-07-28", "DiscoverResult"];
    return ["2026-07-28", "Result"];
  }

  protected incomingSchema(message: RpcMessage): SchemaRef {
    if (message.method === "notifications/tasks") return ["ext-tasks", "TaskStatusNotification"];
    return message.id === undefined
      ? ["2026-07-28", "ServerNotification"]
      : ["2026-07-28", "JSONRPCRequest"];
  }

  protected replySchema(): SchemaRef {
    return ["2026-07-28", "Result"];
  }

  protected errorSchema(): SchemaRef {
    return ["2026-07-28", "JSONRPCErrorResponse"];
  }

  /** `params` with this request's `_meta` (version, capabilities, client info). */
  #withMeta(params: Record<string, unknown>, capabilities = this.#capabilities) {
    return {
      ...params,
      _meta: {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": capabilities,
        "io.modelcontextprotocol/clientInfo": CLIENT_INFO,
      },
    };
  }

  /** Sends `method` as a 2026 request (headers `MCP-Protocol-Version`, `Mcp-Method`, `Mcp-Name`). */
  request(
    method: string,
    params: Record<string, unknown>,
    options: { signal?: AbortSignal; capabilities?: Record<string, unknown> } = {},
  ): Promise<Exchange> {
    const name = params.name ?? params.uri ?? params.taskId;
    const headers: Record<string, string> = {
      "MCP-Protocol-Version": "2026-07-28",
      "Mcp-Method": method,
      ...(typeof name === "string" ? { "Mcp-Name": name } : {}),
    };
    return this.exchange(method, this.#withMeta(params, options.capabilities), {
      headers,
      signal: options.signal,
    });
  }

  /** Like {@link request}, resolving with the result or rejecting with an {@link RpcError}. */
  async requestResult(
    method: string,
    params: Record<string, unknown>,
    options: { signal?: AbortSignal; capabilities?: Record<string, unknown> } = {},
  ): Promise<Record<string, unknown>> {
    const exchange = await this.request(method, params, options);
    if (exchange.response.error) throw new RpcError(method, exchange);
    return exchange.response.result!;
  }

  /** `server/discover`: the server's versions and capabilities. */
  discover(): Promise<Record<string, unknown>> {
    return this.requestResult("server/discover", {});
  }

  /** `tools/call` (a retry passes `inputResponses` and `requestState`). */
  callTool(
    name: string,
    args: Record<string, unknown>,
    options: { signal?: AbortSignal; inputResponses?: unknown; requestState?: unknown } = {},
  ): Promise<Record<string, unknown>> {
    const { signal, ...retry } = options;
    return this.requestResult("tools/call", { name, arguments: args, ...retry }, { signal });
  }

  /** `tasks/get`: the DetailedTask. */
  getTask(taskId: string, signal?: AbortSignal): Promise<Record<string, unknown>> {
    return this.requestResult("tasks/get", { taskId }, { signal });
  }

  /** `tasks/update` with `inputResponses`. */
  updateTask(taskId: string, inputResponses: Record<string, unknown>) {
    return this.requestResult("tasks/update", { taskId, inputResponses });
  }

  /** `tasks/cancel`. */
  cancelTask(taskId: string): Promise<Record<string, unknown>> {
    return this.requestResult("tasks/cancel", { taskId });
  }
}

/** The 2025 task methods (schema `2025-11-25`). */
const LEGACY_METHODS: Record<string, { request: string; result: string }> = {
  "initialize": { request: "InitializeRequest", result: "InitializeResult" },
  "tools/list": { request: "ListToolsRequest", result: "ListToolsResult" },
  "tasks/get": { request: "GetTaskRequest", result: "GetTaskResult" },
  "tasks/result": { request: "GetTaskPayloadRequest", result: "GetTaskPayloadResult" },
  "tasks/list": { request: "ListTasksRequest", result: "ListTasksResult" },
  "tasks/cancel": { request: "CancelTaskRequest", result: "CancelTaskResult" },
};

const LEGACY_INCOMING: Record<string, string> = {
  "notifications/tasks/status": "TaskStatusNotification",
  "notifications/progress": "ProgressNotification",
  "notifications/message": "LoggingMessageNotification",
  "elicitation/create": "ElicitRequest",
};

/** What a 2025 client declares in `initialize`. */
export interface LegacyOptions {
  /** Declares `capabilities.tasks` (default true). */
  tasks?: boolean;
  /** Declares `capabilities.elicitation` (default false). */
  elicitation?: boolean;
}

/** A 2025-11-25 client: `initialize`, then requests (in the session, if the server opens one). */
export class LegacyClient extends RawClient {
  #options: LegacyOptions;

  /** A client over `wire` that will declare what `options` say. */
  constructor(wire: Wire, options: LegacyOptions = {}) {
    super(wire);
    this.#options = options;
  }

  protected requestSchema(method: string): SchemaRef {
    if (method in LEGACY_METHODS) return ["2025-11-25", LEGACY_METHODS[method].request];
    if (method === "tools/call") return ["2025-11-25", "CallToolRequest"];
    return ["2025-11-25", "JSONRPCRequest"];
  }

  protected resultSchema(method: string, result: Record<string, unknown>): SchemaRef {
    if (method === "tools/call") {
      return ["2025-11-25", "task" in result ? "CreateTaskResult" : "CallToolResult"];
    }
    if (method in LEGACY_METHODS) return ["2025-11-25", LEGACY_METHODS[method].result];
    return ["2025-11-25", "Result"];
  }

  protected incomingSchema(message: RpcMessage): SchemaRef {
    const known = LEGACY_INCOMING[message.method ?? ""];
    if (known) return ["2025-11-25", known];
    return message.id === undefined
      ? ["2025-11-25", "JSONRPCNotification"]
      : ["2025-11-25", "JSONRPCRequest"];
  }

  protected replySchema(method: string): SchemaRef {
    return ["2025-11-25", method === "elicitation/create" ? "ElicitResult" : "Result"];
  }

  protected errorSchema(): SchemaRef {
    return ["2025-11-25", "JSONRPCErrorResponse"];
  }

  /** `initialize` + `notifications/initialized`; resolves with the initialize result. */
  async initialize(): Promise<Record<string, unknown>> {
    const capabilities = {
      ...(this.#options.tasks ?? true
        ? { tasks: { list: {}, cancel: {}, requests: { elicitation: { create: {} } } } }
        : {}),
      ...(this.#options.elicitation ? { elicitation: { form: {} } } : {}),
    };
    const result = await this.call("initialize", {
      protocolVersion: "2025-11-25",
      capabilities,
      clientInfo: CLIENT_INFO,
    }, { headers: { "MCP-Protocol-Version": "2025-11-25" } });
    await this.notify("notifications/initialized", ["2025-11-25", "InitializedNotification"]);
    return result;
  }

  /** Sends `method` with the 2025 protocol header. */
  request(method: string, params: Record<string, unknown>, signal?: AbortSignal) {
    return this.call(method, params, { headers: { "MCP-Protocol-Version": "2025-11-25" }, signal });
  }

  /** `tools/call`, as a task when `task` is given (`{ ttl }`). */
  callTool(
    name: string,
    args: Record<string, unknown>,
    options: { task?: { ttl?: number }; signal?: AbortSignal } = {},
  ): Promise<Record<string, unknown>> {
    const params = { name, arguments: args, ...(options.task ? { task: options.task } : {}) };
    return this.request("tools/call", params, options.signal);
  }

  /** `tasks/get`: the Task. */
  getTask(taskId: string, signal?: AbortSignal): Promise<Record<string, unknown>> {
    return this.request("tasks/get", { taskId }, signal);
  }

  /** `tasks/result`: blocks until the task is terminal, then its tool result. */
  taskResult(taskId: string): Promise<Record<string, unknown>> {
    return this.request("tasks/result", { taskId });
  }

  /** `tasks/list`. */
  listTasks(cursor?: string): Promise<Record<string, unknown>> {
    return this.request("tasks/list", cursor === undefined ? {} : { cursor });
  }

  /** `tasks/cancel`: the Task, already cancelled. */
  cancelTask(taskId: string): Promise<Record<string, unknown>> {
    return this.request("tasks/cancel", { taskId });
  }
}
