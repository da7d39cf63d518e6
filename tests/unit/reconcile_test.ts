import assert from "node:assert/strict";
import { join } from "node:path";
import { buildRecord } from "../../src/images/catalog.ts";
import { newImageId, sha256Hex, tempFileName } from "../../src/images/ids.ts";
import { KEYS } from "../../src/images/kv_keys.ts";
import { reconcile, UNKNOWN_FILE_GRACE_MS } from "../../src/images/reconcile.ts";
import { fakePng, fields, listDir, pngInput, withFsStore } from "./fixtures/image_store_fixture.ts";

async function setMtime(path: string, ms: number): Promise<void> {
  await Deno.utime(path, new Date(ms), new Date(ms));
}

Deno.test("a temporary file without a record is deleted; one with a record is completed", async () => {
  await withFsStore(async ({ store, catalog, dir, clock }) => {
    // Interrupted before the commit: bytes in a temporary file, no record.
    const orphanId = newImageId(clock.now());
    await Deno.writeFile(join(dir, `.${orphanId}.png.tmp`), fakePng(8, 8, 500));
    // Interrupted after the commit: record committed, rename not done.
    const bytes = fakePng(8, 8, 700);
    const id = newImageId(clock.now());
    const record = buildRecord(fields(), {
      id,
      fileName: `${id}.png`,
      mime: "image/png",
      width: 8,
      height: 8,
      bytes: bytes.length,
      sha256: await sha256Hex(bytes),
      created: clock.now(),
    });
    await Deno.writeFile(join(dir, tempFileName(record.fileName)), bytes);
    await catalog.insert(record);

    const report = await reconcile(store);
    assert.deepEqual(report.tempDeleted, [`.${orphanId}.png.tmp`]);
    assert.deepEqual(report.tempCompleted, [tempFileName(record.fileName)]);
    assert.deepEqual(report.recordsDropped, []);
    assert.deepEqual(await listDir(dir), [record.fileName]);
    assert.equal((await store.read(id))?.sha256, record.sha256);
  });
});

Deno.test("a temporary file a live writer holds locked is left alone", async () => {
  await withFsStore(async ({ store, dir }) => {
    const name = `.${newImageId()}.png.tmp`;
    const writer = await Deno.open(join(dir, name), { write: true, createNew: true });
    try {
      await writer.lock(true);
      const report = await reconcile(store);
      assert.deepEqual(report.tempInUse, [name]);
      assert.deepEqual(report.tempDeleted, []);
      assert.deepEqual(await listDir(dir), [name]);
    } finally {
      writer.close();
    }
    // Its writer is gone (the lock went with it): now it is an interrupted write.
    const report = await reconcile(store);
    assert.deepEqual(report.tempDeleted, [name]);
    assert.deepEqual(await listDir(dir), []);
  });
});

Deno.test("records whose bytes are gone are dropped and uncounted", async () => {
  await withFsStore(async ({ store, catalog, dir }) => {
    const kept = await store.save(pngInput(300));
    const lost = await store.save(pngInput(500));
    await Deno.remove(join(dir, lost.fileName));
    const report = await reconcile(store);
    assert.deepEqual(report.recordsDropped, [lost.fileName]);
    assert.equal(report.recordsChecked, 2);
    assert.equal(await catalog.get(lost.id), null);
    assert.deepEqual(await catalog.counters(), {
      count: 1,
      bytes: 300,
      createdSum: kept.created,
    });
    assert.deepEqual((await reconcile(store)).recordsDropped, []);
  });
});

Deno.test("files no record claims are reported, and removed only after the grace period", async () => {
  await withFsStore(async ({ store, dir, clock }) => {
    const kept = await store.save(pngInput(300));
    const now = clock.now();
    const stray = `${newImageId(now)}.png`;
    await Deno.writeFile(join(dir, stray), fakePng(8, 8, 100));
    await Deno.writeTextFile(join(dir, "holiday.jpg"), "not ours");
    await Deno.writeTextFile(join(dir, "kv.sqlite3"), "a database someone put here");
    await Deno.writeFile(join(dir, "image_1690000000000.png"), fakePng(8, 8, 100));
    for (const name of [stray, "holiday.jpg", "kv.sqlite3", "image_1690000000000.png"]) {
      await setMtime(join(dir, name), now - 10 * 60_000);
    }
    const young = await reconcile(store, { now });
    assert.deepEqual(young.unknownFiles.sort(), ["holiday.jpg", "kv.sqlite3", stray].sort());
    assert.deepEqual(young.unknownRemoved, []);
    assert.deepEqual(young.legacyUnadopted, ["image_1690000000000.png"]);

    const old = await reconcile(store, { now: now + UNKNOWN_FILE_GRACE_MS });
    assert.deepEqual(old.unknownRemoved.sort(), ["holiday.jpg", stray].sort());
    // Not image-like: reported, never removed. Predecessor files: adopted, never removed.
    assert.deepEqual(
      await listDir(dir),
      [kept.fileName, "image_1690000000000.png", "kv.sqlite3"].sort(),
    );
  });
});

Deno.test("a delete interrupted between record and bytes is finished from its tombstone", async () => {
  await withFsStore(async ({ store, catalog, dir, kv, clock }) => {
    const record = await store.save(pngInput(400, { thumbnail: new Uint8Array([1, 2, 3]) }));
    // What a crash right after the delete's atomic operation leaves.
    await catalog.remove(record.id, {
      extend: (op) =>
        op.set(KEYS.tombstone(record.id), {
          fileName: record.fileName,
          thumbName: `${record.id}.thumb.webp`,
          at: clock.now(),
        }),
    });
    assert.equal((await listDir(dir)).length, 2);
    const report = await reconcile(store);
    assert.deepEqual(report.tombstonesResolved, [record.fileName]);
    assert.deepEqual(report.unknownFiles, []);
    assert.deepEqual(await listDir(dir), []);
    assert.equal((await kv.get(KEYS.tombstone(record.id))).value, null);
  });
});

Deno.test("a dry run reports and changes nothing", async () => {
  await withFsStore(async ({ store, catalog, dir, clock }) => {
    const lost = await store.save(pngInput(500));
    await Deno.remove(join(dir, lost.fileName));
    const tmp = `.${newImageId()}.png.tmp`;
    await Deno.writeFile(join(dir, tmp), new Uint8Array(10));
    const report = await reconcile(store, { dryRun: true, now: clock.now() + 7 * 86_400_000 });
    assert.deepEqual(report.recordsDropped, [lost.fileName]);
    assert.deepEqual(report.tempDeleted, [tmp]);
    assert.deepEqual(await listDir(dir), [tmp]);
    assert.notEqual(await catalog.get(lost.id), null);
  });
});

Deno.test("reconcile stops at its time budget and says so", async () => {
  await withFsStore(async ({ store }) => {
    for (let i = 0; i < 3; i++) await store.save(pngInput(100));
    const report = await reconcile(store, { budgetMs: -1 });
    assert.equal(report.truncated, true);
    assert.equal(report.recordsChecked, 0);
  });
});

Deno.test("reconcile running beside saves in flight never takes their bytes", async () => {
  await withFsStore(async ({ store, catalog, dir }) => {
    let saving = true;
    const sweeps = (async () => {
      let n = 0;
      while (saving || n === 0) {
        const report = await reconcile(store);
        assert.deepEqual(report.errors, []);
        assert.deepEqual(report.recordsDropped, []);
        n++;
      }
      return n;
    })();
    const inputs = Array.from({ length: 60 }, (_, i) => pngInput(50_000 + i));
    const records = await Promise.all(inputs.map((input) => store.save(input)));
    saving = false;
    assert.ok(await sweeps > 0);
    for (const [i, record] of records.entries()) {
      assert.equal((await store.read(record.id))?.sha256, await sha256Hex(inputs[i].bytes));
    }
    assert.equal((await listDir(dir)).length, 60);
    assert.equal((await catalog.counters()).count, 60);
  });
});
