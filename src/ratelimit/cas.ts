/**
 * Optimistic check-and-set on one KV value: read, decide, commit with a versionstamp check, and
 * start over when another writer got there first. Exact across processes sharing one KV.
 *
 * @module
 */
import { sleep } from "../clock.ts";
import { AppError } from "../errors.ts";
import { kvCommit, kvGet } from "../kv/mod.ts";

/** What {@link updateValue} should do with the value it read. */
export interface Decision<V, R> {
  /** Returned once the write (if any) has committed. */
  readonly result: R;
  /** The new value, `null` to delete, or `undefined` to leave the value as it is. */
  readonly write?: V | null;
  /** Clean-up hint for the new value; never relied on for correctness. */
  readonly expireIn?: number;
}

const CONFLICT_BUDGET_MS = 30_000;

/** A short random pause after a lost race, growing with the number of attempts. */
export function conflictPause(attempt: number): Promise<void> | undefined {
  if (attempt === 0) return undefined;
  return sleep(Math.random() * Math.min(25, 2 ** Math.min(attempt, 5)));
}

/**
 * Reads `key`, lets `decide` choose a result and an optional new value, and commits the new value
 * only if `key` is unchanged since the read; repeats until a commit succeeds or no write is needed.
 */
export async function updateValue<V, R>(
  kv: Deno.Kv,
  key: Deno.KvKey,
  decide: (current: V | null) => Decision<V, R>,
): Promise<R> {
  const started = performance.now();
  for (let attempt = 0;; attempt++) {
    const entry = await kvGet<V>(kv, key);
    const decision = decide(entry.value);
    if (decision.write === undefined) return decision.result;
    const next = decision.write;
    const result = await kvCommit(kv, (op) => {
      op.check(entry);
      if (next === null) op.delete(key);
      else {
        op.set(
          key,
          next,
          decision.expireIn === undefined ? undefined : { expireIn: decision.expireIn },
        );
      }
    });
    if (result.ok) return decision.result;
    if (performance.now() - started > CONFLICT_BUDGET_MS) {
      throw new AppError("storage", "Cannot update a limit: too much contention on the KV store", {
        details: { key: key.map(String).join("/") },
      });
    }
    await conflictPause(attempt);
  }
}
