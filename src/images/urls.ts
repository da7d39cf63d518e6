/**
 * Signed, expiring image URLs for `IMAGES_PUBLIC=false`: `?exp=<unix seconds>&sig=<HMAC-SHA256>`
 * over the URL path and the expiry. The HMAC key is made on first use and kept in KV, so every
 * instance sharing the KV signs and verifies alike; nothing about it is configured. A leaf both
 * doors use: the HTTP door serves and checks these links, the MCP doors hand them out.
 *
 * @module
 */
import { kvHmacKey } from "../kv/mod.ts";

/** KV key of the URL-signing secret (32 random bytes). */
export const SIGNING_KEY_KV: Deno.KvKey = ["http", "url_signing_key"];

const encoder = new TextEncoder();

function toBase64Url(bytes: Uint8Array): string {
  return bytes.toBase64({ alphabet: "base64url", omitPadding: true });
}

function fromBase64Url(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(text)) return null;
  try {
    return Uint8Array.fromBase64(text, { alphabet: "base64url" });
  } catch {
    return null;
  }
}

/** Options of {@link UrlSigner}. */
export interface UrlSignerOptions {
  /** Clock, epoch milliseconds. */
  now: () => number;
  /** Lifetime of a signed URL, in seconds (`IMAGE_URL_TTL_S`). */
  ttlSeconds: number;
}

/** Signs and verifies image URL paths with a secret kept in KV. */
export class UrlSigner {
  #options: UrlSignerOptions;
  #key: () => Promise<CryptoKey>;

  /** Creates a signer; the secret is read (or made) on first use. */
  constructor(kv: Deno.Kv, options: UrlSignerOptions) {
    this.#options = options;
    this.#key = kvHmacKey(kv, SIGNING_KEY_KV);
  }

  #cryptoKey(): Promise<CryptoKey> {
    return this.#key();
  }

  /** The query string (`exp=…&sig=…`) that makes `path` readable until the TTL ends. */
  async sign(path: string): Promise<string> {
    const exp = Math.floor(this.#options.now() / 1000) + this.#options.ttlSeconds;
    const mac = await crypto.subtle.sign(
      "HMAC",
      await this.#cryptoKey(),
      encoder.encode(`${path}\n${exp}`),
    );
    return `exp=${exp}&sig=${toBase64Url(new Uint8Array(mac))}`;
  }

  /** Whether `sig` signs `path` until `exp`, and `exp` has not passed. */
  async verify(
    path: string,
    exp: string | undefined,
    sig: string | undefined,
  ): Promise<"valid" | "expired" | "invalid"> {
    if (exp === undefined || sig === undefined || !/^\d{1,12}$/.test(exp)) return "invalid";
    const mac = fromBase64Url(sig);
    if (mac === null) return "invalid";
    const ok = await crypto.subtle.verify(
      "HMAC",
      await this.#cryptoKey(),
      mac as Uint8Array<ArrayBuffer>,
      encoder.encode(`${path}\n${exp}`),
    );
    if (!ok) return "invalid";
    return Number(exp) * 1000 > this.#options.now() ? "valid" : "expired";
  }
}

/** The URL path of an image file (or its thumbnail), without the base URL. */
export function imagePath(file: string, thumb = false): string {
  return `/images/${encodeURIComponent(file)}${thumb ? "/thumb" : ""}`;
}

/**
 * The URL of image path `path` (e.g. `/images/<file>`) under `base` as a reader may open it: as
 * is when images are public, else with an expiring signature.
 */
export async function readableImageUrl(
  signer: UrlSigner,
  options: { base: string; path: string; imagesPublic: boolean },
): Promise<string> {
  const { base, path } = options;
  return options.imagesPublic ? `${base}${path}` : `${base}${path}?${await signer.sign(path)}`;
}
