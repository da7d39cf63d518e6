/**
 * The HTTP door's server-sent events (`src/http/sse.ts`, over Hono's `streamSSE`): the exact text
 * on the stream, the caller's error event, the headers, and the writer's signal when the client
 * goes away.
 */
import assert from "node:assert/strict";
import { Hono } from "hono";
import { type SendEvent, type SseOptions, sseResponse } from "../../src/http/sse.ts";

function appWith(
  write: (send: SendEvent, signal: AbortSignal) => Promise<void>,
  options: Partial<SseOptions> = {},
): Hono {
  const app = new Hono();
  app.get("/events", (c) => sseResponse(c, write, { onError: () => ({}), ...options }));
  return app;
}

Deno.test("sends are written in order: retry first, JSON data under event names, keep-alive comments", async () => {
  const app = appWith(async (send) => {
    send("progress", { stage: "queued" });
    send(null, null);
    await Promise.resolve();
    send("done", { text: "two\nlines" });
  }, { retryMs: 2000 });
  const res = await app.request("/events");
  assert.equal(
    await res.text(),
    "retry: 2000\n\n" +
      'event: progress\ndata: {"stage":"queued"}\n\n' +
      ": keep-alive\n\n" +
      'event: done\ndata: {"text":"two\\nlines"}\n\n',
  );
});

Deno.test("a stream carries the event-stream type and is never transformed, nor stored when asked", async () => {
  const plain = await appWith(() => Promise.resolve()).request("/events");
  assert.equal(plain.headers.get("content-type"), "text/event-stream; charset=utf-8");
  assert.equal(plain.headers.get("cache-control"), "no-cache, no-transform");
  assert.equal(plain.headers.get("x-accel-buffering"), "no");
  assert.equal(await plain.text(), "");
  const private_ = await appWith(() => Promise.resolve(), { noStore: true }).request("/events");
  assert.equal(private_.headers.get("cache-control"), "no-cache, no-store, no-transform");
  await private_.body?.cancel();
});

Deno.test("a writer that throws ends the stream with the caller's error event and nothing else", async () => {
  const app = appWith(async (send) => {
    send("progress", { stage: "generating" });
    await Promise.resolve();
    throw new Error("upstream said sk-secret-0123");
  }, { onError: () => ({ kind: "upstream", message: "masked" }), errorEvent: "failure" });
  const text = await (await app.request("/events")).text();
  assert.equal(
    text,
    'event: progress\ndata: {"stage":"generating"}\n\n' +
      'event: failure\ndata: {"kind":"upstream","message":"masked"}\n\n',
  );
  assert.doesNotMatch(text, /sk-secret/);
});

Deno.test("the writer's signal aborts when the client cancels the stream", async () => {
  const { promise: aborted, resolve } = Promise.withResolvers<void>();
  const app = appWith(async (send, signal) => {
    send("progress", { stage: "queued" });
    await new Promise<void>((done) => signal.addEventListener("abort", () => done()));
    resolve();
  });
  const res = await app.request("/events");
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  assert.match((await reader.read()).value ?? "", /event: progress/);
  await reader.cancel();
  await aborted;
});
