/**
 * Retrying Deno KV calls that fail with `TypeError: database is locked`. Several processes may
 * share one local SQLite KV file; under contention SQLite refuses a transaction instead of
 * waiting, thousands of times in a row. These failures are transient: the call is repeated with
 * jittered exponential backoff until it succeeds or a time budget runs out.
 *
 * @module
 */

import { sleep } from "../clock.ts";

/** Options of {@link withKvRetry}. */
export interface KvRetryOptions {
  /** Longest total time spent retrying, in milliseconds (default 30,000). */
  maxWaitMs?: number;
  /** First backoff delay in milliseconds (default 2). */
  baseDelayMs?: number;
  /** Largest backoff delay in milliseconds (default 200). */
  maxDelayMs?: number;
}

/** True when `error` is SQLite's transient "database is locked/busy" failure. */
export function isKvLockedError(error: unknown): boolean {
  return error instanceof Error && /database is (locked|busy)|SQLITE_BUSY/i.test(error.message);
}

/** Runs `fn`, repeating it with backoff while it fails with a locked-database error. */
export async function withKvRetry<T>(
  fn: () => Promise<T>,
  options: KvRetryOptions = {},
): Promise<T> {
  const maxWaitMs = options.maxWaitMs ?? 30_000;
  const base = options.baseDelayMs ?? 2;
  const cap = options.maxDelayMs ?? 200;
  const started = performance.now();
  for (let attempt = 0;; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (!isKvLockedError(error) || performance.now() - started > maxWaitMs) throw error;
      const ceiling = Math.min(cap, base * 2 ** Math.min(attempt, 16));
      await sleep(ceiling / 2 + Math.random() * ceiling / 2);
    }
  }
}

/** `kv.get` with retry. */
export function kvGet<T>(kv: Deno.Kv, key: Deno.KvKey): Promise<Deno.KvEntryMaybe<T>> {
  return withKvRetry(() => kv.get<T>(key));
}

/** `kv.getMany` with retry, for any number of keys (batched by 10, the KV limit). */
export async function kvGetMany<T>(
  kv: Deno.Kv,
  keys: readonly Deno.KvKey[],
): Promise<Deno.KvEntryMaybe<T>[]> {
  const out: Deno.KvEntryMaybe<T>[] = [];
  for (let i = 0; i < keys.length; i += 10) {
    const batch = keys.slice(i, i + 10);
    out.push(...await withKvRetry(() => kv.getMany<T[]>(batch)));
  }
  return out;
}

/**
 * Builds and commits an atomic operation, retrying on a locked database. `build` is called again
 * for each attempt, so it must only describe the operation (reads belong outside or in a loop
 * around this call).
 */
export function kvCommit(
  kv: Deno.Kv,
  build: (op: Deno.AtomicOperation) => Deno.AtomicOperation | void,
): Promise<Deno.KvCommitResult | Deno.KvCommitError> {
  return withKvRetry(() => {
    const op = kv.atomic();
    build(op);
    return op.commit();
  });
}

/**
 * Lists entries like `kv.list`, resuming from the last entry seen when a page fetch fails with a
 * locked-database error.
 */
export async function* kvList<T>(
  kv: Deno.Kv,
  selector: Deno.KvListSelector,
  options: Deno.KvListOptions = {},
): AsyncGenerator<Deno.KvEntry<T>> {
  let cursor = options.cursor;
  let remaining = options.limit;
  const started = performance.now();
  for (let attempt = 0;; attempt++) {
    const iter = kv.list<T>(selector, {
      ...options,
      cursor,
      ...(remaining === undefined ? {} : { limit: remaining }),
    });
    try {
      for await (const entry of iter) {
        cursor = iter.cursor;
        if (remaining !== undefined) remaining--;
        yield entry;
      }
      return;
    } catch (error) {
      if (!isKvLockedError(error) || performance.now() - started > 30_000) throw error;
      await sleep(Math.min(200, 2 * 2 ** Math.min(attempt, 16)));
    }
  }
}

/**
 * Proves `kv` accepts writes: commits `key` (expiring by itself should the removal never come)
 * and removes it. Throws when either commit fails.
 */
export async function probeKvWrite(kv: Deno.Kv, key: Deno.KvKey): Promise<void> {
  const written = await kvCommit(kv, (op) => op.set(key, true, { expireIn: 60_000 }));
  if (!written.ok) throw new Error("Cannot write to the KV database: the probe commit failed");
  await kvCommit(kv, (op) => op.delete(key));
}
