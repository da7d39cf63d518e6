/**
 * Deno KV helpers that know nothing of images, limits or keys: opening the configured KV, calls
 * retried while SQLite reports a locked database, a write probe, and HMAC keys whose secret lives
 * in KV. The public module of `src/kv/`; every subsystem's KV access goes through it.
 *
 * @module
 */
export { type KvLocation, openKv, openKvToRead } from "./open.ts";
export {
  isKvLockedError,
  kvCommit,
  kvGet,
  kvGetMany,
  kvList,
  type KvRetryOptions,
  probeKvWrite,
  withKvRetry,
} from "./retry.ts";
export { kvHmacKey } from "./secret.ts";
