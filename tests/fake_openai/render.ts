/**
 * Synthesises real, decodable images for the fake: a gradient and a block whose colours come
 * from a hash of the seed text, plus deterministic noise so a 1024x1024 PNG weighs about as much
 * as a real generated one (~0.8 MB) while staying quick to encode.
 *
 * @module
 */

import sharp from "sharp";

/** Output encodings the fake produces. */
export type RenderFormat = "png" | "jpeg" | "webp";

/** How to render one image. */
export interface RenderOptions {
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** Encoding of the result; defaults to `png`. */
  format?: RenderFormat;
  /** JPEG/WebP quality 0–100 (OpenAI's `output_compression`); defaults to 100. */
  compression?: number;
  /** Adds an alpha channel with fully transparent corners. */
  transparent?: boolean;
  /** 0 = coarse preview (partial image) … 1 = full detail; defaults to 1. */
  detail?: number;
}

/** Renders deterministic image bytes whose content depends on `seed`. */
export async function renderImage(seed: string, options: RenderOptions): Promise<Uint8Array> {
  const { width, height } = options;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`Cannot render image: invalid size ${width}x${height}`);
  }
  const channels = options.transparent ? 4 : 3;
  const pixels = paint(seed, width, height, channels, options.detail ?? 1);
  const image = sharp(pixels, { raw: { width, height, channels } });
  const quality = Math.min(100, Math.max(1, Math.round(options.compression ?? 100)));
  switch (options.format ?? "png") {
    case "png":
      return await image.png({ compressionLevel: 3, adaptiveFiltering: true }).toBuffer();
    case "jpeg":
      return await image.jpeg({ quality }).toBuffer();
    case "webp":
      return await image.webp({ quality, effort: 0 }).toBuffer();
  }
}

/** Returns the 32-bit FNV-1a hash of a string. */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

function hueToRgb(hue: number): [number, number, number] {
  // HSL with s = 0.65, l = 0.5: a saturated but not garish colour.
  const c = 0.65 * 255;
  const h = (hue % 360) / 60;
  const x = c * (1 - Math.abs((h % 2) - 1));
  const m = 127.5 - c / 2;
  const [r, g, b] = h < 1
    ? [c, x, 0]
    : h < 2
    ? [x, c, 0]
    : h < 3
    ? [0, c, x]
    : h < 4
    ? [0, x, c]
    : h < 5
    ? [x, 0, c]
    : [c, 0, x];
  return [r + m, g + m, b + m];
}

function paint(
  seed: string,
  width: number,
  height: number,
  channels: number,
  detail: number,
): Uint8ClampedArray {
  const hash = fnv1a(seed);
  const from = hueToRgb(hash % 360);
  const to = hueToRgb((hash % 360) + 90 + ((hash >>> 9) % 180));
  const accent = hueToRgb((hash >>> 17) % 360);
  // Per-axis gradient contributions, so the inner loop only adds.
  const alongX = new Float32Array(width * 3);
  const alongY = new Float32Array(height * 3);
  for (let c = 0; c < 3; c++) {
    for (let x = 0; x < width; x++) alongX[x * 3 + c] = ((to[c] - from[c]) * x) / (2 * width);
    for (let y = 0; y < height; y++) alongY[y * 3 + c] = ((to[c] - from[c]) * y) / (2 * height);
  }
  const block = {
    x0: Math.floor((((hash >>> 3) % 50) / 100) * width),
    y0: Math.floor((((hash >>> 11) % 50) / 100) * height),
    w: Math.max(1, Math.floor(width / 3)),
    h: Math.max(1, Math.floor(height / 4)),
  };
  // Coarser noise cells for partial images: they compress well and look like a preview.
  const cell = detail >= 1 ? 1 : Math.max(2, Math.round(16 * (1 - detail)));
  const amplitude = 2;
  const span = amplitude * 2 + 1;
  let state = (hash ^ 0x9e3779b9) >>> 0 || 1;
  const noiseRow = new Int8Array(width);
  const out = new Uint8ClampedArray(width * height * channels);
  const cx = width / 2;
  const cy = height / 2;
  for (let y = 0; y < height; y++) {
    if (y % cell === 0) {
      for (let x = 0; x < width; x += cell) {
        state ^= state << 13;
        state >>>= 0;
        state ^= state >>> 17;
        state ^= state << 5;
        state >>>= 0;
        const n = (state % span) - amplitude;
        for (let k = 0; k < cell && x + k < width; k++) noiseRow[x + k] = n;
      }
    }
    const inBlockRow = y >= block.y0 && y < block.y0 + block.h;
    const dy = (y + 0.5 - cy) / cy;
    const halfSpan = Math.abs(dy) < 1 ? cx * Math.sqrt(1 - dy * dy) : -1;
    let i = y * width * channels;
    const r0 = from[0] + alongY[y * 3];
    const g0 = from[1] + alongY[y * 3 + 1];
    const b0 = from[2] + alongY[y * 3 + 2];
    for (let x = 0; x < width; x++) {
      const n = noiseRow[x];
      if (inBlockRow && x >= block.x0 && x < block.x0 + block.w) {
        out[i] = accent[0] + n;
        out[i + 1] = accent[1] + n;
        out[i + 2] = accent[2] + n;
      } else {
        out[i] = r0 + alongX[x * 3] + n;
        out[i + 1] = g0 + alongX[x * 3 + 1] + n;
        out[i + 2] = b0 + alongX[x * 3 + 2] + n;
      }
      if (channels === 4) out[i + 3] = Math.abs(x + 0.5 - cx) <= halfSpan ? 255 : 0;
      i += channels;
    }
  }
  return out;
}
