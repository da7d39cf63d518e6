/**
 * Byte buffers: joining chunks read from a stream into one array.
 *
 * @module
 */

/** `chunks` joined into one new array of `size` bytes (default: their total length). */
export function joinBytes(
  chunks: readonly Uint8Array[],
  size = chunks.reduce((sum, chunk) => sum + chunk.length, 0),
): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}
