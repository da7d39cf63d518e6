/**
 * Codec benchmark: MCP previews (700 KB, 1568 px) and 256 px thumbnails per engine.
 *
 *   deno bench -P=test tests/bench/codec_bench.ts
 *
 * Each case runs once before benchmarking (warming the engine) and names its output size.
 */
import sharp from "sharp";
import { type Codec, createCodec, type EngineName } from "../../src/images/codec.ts";

const PREVIEW = { maxBytes: 700_000, maxSide: 1568 };

/** Deterministic photo-like noise: per-channel gradients plus xorshift noise, as in the tests. */
function noisyPng(width: number, height: number): Promise<Uint8Array> {
  const raw = new Uint8Array(width * height * 3);
  let s = 7;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      const base = [(x * 255) / width, (y * 255) / height, ((x + y) * 127) / (width + height) + 64];
      for (let c = 0; c < 3; c++) {
        s ^= s << 13;
        s ^= s >>> 17;
        s ^= s << 5;
        raw[i + c] = Math.max(0, Math.min(255, base[c] + ((s & 0xff) - 128) / 4));
      }
    }
  }
  return sharp(raw, { raw: { width, height, channels: 3 } }).png().toBuffer()
    .then((b) => new Uint8Array(b));
}

const wide = await noisyPng(1536, 1024);
const square = await noisyPng(1024, 1024);
const kb = (n: number) => `${Math.round(n / 1000)} KB`;
const bytes = (n: number) => `${n.toLocaleString("en-US")} B`;

const cases: {
  group: string;
  input: Uint8Array;
  run: (codec: Codec, input: Uint8Array) => Promise<{ bytes: Uint8Array; mime: string }>;
}[] = [
  {
    group: `preview of a noisy 1536x1024 PNG (${kb(wide.length)})`,
    input: wide,
    run: (codec, input) => codec.makePreview(input, PREVIEW),
  },
  {
    group: `256 px thumbnail of a noisy 1536x1024 PNG (${kb(wide.length)})`,
    input: wide,
    run: (codec, input) => codec.makeThumbnail(input),
  },
  {
    group: `preview of a noisy 1024x1024 PNG (${kb(square.length)})`,
    input: square,
    run: (codec, input) => codec.makePreview(input, PREVIEW),
  },
];

for (const engine of ["native", "wasm"] as const satisfies readonly EngineName[]) {
  const codec = createCodec({ engine });
  for (const { group, input, run } of cases) {
    const out = await run(codec, input);
    Deno.bench({
      name: `${engine}: ${group} -> ${bytes(out.bytes.length)} ${out.mime}`,
      group,
      baseline: engine === "native",
      async fn() {
        await run(codec, input);
      },
    });
  }
}
