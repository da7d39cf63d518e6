/**
 * Comparing secrets without leaking, through timing, how much of a guess was right. Deno has no
 * `crypto.timingSafeEqual` on `crypto.subtle`, so both sides are hashed to equal-length SHA-256
 * digests and compared with a loop whose running time does not depend on where they differ.
 * Digests come from `node:crypto`'s synchronous hash: Web Crypto's `digest` hands every call to a
 * blocking thread, which for a short token costs far more CPU than hashing it (twice per request).
 *
 * @module
 */
import { createHash } from "node:crypto";

/** SHA-256 of the UTF-8 bytes of `text`. */
export function sha256(text: string): Promise<Uint8Array> {
  return Promise.resolve(new Uint8Array(createHash("sha256").update(text, "utf8").digest()));
}

/**
 * True when `a` and `b` hold the same bytes. For equal lengths, every byte is visited whatever
 * the contents; lengths are not secret (callers compare digests of a fixed size).
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i] ^ b[i];
  return difference === 0;
}

/** True when the strings are equal, compared as SHA-256 digests in constant time. */
export async function secretsEqual(a: string, b: string): Promise<boolean> {
  const [da, db] = await Promise.all([sha256(a), sha256(b)]);
  return constantTimeEqual(da, db);
}
