import assert from "node:assert/strict";
import { join } from "node:path";
import { AppError } from "../../src/errors.ts";
import { Catalog } from "../../src/images/catalog.ts";
import { FsImageStore } from "../../src/images/fs_store.ts";
import { sha256Hex } from "../../src/images/ids.ts";
import { KEYS, SCHEMA_VERSION, V1_KEYS } from "../../src/images/kv_keys.ts";
import { migrateCatalog } from "../../src/images/migrate.ts";
import { prepareImageStore } from "../../src/images/open_store.ts";
import { listDir, writeV1Catalog } from "./fixtures/image_store_fixture.ts";

async function withV1Fixture(
  fn: (ctx: { kv: Deno.Kv; dir: string; store: FsImageStore }) => Promise<void>,
) {
  const root = await Deno.makeTempDir({ prefix: "image_migrate_" });
  const kv = await Deno.openKv(":memory:");
  try {
    const dir = join(root, "images");
    const store = new FsImageStore({ dir, catalog: new Catalog(kv) });
    await fn({ kv, dir, store });
  } finally {
    kv.close();
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("a catalog written by layout version 1 is migrated at start-up", async () => {
  await withV1Fixture(async ({ kv, dir, store }) => {
    const fixture = await writeV1Catalog(kv, dir);
    const report = await prepareImageStore(store);
    assert.equal(report.migration.from, 1);
    assert.equal(report.migration.to, SCHEMA_VERSION);
    assert.equal(report.migration.migrated, 2);
    assert.deepEqual(report.migration.dropped, ["image_1700000200000.png"]);
    assert.deepEqual(report.migration.errors, []);
    assert.deepEqual(report.adoption?.adopted, []);
    assert.equal((await kv.get(KEYS.schemaVersion())).value, SCHEMA_VERSION);
    const leftovers = [];
    for await (const e of kv.list({ prefix: V1_KEYS.records() })) leftovers.push(e.key);
    assert.deepEqual(leftovers, []);

    const [fox, waves] = fixture;
    const record = await store.catalog.getByFileName(fox.filename);
    assert.ok(record);
    assert.equal(record.prompt, "a red fox in snow");
    assert.equal(record.revisedPrompt, "A red fox standing in fresh snow");
    assert.equal(record.model, "dall-e-3");
    assert.equal(record.door, "mcp");
    assert.equal(record.created, Date.parse("2023-11-14T22:13:20.000Z"));
    assert.equal(record.sha256, await sha256Hex(fox.bytes!));
    assert.equal(record.width, 1024);
    assert.deepEqual(record.parameters, { size: "1024x1024" });
    const long = await store.catalog.getByFileName(waves.filename);
    assert.ok(long?.prompt === waves.record.prompt, "long prompt moved intact");
    assert.equal(long?.width, 1792);
    assert.equal(long?.door, "http");

    // The new layout's indexes and counters exist for the moved records.
    const page = await store.catalog.list({ model: "dall-e-3" });
    assert.deepEqual(page.items.map((r) => r.fileName), [waves.filename, fox.filename]);
    assert.deepEqual(await store.catalog.counters(), {
      count: 2,
      bytes: 3000 + 5000,
      createdSum: Date.parse(fox.record.createdAt) + Date.parse(waves.record.createdAt),
    });
    assert.deepEqual((await store.read(fox.filename))?.bytes, fox.bytes);
    assert.deepEqual(await listDir(dir), [fox.filename, waves.filename]);
  });
});

Deno.test("migration is idempotent and a fresh database starts at the current version", async () => {
  await withV1Fixture(async ({ kv, dir, store }) => {
    const fresh = await migrateCatalog(store.catalog);
    assert.deepEqual(fresh, {
      from: SCHEMA_VERSION,
      to: SCHEMA_VERSION,
      migrated: 0,
      dropped: [],
      errors: [],
    });
    assert.equal((await kv.get(KEYS.schemaVersion())).value, SCHEMA_VERSION);
    // Layout-1 keys written after the version is set are not mistaken for a layout to migrate.
    await writeV1Catalog(kv, dir);
    const again = await migrateCatalog(store.catalog, { readFile: (n) => store.readNamedFile(n) });
    assert.equal(again.migrated, 0);
  });
});

Deno.test("two processes migrating at once move each record exactly once", async () => {
  await withV1Fixture(async ({ kv, dir, store }) => {
    await writeV1Catalog(kv, dir);
    const other = new FsImageStore({ dir, catalog: new Catalog(kv) });
    const reports = await Promise.all([
      migrateCatalog(store.catalog, { readFile: (n) => store.readNamedFile(n) }),
      migrateCatalog(other.catalog, { readFile: (n) => other.readNamedFile(n) }),
    ]);
    assert.equal(reports[0].migrated + reports[1].migrated, 2);
    assert.equal((await store.catalog.counters()).count, 2);
  });
});

Deno.test("a catalog from a newer layout than this build knows is refused", async () => {
  await withV1Fixture(async ({ kv, store }) => {
    await kv.set(KEYS.schemaVersion(), SCHEMA_VERSION + 1);
    await assert.rejects(
      migrateCatalog(store.catalog),
      (e) => e instanceof AppError && e.kind === "storage" && /newer/.test(e.message),
    );
  });
});
