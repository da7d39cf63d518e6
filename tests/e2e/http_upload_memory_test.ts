/**
 * End-to-end: uploads wait for an in-flight slot before their bodies are read. A real service
 * process on a real socket, with `MAX_INFLIGHT_PER_KEY=2` and a slow fake upstream (so the two
 * admitted edits keep their slots), is sent eight 55 MB multipart edits at once: two run, six are
 * refused with 429 before the service reads their bodies, and the service's peak resident memory
 * (`VmHWM`, reset through `clear_refs`) grows by less than 200 MB.
 */
import assert from "node:assert/strict";
import { startFakeOpenAI } from "../fake_openai.ts";
import { TINY_PNG } from "../support/fake_image_service.ts";
import { spawnHttpService, TEST_OPENAI_KEY } from "./support/http_server.ts";
import { resetPeak, sendUntilAnswered, statusBytes } from "./support/process_memory.ts";

const MB = 1024 * 1024;
const UPLOADS = 8;
const INFLIGHT = 2;
// Two images per edit: each stays under the 50 MB an edit input may have.
const IMAGE_BYTES = 27.5 * MB;
const PIECE = 256 * 1024;

/** A valid PNG padded with zeros after its end to `size` bytes. */
function paddedPng(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  bytes.set(TINY_PNG);
  return bytes;
}

/** A multipart edit of two `image` files, cut into pieces (the same bytes for every request). */
function editBody(boundary: string, image: Uint8Array): { pieces: Uint8Array[]; length: number } {
  const encoder = new TextEncoder();
  const field = (name: string, value: string) =>
    encoder.encode(
      `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`,
    );
  const fileHead = (i: number) =>
    encoder.encode(
      `--${boundary}\r\nContent-Disposition: form-data; name="image[]"; ` +
        `filename="in${i}.png"\r\nContent-Type: image/png\r\n\r\n`,
    );
  const pieces: Uint8Array[] = [field("prompt", "add a hat"), field("response_format", "url")];
  for (const i of [0, 1]) {
    pieces.push(fileHead(i));
    for (let at = 0; at < image.length; at += PIECE) pieces.push(image.subarray(at, at + PIECE));
    pieces.push(encoder.encode("\r\n"));
  }
  pieces.push(encoder.encode(`--${boundary}--\r\n`));
  return { pieces, length: pieces.reduce((sum, piece) => sum + piece.length, 0) };
}

Deno.test({
  name: "8 parallel 55 MB uploads with an in-flight limit of 2: 2 run, 6 get 429 unread, " +
    "memory grows < 200 MB",
  // Reading /proc is Linux only.
  ignore: Deno.build.os !== "linux",
  async fn() {
    // Slow enough that the admitted edits still hold their slots when the others arrive.
    await using fake = await startFakeOpenAI({ latencyMs: 3_000 });
    await using server = await spawnHttpService({
      OPENAI_BASE_URL: fake.baseUrl,
      OPENAI_API_KEY: TEST_OPENAI_KEY,
      OPENAI_MAX_RETRIES: "0",
      REQUEST_RATE_LIMIT: "10000/1m",
      MAX_INFLIGHT_PER_KEY: String(INFLIGHT),
      MAX_UPLOAD_BYTES: String(64 * MB),
    });
    const url = new URL(server.url);
    const boundary = "----upload-memory-test";
    const head = (length: number) =>
      `POST /v1/images/edits HTTP/1.1\r\nHost: ${url.host}\r\n` +
      `Content-Type: multipart/form-data; boundary=${boundary}\r\n` +
      `Content-Length: ${length}\r\nConnection: close\r\n\r\n`;

    // Warm the route up first, so that code loaded on first use is not counted as growth.
    const small = editBody(boundary, paddedPng(MB));
    const warm = await sendUntilAnswered(server.url, head(small.length), small.pieces);
    assert.equal(warm.status, 200, "a 2 MB edit");
    fake.reset();

    const body = editBody(boundary, paddedPng(IMAGE_BYTES));
    assert.ok(body.length > 55 * MB && body.length < 56 * MB, `a 55 MB body, got ${body.length}`);
    await resetPeak(server.pid);
    const before = await statusBytes(server.pid, "VmRSS");
    const answers = await Promise.all(
      Array.from(
        { length: UPLOADS },
        () => sendUntilAnswered(server.url, head(body.length), body.pieces),
      ),
    );
    const peak = await statusBytes(server.pid, "VmHWM");
    const growth = peak - before;
    console.log(`peak resident memory grew by ${(growth / MB).toFixed(1)} MB`);

    const statuses = answers.map((answer) => answer.status).sort();
    assert.deepEqual(statuses, [
      ...Array(INFLIGHT).fill(200),
      ...Array(UPLOADS - INFLIGHT).fill(429),
    ]);
    assert.equal(fake.stats.requestsServed, INFLIGHT, "edits that reached the upstream");
    for (const answer of answers.filter((a) => a.status === 429)) {
      // The socket buffers take some of a refused body; the service itself never asked for it.
      assert.ok(
        answer.written < body.length,
        `a refused upload was sent whole (${answer.written} bytes) before its answer`,
      );
    }
    assert.ok(growth < 200 * MB, `resident memory grew by ${(growth / MB).toFixed(1)} MB`);
  },
});
