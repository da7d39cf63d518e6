import assert from "node:assert/strict";
import { join } from "node:path";
import { Catalog } from "../../src/images/catalog.ts";
import { FsImageStore } from "../../src/images/fs_store.ts";
import { rebuildFromRecordFiles } from "../../src/images/rebuild.ts";
import { reconcile } from "../../src/images/reconcile.ts";
import { runCleanup } from "../../src/images/retention.ts";
import { newJobId, sha256Hex } from "../../src/images/ids.ts";
import { createImageStore, prepareImageStore } from "../../src/images/open_store.ts";
import { manualClock } from "../support/pinned_time.ts";
import { fakePng, listDir, pngInput } from "./fixtures/image_store_fixture.ts";

async function withTemp(fn: (root: string) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "store_folder_" });
  try {
    await fn(root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("a lost catalog is rebuilt from the folder's record files, texts and thumbnails included", async () => {
  await withTemp(async (root) => {
    const dir = join(root, "images");
    const clock = manualClock();
    let saved;
    {
      await using kv = await Deno.openKv(join(root, "first.sqlite3"));
      const store = new FsImageStore({ dir, catalog: new Catalog(kv, { now: clock.now }) });
      saved = await store.save(
        pngInput(900, {
          record: { prompt: "waves ".repeat(2000), model: "gpt-image-2", door: "mcp" },
          thumbnail: new Uint8Array([1, 2, 3]),
        }),
      );
    }
    await using fresh = await Deno.openKv(join(root, "second.sqlite3"));
    const store = new FsImageStore({ dir, catalog: new Catalog(fresh, { now: clock.now }) });
    const report = await prepareImageStore(store);
    assert.deepEqual(report.rebuilt?.rebuilt, [saved.fileName]);
    assert.deepEqual(await store.get(saved.id), saved);
    assert.deepEqual(await store.readThumbnail(saved.id), new Uint8Array([1, 2, 3]));
    assert.deepEqual(report.reconcile.unknownFiles, []);
    assert.deepEqual((await rebuildFromRecordFiles(store)).rebuilt, [], "done once");
  });
});

Deno.test("a rebuild drops stale record files and keeps records of files that changed", async () => {
  await withTemp(async (root) => {
    const dir = join(root, "images");
    await using kv = await Deno.openKv(":memory:");
    const store = new FsImageStore({ dir, catalog: new Catalog(kv) });
    const gone = await store.save(pngInput(300));
    const changed = await store.save(pngInput(400));
    await using empty = await Deno.openKv(":memory:");
    const after = new FsImageStore({ dir, catalog: new Catalog(empty) });
    await Deno.remove(join(dir, gone.fileName));
    await Deno.writeFile(join(dir, changed.fileName), fakePng(8, 8, 400, 3));
    const report = await rebuildFromRecordFiles(after);
    assert.deepEqual(report.staleRemoved, [gone.fileName]);
    assert.deepEqual(report.mismatched, [changed.fileName]);
    assert.deepEqual(report.rebuilt, []);
    assert.equal(await after.recordFiles.has(gone.id), false);
    assert.equal(await after.recordFiles.has(changed.id), true);
    assert.deepEqual(await listDir(dir), [changed.fileName], "the changed file is left alone");
  });
});

Deno.test("a record file naming another id's file never makes that file the store's", async () => {
  await withTemp(async (root) => {
    const dir = join(root, "images");
    await using kv = await Deno.openKv(":memory:");
    const store = new FsImageStore({ dir, catalog: new Catalog(kv) });
    await store.ensureDir();
    // A file of the user's that happens to have a store-like name (another tool's UUIDv7 name).
    const photo = fakePng(4, 4, 500, 7);
    const photoName = "0190a000-0000-7000-8000-000000000001.png";
    await Deno.writeFile(join(dir, photoName), photo);
    // A crafted record file under a fresh id that claims the photo with its exact size and hash.
    const template = await store.save(pngInput(200));
    await store.delete(template.id);
    const forgedId = "0190a000-0000-7000-8000-000000000002";
    await Deno.writeTextFile(
      join(store.folder.records, `${forgedId}.json`),
      JSON.stringify({
        ...template,
        id: forgedId,
        fileName: photoName,
        bytes: photo.length,
        sha256: await sha256Hex(photo),
        thumbnail: null,
      }),
    );
    const report = await prepareImageStore(store);
    assert.deepEqual(report.rebuilt?.rebuilt, []);
    assert.deepEqual(report.rebuilt?.mismatched, [photoName]);
    assert.equal(await store.get(forgedId), null);
    assert.deepEqual(report.reconcile.unknownFiles, [photoName]);
    const cleanup = await runCleanup({ store }, { maxCount: 0, deleteAdopted: true });
    assert.deepEqual(cleanup.deletedFiles, []);
    assert.deepEqual(await Deno.readFile(join(dir, photoName)), photo);
  });
});

Deno.test("in a catalog shared by two folders, reconcile never drops the other folder's records", async () => {
  await withTemp(async (root) => {
    await using kv = await Deno.openKv(join(root, "shared.sqlite3"));
    const open = (name: string) =>
      createImageStore({ imageStore: "fs", outputDir: join(root, name) }, {
        kv,
        sharedCatalog: true,
      });
    const a = open("a");
    const b = open("b");
    const inA = await a.save(pngInput(300));
    const inB = await b.save(pngInput(400));
    const fromB = await reconcile(b);
    assert.deepEqual(fromB.recordsDropped, []);
    assert.equal(fromB.recordsElsewhere, 1);
    assert.notEqual(await a.get(inA.id), null);
    // A record does get dropped when its bytes are missing from the folder it names.
    await Deno.remove(join(root, "b", inB.fileName));
    assert.deepEqual((await reconcile(a)).recordsDropped, []);
    assert.deepEqual((await reconcile(b)).recordsDropped, [inB.fileName]);
  });
});

Deno.test("a shared catalog's records from before folders were named are claimed where their bytes are", async () => {
  await withTemp(async (root) => {
    await using kv = await Deno.openKv(":memory:");
    // Written by an earlier build: the record names no folder.
    const earlier = new FsImageStore({ dir: join(root, "a"), catalog: new Catalog(kv) });
    const old = await earlier.save(pngInput(300));
    const b = createImageStore({ imageStore: "fs", outputDir: join(root, "b") }, {
      kv,
      sharedCatalog: true,
    });
    const fromB = await reconcile(b);
    assert.deepEqual(fromB.recordsDropped, [], "not in b, but maybe another folder's: kept");
    assert.equal(fromB.recordsElsewhere, 1);
    const a = createImageStore({ imageStore: "fs", outputDir: join(root, "a") }, {
      kv,
      sharedCatalog: true,
    });
    assert.equal((await reconcile(a)).recordsChecked, 1);
    for await (const scanned of a.catalog.scanRecords()) {
      assert.equal(scanned.folder, join(root, "a"), "claimed by the folder holding its bytes");
    }
    assert.equal((await reconcile(b)).recordsElsewhere, 1);
    assert.notEqual(await a.get(old.id), null);
  });
});

Deno.test("jobs live in the configured KV while records live in the folder's catalog", async () => {
  await withTemp(async (root) => {
    await using folderKv = await Deno.openKv(":memory:");
    await using configured = await Deno.openKv(":memory:");
    const store = createImageStore({ imageStore: "fs", outputDir: join(root, "images") }, {
      kv: folderKv,
      jobsKv: configured,
    });
    const jobId = newJobId();
    await store.catalog.createJob(jobId, { prompt: "p", model: "gpt-image-2", door: "cli" });
    const saved = await store.save(pngInput(200));
    assert.equal((await new Catalog(configured).getJob(jobId))?.state, "pending");
    assert.equal(await new Catalog(folderKv).getJob(jobId), null);
    assert.equal(await new Catalog(configured).get(saved.id), null);
    assert.notEqual(await new Catalog(folderKv).get(saved.id), null);
  });
});

Deno.test("a read-only store over a scratch catalog adopts, rebuilds and reports without writing", async () => {
  await withTemp(async (root) => {
    const dir = join(root, "images");
    await Deno.mkdir(dir);
    await Deno.writeFile(join(dir, "image_1700000000000.png"), fakePng(8, 8, 300, 1));
    await using kv = await Deno.openKv(":memory:");
    const store = new FsImageStore({ dir, catalog: new Catalog(kv), readOnly: true });
    const report = await prepareImageStore(store);
    assert.deepEqual(report.adoption?.adopted, ["image_1700000000000.png"]);
    assert.deepEqual(await listDir(root), ["images"]);
    assert.deepEqual(
      [...Deno.readDirSync(dir)].map((e) => e.name),
      ["image_1700000000000.png"],
      "no private folder, no record file",
    );
    await assert.rejects(store.save(pngInput(100)), /read-only/);
  });
});

Deno.test("unknown files are counted in full and named up to the first 100, sorted", async () => {
  await withTemp(async (root) => {
    await using kv = await Deno.openKv(":memory:");
    const store = new FsImageStore({ dir: root, catalog: new Catalog(kv) });
    for (let i = 104; i >= 0; i--) {
      await Deno.writeTextFile(join(root, `note-${String(i).padStart(3, "0")}.txt`), "mine");
    }
    const unknown = await store.unknownFiles();
    assert.equal(unknown.count, 105);
    assert.equal(unknown.names.length, 100);
    assert.equal(unknown.names[0], "note-000.txt");
    assert.equal(unknown.names[99], "note-099.txt");
  });
});
