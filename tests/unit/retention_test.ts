import assert from "node:assert/strict";
import { join } from "node:path";
import type { CatalogRecord } from "../../src/images/catalog.ts";
import {
  claimCleanupRun,
  type CleanupSettings,
  type CleanupTick,
  createCleanupHandler,
  lastCleanupRun,
  registerCleanupCron,
  runCleanup,
  startCleanupTimer,
} from "../../src/images/retention.ts";
import { adoptPredecessorFiles } from "../../src/images/adopt.ts";
import {
  fakePng,
  type FsStoreContext,
  listDir,
  pngInput,
  withFsStore,
} from "./fixtures/image_store_fixture.ts";
import { manualClock } from "../support/pinned_time.ts";

const DAY = 86_400_000;
const HOUR = 3_600_000;
const START = Date.UTC(2026, 0, 1);

/** Saves one image per day, oldest first, sizes 1000, 2000, … bytes. */
async function seed(ctx: FsStoreContext, days: number): Promise<CatalogRecord[]> {
  const records: CatalogRecord[] = [];
  for (let i = 0; i < days; i++) {
    ctx.clock.set(START + i * DAY);
    records.push(await ctx.store.save(pngInput(1000 * (i + 1))));
  }
  return records;
}

function settings(overrides: Partial<CleanupSettings> = {}): CleanupSettings {
  return {
    cleanupEnabled: true,
    retentionDays: 7,
    maxImageCount: undefined,
    maxImageBytes: undefined,
    cleanupIntervalHours: 24,
    ...overrides,
  };
}

Deno.test("cleanup deletes images older than the retention period", async () => {
  await withFsStore(async (ctx) => {
    const records = await seed(ctx, 10);
    const now = START + 10 * DAY;
    const report = await runCleanup({ store: ctx.store }, { now, retentionDays: 7 });
    // Created on days 0, 1, 2 (ages 10, 9, 8 days) are older than 7 days; day 3 is exactly 7.
    assert.deepEqual(report.deletedFiles, records.slice(0, 3).map((r) => r.fileName));
    assert.equal(report.filesScanned, 10);
    assert.equal(report.filesDeleted, 3);
    assert.equal(report.spaceFreed, 1000 + 2000 + 3000);
    assert.deepEqual(report.errors, []);
    assert.equal(report.dryRun, false);
    assert.deepEqual(await listDir(ctx.dir), records.slice(3).map((r) => r.fileName).sort());
    assert.equal((await ctx.catalog.counters()).count, 7);
  });
});

Deno.test("adopted predecessor files are deleted by the policy only when cleanup is enabled", async () => {
  await withFsStore(async (ctx) => {
    const legacy = "image_1700000000000.png";
    const bytes = fakePng(64, 64, 900, 5);
    await Deno.writeFile(join(ctx.dir, legacy), bytes);
    assert.deepEqual((await adoptPredecessorFiles(ctx.store)).adopted, [legacy]);
    const records = await seed(ctx, 2);
    const now = START + 30 * DAY;
    const off = await runCleanup({ store: ctx.store }, { now, retentionDays: 7 });
    assert.deepEqual(off.deletedFiles, records.map((r) => r.fileName));
    assert.equal(off.adoptedKept, 1);
    assert.equal(off.filesScanned, 3);
    // Adoption only read it: the file is the person's bytes, in place.
    assert.deepEqual(await Deno.readFile(join(ctx.dir, legacy)), bytes);
    const on = await runCleanup({ store: ctx.store }, {
      now,
      retentionDays: 7,
      deleteAdopted: true,
    });
    assert.deepEqual(on.deletedFiles, [legacy]);
    assert.equal(on.adoptedKept, 0);
    assert.deepEqual(await listDir(ctx.dir), []);
  });
});

Deno.test("cleanup keeps the newest images when more than the maximum count are kept", async () => {
  await withFsStore(async (ctx) => {
    const records = await seed(ctx, 6);
    const report = await runCleanup({ store: ctx.store }, {
      now: START + 6 * DAY,
      retentionDays: 0,
      maxCount: 4,
    });
    assert.deepEqual(report.deletedFiles, [records[0].fileName, records[1].fileName]);
    assert.equal((await ctx.catalog.counters()).count, 4);
  });
});

Deno.test("cleanup deletes the oldest images until the total fits the byte limit", async () => {
  await withFsStore(async (ctx) => {
    const records = await seed(ctx, 5); // 1000 + 2000 + 3000 + 4000 + 5000 = 15000 bytes
    const report = await runCleanup({ store: ctx.store }, {
      now: START + 5 * DAY,
      maxBytes: 9500,
    });
    assert.deepEqual(report.deletedFiles, records.slice(0, 3).map((r) => r.fileName));
    assert.equal(report.spaceFreed, 6000);
    assert.equal((await ctx.catalog.counters()).bytes, 9000);
  });
});

Deno.test("a dry run reports what would be deleted and deletes nothing", async () => {
  await withFsStore(async (ctx) => {
    const records = await seed(ctx, 10);
    const before = await listDir(ctx.dir);
    const report = await runCleanup({ store: ctx.store }, {
      now: START + 10 * DAY,
      retentionDays: 7,
      maxCount: 5,
      dryRun: true,
    });
    assert.equal(report.dryRun, true);
    assert.deepEqual(report.deletedFiles, records.slice(0, 5).map((r) => r.fileName));
    assert.equal(report.spaceFreed, 15_000);
    assert.deepEqual(await listDir(ctx.dir), before);
    assert.equal((await ctx.catalog.counters()).count, 10);
  });
});

Deno.test("cleanup with no limits keeps everything", async () => {
  await withFsStore(async (ctx) => {
    await seed(ctx, 3);
    const report = await runCleanup({ store: ctx.store }, { now: START + 1000 * DAY });
    assert.equal(report.filesDeleted, 0);
    assert.equal(report.filesScanned, 3);
  });
});

Deno.test("cleanup runs reconcile first and reports it", async () => {
  await withFsStore(async (ctx) => {
    const [lost] = await seed(ctx, 2);
    await Deno.remove(join(ctx.dir, lost.fileName));
    const report = await runCleanup({ store: ctx.store }, { now: START + 2 * DAY });
    assert.deepEqual(report.reconcile.recordsDropped, [lost.fileName]);
    assert.equal(report.filesScanned, 1);
  });
});

Deno.test("concurrent cleanups of one store delete each image once and end like a single run", async () => {
  await withFsStore(async (ctx) => {
    const records = await seed(ctx, 12);
    const options = { now: START + 12 * DAY, retentionDays: 5, maxCount: 4 };
    const reports = await Promise.all([
      runCleanup({ store: ctx.store }, options),
      runCleanup({ store: ctx.store }, options),
      runCleanup({ store: ctx.store }, options),
    ]);
    const deleted = reports.flatMap((r) => r.deletedFiles).sort();
    assert.deepEqual(deleted, records.slice(0, 8).map((r) => r.fileName).sort());
    for (const report of reports) assert.deepEqual(report.errors, []);
    const counters = await ctx.catalog.counters();
    assert.equal(counters.count, 4);
    assert.equal(counters.bytes, 9000 + 10_000 + 11_000 + 12_000);
    assert.deepEqual(await listDir(ctx.dir), records.slice(8).map((r) => r.fileName).sort());
  });
});

Deno.test("the scheduled handler does nothing while cleanup is disabled", async () => {
  await withFsStore(async (ctx) => {
    await seed(ctx, 10);
    const handler = createCleanupHandler({
      store: ctx.store,
      settings: settings({ cleanupEnabled: false }),
      now: () => START + 30 * DAY,
    });
    assert.deepEqual(await handler(), { ran: false, reason: "disabled" });
    assert.equal((await ctx.catalog.counters()).count, 10);
    assert.equal(await lastCleanupRun(ctx.kv), null);
  });
});

Deno.test("the scheduled handler runs once per interval across instances", async () => {
  await withFsStore(async (ctx) => {
    await seed(ctx, 10);
    const clock = manualClock(START + 10 * DAY);
    const make = (instanceId: string) =>
      createCleanupHandler({
        store: ctx.store,
        settings: settings({ cleanupIntervalHours: 6 }),
        now: clock.now,
        instanceId,
      });
    const a = make("a");
    const b = make("b");
    const first = await Promise.all([a(), b()]);
    assert.equal(first.filter((t) => t.ran).length, 1);
    const ran = first.find((t): t is Extract<CleanupTick, { ran: true }> => t.ran)!;
    assert.equal(ran.report.filesDeleted, 3);
    clock.advance(HOUR); // the hourly cron fires again: not due yet
    assert.deepEqual(await a(), { ran: false, reason: "not_due" });
    assert.deepEqual(await b(), { ran: false, reason: "not_due" });
    clock.advance(5 * HOUR - 1000); // six hours after the run, give or take the cron's drift
    const later = await Promise.all([b(), a()]);
    assert.equal(later.filter((t) => t.ran).length, 1);
    assert.equal((await lastCleanupRun(ctx.kv))?.at, clock.now());
  });
});

Deno.test("an interval shorter than the hourly schedule runs on every tick", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    let now = START;
    const claim = () => claimCleanupRun(kv, { now, intervalMs: 0.25 * HOUR, by: "x" });
    assert.equal(await claim(), true);
    now += HOUR;
    assert.equal(await claim(), true);
    now += 60_000;
    assert.equal(await claim(), false);
  } finally {
    kv.close();
  }
});

Deno.test("the stdio cleanup timer ticks without keeping the process alive and stops when disposed", async () => {
  await withFsStore(async (ctx) => {
    await seed(ctx, 10);
    const ticked = Promise.withResolvers<CleanupTick>();
    // The timer is unref'd, so on its own it would let the event loop finish before it fires.
    const keepAlive = setTimeout(() => {}, 20_000);
    try {
      using _timer = startCleanupTimer({
        store: ctx.store,
        settings: settings(),
        now: () => START + 10 * DAY,
        firstDelayMs: 0,
        onTick: ticked.resolve,
      });
      const tick = await ticked.promise;
      assert.equal(tick.ran, true);
    } finally {
      clearTimeout(keepAlive);
    }
    assert.equal((await ctx.catalog.counters()).count, 7);
  });
});

Deno.test("registerCleanupCron registers one hourly cron and hands back its handler", async () => {
  await withFsStore(async (ctx) => {
    const controller = new AbortController();
    try {
      const handler = registerCleanupCron({
        store: ctx.store,
        settings: settings({ cleanupEnabled: false }),
        signal: controller.signal,
      });
      // A second registration under the same name is refused: the first one is live.
      assert.throws(
        () =>
          registerCleanupCron({
            store: ctx.store,
            settings: settings(),
            signal: controller.signal,
          }),
        /already/i,
      );
      assert.deepEqual(await handler(), { ran: false, reason: "disabled" });
    } finally {
      controller.abort();
    }
  });
});
