/**
 * Header parsing of PNG, JPEG, WebP and GIF: format, MIME type and dimensions without decoding,
 * and a completeness check that catches truncated upstream data.
 *
 * @module
 */

import { AppError } from "../../errors.ts";

/** The image formats the service recognises. */
export type ImageFormat = "png" | "jpeg" | "webp" | "gif";

/** What a header says about an image. */
export interface SniffedImage {
  /** Container format. */
  format: ImageFormat;
  /** MIME type of the format. */
  mime: string;
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
}

/** MIME type of each format. */
export const IMAGE_MIME: Readonly<Record<ImageFormat, string>> = Object.freeze({
  png: "image/png",
  jpeg: "image/jpeg",
  webp: "image/webp",
  gif: "image/gif",
});

/** How each format is named in messages. */
export const IMAGE_FORMAT_LABEL: Readonly<Record<ImageFormat, string>> = Object.freeze({
  png: "PNG",
  jpeg: "JPEG",
  webp: "WebP",
  gif: "GIF",
});

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
// Length 0, "IEND", CRC of "IEND": the last 12 bytes of every complete PNG.
const PNG_IEND = [0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82];

function startsWith(bytes: Uint8Array, prefix: readonly number[], at = 0): boolean {
  if (bytes.length < at + prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) {
    if (bytes[at + i] !== prefix[i]) return false;
  }
  return true;
}

function ascii(bytes: Uint8Array, at: number, text: string): boolean {
  if (bytes.length < at + text.length) return false;
  for (let i = 0; i < text.length; i++) {
    if (bytes[at + i] !== text.charCodeAt(i)) return false;
  }
  return true;
}

function u16be(bytes: Uint8Array, at: number): number {
  return (bytes[at] << 8) | bytes[at + 1];
}

function u16le(bytes: Uint8Array, at: number): number {
  return bytes[at] | (bytes[at + 1] << 8);
}

function u24le(bytes: Uint8Array, at: number): number {
  return bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16);
}

function u32be(bytes: Uint8Array, at: number): number {
  return ((bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3]) >>> 0;
}

function u32le(bytes: Uint8Array, at: number): number {
  return (bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16) | (bytes[at + 3] << 24)) >>> 0;
}

function result(format: ImageFormat, width: number, height: number): SniffedImage | null {
  if (width <= 0 || height <= 0) return null;
  return { format, mime: IMAGE_MIME[format], width, height };
}

function sniffPng(bytes: Uint8Array): SniffedImage | null {
  // Signature, then the IHDR chunk: length (4), "IHDR", width (4), height (4).
  if (bytes.length < 24 || !ascii(bytes, 12, "IHDR")) return null;
  return result("png", u32be(bytes, 16), u32be(bytes, 20));
}

function sniffGif(bytes: Uint8Array): SniffedImage | null {
  if (bytes.length < 10) return null;
  return result("gif", u16le(bytes, 6), u16le(bytes, 8));
}

function sniffWebp(bytes: Uint8Array): SniffedImage | null {
  if (bytes.length < 16) return null;
  if (ascii(bytes, 12, "VP8X")) {
    if (bytes.length < 30) return null;
    return result("webp", u24le(bytes, 24) + 1, u24le(bytes, 27) + 1);
  }
  if (ascii(bytes, 12, "VP8L")) {
    if (bytes.length < 25 || bytes[20] !== 0x2f) return null;
    const bits = u32le(bytes, 21);
    return result("webp", (bits & 0x3fff) + 1, ((bits >>> 14) & 0x3fff) + 1);
  }
  if (ascii(bytes, 12, "VP8 ")) {
    // Frame tag (3 bytes) then the key-frame start code 9d 01 2a.
    if (bytes.length < 30 || !startsWith(bytes, [0x9d, 0x01, 0x2a], 23)) return null;
    return result("webp", u16le(bytes, 26) & 0x3fff, u16le(bytes, 28) & 0x3fff);
  }
  return null;
}

function isStartOfFrame(marker: number): boolean {
  // SOF0..SOF15 except DHT (c4), JPG (c8) and DAC (cc).
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 &&
    marker !== 0xcc;
}

function sniffJpeg(bytes: Uint8Array): SniffedImage | null {
  let at = 2;
  while (at + 1 < bytes.length) {
    if (bytes[at] !== 0xff) return null;
    let marker = bytes[at + 1];
    // Any number of 0xff fill bytes may precede a marker.
    while (marker === 0xff && at + 2 < bytes.length) {
      at++;
      marker = bytes[at + 1];
    }
    at += 2;
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue;
    if (marker === 0xd9 || marker === 0xda) return null;
    if (at + 2 > bytes.length) return null;
    const length = u16be(bytes, at);
    if (length < 2) return null;
    if (isStartOfFrame(marker)) {
      // Length (2), precision (1), height (2), width (2).
      if (at + 7 > bytes.length) return null;
      return result("jpeg", u16be(bytes, at + 5), u16be(bytes, at + 3));
    }
    at += length;
  }
  return null;
}

/**
 * Reads format, MIME type and dimensions from the header of PNG, JPEG, WebP or GIF data, or
 * returns `null` when the bytes are none of these (or the header is cut short).
 */
export function sniffImage(bytes: Uint8Array): SniffedImage | null {
  if (startsWith(bytes, PNG_SIGNATURE)) return sniffPng(bytes);
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) {
    return sniffJpeg(bytes);
  }
  if (ascii(bytes, 0, "RIFF") && ascii(bytes, 8, "WEBP")) return sniffWebp(bytes);
  if (ascii(bytes, 0, "GIF87a") || ascii(bytes, 0, "GIF89a")) return sniffGif(bytes);
  return null;
}

/** An image known by its first and last bytes and its size (e.g. one written as it arrived). */
export interface ImageParts {
  /** The first bytes (the whole image, or enough for its header). */
  head: Uint8Array;
  /** The last bytes (at least 12). */
  tail: Uint8Array;
  /** Size of the whole image in bytes. */
  size: number;
}

function isComplete({ head, tail, size }: ImageParts, format: ImageFormat): boolean {
  const n = tail.length;
  switch (format) {
    case "png":
      return size >= PNG_IEND.length && startsWith(tail, PNG_IEND, n - PNG_IEND.length);
    case "jpeg":
      return size >= 4 && n >= 2 && tail[n - 2] === 0xff && tail[n - 1] === 0xd9;
    case "webp":
      return head.length >= 8 && u32le(head, 4) === size - 8;
    case "gif":
      return n >= 1 && tail[n - 1] === 0x3b;
  }
}

/** What {@link verifyImage} should insist on. */
export interface VerifyImageOptions {
  /** The format the data must be in. */
  format?: ImageFormat;
}

/**
 * Checks that `bytes` hold one complete PNG, JPEG, WebP or GIF image (of `expected.format`, when
 * given) and returns its header. Throws an `upstream_unavailable` {@link AppError} (the upstream
 * sent something unusable: a 502, not this service's fault) when the data is not an image, is
 * another format, or is truncated: a PNG must end with its IEND chunk, a JPEG with the
 * EOI marker, a WebP's RIFF size must equal its length less 8 and a GIF must end with its trailer.
 */
export function verifyImage(bytes: Uint8Array, expected: VerifyImageOptions = {}): SniffedImage {
  return verifyImageParts({ head: bytes, tail: bytes, size: bytes.length }, expected);
}

/**
 * {@link verifyImage} from an image's first and last bytes and its size. A header that lies
 * beyond `head` reads as no image: give the whole image when `head` is shorter than `size` and
 * this throws for want of a header.
 */
export function verifyImageParts(
  parts: ImageParts,
  expected: VerifyImageOptions = {},
): SniffedImage {
  const sniffed = sniffImage(parts.head);
  const want = expected.format;
  if (sniffed === null) {
    const what = want === undefined ? "PNG, JPEG, WebP or GIF" : IMAGE_FORMAT_LABEL[want];
    throw new AppError(
      "upstream_unavailable",
      `Cannot store image: upstream returned data that is not a ${what} image`,
      { details: { bytes: parts.size, ...(want === undefined ? {} : { expected: want }) } },
    );
  }
  if (want !== undefined && sniffed.format !== want) {
    throw new AppError(
      "upstream_unavailable",
      `Cannot store image: upstream returned ${IMAGE_FORMAT_LABEL[sniffed.format]} data where ${
        IMAGE_FORMAT_LABEL[want]
      } was requested`,
      { details: { expected: want, actual: sniffed.format } },
    );
  }
  if (!isComplete(parts, sniffed.format)) {
    throw new AppError(
      "upstream_unavailable",
      `Cannot store image: upstream returned truncated or undecodable ${
        IMAGE_FORMAT_LABEL[sniffed.format]
      } data`,
      { details: { format: sniffed.format, bytes: parts.size } },
    );
  }
  return sniffed;
}
