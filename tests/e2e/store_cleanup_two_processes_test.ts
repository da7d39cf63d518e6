import assert from "node:assert/strict";
import { join } from "node:path";
import type { CleanupReport, CleanupTick } from "../../src/images/retention.ts";
import { createImageStore } from "../../src/images/open_store.ts";
import { manualClock } from "../support/pinned_time.ts";
import { runWorkers } from "./support/workers.ts";

const worker = new URL("./fixtures/image_cleanup_once.ts", import.meta.url).pathname;

const DAY = 86_400_000;
const START = Date.UTC(2026, 0, 1);
const NOW = START + 30 * DAY;
const IMAGES = 60;

/** Fills a store with one image every 12 hours from START, sizes varying. */
async function seed(dir: string, kvPath: string): Promise<void> {
  const kv = await Deno.openKv(kvPath);
  try {
    const clock = manualClock(START);
    const store = createImageStore({ imageStore: "fs", outputDir: dir }, { kv, now: clock.now });
    for (let i = 0; i < IMAGES; i++) {
      clock.set(START + i * DAY / 2);
      const bytes = new Uint8Array(1000 + (i % 7) * 500);
      crypto.getRandomValues(bytes);
      await store.save({
        bytes,
        mime: "image/png",
        ext: "png",
        width: 64,
        height: 64,
        thumbnail: i % 3 === 0 ? new Uint8Array([1, 2, 3]) : null,
        record: { prompt: `image ${i}`, model: "gpt-image-2", door: "http" },
      });
    }
  } finally {
    kv.close();
  }
}

async function copyTree(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    if (entry.isDirectory) await copyTree(join(from, entry.name), join(to, entry.name));
    else await Deno.copyFile(join(from, entry.name), join(to, entry.name));
  }
}

interface WorkerOutput {
  cleanup: CleanupReport;
  tick: CleanupTick;
}

function runCleanupWorkers(root: string, count: number): Promise<WorkerOutput[]> {
  return runWorkers<WorkerOutput>(worker, (startAt) => [
    "--dir",
    join(root, "images"),
    "--kv",
    join(root, "kv.sqlite3"),
    "--now",
    String(NOW),
    "--tick-at",
    String(startAt + 1_500),
    "--retention-days",
    "20",
    "--max-count",
    "12",
  ], { count, startDelayMs: 2_000 });
}

interface FinalState {
  files: string[];
  records: string[];
  counters: { count: number; bytes: number };
  realBytes: number;
}

async function finalState(root: string): Promise<FinalState> {
  const files: string[] = [];
  for await (const entry of Deno.readDir(join(root, "images"))) files.push(entry.name);
  const kv = await Deno.openKv(join(root, "kv.sqlite3"));
  try {
    const store = createImageStore({ imageStore: "fs", outputDir: join(root, "images") }, { kv });
    const records: string[] = [];
    let realBytes = 0;
    for await (const { record } of store.catalog.scanRecords()) {
      records.push(record.fileName);
      realBytes += (await Deno.stat(join(root, "images", record.fileName))).size;
    }
    const { count, bytes } = await store.catalog.counters();
    return { files: files.sort(), records: records.sort(), counters: { count, bytes }, realBytes };
  } finally {
    kv.close();
  }
}

Deno.test("two processes cleaning up one KV file at the same moment end like a single run", async () => {
  const root = await Deno.makeTempDir({ prefix: "store_cleanup_e2e_" });
  try {
    const shared = join(root, "shared");
    const single = join(root, "single");
    await Deno.mkdir(shared);
    await seed(join(shared, "images"), join(shared, "kv.sqlite3"));
    await copyTree(shared, single);

    const [baseline] = await runCleanupWorkers(single, 1);
    const both = await runCleanupWorkers(shared, 2);

    // No error, no double counting.
    for (const out of both) {
      assert.deepEqual(out.cleanup.errors, []);
      assert.deepEqual(out.cleanup.reconcile.errors, []);
    }
    const deleted = both.flatMap((o) => o.cleanup.deletedFiles).sort();
    assert.equal(new Set(deleted).size, deleted.length, "an image was counted by both");
    assert.deepEqual(deleted, [...baseline.cleanup.deletedFiles].sort());
    assert.equal(
      both.reduce((sum, o) => sum + o.cleanup.filesDeleted, 0),
      baseline.cleanup.filesDeleted,
    );
    assert.equal(
      both.reduce((sum, o) => sum + o.cleanup.spaceFreed, 0),
      baseline.cleanup.spaceFreed,
    );
    // Ages: 20 days keeps the last 40 images; the count limit then keeps the newest 12.
    assert.equal(baseline.cleanup.filesDeleted, IMAGES - 12);

    // The scheduled handler ran in exactly one of the two processes.
    assert.equal(both.filter((o) => o.tick.ran).length, 1);

    // The final state equals a single run's, and the counters equal the real totals.
    const afterBoth = await finalState(shared);
    const afterOne = await finalState(single);
    assert.deepEqual(afterBoth.files, afterOne.files);
    assert.deepEqual(afterBoth.records, afterOne.records);
    assert.deepEqual(afterBoth.counters, afterOne.counters);
    assert.equal(afterBoth.counters.count, 12);
    assert.equal(afterBoth.counters.bytes, afterBoth.realBytes);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
