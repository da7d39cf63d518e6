import assert from "node:assert/strict";
import { join } from "node:path";
import { AppError } from "../../src/errors.ts";
import { newImageId, sha256Hex } from "../../src/images/ids.ts";
import { DirSync } from "../../src/images/dir_sync.ts";
import { verifyImageParts } from "../../src/images/codec.ts";
import { decodeImagesResponse } from "../../src/generation/response_stream.ts";
import type { StagedImage } from "../../src/images/store.ts";
import { eventually } from "../support/eventually.ts";
import { fakePng, fields, listDir, withFsStore } from "./fixtures/image_store_fixture.ts";

/** Writes `bytes` to `staged` in pieces of `piece` bytes, as a streamed answer would. */
async function writeInPieces(staged: StagedImage, bytes: Uint8Array, piece: number) {
  for (let at = 0; at < bytes.length; at += piece) {
    const part = bytes.subarray(at, at + piece);
    staged.space(part.length).set(part);
    await staged.wrote(part.length);
  }
}

Deno.test("a staged image written in pieces is saved whole, hashed as it was written", async () => {
  await withFsStore(async ({ store, dir }) => {
    const bytes = fakePng(640, 480, 200_003, 7);
    const id = newImageId(Date.UTC(2026, 0, 1));
    const staged = await store.stage(id, "png");
    await writeInPieces(staged, bytes, 4099);
    assert.deepEqual(await listDir(dir), [], "nothing is visible before the save");
    assert.equal(await store.get(id), null);
    const written = await staged.finish();
    assert.equal(written.size, bytes.length);
    assert.equal(written.sha256, await sha256Hex(bytes));
    assert.deepEqual(written.tail, bytes.subarray(bytes.length - 16));
    assert.deepEqual(written.head, bytes.subarray(0, 64 * 1024));
    const record = await staged.save({
      mime: "image/png",
      width: 640,
      height: 480,
      record: fields(),
    });
    assert.equal(record.id, id);
    assert.equal(record.bytes, bytes.length);
    assert.equal(record.sha256, await sha256Hex(bytes));
    assert.deepEqual(await Deno.readFile(join(dir, record.fileName)), bytes);
    assert.deepEqual((await store.read(id))?.record, record);
    await staged.discard();
    assert.deepEqual(await listDir(dir), [record.fileName], "discard after save keeps the image");
  });
});

Deno.test("pieces of any size, smaller or larger than a write batch, make the same file", async () => {
  await withFsStore(async ({ store, dir }) => {
    const bytes = fakePng(1024, 1024, 900_007, 3);
    for (const piece of [1, 49_152, 65_536, 300_001, 1 << 20]) {
      const staged = await store.stage(newImageId(Date.UTC(2026, 0, 1, 0, 0, piece % 60)), "png");
      // One byte at a time is slow: write the first 2,000 bytes singly, the rest in 4 KB pieces.
      if (piece === 1) {
        await writeInPieces(staged, bytes.subarray(0, 2000), 1);
        await writeInPieces(staged, bytes.subarray(2000), 4096);
      } else {
        await writeInPieces(staged, bytes, piece);
      }
      const written = await staged.finish();
      assert.equal(written.size, bytes.length, `piece ${piece}`);
      assert.equal(written.sha256, await sha256Hex(bytes), `piece ${piece}`);
      assert.deepEqual(written.head, bytes.subarray(0, 64 * 1024), `piece ${piece}`);
      assert.deepEqual(written.tail, bytes.subarray(bytes.length - 16), `piece ${piece}`);
      const record = await staged.save({
        mime: "image/png",
        width: 1024,
        height: 1024,
        record: fields(),
      });
      assert.deepEqual(await Deno.readFile(join(dir, record.fileName)), bytes, `piece ${piece}`);
    }
  });
});

Deno.test("a discarded staged image leaves no file and no record; its id stays free", async () => {
  await withFsStore(async ({ store, dir }) => {
    const id = newImageId(Date.UTC(2026, 0, 1));
    const staged = await store.stage(id, "png");
    await writeInPieces(staged, fakePng(10, 10, 5000), 1000);
    await staged.discard();
    assert.deepEqual(await listDir(dir), []);
    assert.deepEqual(await listDir(store.folder.tmp), []);
    assert.equal(await store.get(id), null);
    await assert.rejects(
      staged.save({ mime: "image/png", width: 10, height: 10, record: fields() }),
      TypeError,
    );
    const again = await store.stage(id, "png");
    await again.discard();
  });
});

Deno.test("staging an id that is taken or already being written is a conflict", async () => {
  await withFsStore(async ({ store }) => {
    const id = newImageId(Date.UTC(2026, 0, 1));
    const first = await store.stage(id, "png");
    await assert.rejects(
      store.stage(id, "png"),
      (e) => e instanceof AppError && e.kind === "conflict",
    );
    await writeInPieces(first, fakePng(10, 10, 3000), 3000);
    await first.save({ mime: "image/png", width: 10, height: 10, record: fields() });
    await assert.rejects(
      store.stage(id, "png"),
      (e) => e instanceof AppError && e.kind === "conflict",
    );
  });
});

Deno.test("an Images API answer decodes into the sink given for each image", async () => {
  const image = Uint8Array.from({ length: 70_001 }, (_, i) => (i * 31) % 256);
  const body = new TextEncoder().encode(
    JSON.stringify({ data: [{ b64_json: image.toBase64() }, { b64_json: "AAEC" }] }),
  );
  const received: Uint8Array<ArrayBuffer>[] = [];
  const sink = {
    buffer: new Uint8Array(0),
    space(size: number) {
      this.buffer = new Uint8Array(size);
      return this.buffer;
    },
    wrote(length: number) {
      received.push(this.buffer.slice(0, length));
      return Promise.resolve();
    },
  };
  let at = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= body.length) return controller.close();
      controller.enqueue(body.slice(at, at + 1021));
      at += 1021;
    },
  });
  const decoded = await decodeImagesResponse(stream, {
    sinkFor: (index) => index === 0 ? sink : undefined,
  });
  assert.equal(decoded.images[0], sink);
  assert.ok(received.length > 1, "the bytes arrive in several pieces");
  assert.deepEqual(new Uint8Array(await new Blob(received).arrayBuffer()), image);
  assert.deepEqual(decoded.images[1], new Uint8Array([0, 1, 2]), "no sink: kept in memory");
});

Deno.test("an image is verified from its head, tail and size alone", () => {
  const png = fakePng(320, 200, 100_000);
  const parts = {
    head: png.subarray(0, 64),
    tail: png.subarray(png.length - 16),
    size: png.length,
  };
  assert.deepEqual(verifyImageParts(parts, { format: "png" }), {
    format: "png",
    mime: "image/png",
    width: 320,
    height: 200,
  });
  const cut = { ...parts, tail: png.subarray(png.length - 30, png.length - 14) };
  assert.throws(() => verifyImageParts(cut, { format: "png" }), /truncated/);
  assert.throws(() => verifyImageParts(parts, { format: "jpeg" }), /PNG data where JPEG/);
});

Deno.test("directory fsyncs are shared: callers join the next sync that starts after their call", async () => {
  const started: number[] = [];
  const release: (() => void)[] = [];
  const sync = new DirSync("/nowhere", () => {
    started.push(started.length);
    return new Promise<void>((resolve) => release.push(resolve));
  });
  const first = sync.sync();
  const joiners = [sync.sync(), sync.sync(), sync.sync()];
  assert.equal(started.length, 1, "a sync already running is not joined");
  release[0]();
  await first;
  await eventually(() => started.length >= 2, "the next sync to start");
  assert.equal(started.length, 2, "the three later callers share one sync");
  release[1]();
  await Promise.all(joiners);
  assert.equal(started.length, 2);
  const later = sync.sync();
  assert.equal(started.length, 3, "with none running, a sync starts at once");
  release[2]();
  await later;
});
