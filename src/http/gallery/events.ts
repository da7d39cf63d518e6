/**
 * A server-sent-events response for the job page, with an abort signal that fires when the
 * browser goes away (the server cancels the response stream), so writers stop their timers and
 * waits at once.
 *
 * @module
 */

/** Writes one named event with JSON data. */
export type SendEvent = (event: string, data: unknown) => void;

const encoder = new TextEncoder();

/**
 * A `text/event-stream` response fed by `run`; the stream ends when `run` settles. `run`'s signal
 * aborts when the client leaves.
 */
export function eventStream(
  run: (send: SendEvent, signal: AbortSignal) => Promise<void>,
  options: { onError: (error: unknown) => unknown },
): Response {
  const gone = new AbortController();
  let closed = false;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      const send: SendEvent = (event, data) => {
        if (closed) return;
        controller.enqueue(encoder.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`));
      };
      // Tell the browser how long to wait before reconnecting after the stream ends early.
      controller.enqueue(encoder.encode("retry: 2000\n\n"));
      run(send, gone.signal)
        .catch((error) => send("failure", options.onError(error)))
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
      "Cache-Control": "no-cache, no-store, no-transform",
      "X-Accel-Buffering": "no",
    },
  });
}
