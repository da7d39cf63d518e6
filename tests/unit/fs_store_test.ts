import assert from "node:assert/strict";
import { join } from "node:path";
import { AppError, ValidationError } from "../../src/errors.ts";
import {
  imageIdTime,
  isImageId,
  newImageId,
  sha256Hex,
  tempFileName,
} from "../../src/images/ids.ts";
import { KEYS } from "../../src/images/kv_keys.ts";
import { prepareImageStore } from "../../src/images/open_store.ts";
import { fakePng, fields, listDir, pngInput, withFsStore } from "./fixtures/image_store_fixture.ts";

Deno.test("image ids are UUIDv7 that sort by creation time and never repeat", () => {
  const ids = Array.from({ length: 5000 }, (_, i) => newImageId(1_700_000_000_000 + (i >> 4)));
  assert.equal(new Set(ids).size, ids.length);
  for (const id of ids) assert.ok(isImageId(id), id);
  assert.deepEqual([...ids].sort(), ids);
  assert.equal(imageIdTime(ids[0]), 1_700_000_000_000);
});

Deno.test("save writes <id>.<ext> with the recorded sha256 and commits the record", async () => {
  await withFsStore(async ({ store, dir, clock }) => {
    const input = pngInput(4096);
    const record = await store.save(input);
    assert.ok(isImageId(record.id));
    assert.equal(record.fileName, `${record.id}.png`);
    assert.equal(record.sha256, await sha256Hex(input.bytes));
    assert.equal(record.bytes, 4096);
    assert.equal(record.created, clock.now());
    assert.equal(record.state, "ready");
    assert.deepEqual(await listDir(dir), [record.fileName]);
    assert.deepEqual(await Deno.readFile(join(dir, record.fileName)), input.bytes);
    const read = await store.read(record.id);
    assert.deepEqual(read?.bytes, input.bytes);
    assert.equal(read?.sha256, record.sha256);
    assert.deepEqual((await store.read(record.fileName))?.record, record);
    assert.equal(await store.has(record.id), true);
  });
});

Deno.test("open streams the same bytes that read returns", async () => {
  await withFsStore(async ({ store }) => {
    const record = await store.save(pngInput(300_000));
    const opened = await store.open(record.id);
    assert.ok(opened);
    const streamed = new Uint8Array(await new Response(opened.stream).arrayBuffer());
    assert.equal(opened.size, 300_000);
    assert.equal(await sha256Hex(streamed), record.sha256);
  });
});

Deno.test("a saved image is the only file it adds to OUTPUT_DIR: thumbnail and record file are private", async () => {
  await withFsStore(async ({ store, dir }) => {
    const thumb = new Uint8Array([82, 73, 70, 70, 1, 2, 3, 4]);
    const record = await store.save(pngInput(1000, { thumbnail: thumb }));
    assert.deepEqual(record.thumbnail, {
      fileName: `${record.id}.thumb.webp`,
      mime: "image/webp",
      bytes: thumb.length,
    });
    assert.deepEqual(await listDir(dir), [record.fileName]);
    assert.deepEqual(await listDir(store.folder.thumbs), [`${record.id}.thumb.webp`]);
    assert.deepEqual(await listDir(store.folder.tmp), []);
    assert.deepEqual(await store.recordFiles.read(record.id), record);
    assert.deepEqual(await store.readThumbnail(record.id), thumb);
  });
});

Deno.test("putThumbnail stores a lazily made thumbnail and records it", async () => {
  await withFsStore(async ({ store }) => {
    const record = await store.save(pngInput());
    assert.equal(await store.readThumbnail(record.id), null);
    const updated = await store.putThumbnail(record.id, new Uint8Array([9, 9, 9]));
    assert.equal(updated?.thumbnail?.bytes, 3);
    assert.deepEqual(await store.readThumbnail(record.id), new Uint8Array([9, 9, 9]));
    assert.equal(await store.putThumbnail(newImageId(), new Uint8Array([1])), null);
  });
});

Deno.test("200 concurrent saves give 200 distinct images and records, and the counters equal the totals", async () => {
  await withFsStore(async ({ store, catalog, dir }) => {
    const inputs = Array.from({ length: 200 }, (_, i) => pngInput(1000 + i));
    const records = await Promise.all(inputs.map((input) => store.save(input)));
    assert.equal(new Set(records.map((r) => r.id)).size, 200);
    const files = await listDir(dir);
    assert.equal(files.length, 200);
    let totalBytes = 0;
    for (const [i, record] of records.entries()) {
      const bytes = await Deno.readFile(join(dir, record.fileName));
      assert.deepEqual(bytes, inputs[i].bytes);
      totalBytes += bytes.length;
    }
    const counters = await catalog.counters();
    assert.equal(counters.count, 200);
    assert.equal(counters.bytes, totalBytes);
    const listed = await catalog.list({ limit: 200 });
    assert.equal(listed.items.length, 200);
  });
});

Deno.test("save refuses a pre-assigned id that is already taken", async () => {
  await withFsStore(async ({ store }) => {
    const id = newImageId();
    await store.save(pngInput(100, { id }));
    await assert.rejects(
      store.save(pngInput(100, { id })),
      (e) => e instanceof AppError && e.kind === "conflict",
    );
  });
});

Deno.test("save validates its input before writing anything", async () => {
  await withFsStore(async ({ store, dir }) => {
    await assert.rejects(store.save(pngInput(100, { ext: "exe" as "png" })), ValidationError);
    await assert.rejects(store.save(pngInput(100, { id: "../../etc" })), ValidationError);
    await assert.rejects(
      store.save(pngInput(100, { record: fields({ door: "smtp" as "http" }) })),
      ValidationError,
    );
    await assert.rejects(store.save(pngInput(100, { bytes: new Uint8Array() })), ValidationError);
    assert.deepEqual(await listDir(dir), []);
  });
});

Deno.test("delete removes the record first, then the bytes, and a second delete finds nothing", async () => {
  await withFsStore(async ({ store, catalog, dir, kv }) => {
    const kept = await store.save(pngInput(500));
    const gone = await store.save(pngInput(700, { thumbnail: new Uint8Array([1, 2]) }));
    const removed = await store.delete(gone.id);
    assert.equal(removed?.id, gone.id);
    assert.equal(await store.delete(gone.id), null);
    assert.equal(await store.get(gone.id), null);
    assert.deepEqual(await listDir(dir), [kept.fileName]);
    assert.deepEqual(await catalog.counters(), {
      count: 1,
      bytes: 500,
      createdSum: kept.created,
    });
    assert.equal((await kv.get(KEYS.tombstone(gone.id))).value, null);
  });
});

const HOSTILE_REFS = [
  "../x",
  "..%2fx",
  "%2e%2e%2fx",
  "..%5cx",
  "/etc/passwd",
  "..",
  ".",
  "",
  "x\0.png",
  "image_1.png\0",
  "..\\x",
  "..\\..\\x.png",
  "C:\\Windows\\x.png",
  "images/../x",
  "./image_1.png",
  "image_1.png/../../x",
  "0190a6e2-4b5c-7d8e-9f00-112233445566/../../x",
  "0190A6E2-4B5C-7D8E-9F00-112233445566",
  ".0190a6e2-4b5c-7d8e-9f00-112233445566.png.tmp/../x",
];

Deno.test("hostile ids never reach a path outside the images directory", async () => {
  await withFsStore(async ({ store, dir, root }) => {
    const outside = join(root, "x");
    await Deno.writeTextFile(outside, "keep me");
    await Deno.writeTextFile(join(root, "x.png"), "keep me too");
    const kept = await store.save(pngInput(100));
    for (const ref of [...HOSTILE_REFS, outside, join(root, "x.png"), join(dir, "..", "x")]) {
      await assert.rejects(store.delete(ref), ValidationError, `delete(${JSON.stringify(ref)})`);
      assert.equal(await store.read(ref), null);
      assert.equal(await store.open(ref), null);
      assert.equal(await store.has(ref), false);
      assert.throws(() => store.pathOf(ref), ValidationError);
    }
    assert.equal(await Deno.readTextFile(outside), "keep me");
    assert.equal(await Deno.readTextFile(join(root, "x.png")), "keep me too");
    assert.deepEqual(await listDir(dir), [kept.fileName]);
    assert.deepEqual((await listDir(root)).sort(), ["images", "x", "x.png"]);
  });
});

Deno.test("a record whose file name was tampered with cannot make delete leave the directory", async () => {
  await withFsStore(async ({ store, root, kv, clock }) => {
    await Deno.writeTextFile(join(root, "secret.png"), "keep me");
    const record = await store.save(pngInput(100));
    // Someone with access to the KV file rewrites the record's file name.
    const entry = await kv.get<Record<string, unknown>>(KEYS.record(record.id));
    await kv.set(KEYS.record(record.id), { ...entry.value, fileName: "../secret.png" });
    clock.advance(1);
    const removed = await store.delete(record.id);
    assert.equal(removed?.id, record.id);
    assert.equal(await Deno.readTextFile(join(root, "secret.png")), "keep me");
  });
});

Deno.test("a file swapped in under an image's name is never served: a link elsewhere, a folder, other bytes", async () => {
  await withFsStore(async ({ store, dir, root }) => {
    const secret = join(root, "secret.txt");
    await Deno.writeTextFile(secret, "not an image of the store's");
    const linked = await store.save(pngInput(700));
    const path = join(dir, linked.fileName);
    await Deno.remove(path);
    await Deno.symlink(secret, path);
    assert.equal(await store.read(linked.id), null);
    assert.equal(await store.open(linked.id), null);
    // Even a link to the very bytes the store wrote is not the store's file.
    const copy = join(root, "copy.png");
    const twin = await store.save(pngInput(500));
    await Deno.rename(join(dir, twin.fileName), copy);
    await Deno.symlink(copy, join(dir, twin.fileName));
    assert.equal(await store.read(twin.id), null);
    const folder = await store.save(pngInput(600));
    await Deno.remove(join(dir, folder.fileName));
    await Deno.mkdir(join(dir, folder.fileName));
    assert.equal(await store.read(folder.id), null);
    const swapped = await store.save(pngInput(900));
    await Deno.writeTextFile(join(dir, swapped.fileName), "the user's own file");
    assert.equal(await store.open(swapped.id), null);
    // An earlier build's thumbnail beside the images: only the recorded one, never a link.
    const thumbed = await store.save(pngInput(400, { thumbnail: new Uint8Array([1, 2, 3]) }));
    await Deno.remove(store.pathOf(thumbed.thumbnail!.fileName));
    await Deno.symlink(secret, join(dir, thumbed.thumbnail!.fileName));
    assert.equal(await store.readThumbnail(thumbed.id), null);
    assert.equal(await Deno.readTextFile(secret), "not an image of the store's");
  });
});

Deno.test("reads complete a rename that a writer committed but did not finish", async () => {
  await withFsStore(async ({ store, dir }) => {
    const record = await store.save(pngInput(800));
    // The state right after the record commit: bytes still under the temporary name.
    await Deno.rename(
      join(dir, record.fileName),
      join(store.folder.tmp, tempFileName(record.fileName)),
    );
    assert.equal(await store.has(record.id), true);
    const read = await store.read(record.id);
    assert.equal(read?.size, 800);
    assert.deepEqual(await listDir(dir), [record.fileName]);
  });
});

Deno.test("predecessor files are adopted with their names, door and creation time", async () => {
  await withFsStore(async ({ store, catalog, dir }) => {
    const png = fakePng(1792, 1024, 6000);
    await Deno.writeFile(join(dir, "image_1700000000000.png"), png);
    await Deno.writeFile(join(dir, "image_1700000005000.png"), fakePng(1024, 1024, 900));
    const first = await prepareImageStore(store);
    assert.deepEqual(first.adoption?.adopted.sort(), [
      "image_1700000000000.png",
      "image_1700000005000.png",
    ]);
    const record = await catalog.getByFileName("image_1700000000000.png");
    assert.ok(record);
    assert.equal(record.door, "adopted");
    assert.equal(record.prompt, "");
    assert.equal(record.created, 1_700_000_000_000);
    assert.equal(record.width, 1792);
    assert.equal(record.height, 1024);
    assert.equal(record.sha256, await sha256Hex(png));
    assert.equal(imageIdTime(record.id), 1_700_000_000_000);
    assert.deepEqual((await store.read("image_1700000000000.png"))?.bytes, png);
    assert.deepEqual((await store.read(record.id))?.bytes, png);
    assert.deepEqual(first.reconcile.legacyUnadopted, []);
    const again = await prepareImageStore(store);
    assert.deepEqual(again.adoption?.adopted, []);
    assert.equal(again.adoption?.alreadyCatalogued, 2);
    assert.equal((await catalog.counters()).count, 2);
    // Deleting an adopted image removes the predecessor file by its own name.
    await store.delete("image_1700000005000.png");
    assert.deepEqual(await listDir(dir), ["image_1700000000000.png"]);
  });
});

Deno.test("two stores adopting the same folder at once catalogue each file once", async () => {
  await withFsStore(async ({ store, catalog, dir }) => {
    for (let i = 0; i < 20; i++) {
      await Deno.writeFile(join(dir, `image_17000000${10000 + i}.png`), fakePng(64, 64, 300));
    }
    const [a, b] = await Promise.all([prepareImageStore(store), prepareImageStore(store)]);
    assert.equal(a.adoption!.adopted.length + b.adoption!.adopted.length, 20);
    assert.equal((await catalog.counters()).count, 20);
  });
});
