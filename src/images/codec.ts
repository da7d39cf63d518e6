/**
 * Image codec: header sniffing and completeness checks (pure TypeScript, no decoding), and
 * client-sized previews and thumbnails through a lazily loaded engine — native `sharp` where it
 * loads, `@jsquash/*` WebAssembly codecs where it does not (Deno Deploy, compiled binaries).
 *
 * Importing this module loads no codec: the engine is imported on the first call that needs
 * pixels, so the stdio MCP server answers `initialize` without paying for it.
 *
 * Permissions: the native engine needs `ffi`, `read` (its `.node` file; detect-libc reads
 * `/proc/self/exe` or runs `ldd`) and `env` for `npm_package_config_libvips` and
 * `MALLOC_ARENA_MAX`. The WASM engine needs only `read` of its `.wasm` files.
 *
 * @module
 */

import { AppError } from "../errors.ts";
import { type CodecEngine, type EngineName, fitInside, type OutputFormat } from "./codec/engine.ts";
import { loadNativeEngine } from "./codec/native_engine.ts";
import {
  IMAGE_FORMAT_LABEL,
  IMAGE_MIME,
  type ImageFormat,
  type SniffedImage,
  sniffImage,
} from "./codec/sniff.ts";
import { loadWasmEngine } from "./codec/wasm_engine.ts";

export {
  IMAGE_FORMAT_LABEL,
  IMAGE_MIME,
  type ImageFormat,
  type ImageParts,
  type SniffedImage,
  sniffImage,
  verifyImage,
  type VerifyImageOptions,
  verifyImageParts,
} from "./codec/sniff.ts";
export type { CodecEngine, EngineName, OutputFormat, RawImage } from "./codec/engine.ts";
export { loadNativeEngine } from "./codec/native_engine.ts";
export { loadWasmEngine } from "./codec/wasm_engine.ts";

/** Which engine a codec uses: `auto` tries native sharp and falls back to WASM. */
export type EngineChoice = "auto" | EngineName;

/** An engine, or a function that loads one when pixels are first needed. */
export type EngineSource = CodecEngine | (() => Promise<CodecEngine>);

/** Options of {@link makePreview}. */
export interface PreviewOptions {
  /** Largest acceptable output, in bytes. */
  maxBytes: number;
  /** Largest acceptable long side, in pixels. */
  maxSide: number;
  /** Output format when re-encoding (default `webp`); `jpeg` becomes `webp` for images with alpha. */
  prefer?: OutputFormat;
}

/** A preview: the original bytes when they already fit, otherwise a smaller re-encoding. */
export interface Preview {
  /** Image bytes. */
  bytes: Uint8Array;
  /** MIME type of `bytes`. */
  mime: string;
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** False when `bytes` are the input, unchanged. */
  reencoded: boolean;
}

/** Options of {@link makeThumbnail}. */
export interface ThumbnailOptions {
  /** Long side in pixels (default 256); smaller images are not enlarged. */
  side?: number;
}

/** A WebP thumbnail. */
export interface Thumbnail {
  /** WebP bytes. */
  bytes: Uint8Array;
  /** Always `image/webp`. */
  mime: string;
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
}

/** What a full decode shows about an image. */
export interface DecodedInfo extends SniffedImage {
  /** True when some pixel is not fully opaque. */
  hasAlpha: boolean;
}

/** Largest input decoded, in pixels (8192 x 8192): bounds memory, notably the WASM heap. */
export const MAX_INPUT_PIXELS = 8192 * 8192;

/** Default long side of thumbnails, in pixels. */
export const DEFAULT_THUMBNAIL_SIDE = 256;

const START_QUALITY = 80;
const MIN_QUALITY = 50;
const QUALITY_STEP = 10;
const MIN_PREVIEW_SIDE = 16;
const MAX_ATTEMPTS = 12;
const MAX_SIDE: Readonly<Record<OutputFormat, number>> = { webp: 16383, jpeg: 65535, png: 65535 };

function checkPositiveInteger(name: string, value: number, min = 1): void {
  if (!Number.isInteger(value) || value < min) {
    throw new RangeError(
      `Cannot use ${name}: expected an integer of at least ${min}, got ${value}`,
    );
  }
}

function sniffInput(bytes: Uint8Array, action: string): SniffedImage {
  const sniffed = sniffImage(bytes);
  if (sniffed === null) {
    throw new AppError(
      "validation",
      `Cannot ${action}: data is not a PNG, JPEG, WebP or GIF image`,
      { details: { bytes: bytes.length } },
    );
  }
  if (sniffed.width * sniffed.height > MAX_INPUT_PIXELS) {
    throw new AppError(
      "payload_too_large",
      `Cannot ${action}: image is ${sniffed.width}x${sniffed.height} px, over the limit of ${MAX_INPUT_PIXELS} pixels`,
      { details: { width: sniffed.width, height: sniffed.height, maxPixels: MAX_INPUT_PIXELS } },
    );
  }
  return sniffed;
}

async function resolveEngine(source: EngineSource): Promise<CodecEngine> {
  return typeof source === "function" ? await source() : source;
}

async function decodeWith(
  engine: CodecEngine,
  bytes: Uint8Array,
  sniffed: SniffedImage,
  action: string,
  maxSide?: number,
) {
  const format = IMAGE_FORMAT_LABEL[sniffed.format];
  if (!engine.inputFormats.has(sniffed.format)) {
    throw new AppError(
      "validation",
      `Cannot ${action}: the ${engine.name} image engine does not read ${format}`,
      { details: { format: sniffed.format, engine: engine.name } },
    );
  }
  try {
    return await engine.decode(bytes, sniffed.format, maxSide === undefined ? {} : { maxSide });
  } catch (error) {
    throw new AppError(
      "internal",
      `Cannot ${action}: ${format} data is corrupt or truncated`,
      { cause: error, details: { format: sniffed.format, engine: engine.name } },
    );
  }
}

/**
 * Returns `bytes` unchanged when they are within `maxBytes` and `maxSide` (no decode, no engine
 * load); otherwise resizes to fit `maxSide`, keeping aspect, and re-encodes (WebP by default),
 * stepping quality down to 50 and then the size down until the result fits `maxBytes`.
 * Transparency survives: an image with alpha is never written as JPEG.
 */
export async function makePreview(
  bytes: Uint8Array,
  options: PreviewOptions & { engine: EngineSource },
): Promise<Preview> {
  const { maxBytes, maxSide } = options;
  checkPositiveInteger("maxBytes", maxBytes);
  checkPositiveInteger("maxSide", maxSide, MIN_PREVIEW_SIDE);
  const sniffed = sniffInput(bytes, "make preview");
  const { width, height, mime } = sniffed;
  if (bytes.length <= maxBytes && Math.max(width, height) <= maxSide) {
    return { bytes, mime, width, height, reencoded: false };
  }

  const engine = await resolveEngine(options.engine);
  const preferred = options.prefer ?? "webp";
  const firstSide = Math.min(maxSide, Math.max(width, height), MAX_SIDE[preferred]);
  const decoded = await decodeWith(engine, bytes, sniffed, "make preview", firstSide);
  const format: OutputFormat = preferred === "jpeg" && decoded.hasAlpha ? "webp" : preferred;
  let image = decoded;
  let side = Math.max(decoded.width, decoded.height);
  let quality = START_QUALITY;
  let smallest = Infinity;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const out = await engine.encode(image, format, { quality });
    if (out.length <= maxBytes) {
      return {
        bytes: out,
        mime: IMAGE_MIME[format],
        width: image.width,
        height: image.height,
        reencoded: true,
      };
    }
    smallest = Math.min(smallest, out.length);
    const ratio = maxBytes / out.length;
    if (format !== "png" && quality > MIN_QUALITY && ratio >= 0.5) {
      quality = Math.max(MIN_QUALITY, quality - (ratio >= 0.8 ? QUALITY_STEP : 2 * QUALITY_STEP));
      continue;
    }
    // Encoded size grows roughly with the pixel count: shrink the side by about its square root.
    side = Math.floor(side * Math.min(0.85, Math.max(0.25, Math.sqrt(ratio) * 0.95)));
    if (side < MIN_PREVIEW_SIDE) break;
    const size = fitInside(decoded.width, decoded.height, side);
    image = await engine.resize(decoded, size.width, size.height);
  }
  throw new AppError(
    "internal",
    `Cannot make preview: no ${IMAGE_FORMAT_LABEL[format]} rendering fits in ${maxBytes} bytes`,
    { details: { maxBytes, smallest, format } },
  );
}

/** Makes a WebP thumbnail whose long side is `side` pixels (default 256), keeping aspect. */
export async function makeThumbnail(
  bytes: Uint8Array,
  options: ThumbnailOptions & { engine: EngineSource },
): Promise<Thumbnail> {
  const side = options.side ?? DEFAULT_THUMBNAIL_SIDE;
  checkPositiveInteger("side", side);
  const sniffed = sniffInput(bytes, "make thumbnail");
  const engine = await resolveEngine(options.engine);
  const decoded = await decodeWith(
    engine,
    bytes,
    sniffed,
    "make thumbnail",
    Math.min(side, MAX_SIDE.webp),
  );
  const out = await engine.encode(decoded, "webp", { quality: START_QUALITY });
  return { bytes: out, mime: IMAGE_MIME.webp, width: decoded.width, height: decoded.height };
}

/** Decodes `bytes` fully, proving they are a readable image, and reports format, size and alpha. */
export async function decodeInfo(
  bytes: Uint8Array,
  options: { engine: EngineSource },
): Promise<DecodedInfo> {
  const sniffed = sniffInput(bytes, "read image");
  const engine = await resolveEngine(options.engine);
  const decoded = await decodeWith(engine, bytes, sniffed, "read image");
  return {
    ...sniffed,
    width: decoded.width,
    height: decoded.height,
    hasAlpha: decoded.hasAlpha,
  };
}

/** An image codec bound to one lazily loaded engine. */
export interface Codec {
  /** Loads the engine if needed and tells which one is in use. */
  engineName(): Promise<EngineName>;
  /** {@link makePreview} with this codec's engine. */
  makePreview(bytes: Uint8Array, options: PreviewOptions): Promise<Preview>;
  /** {@link makeThumbnail} with this codec's engine. */
  makeThumbnail(bytes: Uint8Array, options?: ThumbnailOptions): Promise<Thumbnail>;
  /** {@link decodeInfo} with this codec's engine. */
  decodeInfo(bytes: Uint8Array): Promise<DecodedInfo>;
}

/** Options of {@link createCodec}. */
export interface CodecOptions {
  /** Engine to use (default `auto`: native sharp, else WASM). */
  engine?: EngineChoice;
  /** Replaces the engine loaders (tests use this to simulate a native load failure). */
  loaders?: Partial<Record<EngineName, () => Promise<CodecEngine>>>;
  /** Called with the native load error when `auto` falls back to WASM. */
  onFallback?: (error: unknown) => void;
}

const ENGINE_LABEL: Readonly<Record<EngineName, string>> = {
  native: "native engine (sharp)",
  wasm: "WASM engine (@jsquash)",
};

function describe(error: unknown): string {
  return error instanceof Error ? error.message.split("\n")[0] : String(error);
}

class ImageCodec implements Codec {
  #choice: EngineChoice;
  #loaders: Record<EngineName, () => Promise<CodecEngine>>;
  #onFallback: ((error: unknown) => void) | undefined;
  #engine: Promise<CodecEngine> | undefined;

  constructor(options: CodecOptions) {
    this.#choice = options.engine ?? "auto";
    this.#loaders = {
      native: options.loaders?.native ?? loadNativeEngine,
      wasm: options.loaders?.wasm ?? loadWasmEngine,
    };
    this.#onFallback = options.onFallback;
  }

  async engineName(): Promise<EngineName> {
    return (await this.#loadOnce()).name;
  }

  makePreview(bytes: Uint8Array, options: PreviewOptions): Promise<Preview> {
    return makePreview(bytes, { ...options, engine: () => this.#loadOnce() });
  }

  makeThumbnail(bytes: Uint8Array, options: ThumbnailOptions = {}): Promise<Thumbnail> {
    return makeThumbnail(bytes, { ...options, engine: () => this.#loadOnce() });
  }

  decodeInfo(bytes: Uint8Array): Promise<DecodedInfo> {
    return decodeInfo(bytes, { engine: () => this.#loadOnce() });
  }

  #loadOnce(): Promise<CodecEngine> {
    if (this.#engine === undefined) {
      const loading = this.#load();
      this.#engine = loading;
      // A failed load is not remembered: the next call tries again.
      loading.catch(() => {
        if (this.#engine === loading) this.#engine = undefined;
      });
    }
    return this.#engine;
  }

  async #load(): Promise<CodecEngine> {
    if (this.#choice !== "auto") return await this.#loadEngine(this.#choice);
    try {
      return await this.#loaders.native();
    } catch (nativeError) {
      this.#onFallback?.(nativeError);
      try {
        return await this.#loaders.wasm();
      } catch (wasmError) {
        throw new AppError(
          "internal",
          `Cannot load image codec: ${ENGINE_LABEL.native} failed (${
            describe(nativeError)
          }) and ${ENGINE_LABEL.wasm} failed (${describe(wasmError)})`,
          { cause: wasmError },
        );
      }
    }
  }

  async #loadEngine(name: EngineName): Promise<CodecEngine> {
    try {
      return await this.#loaders[name]();
    } catch (error) {
      throw new AppError(
        "internal",
        `Cannot load image codec: ${ENGINE_LABEL[name]} failed: ${describe(error)}`,
        { cause: error },
      );
    }
  }
}

/**
 * Creates a codec whose engine loads on first use: `native` (sharp), `wasm` (@jsquash) or
 * `auto` (default: native, falling back to WASM when sharp cannot load).
 */
export function createCodec(options: CodecOptions = {}): Codec {
  return new ImageCodec(options);
}

/** Formats {@link sniffImage} recognises. */
export const IMAGE_FORMATS: readonly ImageFormat[] = Object.freeze(["png", "jpeg", "webp", "gif"]);
