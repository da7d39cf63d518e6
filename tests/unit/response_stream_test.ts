import assert from "node:assert/strict";
import { decodeImagesResponse } from "../../src/generation/response_stream.ts";

function streamOf(text: string, chunkSize: number): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(offset, offset + chunkSize));
      offset += chunkSize;
    },
  });
}

/** A byte stream (as a fetch body is) giving `bytes` in pieces of `chunkSize`, then ending. */
function byteStreamOf(bytes: Uint8Array, chunkSize: number, end = bytes.length) {
  let offset = 0;
  const cancelled: unknown[] = [];
  const stream = new ReadableStream({
    type: "bytes",
    pull(controller) {
      if (offset >= end) {
        controller.close();
        // A read waiting with its own buffer is answered once the stream is closed.
        return controller.byobRequest?.respond(0);
      }
      controller.enqueue(bytes.slice(offset, Math.min(end, offset + chunkSize)));
      offset += chunkSize;
    },
    cancel(reason) {
      cancelled.push(reason);
    },
  });
  return { stream, cancelled };
}

const imageA = Uint8Array.from({ length: 100_001 }, (_, i) => (i * 7919) % 256);
const imageB = crypto.getRandomValues(new Uint8Array(7));

Deno.test("b64_json values are decoded as the body streams in, at any chunk size", async () => {
  const body = JSON.stringify(
    {
      created: 1,
      data: [
        { b64_json: imageA.toBase64(), revised_prompt: 'a "quoted" b64_json: "x"' },
        { b64_json: imageB.toBase64() },
      ],
      usage: { total_tokens: 42 },
      output_format: "png",
    },
    null,
    1,
  );
  for (const size of [1, 3, 7, 64, 4096, 1 << 20]) {
    const decoded = await decodeImagesResponse(streamOf(body, size));
    assert.deepEqual(decoded.images[0], imageA, `chunk ${size}`);
    assert.deepEqual(decoded.images[1], imageB, `chunk ${size}`);
    const data = decoded.body.data as { b64_json: string; revised_prompt?: string }[];
    assert.deepEqual(data.map((d) => d.b64_json), ["0", "1"]);
    assert.equal(data[0].revised_prompt, 'a "quoted" b64_json: "x"');
    assert.deepEqual(decoded.body.usage, { total_tokens: 42 });
  }
});

Deno.test("a fetch body (a byte stream) is decoded the same; one left early is cancelled", async () => {
  const big = crypto.getRandomValues(new Uint8Array(60_000));
  const image = Uint8Array.from({ length: 300_000 }, (_, i) => big[i % big.length] ^ (i >> 16));
  const text = JSON.stringify({ data: [{ b64_json: image.toBase64() }], usage: { n: 1 } });
  const bytes = new TextEncoder().encode(text);
  for (const size of [5, 65_536, 100_000, 1 << 20]) {
    const { stream, cancelled } = byteStreamOf(bytes, size);
    const decoded = await decodeImagesResponse(stream);
    assert.deepEqual(decoded.images[0], image, `chunk ${size}`);
    assert.deepEqual(decoded.body, { data: [{ b64_json: "0" }], usage: { n: 1 } });
    assert.deepEqual(cancelled, [], "a body read to its end is not cancelled");
  }
  const { stream, cancelled } = byteStreamOf(bytes, 10_000, 100_000);
  await assert.rejects(
    decodeImagesResponse(stream, { maxImageBytes: 1000 }),
    (error: Error & { kind?: string }) => error.kind === "upstream_unavailable",
  );
  assert.equal(cancelled.length, 1, "the rest of the body is cancelled");
});

Deno.test("escaped slashes in base64 are read as slashes", async () => {
  const bytes = new Uint8Array([0xff, 0xff, 0xff, 0xfb, 0xff]);
  const text = `{"data":[{"b64_json":"${bytes.toBase64().replaceAll("/", "\\/")}"}]}`;
  const decoded = await decodeImagesResponse(streamOf(text, 2));
  assert.deepEqual(decoded.images[0], bytes);
});

Deno.test("malformed or truncated bodies are SyntaxErrors", async () => {
  await assert.rejects(decodeImagesResponse(streamOf("{not json", 4)), SyntaxError);
  await assert.rejects(
    decodeImagesResponse(streamOf('{"data":[{"b64_json":"AAAA', 4)),
    SyntaxError,
  );
  await assert.rejects(decodeImagesResponse(streamOf("[1,2]", 4)), SyntaxError);
});

Deno.test("text after an image's closing quote may be any UTF-8; non-ASCII inside one is refused", async () => {
  const image = Uint8Array.from({ length: 5000 }, (_, i) => (i * 31) % 256);
  const prompt = "café ☕ 日本 — \u{1f3a8}";
  const text = `{"data":[{"b64_json":"${image.toBase64()}","revised_prompt":"${prompt}"}]}`;
  const bytes = new TextEncoder().encode(text);
  for (const size of [1, 2, 3, 4, 5, 6667, 6668, 6669, 6670, 1 << 20]) {
    const decoded = await decodeImagesResponse(byteStreamOf(bytes, size).stream);
    assert.deepEqual(decoded.images[0], image, `chunk ${size}`);
    const data = decoded.body.data as { revised_prompt: string }[];
    assert.equal(data[0].revised_prompt, prompt, `chunk ${size}`);
  }
  const bad = new TextEncoder().encode(`{"data":[{"b64_json":"AAAAé${"A".repeat(7)}"}]}`);
  for (const size of [1, 3, 64]) {
    await assert.rejects(decodeImagesResponse(byteStreamOf(bad, size).stream), SyntaxError);
  }
});

Deno.test("image data is never decoded to other bytes than JSON.parse and fromBase64 give", async () => {
  const image = Uint8Array.from({ length: 57 * 4 }, (_, i) => (i * 97) % 256);
  const lines = image.toBase64().match(/.{1,76}/g)!;
  const bodies = [
    // Line breaks escaped as JSON allows (MIME-style base64): whitespace to base64.
    `{"data":[{"b64_json":"${lines.join("\\n")}\\n"}]}`,
    `{"data":[{"b64_json":"${lines.join("\\r\\n")}"}]}`,
    // Spaces are legal in a JSON string, and skipped by base64.
    `{"data":[{"b64_json":"${lines.join(" ")} "}]}`,
  ];
  for (const text of bodies) {
    const bytes = new TextEncoder().encode(text);
    for (const size of [1, 2, 3, 5, 7, 77, 78, 1 << 20]) {
      const decoded = await decodeImagesResponse(byteStreamOf(bytes, size).stream);
      assert.deepEqual(decoded.images[0], image, `${JSON.stringify(text.slice(20, 40))}, ${size}`);
    }
  }
  // Escapes that are no base64 (nor whitespace) are refused, split across pieces or not.
  for (const escape of ["\\\\", '\\"', "\\u0041", "\\b", "\ufeff"]) {
    const bytes = new TextEncoder().encode(`{"data":[{"b64_json":"QUJD${escape}QUJD"}]}`);
    for (const size of [1, 2, 3, 4, 25, 26, 27, 64]) {
      await assert.rejects(
        decodeImagesResponse(byteStreamOf(bytes, size).stream),
        SyntaxError,
        `${JSON.stringify(escape)}, ${size}`,
      );
    }
  }
});
