/**
 * HMAC keys whose secret lives in KV, so every instance sharing the KV signs and verifies alike.
 * The secret is made once (an atomic check decides between instances racing to make it).
 *
 * @module
 */
import { kvCommit, kvGet } from "./retry.ts";

async function loadSecret(kv: Deno.Kv, key: Deno.KvKey): Promise<Uint8Array> {
  for (;;) {
    const entry = await kvGet<Uint8Array>(kv, key);
    if (entry.value !== null) return entry.value;
    const fresh = crypto.getRandomValues(new Uint8Array(32));
    const result = await kvCommit(
      kv,
      (op) => op.check({ key, versionstamp: null }).set(key, fresh),
    );
    // Another instance may have made one first: read again and use theirs.
    if (result.ok) return fresh;
  }
}

/** Returns a getter for the HMAC-SHA-256 key under `key` (loaded on first use, retried on failure). */
export function kvHmacKey(kv: Deno.Kv, key: Deno.KvKey): () => Promise<CryptoKey> {
  let cached: Promise<CryptoKey> | undefined;
  return () => {
    cached ??= loadSecret(kv, key).then((secret) =>
      crypto.subtle.importKey(
        "raw",
        secret as Uint8Array<ArrayBuffer>,
        { name: "HMAC", hash: "SHA-256" },
        false,
        ["sign", "verify"],
      )
    ).catch((error) => {
      cached = undefined;
      throw error;
    });
    return cached;
  };
}
