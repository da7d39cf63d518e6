import assert from "node:assert/strict";
import sharp from "sharp";
import { AppError } from "../../src/errors.ts";
import {
  type CodecEngine,
  createCodec,
  type EngineName,
  IMAGE_FORMAT_LABEL,
  type ImageFormat,
  loadNativeEngine,
  loadWasmEngine,
  sniffImage,
  verifyImage,
} from "../../src/images/codec.ts";

const PREVIEW_MAX_BYTES = 700_000;
const PREVIEW_MAX_SIDE = 1568;
const ENGINES: readonly EngineName[] = ["native", "wasm"];
const codecs = { native: createCodec({ engine: "native" }), wasm: createCodec({ engine: "wasm" }) };

/** Deterministic photo-like noise: per-channel gradients plus xorshift noise. */
function noisyPixels(width: number, height: number, channels: 3 | 4, seed = 7): Uint8Array {
  const raw = new Uint8Array(width * height * channels);
  let s = seed;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * channels;
      const base = [(x * 255) / width, (y * 255) / height, ((x + y) * 127) / (width + height) + 64];
      for (let c = 0; c < 3; c++) {
        s ^= s << 13;
        s ^= s >>> 17;
        s ^= s << 5;
        raw[i + c] = Math.max(0, Math.min(255, base[c] + ((s & 0xff) - 128) / 4));
      }
      // Left half opaque, right half fully transparent.
      if (channels === 4) raw[i + 3] = x < width / 2 ? 255 : 0;
    }
  }
  return raw;
}

function fromRaw(width: number, height: number, channels: 3 | 4 = 3) {
  return sharp(noisyPixels(width, height, channels), { raw: { width, height, channels } });
}

async function encodeAs(format: ImageFormat, width: number, height: number, alpha = false) {
  const image = fromRaw(width, height, alpha ? 4 : 3);
  switch (format) {
    case "png":
      return new Uint8Array(await image.png().toBuffer());
    case "jpeg":
      return new Uint8Array(await image.jpeg({ quality: 80 }).toBuffer());
    case "webp":
      return new Uint8Array(await image.webp({ quality: 80 }).toBuffer());
    case "gif":
      return new Uint8Array(await image.gif().toBuffer());
  }
}

let noisyPng: Promise<Uint8Array> | undefined;
/** The 1536x1024 noisy PNG (~4 MB) every preview test starts from. */
function noisy1536Png(): Promise<Uint8Array> {
  return noisyPng ??= fromRaw(1536, 1024).png().toBuffer().then((b) => new Uint8Array(b));
}

const MIME_OF_SHARP_FORMAT: Record<string, string> = {
  png: "image/png",
  jpeg: "image/jpeg",
  webp: "image/webp",
  gif: "image/gif",
};

async function assertDecodesAs(bytes: Uint8Array, mime: string, width: number, height: number) {
  const meta = await sharp(bytes).metadata();
  assert.equal(MIME_OF_SHARP_FORMAT[meta.format ?? ""], mime);
  assert.equal(meta.width, width);
  assert.equal(meta.height, height);
}

function assertAppError(kind: string, pattern: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof AppError, `expected AppError, got ${error}`);
    assert.equal(error.kind, kind);
    assert.match(error.message, pattern);
    return true;
  };
}

Deno.test("sniffImage reads format, MIME type and dimensions of every supported format", async () => {
  const cases: [string, Uint8Array, ImageFormat, string][] = [
    ["png", await encodeAs("png", 123, 45), "png", "image/png"],
    ["png with alpha", await encodeAs("png", 45, 123, true), "png", "image/png"],
    ["baseline jpeg", await encodeAs("jpeg", 321, 54), "jpeg", "image/jpeg"],
    [
      "progressive jpeg",
      new Uint8Array(await fromRaw(77, 300).jpeg({ progressive: true }).toBuffer()),
      "jpeg",
      "image/jpeg",
    ],
    ["lossy webp (VP8)", await encodeAs("webp", 200, 101), "webp", "image/webp"],
    ["webp with alpha (VP8X)", await encodeAs("webp", 99, 201, true), "webp", "image/webp"],
    [
      "lossless webp (VP8L)",
      new Uint8Array(await fromRaw(1000, 3).webp({ lossless: true }).toBuffer()),
      "webp",
      "image/webp",
    ],
    ["gif", await encodeAs("gif", 64, 17), "gif", "image/gif"],
  ];
  for (const [label, bytes, format, mime] of cases) {
    const meta = await sharp(bytes).metadata();
    assert.deepEqual(
      sniffImage(bytes),
      { format, mime, width: meta.width, height: meta.height },
      label,
    );
  }
  const vp8l = cases[6][1];
  assert.equal(new TextDecoder().decode(vp8l.subarray(12, 16)), "VP8L");
  assert.equal(new TextDecoder().decode(cases[4][1].subarray(12, 16)), "VP8 ");
  assert.equal(new TextDecoder().decode(cases[5][1].subarray(12, 16)), "VP8X");
});

Deno.test("sniffImage returns null for data that is not a complete header of a known format", async () => {
  const png = await encodeAs("png", 10, 10);
  assert.equal(sniffImage(new Uint8Array()), null);
  assert.equal(
    sniffImage(new TextEncoder().encode("<svg xmlns='http://www.w3.org/2000/svg'/>")),
    null,
  );
  assert.equal(sniffImage(png.subarray(0, 20)), null);
  assert.equal(sniffImage(new TextEncoder().encode("RIFF\0\0\0\0WAVEfmt ")), null);
  // A JPEG that reaches its scan without a frame header has no size.
  assert.equal(sniffImage(new Uint8Array([0xff, 0xd8, 0xff, 0xda, 0, 2, 0, 0])), null);
});

Deno.test("verifyImage accepts complete images and returns their header", async () => {
  for (const format of ["png", "jpeg", "webp", "gif"] as const) {
    const bytes = await encodeAs(format, 40, 30);
    assert.deepEqual(verifyImage(bytes, { format }), sniffImage(bytes));
    assert.equal(verifyImage(bytes).format, format);
  }
});

Deno.test("verifyImage rejects truncated data of every format", async () => {
  for (const format of ["png", "jpeg", "webp", "gif"] as const) {
    const bytes = await encodeAs(format, 300, 200);
    const truncated = bytes.subarray(0, Math.floor(bytes.length * 0.9));
    assert.notEqual(sniffImage(truncated), null, `${format} header survives truncation`);
    assert.throws(
      () => verifyImage(truncated),
      assertAppError(
        "upstream_unavailable",
        new RegExp(
          `^Cannot store image: upstream returned truncated or undecodable ${
            IMAGE_FORMAT_LABEL[format]
          } data$`,
        ),
      ),
      format,
    );
  }
});

Deno.test("verifyImage rejects another format than expected and non-image data", async () => {
  const jpeg = await encodeAs("jpeg", 20, 20);
  assert.throws(
    () => verifyImage(jpeg, { format: "png" }),
    assertAppError("upstream_unavailable", /JPEG data where PNG was requested$/),
  );
  assert.throws(
    () => verifyImage(new TextEncoder().encode('{"error":"oops"}')),
    assertAppError("upstream_unavailable", /not a PNG, JPEG, WebP or GIF image$/),
  );
});

for (const name of ENGINES) {
  const codec = codecs[name];

  Deno.test(`${name} engine: preview of a noisy 1536x1024 PNG fits 700 KB and 1568 px`, async () => {
    const png = await noisy1536Png();
    assert.ok(png.length > 3_500_000, `fixture is ${png.length} bytes`);
    const preview = await codec.makePreview(png, {
      maxBytes: PREVIEW_MAX_BYTES,
      maxSide: PREVIEW_MAX_SIDE,
    });
    assert.equal(preview.reencoded, true);
    assert.equal(preview.mime, "image/webp");
    assert.ok(preview.bytes.length <= PREVIEW_MAX_BYTES, `${preview.bytes.length} bytes`);
    assert.ok(Math.max(preview.width, preview.height) <= PREVIEW_MAX_SIDE);
    assert.equal(preview.width / preview.height, 1.5);
    await assertDecodesAs(preview.bytes, preview.mime, preview.width, preview.height);
  });

  Deno.test(`${name} engine: preview steps quality and size down to meet a tight budget`, async () => {
    const preview = await codec.makePreview(await noisy1536Png(), {
      maxBytes: 40_000,
      maxSide: PREVIEW_MAX_SIDE,
    });
    assert.ok(preview.bytes.length <= 40_000, `${preview.bytes.length} bytes`);
    assert.ok(preview.width < 1536);
    assert.ok(Math.abs(preview.width / preview.height - 1.5) < 0.02);
    await assertDecodesAs(preview.bytes, preview.mime, preview.width, preview.height);
  });

  Deno.test(`${name} engine: preview shrinks a small image whose side is too long, keeping aspect`, async () => {
    const jpeg = await encodeAs("jpeg", 2000, 1000);
    const preview = await codec.makePreview(jpeg, {
      maxBytes: PREVIEW_MAX_BYTES,
      maxSide: 1000,
      prefer: "jpeg",
    });
    assert.equal(preview.reencoded, true);
    assert.deepEqual([preview.mime, preview.width, preview.height], ["image/jpeg", 1000, 500]);
    await assertDecodesAs(preview.bytes, "image/jpeg", 1000, 500);
  });

  Deno.test(`${name} engine: preview keeps transparency, choosing WebP over JPEG`, async () => {
    const png = await encodeAs("png", 800, 400, true);
    const preview = await codec.makePreview(png, {
      maxBytes: 700_000,
      maxSide: 400,
      prefer: "jpeg",
    });
    assert.equal(preview.mime, "image/webp");
    assert.deepEqual([preview.width, preview.height], [400, 200]);
    const { data, info } = await sharp(preview.bytes).raw().toBuffer({ resolveWithObject: true });
    assert.equal(info.channels, 4);
    const alphaAt = (x: number, y: number) => data[(y * info.width + x) * 4 + 3];
    assert.equal(alphaAt(20, 100), 255);
    assert.equal(alphaAt(380, 100), 0);
  });

  Deno.test(`${name} engine: thumbnail is WebP with a 256 px long side`, async () => {
    const thumbnail = await codec.makeThumbnail(await noisy1536Png());
    assert.deepEqual([thumbnail.mime, thumbnail.width, thumbnail.height], ["image/webp", 256, 171]);
    await assertDecodesAs(thumbnail.bytes, "image/webp", 256, 171);
    const portrait = await codec.makeThumbnail(await encodeAs("webp", 300, 600, true), {
      side: 128,
    });
    assert.deepEqual([portrait.width, portrait.height], [64, 128]);
    assert.equal((await sharp(portrait.bytes).metadata()).hasAlpha, true);
  });

  Deno.test(`${name} engine: decodeInfo reports size and alpha, and rejects corrupt data`, async () => {
    assert.equal(await codec.engineName(), name);
    const info = await codec.decodeInfo(await encodeAs("png", 30, 20, true));
    assert.deepEqual(info, {
      format: "png",
      mime: "image/png",
      width: 30,
      height: 20,
      hasAlpha: true,
    });
    assert.equal((await codec.decodeInfo(await encodeAs("jpeg", 30, 20))).hasAlpha, false);
    const jpeg = await encodeAs("jpeg", 300, 200);
    const corrupt = jpeg.slice();
    corrupt.fill(0, 200, corrupt.length - 2);
    await assert.rejects(
      codec.decodeInfo(corrupt.subarray(0, 400)),
      assertAppError("internal", /^Cannot read image: JPEG data is corrupt or truncated$/),
    );
  });
}

Deno.test("preview returns a small JPEG within budget unchanged, without loading an engine", async () => {
  let loads = 0;
  const counting = () => {
    loads++;
    return loadNativeEngine();
  };
  const codec = createCodec({ loaders: { native: counting, wasm: counting } });
  const jpeg = await encodeAs("jpeg", 640, 480);
  assert.ok(jpeg.length < PREVIEW_MAX_BYTES);
  const preview = await codec.makePreview(jpeg, {
    maxBytes: PREVIEW_MAX_BYTES,
    maxSide: PREVIEW_MAX_SIDE,
  });
  assert.equal(preview.reencoded, false);
  assert.equal(preview.bytes, jpeg);
  assert.deepEqual([preview.mime, preview.width, preview.height], ["image/jpeg", 640, 480]);
  assert.equal(loads, 0);
});

Deno.test("auto engine falls back to WASM when native sharp fails to load", async () => {
  const failures: unknown[] = [];
  const codec = createCodec({
    loaders: {
      native: () => Promise.reject(new Error('Could not load the "sharp" module')),
      wasm: loadWasmEngine,
    },
    onFallback: (error) => failures.push(error),
  });
  assert.equal(await codec.engineName(), "wasm");
  assert.equal(failures.length, 1);
  const thumbnail = await codec.makeThumbnail(await encodeAs("png", 64, 32), { side: 32 });
  assert.deepEqual([thumbnail.width, thumbnail.height], [32, 16]);
});

Deno.test("an engine that fails to load is reported and retried on the next call", async () => {
  let attempts = 0;
  const engine: Promise<CodecEngine> = loadNativeEngine();
  const codec = createCodec({
    engine: "native",
    loaders: {
      native: () => ++attempts === 1 ? Promise.reject(new Error("dlopen failed")) : engine,
    },
  });
  await assert.rejects(
    codec.engineName(),
    assertAppError(
      "internal",
      /^Cannot load image codec: native engine \(sharp\) failed: dlopen failed$/,
    ),
  );
  assert.equal(await codec.engineName(), "native");
  assert.equal(attempts, 2);
});

Deno.test("preview and thumbnail reject data that is not an image", async () => {
  const codec = createCodec({ engine: "native" });
  const text = new TextEncoder().encode("not an image at all");
  await assert.rejects(
    codec.makePreview(text, { maxBytes: 1000, maxSide: 100 }),
    assertAppError(
      "validation",
      /^Cannot make preview: data is not a PNG, JPEG, WebP or GIF image$/,
    ),
  );
  await assert.rejects(
    codec.makeThumbnail(text),
    assertAppError("validation", /^Cannot make thumbnail: data is not/),
  );
  await assert.rejects(
    codec.makePreview(text, { maxBytes: 0, maxSide: 100 }),
    RangeError,
  );
});

Deno.test("WASM engine refuses GIF input with a clear error", async () => {
  const gif = await encodeAs("gif", 300, 300);
  await assert.rejects(
    codecs.wasm.makePreview(gif, { maxBytes: 1000, maxSide: 100 }),
    assertAppError("validation", /^Cannot make preview: the wasm image engine does not read GIF$/),
  );
  const preview = await codecs.native.makePreview(gif, { maxBytes: 100_000, maxSide: 100 });
  assert.deepEqual([preview.mime, preview.width, preview.height], ["image/webp", 100, 100]);
});
