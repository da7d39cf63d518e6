/**
 * The native engine: libvips through `npm:sharp`. Fastest, but a native addon: it needs `ffi`,
 * `read` of its `.node` file and two environment variables (`npm_package_config_libvips`,
 * `MALLOC_ARENA_MAX`), and it does not load on Deno Deploy.
 *
 * @module
 */

import type { ImageFormat } from "./sniff.ts";
import {
  type CodecEngine,
  type DecodeOptions,
  type EncodeOptions,
  type OutputFormat,
  type RawImage,
  scanAlpha,
} from "./engine.ts";

type Sharp = typeof import("sharp").default;

/** Largest input the engine decodes, in pixels (a 16384 x 16384 image). */
const MAX_INPUT_PIXELS = 16384 * 16384;

/** libwebp `method`: 2 is about 3x faster than the default 4 for ~2 % larger files. */
const WEBP_EFFORT = 2;

// A plain Uint8Array over a Buffer's memory: callers get no Buffer-only behaviour, and no copy.
function view(buffer: Uint8Array): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

function toRaw(data: Uint8Array, width: number, height: number, channels: number): RawImage {
  if (channels !== 3 && channels !== 4) {
    throw new RangeError(`Cannot use decoded image: expected 3 or 4 channels, got ${channels}`);
  }
  return { data, width, height, channels, hasAlpha: scanAlpha(data, channels) };
}

class NativeEngine implements CodecEngine {
  readonly name = "native" as const;
  readonly inputFormats: ReadonlySet<ImageFormat> = new Set(["png", "jpeg", "webp", "gif"]);
  #sharp: Sharp;

  constructor(sharp: Sharp) {
    this.#sharp = sharp;
  }

  async decode(
    bytes: Uint8Array,
    _format: ImageFormat,
    options: DecodeOptions = {},
  ): Promise<RawImage> {
    let pipeline = this.#sharp(bytes, {
      autoOrient: true,
      failOn: "error",
      limitInputPixels: MAX_INPUT_PIXELS,
    });
    if (options.maxSide !== undefined) {
      pipeline = pipeline.resize(options.maxSide, options.maxSide, {
        fit: "inside",
        withoutEnlargement: true,
      });
    }
    const { data, info } = await pipeline
      .toColourspace("srgb")
      .raw({ depth: "uchar" })
      .toBuffer({ resolveWithObject: true });
    return toRaw(view(data), info.width, info.height, info.channels);
  }

  async resize(image: RawImage, width: number, height: number): Promise<RawImage> {
    const { data, info } = await this.#input(image)
      .resize(width, height, { fit: "fill" })
      .raw()
      .toBuffer({ resolveWithObject: true });
    return toRaw(view(data), info.width, info.height, info.channels);
  }

  async encode(image: RawImage, format: OutputFormat, options: EncodeOptions): Promise<Uint8Array> {
    let pipeline = this.#input(image);
    // Opaque RGBA carries a useless alpha plane; JPEG cannot carry one at all.
    if (image.channels === 4 && (!image.hasAlpha || format === "jpeg")) {
      pipeline = image.hasAlpha ? pipeline.flatten({ background: "#ffffff" }) : pipeline
        .removeAlpha();
    }
    switch (format) {
      case "webp":
        pipeline = pipeline.webp({
          quality: options.quality,
          alphaQuality: 100,
          effort: WEBP_EFFORT,
        });
        break;
      case "jpeg":
        // Optimised Huffman tables take a second pass (~3x the encode time) for ~8% fewer bytes.
        pipeline = pipeline.jpeg({ quality: options.quality, optimiseCoding: false });
        break;
      case "png":
        pipeline = pipeline.png({ compressionLevel: 6 });
        break;
    }
    return view(await pipeline.toBuffer());
  }

  #input(image: RawImage) {
    return this.#sharp(image.data, {
      raw: { width: image.width, height: image.height, channels: image.channels },
    });
  }
}

/**
 * Loads `npm:sharp` and returns the native engine. Rejects when the addon cannot load (no
 * prebuilt binary, a compiled binary or Deploy without native addons, or missing permissions).
 */
export async function loadNativeEngine(): Promise<CodecEngine> {
  const { default: sharp } = await import("sharp");
  // Every input is different: libvips' operation cache would only hold memory.
  sharp.cache(false);
  return new NativeEngine(sharp);
}
