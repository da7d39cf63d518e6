/**
 * End-to-end: an unbounded chunked body costs the service its limit at most. A real service
 * process on a real socket is sent 150 MB in `Transfer-Encoding: chunked` (no declared length) on
 * several routes — the sign-in form, `/mcp`, `/v1/images/edits` (the upload route, the largest
 * limit), `/admin/images/cleanup` and a path no route serves — and must answer 413 each time while
 * its peak resident memory (`VmHWM` in /proc/<pid>/status, reset before each request through
 * `clear_refs`) grows by less than 100 MB.
 */
import assert from "node:assert/strict";
import { spawnHttpService } from "./support/http_server.ts";
import { resetPeak, sendUntilAnswered, statusBytes } from "./support/process_memory.ts";

const MB = 1024 * 1024;
const BODY_BYTES = 150 * MB;
const CHUNK = new Uint8Array(256 * 1024).fill(0x61);

/** Sends `POST path` with a chunked body of `total` bytes; the status the service answers. */
async function postChunked(
  base: string,
  path: string,
  contentType: string,
  total: number,
): Promise<number> {
  const url = new URL(base);
  const head = `POST ${path} HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: ${contentType}\r\n` +
    "Transfer-Encoding: chunked\r\n\r\n";
  function* chunks(): Generator<Uint8Array> {
    const encoder = new TextEncoder();
    const framed = new Uint8Array([
      ...encoder.encode(`${CHUNK.length.toString(16)}\r\n`),
      ...CHUNK,
      ...encoder.encode("\r\n"),
    ]);
    for (let sent = 0; sent < total; sent += CHUNK.length) yield framed;
    yield encoder.encode("0\r\n\r\n");
  }
  return (await sendUntilAnswered(base, head, chunks())).status;
}

Deno.test({
  name: "a 150 MB chunked body gets 413 on every route and grows the service's memory < 100 MB",
  // Reading /proc is Linux only.
  ignore: Deno.build.os !== "linux",
  async fn() {
    await using server = await spawnHttpService({ OPENAI_API_KEY: "sk-test-memory" });
    const routes = [
      ["/login", "application/x-www-form-urlencoded"],
      ["/mcp", "application/json"],
      ["/v1/images/edits", "multipart/form-data; boundary=x"],
      ["/admin/images/cleanup", "application/json"],
      ["/no/such/route", "application/json"],
    ] as const;
    for (const [path, type] of routes) {
      // Warm the route up first, so that code loaded on first use is not counted as growth.
      await postChunked(server.url, path, type, 2 * MB);
      await resetPeak(server.pid);
      const before = await statusBytes(server.pid, "VmRSS");
      const status = await postChunked(server.url, path, type, BODY_BYTES);
      const peak = await statusBytes(server.pid, "VmHWM");
      const growth = peak - before;
      assert.equal(status, 413, `POST ${path} with a 150 MB chunked body`);
      assert.ok(
        growth < 100 * MB,
        `POST ${path}: resident memory grew by ${(growth / MB).toFixed(1)} MB`,
      );
    }
  },
});
