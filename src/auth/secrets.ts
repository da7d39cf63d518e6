/**
 * Random secrets and identifiers (API keys, gallery sessions, OAuth codes and tokens), and the
 * hex SHA-256 digests KV keeps them under.
 *
 * @module
 */
import { sha256 } from "./constant_time.ts";

/** `bytes` random bytes as unpadded base64url. */
export function randomToken(bytes = 32): string {
  return crypto.getRandomValues(new Uint8Array(bytes)).toBase64({
    alphabet: "base64url",
    omitPadding: true,
  });
}

/** Hex SHA-256 digest of a secret, the form in which KV keeps it. */
export async function digestHex(secret: string): Promise<string> {
  return (await sha256(secret)).toHex();
}
