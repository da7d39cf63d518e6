/**
 * Messages between `sha256_thread.ts` and its worker, `sha256_worker.ts`.
 *
 * @module
 */

/** To the worker: bytes for hash `id` (their buffer transferred), or its end. */
export type HashRequest =
  | { kind: "update"; id: number; buffer: ArrayBuffer; offset: number; length: number }
  | { kind: "digest"; id: number }
  | { kind: "drop"; id: number };

/**
 * From the worker: it is listening, the hex digest of hash `id`, or the buffer of an update given
 * back (transferred) for reuse.
 */
export type HashReply = { ready: true } | { id: number; hex: string } | { returned: ArrayBuffer };
