import assert from "node:assert/strict";
import { join } from "node:path";
import { PRIVATE_DIR_NAME, storeFolder } from "../../src/images/folder.ts";
import { classifyFileName, sha256Hex } from "../../src/images/ids.ts";
import { createImageStore, prepareImageStore } from "../../src/images/open_store.ts";

const burst = new URL("./fixtures/image_save_burst.ts", import.meta.url).pathname;
const config = new URL("../../deno.json", import.meta.url).pathname;

/** Splits a text stream into lines. */
function lineSplitter(): TransformStream<string, string> {
  let rest = "";
  return new TransformStream({
    transform(chunk, controller) {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop() ?? "";
      for (const line of parts) controller.enqueue(line);
    },
    flush(controller) {
      if (rest !== "") controller.enqueue(rest);
    },
  });
}

/** Starts a saving process, waits until it has committed `atLeast` images, then SIGKILLs it. */
async function killMidBurst(dir: string, kvPath: string, atLeast: number): Promise<string[]> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--config",
      config,
      "-P=test",
      burst,
      "--dir",
      dir,
      "--kv",
      kvPath,
      "--concurrency",
      "8",
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const committed: string[] = [];
  const lines = child.stdout
    .pipeThrough(new TextDecoderStream())
    .pipeThrough(lineSplitter());
  const reader = lines.getReader();
  const guard = setTimeout(() => child.kill("SIGKILL"), 20_000);
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      if (value === "ready") continue;
      committed.push(value.split(" ")[0]);
      if (committed.length >= atLeast) break;
    }
    child.kill("SIGKILL");
  } finally {
    clearTimeout(guard);
    await reader.cancel();
  }
  const status = await child.status;
  assert.equal(status.signal, "SIGKILL", await stderr);
  await stderr;
  return committed;
}

Deno.test("after a SIGKILL mid-burst and a restart, every record has its bytes and every file its record", async () => {
  const root = await Deno.makeTempDir({ prefix: "store_kill_" });
  try {
    const dir = join(root, "images");
    const kvPath = join(root, "kv.sqlite3");
    const committed: string[] = [];
    let resolvedLeftovers = 0;
    for (let round = 0; round < 3; round++) {
      committed.push(...await killMidBurst(dir, kvPath, 10 + round * 5));

      // The restart: open the same KV file and directory, run start-up (reconcile).
      const kv = await Deno.openKv(kvPath);
      try {
        const store = createImageStore({ imageStore: "fs", outputDir: dir }, { kv });
        const startup = await prepareImageStore(store);
        const r = startup.reconcile;
        assert.equal(r.truncated, false);
        assert.deepEqual(r.errors, []);
        assert.deepEqual(r.tempInUse, []);
        resolvedLeftovers += r.tempCompleted.length + r.tempDeleted.length;

        // Every record has readable bytes with the recorded sha256.
        let count = 0;
        let bytes = 0;
        const claimed = new Set<string>();
        for await (const { record } of store.catalog.scanRecords()) {
          const read = await store.read(record.id);
          assert.ok(read, `bytes of ${record.fileName}`);
          assert.equal(await sha256Hex(read.bytes), record.sha256, record.fileName);
          assert.deepEqual(await store.readThumbnail(record.id) !== null, true);
          claimed.add(record.fileName);
          if (record.thumbnail) claimed.add(record.thumbnail.fileName);
          count++;
          bytes += read.size;
        }
        // Every image file and thumbnail has a record, and no temporary file remains.
        const folder = storeFolder(dir);
        for (const place of [dir, folder.thumbs, folder.tmp]) {
          for await (const entry of Deno.readDir(place)) {
            if (place === dir && entry.name === PRIVATE_DIR_NAME) continue;
            assert.notEqual(classifyFileName(entry.name).kind, "temp", entry.name);
            assert.ok(claimed.has(entry.name), `record of ${entry.name}`);
          }
        }
        // Every image the killed process reported as saved survived.
        for (const id of committed) assert.ok(await store.catalog.has(id), id);
        // The counters equal the real totals.
        const counters = await store.catalog.counters();
        assert.equal(counters.count, count);
        assert.equal(counters.bytes, bytes);
        assert.ok(count >= committed.length);
      } finally {
        kv.close();
      }
    }
    // With eight writers in flight, the kills left writes half-done for reconcile to resolve.
    assert.ok(resolvedLeftovers > 0, "no kill landed mid-write");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
