/**
 * Base64 helpers over the runtime's built-ins (Uint8Array.fromBase64 / toBase64 in Deno 2.9),
 * with a portable fallback.
 *
 * @module
 */

type Base64Array = Uint8Array & { toBase64?: () => string };
type Base64Ctor = typeof Uint8Array & { fromBase64?: (text: string) => Uint8Array };

/** Encodes bytes as standard base64. */
export function encodeBase64(bytes: Uint8Array): string {
  const native = (bytes as Base64Array).toBase64;
  if (typeof native === "function") return native.call(bytes);
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/** Decodes standard base64; throws TypeError on malformed input. */
export function decodeBase64(text: string): Uint8Array {
  const native = (Uint8Array as Base64Ctor).fromBase64;
  if (typeof native === "function") {
    try {
      return native(text);
    } catch (error) {
      throw new TypeError(`Cannot decode base64: ${(error as Error).message}`);
    }
  }
  let binary: string;
  try {
    binary = atob(text);
  } catch (error) {
    throw new TypeError(`Cannot decode base64: ${(error as Error).message}`);
  }
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/** Encodes bytes as unpadded base64url (tokens and signatures carried in URLs and JSON). */
export function encodeBase64Url(bytes: Uint8Array): string {
  return encodeBase64(bytes).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** Decodes unpadded or padded base64url; throws TypeError on malformed input. */
export function decodeBase64Url(text: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]*={0,2}$/.test(text)) {
    throw new TypeError("Cannot decode base64url: unexpected characters");
  }
  const plain = text.replace(/=+$/, "").replaceAll("-", "+").replaceAll("_", "/");
  return decodeBase64(plain + "=".repeat((4 - plain.length % 4) % 4));
}
