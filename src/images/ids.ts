/**
 * Image and job ids and the file names built from them. Ids are UUIDv7 (48-bit millisecond
 * timestamp, then random bits), so they never collide between processes and sort by creation time. Every
 * name that reaches the file system is checked against a strict pattern first: a name that does not
 * match cannot be turned into a path, so path traversal is impossible by construction.
 *
 * @module
 */

import { systemClock } from "../clock.ts";

/** File extensions the store accepts for image bytes. */
export const IMAGE_EXTENSIONS: readonly string[] = Object.freeze([
  "png",
  "jpg",
  "jpeg",
  "webp",
  "gif",
]);

/** An extension from {@link IMAGE_EXTENSIONS}. */
export type ImageExt = "png" | "jpg" | "jpeg" | "webp" | "gif";

const EXT_PATTERN = "(?:png|jpg|jpeg|webp|gif)";
const UUID7 = "[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}";

/** A UUIDv7 in lower-case canonical form, nothing else. */
export const IMAGE_ID_PATTERN: RegExp = new RegExp(`^${UUID7}$`);
const IMAGE_FILE_PATTERN = new RegExp(`^(${UUID7})\\.(${EXT_PATTERN})$`);
const THUMB_FILE_PATTERN = new RegExp(`^(${UUID7})\\.thumb\\.webp$`);
const TEMP_FILE_PATTERN = new RegExp(
  `^\\.(${UUID7})\\.((?:${EXT_PATTERN})|thumb\\.webp)\\.tmp$`,
);
/** The predecessor's names: `image_<milliseconds>.png`. */
export const LEGACY_FILE_PATTERN: RegExp = /^image_(\d{1,15})\.png$/;

/** Suffix of thumbnail files: `<id>.thumb.webp`. */
export const THUMB_SUFFIX = ".thumb.webp";

/** True when `id` is a well-formed image id (a canonical lower-case UUIDv7). */
export function isImageId(id: unknown): id is string {
  return typeof id === "string" && id.length === 36 && IMAGE_ID_PATTERN.test(id);
}

/** True when `id` is a well-formed job id: job ids are minted like image ids (see {@link newJobId}). */
export function isJobId(id: unknown): id is string {
  return isImageId(id);
}

/** True when `ext` is one of {@link IMAGE_EXTENSIONS}. */
export function isImageExt(ext: unknown): ext is ImageExt {
  return typeof ext === "string" && IMAGE_EXTENSIONS.includes(ext);
}

/** What a name in the images directory is, judged by its shape alone. */
export type FileNameKind =
  | { kind: "image"; id: string; ext: ImageExt }
  | { kind: "thumb"; id: string }
  | { kind: "temp"; id: string; target: string }
  | { kind: "legacy"; created: number }
  | { kind: "unknown" };

/** Classifies a bare file name (no directories) by its shape. */
export function classifyFileName(name: string): FileNameKind {
  let m = IMAGE_FILE_PATTERN.exec(name);
  if (m) return { kind: "image", id: m[1], ext: m[2] as ImageExt };
  m = THUMB_FILE_PATTERN.exec(name);
  if (m) return { kind: "thumb", id: m[1] };
  m = TEMP_FILE_PATTERN.exec(name);
  if (m) return { kind: "temp", id: m[1], target: `${m[1]}.${m[2]}` };
  m = LEGACY_FILE_PATTERN.exec(name);
  if (m) return { kind: "legacy", created: Number(m[1]) };
  return { kind: "unknown" };
}

/**
 * True when `name` is a file name this store may build a path from: `<id>.<ext>`,
 * `<id>.thumb.webp`, `.<id>.<ext>.tmp`, or the predecessor's `image_<ms>.png`.
 */
export function isStoreFileName(name: unknown): name is string {
  return typeof name === "string" && name.length <= 64 &&
    classifyFileName(name).kind !== "unknown";
}

/** The final file name of an image: `<id>.<ext>`. */
export function imageFileName(id: string, ext: ImageExt): string {
  assertImageId(id);
  if (!isImageExt(ext)) throw new TypeError(`Cannot name image file: bad extension ${String(ext)}`);
  return `${id}.${ext}`;
}

/** The thumbnail file name of an image: `<id>.thumb.webp`. */
export function thumbFileName(id: string): string {
  assertImageId(id);
  return `${id}${THUMB_SUFFIX}`;
}

/** The temporary name a final name is written under first: `.<name>.tmp`. */
export function tempFileName(finalName: string): string {
  const kind = classifyFileName(finalName).kind;
  if (kind !== "image" && kind !== "thumb") {
    throw new TypeError(`Cannot name temporary file: not an image or thumbnail name ${finalName}`);
  }
  return `.${finalName}.tmp`;
}

/** Throws a `TypeError` unless `id` is a well-formed image id. */
export function assertImageId(id: unknown): asserts id is string {
  if (!isImageId(id)) throw new TypeError(`Invalid image id: ${JSON.stringify(String(id))}`);
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

function hex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += HEX[b];
  return out;
}

let lastMs = -1;
let lastSeq = 0;

/**
 * Makes a new UUIDv7 for `ms` (default: the current time). Within one millisecond the 12-bit
 * `rand_a` field counts up from a random start, so ids made by one process stay in order.
 */
export function newImageId(ms: number = systemClock()): string {
  if (!Number.isSafeInteger(ms) || ms < 0 || ms >= 2 ** 48) {
    throw new RangeError(`Cannot make image id: timestamp out of range ${ms}`);
  }
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  let seq: number;
  if (ms === lastMs && lastSeq < 0xfff) {
    seq = lastSeq + 1;
  } else {
    seq = ((bytes[6] << 8) | bytes[7]) & 0x7ff; // start in the lower half: room to count up
  }
  lastMs = ms;
  lastSeq = seq;
  let t = ms;
  for (let i = 5; i >= 0; i--) {
    bytes[i] = t % 256;
    t = Math.floor(t / 256);
  }
  bytes[6] = 0x70 | (seq >> 8);
  bytes[7] = seq & 0xff;
  bytes[8] = 0x80 | (bytes[8] & 0x3f);
  const h = hex(bytes);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Makes a new job id for `ms` (default: the current time): a UUIDv7, like an image id. */
export function newJobId(ms: number = systemClock()): string {
  return newImageId(ms);
}

/** The millisecond timestamp inside an image id. */
export function imageIdTime(id: string): number {
  assertImageId(id);
  return parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}

/** Lower-case hexadecimal SHA-256 of `bytes`. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return hex(new Uint8Array(digest));
}

/** MIME type of an extension. */
export function mimeOfExt(ext: ImageExt): string {
  switch (ext) {
    case "png":
      return "image/png";
    case "jpg":
    case "jpeg":
      return "image/jpeg";
    case "webp":
      return "image/webp";
    case "gif":
      return "image/gif";
  }
}
