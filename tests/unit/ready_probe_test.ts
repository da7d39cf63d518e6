/**
 * Readiness proves writes, not only reads: the image stores' write probes (a uniquely named file
 * in the fs store's hidden folder, a short-lived key in the KV store) leave nothing behind and
 * fail with a reason when the store cannot be written, and `/ready` answers 503 naming the KV when
 * it answers reads but refuses commits.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { AppError } from "../../src/errors.ts";
import { Catalog } from "../../src/images/catalog.ts";
import { PRIVATE_DIR_NAME } from "../../src/images/folder.ts";
import { KEYS } from "../../src/images/kv_keys.ts";
import { KvImageStore } from "../../src/images/kv_store.ts";
import { startTestApp } from "../support/http_app.ts";
import { pngInput, withFsStore, withKvStore } from "./fixtures/image_store_fixture.ts";

/**
 * A real KV that answers reads but refuses every commit with the error SQLite gives for a
 * read-only database file (a read-only mount, a file the process may not write).
 */
function readOnlyKv(kv: Deno.Kv): Deno.Kv {
  return new Proxy(kv, {
    get(target, prop) {
      if (prop === "atomic") {
        return () => {
          const op = target.atomic();
          op.commit = () => Promise.reject(new TypeError("attempt to write a readonly database"));
          return op;
        };
      }
      if (prop === "set" || prop === "delete") {
        return () => Promise.reject(new TypeError("attempt to write a readonly database"));
      }
      const member = Reflect.get(target, prop);
      return typeof member === "function" ? member.bind(target) : member;
    },
  });
}

Deno.test("the fs store's write probe leaves nothing behind, in its hidden folder and among the images", async () => {
  await withFsStore(async ({ store, dir }) => {
    const record = await store.save(pngInput());
    await store.probeWrite();
    await store.probeWrite();
    const names = (path: string) => Array.from(Deno.readDirSync(path), (e) => e.name).sort();
    assert.deepEqual(names(dir), [PRIVATE_DIR_NAME, record.fileName].sort());
    assert.deepEqual(
      names(join(dir, PRIVATE_DIR_NAME)).filter((name) => name.includes("probe")),
      [],
      "each probe file was removed",
    );
  });
});

Deno.test("the fs store's write probe fails with a reason naming OUTPUT_DIR, not its path", async () => {
  await withFsStore(async ({ store, dir }) => {
    // Something that is not a folder where the probe must write: reads still work, writes fail.
    const record = await store.save(pngInput());
    await Deno.remove(join(dir, PRIVATE_DIR_NAME), { recursive: true });
    await Deno.writeTextFile(join(dir, PRIVATE_DIR_NAME), "not a folder");
    assert.ok(await store.read(record.id), "the store still reads");
    const error = await store.probeWrite().then(() => undefined, (e) => e);
    assert.ok(error instanceof AppError, String(error));
    assert.equal(error.kind, "storage");
    assert.match(error.message, /^The images directory \(OUTPUT_DIR\) is not writable: \w+/);
    assert.ok(!error.message.includes(dir), "the path is not shown");
  });
});

Deno.test("the KV store's write probe commits a key, removes it, and fails on a read-only KV", async () => {
  await withKvStore(async ({ store, kv }) => {
    await store.probeWrite();
    const left = await Array.fromAsync(kv.list({ prefix: KEYS.probe("x").slice(0, 2) }));
    assert.deepEqual(left, []);
  });
  const kv = await Deno.openKv(":memory:");
  try {
    const store = new KvImageStore({ catalog: new Catalog(readOnlyKv(kv)) });
    await assert.rejects(store.probeWrite(), /readonly database/);
  } finally {
    kv.close();
  }
});

Deno.test("/ready answers 503 naming the KV when it answers reads but refuses writes", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    await using writable = await startTestApp({ env: { OPENAI_API_KEY: "sk-test-1234567890" } });
    const ready = await writable.request("/ready");
    assert.equal(ready.status, 200);
    assert.equal((await ready.json()).checks.kv, "ok");
    const probes = await Array.fromAsync(writable.kv.list({ prefix: ["http", "ready_probe"] }));
    assert.deepEqual(probes, [], "the probe key was removed");

    await using readOnly = await startTestApp({
      env: { OPENAI_API_KEY: "sk-test-1234567890" },
      deps: { kv: readOnlyKv(kv) },
    });
    const notReady = await readOnly.request("/ready");
    assert.equal(notReady.status, 503);
    const body = await notReady.json();
    assert.deepEqual(body.failed, ["kv"]);
    assert.match(body.checks.kv, /^failed: .*readonly database/);
  } finally {
    kv.close();
  }
});
