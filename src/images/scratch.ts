/**
 * Scratch copies of a catalog, for dry runs: `--dry-run` and `dry_run` change nothing at all,
 * start-up included, so a process started for a dry run works on an in-memory copy of the catalog
 * (and a read-only store). Start-up may then import, rebuild and adopt into the copy, and the
 * report says what a real run would find — while the files and the catalog on disk stay as they
 * were.
 *
 * @module
 */

import { kvCommit, kvList } from "../kv/mod.ts";

const ROOT: Deno.KvKey = ["images"];

/** Opens an in-memory KV holding a copy of every catalog entry of `source` (null: empty). */
export async function scratchCopy(source: Deno.Kv | null): Promise<Deno.Kv> {
  const copy = await Deno.openKv(":memory:");
  if (source === null) return copy;
  try {
    let batch: Deno.KvEntry<unknown>[] = [];
    const flush = async () => {
      const entries = batch;
      batch = [];
      await kvCommit(copy, (op) => {
        for (const entry of entries) op.set(entry.key, entry.value);
      });
    };
    for await (const entry of kvList(source, { prefix: ROOT })) {
      batch.push(entry);
      if (batch.length === 10) await flush(); // ten 60 KB blob chunks fit one operation
    }
    await flush();
    return copy;
  } catch (error) {
    copy.close();
    throw error;
  }
}
