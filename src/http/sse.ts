/**
 * A server-sent-events response fed by an async writer: `send(event, data)` writes one event
 * with JSON data, `send(null, null)` a comment that keeps idle connections open. When the client
 * goes away, further sends are dropped.
 *
 * @module
 */

/** Writes one event (`event` and JSON `data`), or a keep-alive comment when `event` is null. */
export type SendEvent = (event: string | null, data: unknown) => void;

/** Options of {@link sseResponse}. */
export interface SseOptions {
  /** Data of the final `error` event when `write` throws. */
  onError: (error: unknown) => unknown;
}

const encoder = new TextEncoder();

/** A `text/event-stream` response whose events `write` produces; the stream ends with it. */
export function sseResponse(
  write: (send: SendEvent) => Promise<void>,
  options: SseOptions,
): Response {
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
      write(send)
        .catch((error) => send("error", options.onError(error)))
        .finally(() => {
          if (closed) return;
          closed = true;
          controller.close();
        });
    },
    cancel() {
      closed = true;
    },
  });
  return new Response(body, {
    status: 200,
    headers: {
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-cache, no-transform",
      "X-Accel-Buffering": "no",
    },
  });
}
