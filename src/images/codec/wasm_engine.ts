/**
 * The WASM engine: Squoosh's codecs as packaged by `@jsquash/*` (libpng, MozJPEG, libwebp and a
 * Rust resampler compiled to WebAssembly). About 2-3x slower than sharp, but it runs wherever
 * WebAssembly does — Deno Deploy, `deno compile` binaries — and needs only `read` access to its
 * own `.wasm` files: no `ffi`, `env` or `sys`.
 *
 * @module
 */

import type { ImageFormat } from "./sniff.ts";
import {
  type CodecEngine,
  type DecodeOptions,
  type EncodeOptions,
  fitInside,
  type OutputFormat,
  type RawImage,
  scanAlpha,
} from "./engine.ts";

type Modules = {
  pngDecode: typeof import("@jsquash/png/decode.js");
  pngEncode: typeof import("@jsquash/png/encode.js");
  webpDecode: typeof import("@jsquash/webp/decode.js");
  webpEncode: typeof import("@jsquash/webp/encode.js");
  jpegDecode: typeof import("@jsquash/jpeg/decode.js");
  jpegEncode: typeof import("@jsquash/jpeg/encode.js");
  resize: typeof import("@jsquash/resize");
};

/** libwebp `method`: 2 is about 3x faster than the default 4 for ~2 % larger files. */
const WEBP_METHOD = 2;

// Emscripten prints through console.log by default; stdout belongs to the MCP stdio transport.
const QUIET: Record<string, unknown> = { print: () => {}, printErr: () => {} };

function once<T>(start: () => Promise<T>): () => Promise<T> {
  let started: Promise<T> | undefined;
  return () => (started ??= start());
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

function fromImageData(image: ImageData): RawImage {
  const data = new Uint8Array(image.data.buffer, image.data.byteOffset, image.data.byteLength);
  return {
    data,
    width: image.width,
    height: image.height,
    channels: 4,
    hasAlpha: scanAlpha(data, 4),
  };
}

function toImageData(image: RawImage, flatten = false): ImageData {
  const { width, height } = image;
  if (image.channels === 4 && !(flatten && image.hasAlpha)) {
    const data = new Uint8ClampedArray(
      image.data.buffer as ArrayBuffer,
      image.data.byteOffset,
      image.data.byteLength,
    );
    return new ImageData(data, width, height);
  }
  const rgba = new Uint8ClampedArray(width * height * 4);
  const src = image.data;
  const n = width * height;
  if (image.channels === 3) {
    for (let i = 0; i < n; i++) {
      rgba[i * 4] = src[i * 3];
      rgba[i * 4 + 1] = src[i * 3 + 1];
      rgba[i * 4 + 2] = src[i * 3 + 2];
      rgba[i * 4 + 3] = 255;
    }
  } else {
    // Composite onto white, as the native engine does, for formats without alpha.
    for (let i = 0; i < n * 4; i += 4) {
      const a = src[i + 3];
      const keep = a / 255;
      const white = 255 - a;
      rgba[i] = src[i] * keep + white;
      rgba[i + 1] = src[i + 1] * keep + white;
      rgba[i + 2] = src[i + 2] * keep + white;
      rgba[i + 3] = 255;
    }
  }
  return new ImageData(rgba, width, height);
}

class WasmEngine implements CodecEngine {
  readonly name = "wasm" as const;
  readonly inputFormats: ReadonlySet<ImageFormat> = new Set(["png", "jpeg", "webp"]);
  #m: Modules;
  #initWebpDecode: () => Promise<unknown>;
  #initWebpEncode: () => Promise<unknown>;
  #initJpegDecode: () => Promise<unknown>;
  #initJpegEncode: () => Promise<unknown>;

  constructor(modules: Modules) {
    this.#m = modules;
    this.#initWebpDecode = once(() => modules.webpDecode.init(QUIET));
    this.#initWebpEncode = once(() => modules.webpEncode.init(QUIET));
    this.#initJpegDecode = once(() => modules.jpegDecode.init(QUIET));
    this.#initJpegEncode = once(() => modules.jpegEncode.init(QUIET));
  }

  async decode(
    bytes: Uint8Array,
    format: ImageFormat,
    options: DecodeOptions = {},
  ): Promise<RawImage> {
    const decoded = fromImageData(await this.#decodeFull(bytes, format));
    if (options.maxSide === undefined) return decoded;
    const size = fitInside(decoded.width, decoded.height, options.maxSide);
    if (size.width === decoded.width && size.height === decoded.height) return decoded;
    return await this.resize(decoded, size.width, size.height);
  }

  async resize(image: RawImage, width: number, height: number): Promise<RawImage> {
    const resized = await this.#m.resize.default(toImageData(image), {
      width,
      height,
      method: "lanczos3",
      fitMethod: "stretch",
      // Premultiplying is the slow part; it only matters where pixels are see-through.
      premultiply: image.hasAlpha,
      linearRGB: false,
    });
    return fromImageData(resized);
  }

  async encode(image: RawImage, format: OutputFormat, options: EncodeOptions): Promise<Uint8Array> {
    let out: ArrayBuffer;
    switch (format) {
      case "webp":
        await this.#initWebpEncode();
        out = await this.#m.webpEncode.default(toImageData(image), {
          quality: options.quality,
          method: WEBP_METHOD,
          alpha_quality: 100,
        });
        break;
      case "jpeg":
        await this.#initJpegEncode();
        out = await this.#m.jpegEncode.default(toImageData(image, true), {
          quality: options.quality,
        });
        break;
      case "png":
        out = await this.#m.pngEncode.default(toImageData(image));
        break;
    }
    return new Uint8Array(out);
  }

  async #decodeFull(bytes: Uint8Array, format: ImageFormat): Promise<ImageData> {
    switch (format) {
      case "png":
        return await this.#m.pngDecode.default(toArrayBuffer(bytes));
      case "jpeg":
        await this.#initJpegDecode();
        return await this.#m.jpegDecode.default(toArrayBuffer(bytes));
      case "webp":
        await this.#initWebpDecode();
        return await this.#m.webpDecode.default(toArrayBuffer(bytes));
      case "gif":
        throw new RangeError("Cannot decode image: the WASM engine does not read GIF");
    }
  }
}

/** Loads the `@jsquash/*` modules and returns the WASM engine; each codec compiles on first use. */
export async function loadWasmEngine(): Promise<CodecEngine> {
  const [pngDecode, pngEncode, webpDecode, webpEncode, jpegDecode, jpegEncode, resize] =
    await Promise
      .all([
        import("@jsquash/png/decode.js"),
        import("@jsquash/png/encode.js"),
        import("@jsquash/webp/decode.js"),
        import("@jsquash/webp/encode.js"),
        import("@jsquash/jpeg/decode.js"),
        import("@jsquash/jpeg/encode.js"),
        import("@jsquash/resize"),
      ]);
  return new WasmEngine({
    pngDecode,
    pngEncode,
    webpDecode,
    webpEncode,
    jpegDecode,
    jpegEncode,
    resize,
  });
}
