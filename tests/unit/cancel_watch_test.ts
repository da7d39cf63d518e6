/**
 * Cancel requests: seen by `kv.watch` in the same process, and by one shared poll for every job
 * when another process writes them to the same KV file (which `kv.watch` does not see).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { CancelWatch, requestCancel } from "../../src/generation/mod.ts";

async function kvPair() {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "kv.sqlite3");
  const kv = await Deno.openKv(path);
  // A second handle on the same file stands for another process.
  const other = await Deno.openKv(path);
  return {
    kv,
    other,
    async [Symbol.asyncDispose]() {
      kv.close();
      other.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

function jobId(i: number): string {
  return `0190c2d4-0000-7000-8000-${i.toString(16).padStart(12, "0")}`;
}

Deno.test("a cancel written in this process is seen by the watch, without polling", async () => {
  await using pair = await kvPair();
  const cancels = new CancelWatch(pair.kv);
  const seen = Promise.withResolvers<string>();
  const stop = cancels.watch(jobId(1), seen.resolve);
  await requestCancel(pair.kv, jobId(1), "stopped by the user");
  assert.equal(await seen.promise, "stopped by the user");
  stop();
  cancels.close();
});

Deno.test("cancels written by another process are found by one poll for all running jobs", async () => {
  await using pair = await kvPair();
  const cancels = new CancelWatch(pair.kv, { pollMs: 20 });
  const reads: number[] = [];
  const getMany = pair.kv.getMany.bind(pair.kv);
  // Counts the poll's reads (by 10 keys, the KV's limit).
  pair.kv.getMany = ((keys: Deno.KvKey[]) => {
    reads.push(keys.length);
    return getMany(keys);
  }) as typeof pair.kv.getMany;
  const fired = new Map<string, string>();
  const stops = Array.from(
    { length: 25 },
    (_, i) => cancels.watch(jobId(i), (reason) => fired.set(jobId(i), reason)),
  );
  await new Promise((resolve) => setTimeout(resolve, 60));
  assert.ok(reads.length >= 3, `polled: ${reads.join(",")}`);
  // One poll of 25 jobs reads their keys in batches of 10.
  assert.deepEqual(reads.slice(0, 3), [10, 10, 5]);
  for (const i of [3, 17, 24]) await requestCancel(pair.other, jobId(i), `reason ${i}`);
  const deadline = performance.now() + 5_000;
  while (fired.size < 3 && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.deepEqual(
    [...fired].sort(),
    [[jobId(17), "reason 17"], [jobId(24), "reason 24"], [jobId(3), "reason 3"]].sort(),
  );
  // A stopped job is no longer polled nor called; with no job left, polling stops.
  stops[5]();
  await requestCancel(pair.other, jobId(5), "too late");
  for (const stop of stops) stop();
  const polls = reads.length;
  await new Promise((resolve) => setTimeout(resolve, 80));
  assert.equal(reads.length, polls, "no poll without a running job");
  assert.equal(fired.has(jobId(5)), false);
  cancels.close();
});

Deno.test("a failed poll does not end polling for the jobs that run later", async () => {
  await using pair = await kvPair();
  const cancels = new CancelWatch(pair.kv, { pollMs: 10 });
  const getMany = pair.kv.getMany.bind(pair.kv);
  let failures = 1;
  const polled: unknown[] = [];
  pair.kv.getMany = ((keys: Deno.KvKey[]) => {
    if (failures-- > 0) return Promise.reject(new Error("KV read failed (transient)"));
    polled.push(...keys.map((key) => key.at(-1)));
    return getMany(keys);
  }) as typeof pair.kv.getMany;
  const first = cancels.watch(jobId(1), () => {});
  while (failures > 0) await new Promise((resolve) => setTimeout(resolve, 5));
  await new Promise((resolve) => setTimeout(resolve, 20));
  const stop = cancels.watch(jobId(2), () => {});
  const deadline = performance.now() + 2_000;
  while (!polled.includes(jobId(2)) && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  first();
  stop();
  cancels.close();
  assert.ok(polled.includes(jobId(2)), "the job started after the failure is polled");
});
