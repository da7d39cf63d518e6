/**
 * Reads the format and dimensions of PNG, JPEG and WebP bytes from their headers, without
 * decoding pixels. The fake uses it to validate uploads; tests use it to check outputs.
 *
 * @module
 */

/** An image container format the fake understands. */
export type ProbedFormat = "png" | "jpeg" | "webp";

/** What the headers of an image say about it. */
export interface ProbedImage {
  /** Container format, from the magic bytes. */
  readonly format: ProbedFormat;
  /** Width in pixels. */
  readonly width: number;
  /** Height in pixels. */
  readonly height: number;
  /** Whether the header declares an alpha channel (PNG colour type, WebP flags). */
  readonly hasAlpha: boolean;
}

/** Returns format, size and alpha flag of PNG/JPEG/WebP bytes, or null for anything else. */
export function probeImage(bytes: Uint8Array): ProbedImage | null {
  if (isPng(bytes)) return probePng(bytes);
  if (bytes.length > 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) {
    return probeJpeg(bytes);
  }
  if (ascii(bytes, 0, 4) === "RIFF" && ascii(bytes, 8, 4) === "WEBP") return probeWebp(bytes);
  return null;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function isPng(bytes: Uint8Array): boolean {
  return bytes.length >= 33 && PNG_SIGNATURE.every((b, i) => bytes[i] === b);
}

function ascii(bytes: Uint8Array, offset: number, length: number): string {
  if (bytes.length < offset + length) return "";
  return String.fromCharCode(...bytes.subarray(offset, offset + length));
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function probePng(bytes: Uint8Array): ProbedImage | null {
  if (ascii(bytes, 12, 4) !== "IHDR") return null;
  const dv = view(bytes);
  const colourType = bytes[25];
  let hasAlpha = colourType === 4 || colourType === 6;
  if (!hasAlpha) hasAlpha = hasPngChunk(bytes, "tRNS");
  return { format: "png", width: dv.getUint32(16), height: dv.getUint32(20), hasAlpha };
}

function hasPngChunk(bytes: Uint8Array, type: string): boolean {
  const dv = view(bytes);
  let offset = 8;
  while (offset + 8 <= bytes.length) {
    const length = dv.getUint32(offset);
    const name = ascii(bytes, offset + 4, 4);
    if (name === type) return true;
    if (name === "IDAT" || name === "IEND") return false;
    offset += 12 + length;
  }
  return false;
}

function probeJpeg(bytes: Uint8Array): ProbedImage | null {
  const dv = view(bytes);
  let offset = 2;
  while (offset + 9 < bytes.length) {
    if (bytes[offset] !== 0xff) return null;
    const marker = bytes[offset + 1];
    if (marker === 0xff) {
      offset += 1;
      continue;
    }
    // Start-of-frame markers carry the dimensions; C4 (DHT), C8 (JPG) and CC (DAC) do not.
    const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 &&
      marker !== 0xcc;
    if (isSof) {
      return {
        format: "jpeg",
        height: dv.getUint16(offset + 5),
        width: dv.getUint16(offset + 7),
        hasAlpha: false,
      };
    }
    offset += 2 + dv.getUint16(offset + 2);
  }
  return null;
}

function probeWebp(bytes: Uint8Array): ProbedImage | null {
  const chunk = ascii(bytes, 12, 4);
  if (chunk === "VP8X" && bytes.length >= 30) {
    const width = 1 + (bytes[24] | (bytes[25] << 8) | (bytes[26] << 16));
    const height = 1 + (bytes[27] | (bytes[28] << 8) | (bytes[29] << 16));
    return { format: "webp", width, height, hasAlpha: (bytes[20] & 0x10) !== 0 };
  }
  if (chunk === "VP8L" && bytes.length >= 25 && bytes[20] === 0x2f) {
    const bits = view(bytes).getUint32(21, true);
    return {
      format: "webp",
      width: 1 + (bits & 0x3fff),
      height: 1 + ((bits >>> 14) & 0x3fff),
      hasAlpha: ((bits >>> 28) & 1) === 1,
    };
  }
  if (chunk === "VP8 " && bytes.length >= 30) {
    const dv = view(bytes);
    return {
      format: "webp",
      width: dv.getUint16(26, true) & 0x3fff,
      height: dv.getUint16(28, true) & 0x3fff,
      hasAlpha: false,
    };
  }
  return null;
}
