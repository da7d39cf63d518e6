/**
 * The contract between the preview logic and an image engine (native sharp or WASM codecs).
 *
 * @module
 */

import type { ImageFormat } from "./sniff.ts";

/** Which engine does the pixel work. */
export type EngineName = "native" | "wasm";

/** Formats an engine can write. */
export type OutputFormat = "webp" | "jpeg" | "png";

/** Decoded pixels, 8 bits per channel, row-major, no padding. Only the engine that made it reads it. */
export interface RawImage {
  /** Pixel bytes: `width * height * channels` long. */
  readonly data: Uint8Array;
  /** Width in pixels. */
  readonly width: number;
  /** Height in pixels. */
  readonly height: number;
  /** 3 (RGB) or 4 (RGBA). */
  readonly channels: 3 | 4;
  /** True when some pixel is not fully opaque. */
  readonly hasAlpha: boolean;
}

/** Options of {@link CodecEngine.decode}. */
export interface DecodeOptions {
  /** Shrink (never enlarge) so that the long side is at most this many pixels. */
  maxSide?: number;
}

/** Options of {@link CodecEngine.encode}. */
export interface EncodeOptions {
  /** Lossy quality 1–100; ignored for PNG. */
  quality: number;
}

/** Decodes, resizes and encodes images; implementations load their heavy code lazily. */
export interface CodecEngine {
  /** Which implementation this is. */
  readonly name: EngineName;
  /** Input formats {@link CodecEngine.decode} reads. */
  readonly inputFormats: ReadonlySet<ImageFormat>;
  /** Decodes `bytes` of `format` to pixels; throws when the data cannot be decoded. */
  decode(bytes: Uint8Array, format: ImageFormat, options?: DecodeOptions): Promise<RawImage>;
  /** Resamples `image` to exactly `width` x `height`. */
  resize(image: RawImage, width: number, height: number): Promise<RawImage>;
  /** Encodes `image` as `format`. */
  encode(image: RawImage, format: OutputFormat, options: EncodeOptions): Promise<Uint8Array>;
}

/** True when some alpha byte of RGBA `data` is below 255. */
export function scanAlpha(data: Uint8Array, channels: number): boolean {
  if (channels !== 4) return false;
  for (let i = 3; i < data.length; i += 4) {
    if (data[i] !== 255) return true;
  }
  return false;
}

/** Width and height that fit `width` x `height` inside a `side` square, keeping aspect, never enlarging. */
export function fitInside(
  width: number,
  height: number,
  side: number,
): { width: number; height: number } {
  const long = Math.max(width, height);
  if (long <= side) return { width, height };
  const scale = side / long;
  return {
    width: Math.max(1, Math.round(width * scale)),
    height: Math.max(1, Math.round(height * scale)),
  };
}
