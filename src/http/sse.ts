/**
 * Server-sent events of the HTTP door (`/v1` streaming and the gallery's job page), written by
 * Hono's `streamSSE`: `send(event, data)` writes one event with JSON data, `send(null, null)` a
 * comment that keeps idle connections open. The writer's signal aborts when the client goes away
 * (the server cancels the response stream) and when the writer is done, so writers stop their
 * timers and waits at once; further sends are dropped.
 *
 * What this adds to `streamSSE`: sends that keep their order without being awaited (writers call
 * them from timers and subscriptions), a final error event of the caller's own name and shape
 * (errors never reach `streamSSE`, whose handler would append an `error` event with the raw,
 * unredacted message), an optional first `retry:` line, and the headers below.
 *
 * @module
 */
import type { Context } from "hono";
import { streamSSE } from "hono/streaming";

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

/** A `text/event-stream` response whose events `write` produces; the stream ends with it. */
export function sseResponse(
  c: Context,
  write: (send: SendEvent, signal: AbortSignal) => Promise<void>,
  options: SseOptions,
): Response {
  const response = streamSSE(c, async (stream) => {
    const gone = new AbortController();
    stream.onAbort(() => gone.abort());
    // Sends are not awaited by writers, so writes are chained to keep their order.
    let written = Promise.resolve();
    const queue = (next: () => Promise<unknown>) => {
      written = written.then(async () => void (await next()));
    };
    const send: SendEvent = (event, data) => {
      if (gone.signal.aborted) return;
      if (event === null) queue(() => stream.write(": keep-alive\n\n"));
      else queue(() => stream.writeSSE({ event, data: JSON.stringify(data) }));
    };
    if (options.retryMs !== undefined) queue(() => stream.write(`retry: ${options.retryMs}\n\n`));
    try {
      await write(send, gone.signal);
    } catch (error) {
      send(options.errorEvent ?? "error", options.onError(error));
    } finally {
      gone.abort();
    }
    await written;
  });
  const headers = response.headers;
  headers.set("Content-Type", "text/event-stream; charset=utf-8");
  headers.set(
    "Cache-Control",
    options.noStore ? "no-cache, no-store, no-transform" : "no-cache, no-transform",
  );
  headers.set("X-Accel-Buffering", "no");
  return response;
}
