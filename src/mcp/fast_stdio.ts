/**
 * A stdio transport that answers `initialize` before the MCP SDK has loaded. Settings, logging and
 * the SDK cost several times Deno's own start; clients wait for the handshake, so the transport
 * listens at once, answers an opening `initialize` from {@link initializeResult}, and buffers
 * everything else until the SDK server connects. The buffered messages (the `initialize` included,
 * so the SDK learns the client's capabilities) are then replayed, and the SDK's own answer to the
 * already-answered `initialize` is dropped. Implements the SDK's `Transport` interface
 * structurally: no SDK import.
 *
 * A line that is no JSON-RPC message (`null`, `42`, `[]`, `{}`, a request with an object id, not
 * JSON at all) is answered here with a JSON-RPC error carrying id null — parse error (-32700) or
 * invalid request (-32600) — and never reaches the SDK, which assumes well-formed messages; the
 * next line is read as usual.
 *
 * @module
 */
import { initializeResult } from "./identity.ts";

type JsonRpcMessage = Record<string, unknown> & { jsonrpc: "2.0" };

/** JSON-RPC's code for a line that is not JSON. */
export const PARSE_ERROR = -32700;
/** JSON-RPC's code for JSON that is not a valid request, notification or response. */
export const INVALID_REQUEST = -32600;

function isId(id: unknown): id is string | number {
  return typeof id === "string" || (typeof id === "number" && Number.isFinite(id));
}

/**
 * Why `value` is not a JSON-RPC message this server can take, or null when it is one. Batches
 * (arrays) were removed from MCP in 2025-06-18, and MCP ids are strings or numbers, never null.
 */
export function invalidMessage(value: unknown): string | null {
  if (typeof value !== "object" || value === null) {
    return `expected a JSON-RPC message object, got ${value === null ? "null" : typeof value}`;
  }
  if (Array.isArray(value)) return "batches are not supported: send one message per line";
  const message = value as Record<string, unknown>;
  if (message.jsonrpc !== "2.0") return 'expected "jsonrpc": "2.0"';
  if ("id" in message && !isId(message.id)) return "expected an id that is a string or a number";
  if ("method" in message) {
    return typeof message.method === "string" ? null : "expected a method name (string)";
  }
  if (!isId(message.id)) return "expected a method, or an id with a result or error";
  return "result" in message || "error" in message
    ? null
    : "expected a result or an error in a response";
}

/** Options of {@link FastStdioTransport}. */
export interface FastStdioOptions {
  /** Where messages come from (default: the process's stdin). */
  input?: ReadableStream<Uint8Array>;
  /** Where messages go (default: the process's stdout). */
  write?: (bytes: Uint8Array) => Promise<void>;
  /** Sees the SDK's own answer to an `initialize` that was answered early (tests compare them). */
  onSuppressed?: (message: JsonRpcMessage) => void;
}

async function writeAll(bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) offset += await Deno.stdout.write(bytes.subarray(offset));
}

/** Newline-delimited JSON-RPC over stdio with an early `initialize` answer. */
export class FastStdioTransport {
  /** Set by the SDK: an incoming message. */
  onmessage?: (message: JsonRpcMessage) => void;
  /** Set by the SDK: the connection ended. */
  onclose?: () => void;
  /** Set by the SDK: a transport-level error. */
  onerror?: (error: Error) => void;

  #input: ReadableStream<Uint8Array>;
  #write: (bytes: Uint8Array) => Promise<void>;
  #onSuppressed?: (message: JsonRpcMessage) => void;
  #buffer: JsonRpcMessage[] = [];
  #answeredEarly = new Set<string | number>();
  #started = false;
  #closed = false;
  #writing: Promise<void> = Promise.resolve();
  #encoder = new TextEncoder();
  #reader?: ReadableStreamDefaultReader<string>;
  #done = Promise.withResolvers<void>();

  /** Creates the transport; call {@link listen} as early as possible. */
  constructor(options: FastStdioOptions = {}) {
    this.#input = options.input ?? Deno.stdin.readable;
    this.#write = options.write ?? writeAll;
    this.#onSuppressed = options.onSuppressed;
  }

  /** Settles when the transport has closed (stdin ended or {@link close} was called). */
  get closed(): Promise<void> {
    return this.#done.promise;
  }

  /** Starts reading stdin now (before the SDK exists). */
  listen(): void {
    const lines = this.#input
      .pipeThrough(new TextDecoderStream())
      .pipeThrough(splitLines());
    this.#reader = lines.getReader();
    this.#pump().catch((error) => this.onerror?.(error as Error));
  }

  async #pump(): Promise<void> {
    const reader = this.#reader!;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      if (value.trim() === "") continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(value);
      } catch (error) {
        this.#reject(PARSE_ERROR, "Parse error", `not JSON: ${(error as Error).message}`);
        continue;
      }
      const invalid = invalidMessage(parsed);
      if (invalid !== null) {
        this.#reject(INVALID_REQUEST, "Invalid Request", invalid);
        continue;
      }
      try {
        this.#receive(parsed as JsonRpcMessage);
      } catch (error) {
        // A handler that throws must not stop the loop: later lines still need answers.
        this.onerror?.(error as Error);
      }
    }
    await this.close();
  }

  /** Answers a line that is no usable message; its id, if any, cannot be trusted. */
  #reject(code: number, message: string, detail: string): void {
    this.onerror?.(new Error(`Rejected a stdin line: ${detail}`));
    this.#send({ jsonrpc: "2.0", id: null, error: { code, message: `${message}: ${detail}` } });
  }

  #receive(message: JsonRpcMessage): void {
    // Only an opening `initialize` is answered early: after another message the SDK may already
    // have pinned the 2026-07-28 era and will answer it (with an error) itself.
    const opening = !this.#started && this.#buffer.length === 0;
    if (opening && message.method === "initialize" && message.id !== undefined) {
      const params = (message.params ?? {}) as { protocolVersion?: unknown };
      this.#answeredEarly.add(message.id as string | number);
      this.#send({
        jsonrpc: "2.0",
        id: message.id,
        result: initializeResult(params.protocolVersion),
      });
    }
    if (this.#started) this.onmessage?.(message);
    else this.#buffer.push(message);
  }

  /** Called by the SDK's `connect`: replays what arrived before it was there. */
  start(): Promise<void> {
    this.#started = true;
    queueMicrotask(() => {
      const buffered = this.#buffer;
      this.#buffer = [];
      for (const message of buffered) this.onmessage?.(message);
    });
    return Promise.resolve();
  }

  /** Called by the SDK for every outgoing message. */
  send(message: JsonRpcMessage): Promise<void> {
    const id = message.id as string | number | undefined;
    if (id !== undefined && "result" in message && this.#answeredEarly.delete(id)) {
      this.#onSuppressed?.(message);
      return Promise.resolve();
    }
    return this.#send(message);
  }

  #send(message: Record<string, unknown>): Promise<void> {
    if (this.#closed) return Promise.resolve();
    const bytes = this.#encoder.encode(`${JSON.stringify(message)}\n`);
    // Serialise writes so two messages never interleave on stdout.
    this.#writing = this.#writing.then(() => this.#write(bytes)).catch((error) => {
      this.onerror?.(error as Error);
    });
    return this.#writing;
  }

  /** Stops reading and reports the close once. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#writing;
    this.#reader?.cancel().catch(() => {});
    this.#done.resolve();
    this.onclose?.();
  }
}

function splitLines(): TransformStream<string, string> {
  let rest = "";
  return new TransformStream({
    transform(chunk, controller) {
      rest += chunk;
      let index: number;
      while ((index = rest.indexOf("\n")) >= 0) {
        controller.enqueue(rest.slice(0, index).replace(/\r$/, ""));
        rest = rest.slice(index + 1);
      }
    },
    flush(controller) {
      if (rest !== "") controller.enqueue(rest);
    },
  });
}
