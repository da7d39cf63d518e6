import assert from "node:assert/strict";
import { newImageId, sha256Hex } from "../../src/images/ids.ts";
import { AppError } from "../../src/errors.ts";
import { type BlobPart, KEYS } from "../../src/images/kv_keys.ts";
import { CHUNK_BYTES, KvImageStore, PENDING_LEASE_MS } from "../../src/images/kv_store.ts";
import { reconcile } from "../../src/images/reconcile.ts";
import { fakePng, pngInput, withKvStore } from "./fixtures/image_store_fixture.ts";

async function keysUnder(kv: Deno.Kv, prefix: Deno.KvKey): Promise<Deno.KvKey[]> {
  const keys: Deno.KvKey[] = [];
  for await (const entry of kv.list({ prefix })) keys.push(entry.key);
  return keys;
}

Deno.test("an 8 MB image makes a byte-identical round trip through KV blobs", async () => {
  await withKvStore(async ({ store, kv }) => {
    const bytes = fakePng(4096, 4096, 8 * 1024 * 1024 + 123);
    const record = await store.save(pngInput(0, { bytes, width: 4096, height: 4096 }));
    assert.equal(record.bytes, bytes.length);
    const read = await store.read(record.id);
    assert.ok(read);
    assert.equal(read.size, bytes.length);
    assert.ok(read.bytes.every((b, i) => b === bytes[i]), "bytes identical");
    assert.equal(await sha256Hex(read.bytes), record.sha256);
    const opened = await store.open(record.fileName);
    assert.ok(opened);
    const streamed = new Uint8Array(await new Response(opened.stream).arrayBuffer());
    assert.equal(await sha256Hex(streamed), record.sha256);
    // Every chunk fits a KV value.
    let chunks = 0;
    for await (const entry of kv.list<Uint8Array>({ prefix: KEYS.blobChunks(record.id) })) {
      assert.ok(entry.value.length <= CHUNK_BYTES && entry.value.length < 65_536);
      chunks++;
    }
    assert.equal(chunks, Math.ceil(bytes.length / CHUNK_BYTES));
  });
});

Deno.test("an interrupted KV write is invisible and collected once its lease has passed", async () => {
  await withKvStore(async ({ store, catalog, kv, clock }) => {
    const kept = await store.save(pngInput(70_000));
    // Steps 1 and 2 of the write protocol, then the process dies: no manifest, no record.
    const id = newImageId(clock.now());
    const bytes = fakePng(512, 512, 300_000);
    const chunks = Math.ceil(bytes.length / CHUNK_BYTES);
    await store.beginWrite(id, chunks);
    await store.writeChunks(id, "image", bytes);
    await store.writeChunks(id, "thumb", new Uint8Array(100));
    assert.equal((await keysUnder(kv, KEYS.blobChunks(id))).length, chunks + 1);

    assert.equal(await store.get(id), null);
    assert.equal(await store.read(id), null);
    assert.equal(await store.open(id), null);
    assert.equal(await store.has(id), false);
    assert.equal(await store.readThumbnail(id), null);
    assert.deepEqual((await catalog.list()).items.map((r) => r.id), [kept.id]);
    assert.equal((await catalog.counters()).count, 1);

    const early = await reconcile(store, { now: clock.now() + 1000 });
    assert.deepEqual(early.tempInUse, [id]);
    assert.equal((await keysUnder(kv, KEYS.blobChunks(id))).length, chunks + 1);

    const late = await reconcile(store, { now: clock.now() + PENDING_LEASE_MS + 1 });
    assert.deepEqual(late.tempDeleted, [id]);
    assert.deepEqual(await keysUnder(kv, KEYS.blobChunks(id)), []);
    assert.equal((await kv.get(KEYS.blobPending(id))).value, null);
    assert.equal((await store.read(kept.id))?.size, 70_000);
  });
});

Deno.test("a writer whose lease was collected cannot make its image visible", async () => {
  await withKvStore(async ({ catalog, kv, clock }) => {
    // A writer so slow that reconcile collects its chunks before it commits the manifest.
    class SlowStore extends KvImageStore {
      override async writeChunks(id: string, part: BlobPart, bytes: Uint8Array) {
        await super.writeChunks(id, part, bytes);
        await reconcile(this, { now: clock.now() + PENDING_LEASE_MS + 1 });
      }
    }
    const store = new SlowStore({ catalog });
    const id = newImageId(clock.now());
    await assert.rejects(
      store.save(pngInput(100_000, { id })),
      (e) => e instanceof AppError && e.kind === "conflict",
    );
    assert.equal(await store.get(id), null);
    assert.equal(await store.read(id), null);
    assert.equal((await kv.get(KEYS.blobManifest(id))).value, null);
    assert.deepEqual(await keysUnder(kv, KEYS.blobChunks(id)), []);
    assert.equal((await catalog.counters()).count, 0);
  });
});

Deno.test("deleting a KV image removes record, manifest and every chunk", async () => {
  await withKvStore(async ({ store, catalog, kv }) => {
    const record = await store.save(pngInput(200_000, { thumbnail: new Uint8Array(70_000) }));
    assert.equal((await store.readThumbnail(record.id))?.length, 70_000);
    const removed = await store.delete(record.id);
    assert.equal(removed?.id, record.id);
    assert.equal(await store.delete(record.id), null);
    assert.deepEqual(await keysUnder(kv, KEYS.blobChunks(record.id)), []);
    assert.equal((await kv.get(KEYS.blobManifest(record.id))).value, null);
    assert.equal((await kv.get(KEYS.blobPending(record.id))).value, null);
    assert.deepEqual(await catalog.counters(), { count: 0, bytes: 0, createdSum: 0 });
  });
});

Deno.test("a delete interrupted after its record commit is finished by reconcile", async () => {
  await withKvStore(async ({ store, kv }) => {
    const record = await store.save(pngInput(150_000));
    // The state a crash leaves between the delete's atomic operation and the chunk removal.
    await store.catalog.remove(record.id, {
      extend: (op) =>
        op.delete(KEYS.blobManifest(record.id)).set(KEYS.blobPending(record.id), {
          reason: "deleting",
          deadline: 0,
          chunks: 3,
        }),
    });
    assert.equal((await keysUnder(kv, KEYS.blobChunks(record.id))).length, 3);
    await reconcile(store);
    assert.deepEqual(await keysUnder(kv, KEYS.blobChunks(record.id)), []);
    assert.equal((await kv.get(KEYS.blobPending(record.id))).value, null);
  });
});

Deno.test("putThumbnail adds a thumbnail blob once and keeps the first", async () => {
  await withKvStore(async ({ store }) => {
    const record = await store.save(pngInput(1000));
    assert.equal(await store.readThumbnail(record.id), null);
    const updated = await store.putThumbnail(record.id, new Uint8Array([1, 2, 3]));
    assert.equal(updated?.thumbnail?.fileName, `${record.id}.thumb.webp`);
    await store.putThumbnail(record.id, new Uint8Array([4, 5]));
    assert.deepEqual(await store.readThumbnail(record.id), new Uint8Array([1, 2, 3]));
    assert.equal(await store.putThumbnail(newImageId(), new Uint8Array([1])), null);
  });
});

Deno.test("concurrent KV saves give distinct images and exact counters", async () => {
  await withKvStore(async ({ store, catalog }) => {
    const inputs = Array.from({ length: 40 }, (_, i) => pngInput(61_000 + i));
    const records = await Promise.all(inputs.map((input) => store.save(input)));
    assert.equal(new Set(records.map((r) => r.id)).size, 40);
    const counters = await catalog.counters();
    assert.equal(counters.count, 40);
    assert.equal(counters.bytes, inputs.reduce((sum, i) => sum + i.bytes.length, 0));
    for (const [i, record] of records.entries()) {
      assert.equal((await store.read(record.id))?.sha256, await sha256Hex(inputs[i].bytes));
    }
  });
});
