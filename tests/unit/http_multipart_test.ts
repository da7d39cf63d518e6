import assert from "node:assert/strict";
import { type MultipartEntry, MultipartError, readMultipart } from "../../src/http/multipart.ts";

/** `bytes` as a stream of chunks of `size` bytes. */
function streamOf(bytes: Uint8Array, size: number): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(at, at + size));
      at += size;
    },
  });
}

/** `form` as the runtime's own encoder sends it: its Content-Type and bytes. */
async function encode(form: FormData): Promise<{ type: string; bytes: Uint8Array }> {
  const request = new Request("http://localhost/", { method: "POST", body: form });
  return {
    type: request.headers.get("content-type")!,
    bytes: new Uint8Array(await request.arrayBuffer()),
  };
}

async function plain(entries: MultipartEntry[]): Promise<[string, string | number[]][]> {
  return await Promise.all(
    entries.map(async ([name, value]): Promise<[string, string | number[]]> => {
      if (typeof value === "string") return [name, value];
      const bytes = await new Blob(value.chunks as readonly BlobPart[] as BlobPart[]).bytes();
      assert.equal(bytes.length, value.size);
      return [`${name}:${value.name}:${value.type}`, [...bytes]];
    }),
  );
}

Deno.test("readMultipart reads what FormData sent, however the body is cut into chunks", async () => {
  // File content that looks like the start of a boundary must survive every cut.
  const tricky = new TextEncoder().encode("\r\n--\r\n-\r\n--x\r\n\r\n\u00ff");
  const form = new FormData();
  form.append("prompt", "a café at dusk");
  form.append("image[]", new File([tricky], "a.png", { type: "image/png" }));
  form.append("image[]", new File([new Uint8Array(3000).fill(7)], "b.bin"));
  form.append("empty", new File([], "none.png", { type: "image/png" }));
  form.append("n", "2");
  const { type, bytes } = await encode(form);
  const expected = [
    ["prompt", "a café at dusk"],
    ["image[]:a.png:image/png", [...tricky]],
    ["image[]:b.bin:application/octet-stream", Array(3000).fill(7)],
    ["empty:none.png:image/png", []],
    ["n", "2"],
  ];
  for (const size of [1, 2, 3, 5, 17, 64, 1000, bytes.length]) {
    const entries = await readMultipart(streamOf(bytes, size), type);
    assert.deepEqual(await plain(entries), expected, `chunks of ${size} bytes`);
  }
});

Deno.test("readMultipart refuses malformed bodies with a MultipartError saying why", async () => {
  const body = (text: string) => streamOf(new TextEncoder().encode(text), 4);
  const cases: [string, string, ReadableStream<Uint8Array> | null, RegExp][] = [
    ["no boundary", "multipart/form-data", body("--x--"), /names no boundary/],
    ["no body", "multipart/form-data; boundary=x", null, /body is empty/],
    [
      "no closing boundary",
      "multipart/form-data; boundary=x",
      body('--x\r\nContent-Disposition: form-data; name="a"\r\n\r\nvalue'),
      /ended before its closing boundary/,
    ],
    [
      "a part without a name",
      'multipart/form-data; boundary="x"',
      body("--x\r\nContent-Disposition: form-data\r\n\r\nvalue\r\n--x--"),
      /no Content-Disposition: form-data with a name/,
    ],
  ];
  for (const [what, type, stream, message] of cases) {
    await assert.rejects(readMultipart(stream, type), (error: Error) => {
      assert.ok(error instanceof MultipartError, what);
      assert.match(error.message, message, what);
      return true;
    });
  }
  const long = `--x\r\nContent-Disposition: form-data; name="prompt"\r\n\r\n${
    "a".repeat(40)
  }\r\n--x--`;
  await assert.rejects(
    readMultipart(body(long), "multipart/form-data; boundary=x", { maxFieldBytes: 32 }),
    /field "prompt" is over 32 bytes/,
  );
});
