/**
 * A stdio transport that answers `initialize` before the MCP SDK has loaded. Loading the SDK costs
 * ~90 ms of a ~200 ms start; clients wait for the handshake, so the transport listens at once,
 * answers `initialize` from {@link initializeResult}, and buffers everything else until the SDK
 * server connects. The buffered messages (the `initialize` included, so the SDK learns the
 * client's capabilities) are then replayed, and the SDK's own answer to the already-answered
 * `initialize` is dropped. Implements the SDK's `Transport` interface structurally: no SDK import.
 *
 * @module
 */
import { initializeResult } from "./identity.ts";

type JsonRpcMessage = Record<string, unknown> & { jsonrpc: "2.0" };

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
      let message: JsonRpcMessage;
      try {
        message = JSON.parse(value);
      } catch (error) {
        this.onerror?.(new Error(`Ignoring a line that is not JSON: ${(error as Error).message}`));
        continue;
      }
      this.#receive(message);
    }
    await this.close();
  }

  #receive(message: JsonRpcMessage): void {
    if (!this.#started && message.method === "initialize" && message.id !== undefined) {
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
