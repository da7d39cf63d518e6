/**
 * Magic-number checks for edit inputs: the bytes decide the type, never a file extension or a
 * declared MIME type.
 *
 * @module
 */

/** The image types the edit endpoint accepts. */
export type InputMime = "image/png" | "image/jpeg" | "image/webp";

/** What the first bytes of some data look like. */
export type SniffedKind = InputMime | "image/gif" | "image/bmp" | "image/tiff" | "text" | null;

const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function hasPrefix(bytes: Uint8Array, prefix: readonly number[], at = 0): boolean {
  if (bytes.length < at + prefix.length) return false;
  return prefix.every((b, i) => bytes[at + i] === b);
}

function hasAscii(bytes: Uint8Array, text: string, at = 0): boolean {
  return hasPrefix(bytes, [...text].map((c) => c.charCodeAt(0)), at);
}

function looksLikeText(bytes: Uint8Array): boolean {
  const n = Math.min(bytes.length, 512);
  if (n === 0) return false;
  for (let i = 0; i < n; i++) {
    const b = bytes[i];
    if (b === 0 || (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d)) return false;
  }
  return true;
}

/** Names the type of `bytes` by their magic number: an accepted type, another image type, text, or `null`. */
export function sniffKind(bytes: Uint8Array): SniffedKind {
  if (hasPrefix(bytes, PNG)) return "image/png";
  if (hasPrefix(bytes, [0xff, 0xd8, 0xff])) return "image/jpeg";
  if (hasAscii(bytes, "RIFF") && hasAscii(bytes, "WEBP", 8)) return "image/webp";
  if (hasAscii(bytes, "GIF87a") || hasAscii(bytes, "GIF89a")) return "image/gif";
  if (looksLikeText(bytes)) return "text";
  if (hasAscii(bytes, "BM")) return "image/bmp";
  if (hasPrefix(bytes, [0x49, 0x49, 0x2a, 0x00]) || hasPrefix(bytes, [0x4d, 0x4d, 0x00, 0x2a])) {
    return "image/tiff";
  }
  return null;
}

/** True when `kind` is one of the accepted input types. */
export function isInputMime(kind: unknown): kind is InputMime {
  return kind === "image/png" || kind === "image/jpeg" || kind === "image/webp";
}

/** Explains why data of `kind` cannot be used, for the tail of an error message. */
export function describeUnacceptedKind(kind: SniffedKind): string {
  if (kind === "text") return "it is text, not a PNG, JPEG or WebP image";
  if (kind === null) return "its bytes are not a PNG, JPEG or WebP image";
  const name = kind.slice("image/".length).toUpperCase();
  return `it is a ${name} image; edits accept PNG, JPEG or WebP`;
}

const EXTENSIONS: Readonly<Record<InputMime, readonly string[]>> = {
  "image/png": ["png"],
  "image/jpeg": ["jpg", "jpeg"],
  "image/webp": ["webp"],
};

/**
 * Makes a safe upload file name from `name` whose extension matches `mime`: characters outside
 * `[A-Za-z0-9._-]` become `_`, and a wrong or missing extension is replaced.
 */
export function fileNameFor(name: string, mime: InputMime): string {
  const cleaned = name.replace(/[^A-Za-z0-9._-]/g, "_").replace(/^\.+/, "").slice(0, 100);
  const dot = cleaned.lastIndexOf(".");
  const stem = dot > 0 ? cleaned.slice(0, dot) : cleaned;
  const ext = dot > 0 ? cleaned.slice(dot + 1).toLowerCase() : "";
  const allowed = EXTENSIONS[mime];
  if (allowed.includes(ext)) return cleaned;
  return `${stem === "" ? "image" : stem}.${allowed[0]}`;
}
