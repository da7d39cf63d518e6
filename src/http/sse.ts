/**
 * The one server-sent-events writer of the HTTP door (`/v1` streaming and the gallery's job
 * page): `send(event, data)` writes one event with JSON data, `send(null, null)` a comment that
 * keeps idle connections open. The writer's signal aborts when the client goes away (the server
 * cancels the response stream), so writers stop their timers and waits at once; further sends are
 * dropped.
 *
 * @module
 */

/** Writes one event (`event` and JSON `data`), or a keep-alive comment when `event` is null. */
export type SendEvent = (event: string | null, data: unknown) => void;

/** Options of {@link sseResponse}. */
export interface SseOptions {
  /** Data of the final error event when `write` throws. */
  onError: (error: unknown) => unknown;
  /** Name of that final event (default `error`, OpenAI's; the gallery's script reads `failure`). */
  errorEvent?: string;
  /** Reconnection delay sent first, for browsers that reconnect after an early end. */
  retryMs?: number;
  /** Adds `no-store`: pages of signed-in people must not be kept by any cache. */
  noStore?: boolean;
}

const encoder = new TextEncoder();

/** A `text/event-stream` response whose events `write` produces; the stream ends with it. */
export function sseResponse(
  write: (send: SendEvent, signal: AbortSignal) => Promise<void>,
  options: SseOptions,
): Response {
  const gone = new AbortController();
  let closed = false;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      const send: SendEvent = (event, data) => {
        if (closed) return;
        const text = event === null
          ? ": keep-alive\n\n"
          : `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
        controller.enqueue(encoder.encode(text));
      };
      if (options.retryMs !== undefined) {
        controller.enqueue(encoder.encode(`retry: ${options.retryMs}\n\n`));
      }
      write(send, gone.signal)
        .catch((error) => send(options.errorEvent ?? "error", options.onError(error)))
        .finally(() => {
          gone.abort();
          if (closed) return;
          closed = true;
          controller.close();
        });
    },
    cancel() {
      closed = true;
      gone.abort();
    },
  });
  return new Response(body, {
    status: 200,
    headers: {
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": options.noStore
        ? "no-cache, no-store, no-transform"
        : "no-cache, no-transform",
      "X-Accel-Buffering": "no",
    },
  });
}
