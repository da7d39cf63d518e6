/**
 * Reads an Images API JSON response as it arrives, decoding each `b64_json` value to bytes on the
 * fly instead of holding the body, its text and its parsed string at once (~4× the image size per
 * request). The decoded bytes go to a sink per image: a buffer, or (for images that are saved) the
 * store's temporary file, so the image is never held whole. Everything else in the body is small
 * and parsed as JSON afterwards; each `b64_json` value is replaced by the index of its image. Images beyond the number asked for are
 * skipped unread, and an image larger than the limit ends the read: the upstream is not trusted to
 * send only what was asked.
 *
 * @module
 */
import { imageTooLarge, MAX_UPSTREAM_IMAGE_BYTES } from "./upstream_bounds.ts";

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const KEY = new TextEncoder().encode('"b64_json"');
/** The non-image part of a response is small; anything larger is not an Images API answer. */
const MAX_SKELETON_BYTES = 4 * 1024 * 1024;

/**
 * Where the decoded bytes of one image go as they arrive: a buffer in memory by default, or the
 * image store's temporary file (see `ImageStore.stage`), so a large image is never held whole.
 */
export interface ImageSink {
  /** A buffer of at least `size` bytes for the next decoded bytes. */
  space(size: number): Uint8Array;
  /** The first `length` bytes of the last {@link space} hold data; awaited before the next call. */
  wrote(length: number): void | Promise<void>;
}

/** An Images API response with every `b64_json` already decoded. */
export interface DecodedImagesResponse {
  /** The JSON body with each `b64_json` replaced by the index of its bytes in `images`. */
  readonly body: Record<string, unknown>;
  /**
   * Each image in order of appearance: its bytes, or the sink `sinkFor` gave for it (which then
   * holds them).
   */
  readonly images: readonly (Uint8Array<ArrayBuffer> | ImageSink)[];
}

/** Decoded bytes kept in one buffer, sized from the body's length to avoid regrowing. */
class MemorySink implements ImageSink {
  #buffer: Uint8Array<ArrayBuffer>;
  #length = 0;

  constructor(capacity: number) {
    this.#buffer = new Uint8Array(Math.max(1024, capacity));
  }

  space(size: number): Uint8Array {
    const needed = this.#length + size;
    if (needed > this.#buffer.length) {
      const grown = new Uint8Array(Math.max(needed, this.#buffer.length * 2));
      grown.set(this.#buffer.subarray(0, this.#length));
      this.#buffer = grown;
    }
    return this.#buffer.subarray(this.#length);
  }

  wrote(length: number): void {
    this.#length += length;
  }

  bytes(): Uint8Array<ArrayBuffer> {
    // Keep the exact bytes; give back a much larger buffer instead of pinning it.
    return this.#length * 10 >= this.#buffer.length * 9
      ? this.#buffer.subarray(0, this.#length)
      : this.#buffer.slice(0, this.#length);
  }
}

/** What each JSON escape in image data stands for: "/", or whitespace, which base64 skips. */
const BASE64_ESCAPES: Readonly<Record<string, string>> = { "/": "/", n: "", r: "", t: "", f: "" };

function escapeError(): SyntaxError {
  return new SyntaxError("Images API response has an escape in image data that is not base64");
}

/**
 * Base64 from the JSON string text of image data. A backslash ending the text begins an escape
 * the next piece completes (returned as `open`); an escape standing for anything but "/" or
 * whitespace (an escaped backslash or quote, say) cannot be base64, and is refused.
 */
function unescapeBase64(text: string): { base64: string; open: boolean } {
  if (!text.includes("\\")) return { base64: text, open: false };
  if (text.includes("\\\\")) throw escapeError();
  // The common escape, fast.
  const slashes = text.replaceAll("\\/", "/");
  if (!slashes.includes("\\")) return { base64: slashes, open: false };
  const open = slashes.endsWith("\\");
  const base64 = (open ? slashes.slice(0, -1) : slashes).replace(/\\(.)/gs, (_, escaped) => {
    const meaning = BASE64_ESCAPES[escaped];
    if (meaning === undefined) throw escapeError();
    return meaning;
  });
  return { base64, open };
}

/**
 * Decodes base64 text arriving in pieces of any length into a sink, within a byte limit. The
 * pieces are JSON string text: escapes are read (see {@link unescapeBase64}), and whitespace may
 * fall anywhere, so the text is decoded up to its last whole 4-character group and the rest waits.
 */
class Base64Decoder {
  #pending = "";
  /** The last piece ended inside an escape (a backslash). */
  #escape = false;
  #length = 0;
  #sink: ImageSink;
  #limit: number;
  #what: string;

  /** `limit`: the most bytes accepted for this image (`what` names it in the error). */
  constructor(sink: ImageSink, limit: number, what: string) {
    this.#sink = sink;
    this.#limit = limit;
    this.#what = what;
  }

  async push(json: string): Promise<void> {
    const { base64, open } = unescapeBase64(this.#escape ? "\\" + json : json);
    this.#escape = open;
    const text = this.#pending === "" ? base64 : this.#pending + base64;
    this.#pending = text.slice(await this.#write(text, "stop-before-partial"));
  }

  async finish(): Promise<void> {
    // An escape just before the closing quote: it escaped the quote, which base64 has not.
    if (this.#escape) throw escapeError();
    if (this.#pending !== "") await this.#write(this.#pending, "loose");
    this.#pending = "";
  }

  /** Decodes `base64` into the sink; returns how many characters were read. */
  async #write(base64: string, last: "loose" | "stop-before-partial"): Promise<number> {
    // Whole groups only, unless it is the last: a partial one waits for the next piece.
    const groups = last === "loose" ? Math.ceil(base64.length / 4) : Math.floor(base64.length / 4);
    const most = groups * 3;
    // Padding makes the estimate up to 2 bytes high.
    if (this.#length + most > this.#limit + 2) throw imageTooLarge(this.#what, this.#limit);
    const { read, written } = this.#sink.space(most).setFromBase64(base64, {
      lastChunkHandling: last,
    });
    if (written > 0) {
      this.#length += written;
      await this.#sink.wrote(written);
    }
    return read;
  }
}

function isSpace(byte: number | undefined): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

/** True when `buffer` ends with `"b64_json"` `:` (whitespace allowed around the colon). */
function endsWithKey(buffer: readonly number[]): boolean {
  let end = buffer.length;
  while (isSpace(buffer[end - 1])) end--;
  if (buffer[end - 1] !== 0x3a) return false;
  end--;
  while (isSpace(buffer[end - 1])) end--;
  if (end < KEY.length) return false;
  for (let i = 0; i < KEY.length; i++) {
    if (buffer[end - KEY.length + i] !== KEY[i]) return false;
  }
  return true;
}

/** Size of the buffer a byte stream is read into (reused for every read). */
const READ_BYTES = 64 * 1024;

/**
 * The pieces of `body` in order. A byte stream (a fetch body) is read into one reused buffer:
 * reading it chunk by chunk allocates a buffer per chunk, and at ~70 chunks per image that costs
 * about three times the CPU. Each piece is valid only until the next one is asked for.
 */
async function* piecesOf(body: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  let reader: ReadableStreamBYOBReader;
  try {
    reader = body.getReader({ mode: "byob" });
  } catch {
    // Not a byte stream.
    yield* body;
    return;
  }
  let ended = false;
  try {
    let buffer = new ArrayBuffer(READ_BYTES);
    for (;;) {
      const { done, value } = await reader.read(new Uint8Array(buffer));
      if (done || value === undefined) break;
      yield value;
      buffer = value.buffer as ArrayBuffer;
    }
    ended = true;
  } finally {
    // Left early (an error, or an image too large): the rest of the body is not wanted.
    if (!ended) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}

/** Options of {@link decodeImagesResponse}. */
export interface DecodeImagesOptions {
  /** Expected body size in bytes (Content-Length), to size buffers. */
  sizeHint?: number;
  /** Images to decode; later ones are skipped (their value becomes `""`). Default: all. */
  maxImages?: number;
  /** Largest decoded image; a larger one throws `upstream_unavailable`. Default: 64 MiB. */
  maxImageBytes?: number;
  /** Where image `index` goes; undefined (or no function) keeps it in memory. */
  sinkFor?: (index: number) => ImageSink | undefined | Promise<ImageSink | undefined>;
}

/**
 * Reads `body` to the end; throws SyntaxError when it is not a JSON object, and an
 * `upstream_unavailable` AppError for an image over `maxImageBytes`.
 */
export async function decodeImagesResponse(
  body: ReadableStream<Uint8Array>,
  options: DecodeImagesOptions = {},
): Promise<DecodedImagesResponse> {
  const maxImages = options.maxImages ?? Infinity;
  const maxImageBytes = options.maxImageBytes ?? MAX_UPSTREAM_IMAGE_BYTES;
  // Base64 is 4/3 of the bytes; most answers hold one image, so the body's size is a good guess.
  let capacity = Math.floor((options.sizeHint ?? 1 << 20) * 0.75) + 16;
  const skeleton: number[] = [];
  const images: (Uint8Array<ArrayBuffer> | ImageSink)[] = [];
  let sink: { decoder: Base64Decoder; target: ImageSink; memory?: MemorySink } | undefined;
  // Inside the data of an image beyond `maxImages`: read past, never decoded.
  let skipping = false;
  let inString = false;
  let escaped = false;
  // Base64 is ASCII: UTF-8 decoding makes a one-byte string fastest (anything else fails below).
  // A byte order mark is kept: dropped, it would go unseen and shift that offset.
  const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
  const openSink = async (index: number) => {
    const given = await options.sinkFor?.(index);
    const memory = given === undefined
      ? new MemorySink(Math.min(capacity, maxImageBytes))
      : undefined;
    const target = given ?? memory!;
    const what = `image ${index}`;
    return { decoder: new Base64Decoder(target, maxImageBytes, what), target, memory };
  };
  for await (const chunk of piecesOf(body)) {
    let i = 0;
    while (i < chunk.length) {
      if (skipping) {
        const close = chunk.indexOf(QUOTE, i);
        if (close < 0) break;
        skipping = false;
        skeleton.push(QUOTE);
        i = close + 1;
        inString = false;
        continue;
      }
      if (sink) {
        // Found in the text, not the bytes: a string search is ~100x faster than
        // Uint8Array.indexOf. Text before the quote is base64 (ASCII, one byte per character);
        // anything else fails to decode below, so the quote's byte offset is i + its index.
        const rest = decoder.decode(chunk.subarray(i));
        const quote = rest.indexOf('"');
        const piece = quote < 0 ? rest : rest.slice(0, quote);
        if (piece !== "") await sink.decoder.push(piece);
        if (quote < 0) break;
        const close = i + quote;
        await sink.decoder.finish();
        if (sink.memory) {
          const image = sink.memory.bytes();
          images.push(image);
          capacity = Math.max(1 << 16, capacity - image.length);
        } else {
          images.push(sink.target);
        }
        sink = undefined;
        for (const byte of new TextEncoder().encode(`${images.length - 1}"`)) skeleton.push(byte);
        i = close + 1;
        inString = false;
        continue;
      }
      const byte = chunk[i++];
      if (skeleton.length >= MAX_SKELETON_BYTES) {
        throw new SyntaxError("Images API response is too large outside its image data");
      }
      if (inString) {
        skeleton.push(byte);
        if (escaped) escaped = false;
        else if (byte === BACKSLASH) escaped = true;
        else if (byte === QUOTE) inString = false;
        continue;
      }
      if (byte === QUOTE && endsWithKey(skeleton)) {
        skeleton.push(byte);
        if (images.length >= maxImages) skipping = true;
        else sink = await openSink(images.length);
        continue;
      }
      skeleton.push(byte);
      if (byte === QUOTE) inString = true;
    }
  }
  if (sink || skipping) throw new SyntaxError("Images API response ended inside image data");
  const parsed = JSON.parse(new TextDecoder().decode(new Uint8Array(skeleton)));
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new SyntaxError("Images API response is not a JSON object");
  }
  return { body: parsed, images };
}
