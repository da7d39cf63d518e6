import assert from "node:assert/strict";
import { join } from "node:path";
import { buildRecord, type CatalogRecord } from "../../src/images/catalog.ts";
import { newImageId, sha256Hex, tempFileName } from "../../src/images/ids.ts";
import { KEYS } from "../../src/images/kv_keys.ts";
import { reconcile } from "../../src/images/reconcile.ts";
import { personalState, writePersonalFiles } from "../support/personal_files.ts";
import { fakePng, fields, listDir, pngInput, withFsStore } from "./fixtures/image_store_fixture.ts";

/** The record of `bytes` as a writer commits it before its file has its final name. */
async function recordOf(bytes: Uint8Array, created: number): Promise<CatalogRecord> {
  const id = newImageId(created);
  return buildRecord(fields(), {
    id,
    fileName: `${id}.png`,
    mime: "image/png",
    width: 8,
    height: 8,
    bytes: bytes.length,
    sha256: await sha256Hex(bytes),
    created,
  });
}

Deno.test("a temporary file without a record is deleted; one with a record is completed", async () => {
  await withFsStore(async ({ store, catalog, dir, clock }) => {
    const tmp = store.folder.tmp;
    // Interrupted before the commit: bytes in a temporary file, no record.
    const orphanId = newImageId(clock.now());
    await Deno.writeFile(join(tmp, `.${orphanId}.png.tmp`), fakePng(8, 8, 500));
    // Interrupted after the commit: record committed, rename not done.
    const bytes = fakePng(8, 8, 700);
    const record = await recordOf(bytes, clock.now());
    const id = record.id;
    await Deno.writeFile(join(tmp, tempFileName(record.fileName)), bytes);
    await catalog.insert(record);

    const report = await reconcile(store);
    assert.deepEqual(report.tempDeleted, [`.${orphanId}.png.tmp`]);
    assert.deepEqual(report.tempCompleted, [tempFileName(record.fileName)]);
    assert.deepEqual(report.recordsDropped, []);
    assert.deepEqual(await listDir(dir), [record.fileName]);
    assert.deepEqual(await listDir(tmp), []);
    assert.equal((await store.read(id))?.sha256, record.sha256);
    assert.equal(report.recordFilesWritten, 1, "the record that had none got its record file");
    assert.equal((await store.recordFiles.read(id))?.sha256, record.sha256);
  });
});

Deno.test("a temporary file a live writer holds locked is left alone", async () => {
  await withFsStore(async ({ store }) => {
    const dir = store.folder.tmp;
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

Deno.test("files the store did not write are reported and never touched, however old", async () => {
  await withFsStore(async ({ store, dir, clock }) => {
    const kept = await store.save(pngInput(300));
    const names = await writePersonalFiles(dir);
    await Deno.writeTextFile(join(dir, "kv.sqlite3"), "a database someone put here");
    await Deno.mkdir(join(dir, "Holidays 2025"));
    await Deno.writeFile(join(dir, "image_1690000000000.png"), fakePng(8, 8, 100));
    const before = await personalState(dir, names);
    for (const days of [0, 1, 400]) {
      const report = await reconcile(store, { now: clock.now() + days * 86_400_000 });
      assert.deepEqual(report.unknownFiles.sort(), [...names, "kv.sqlite3"].sort());
      assert.deepEqual(report.legacyUnadopted, ["image_1690000000000.png"]);
      assert.deepEqual(report.tempDeleted, []);
      assert.deepEqual(report.tempCompleted, []);
    }
    assert.deepEqual(await personalState(dir, names), before);
    assert.deepEqual(
      await listDir(dir),
      [...names, kept.fileName, "Holidays 2025", "image_1690000000000.png", "kv.sqlite3"].sort(),
    );
    assert.deepEqual(await store.unknownFiles(), {
      count: names.length + 1,
      names: [...names, "kv.sqlite3"].sort(),
    });
  });
});

Deno.test("an earlier build's temporary file is completed only when it holds the recorded bytes", async () => {
  await withFsStore(async ({ store, catalog, dir, clock }) => {
    const make = async (bytes: Uint8Array) => {
      const record = await recordOf(bytes, clock.now());
      await catalog.insert(record);
      return record;
    };
    // Committed by an earlier build that kept temporary files beside the images, never renamed.
    const good = await make(fakePng(8, 8, 700, 3));
    await Deno.writeFile(join(dir, tempFileName(good.fileName)), fakePng(8, 8, 700, 3));
    // Same name, other bytes of the same size: not the file the record describes.
    const other = await make(fakePng(8, 8, 600, 1));
    await Deno.writeFile(join(dir, tempFileName(other.fileName)), fakePng(8, 8, 600, 2));
    const report = await reconcile(store);
    assert.deepEqual(report.tempCompleted, [tempFileName(good.fileName)]);
    assert.deepEqual(report.unknownFiles, [tempFileName(other.fileName)]);
    assert.equal((await store.read(good.id))?.sha256, good.sha256);
    assert.deepEqual(await listDir(dir), [good.fileName, tempFileName(other.fileName)].sort());
  });
});

Deno.test("a delete leaves alone a file that is no longer the one the store wrote", async () => {
  await withFsStore(async ({ store, catalog, dir }) => {
    const record = await store.save(pngInput(400));
    // Someone replaced the image with their own picture under the same name.
    await Deno.writeFile(join(dir, record.fileName), fakePng(8, 8, 400, 9));
    assert.notEqual(await store.delete(record.id), null);
    assert.equal(await catalog.get(record.id), null);
    assert.deepEqual(await listDir(dir), [record.fileName]);
    assert.equal(await store.recordFiles.has(record.id), false);
  });
});

Deno.test("a delete interrupted between record and bytes is finished from its tombstone", async () => {
  await withFsStore(async ({ store, catalog, dir, kv, clock }) => {
    const record = await store.save(pngInput(400, { thumbnail: new Uint8Array([1, 2, 3]) }));
    // What a crash right after the delete's atomic operation leaves (an earlier build's
    // tombstone: no size and hash to check).
    await catalog.remove(record.id, {
      extend: (op) =>
        op.set(KEYS.tombstone(record.id), {
          fileName: record.fileName,
          thumbName: `${record.id}.thumb.webp`,
          at: clock.now(),
        }),
    });
    assert.deepEqual(await listDir(dir), [record.fileName]);
    assert.deepEqual(await listDir(store.folder.thumbs), [`${record.id}.thumb.webp`]);
    const report = await reconcile(store);
    assert.deepEqual(report.tombstonesResolved, [record.fileName]);
    assert.deepEqual(report.unknownFiles, []);
    assert.deepEqual(await listDir(dir), []);
    assert.deepEqual(await listDir(store.folder.thumbs), []);
    assert.equal(await store.recordFiles.has(record.id), false);
    assert.equal((await kv.get(KEYS.tombstone(record.id))).value, null);
  });
});

Deno.test("a dry run reports and changes nothing", async () => {
  await withFsStore(async ({ store, catalog, dir, clock }) => {
    const lost = await store.save(pngInput(500));
    await Deno.remove(join(dir, lost.fileName));
    const tmp = `.${newImageId()}.png.tmp`;
    await Deno.writeFile(join(store.folder.tmp, tmp), new Uint8Array(10));
    const report = await reconcile(store, { dryRun: true, now: clock.now() + 7 * 86_400_000 });
    assert.deepEqual(report.recordsDropped, [lost.fileName]);
    assert.deepEqual(report.tempDeleted, [tmp]);
    assert.deepEqual(await listDir(dir), []);
    assert.deepEqual(await listDir(store.folder.tmp), [tmp]);
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
