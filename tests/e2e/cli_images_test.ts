/**
 * `images …`, `keys …` and the predecessor's `stats`, `list` and `cleanup` through the real
 * entrypoint, each run a separate process sharing one data directory (KV file and images).
 */
import assert from "node:assert/strict";
import { errorKindInfo } from "../../src/errors.ts";
import { startFakeOpenAI } from "../fake_openai.ts";
import { runCli, stdoutJson, tempDataDir } from "./support/cli.ts";

const KEY = "sk-test-cli-images-0123456789";

interface Listed {
  items: {
    id: string;
    fileName: string;
    bytes: number;
    created: number;
    path: string | null;
    door: string;
    prompt: string;
  }[];
  nextCursor: string | null;
}

function lines(text: string): string[] {
  return text.split("\n").filter((line) => line !== "");
}

Deno.test("images list, stats and delete work on what generate stored", async () => {
  await using fake = await startFakeOpenAI();
  await using dir = await tempDataDir();
  const opts = { dataDir: dir.path, env: { OPENAI_API_KEY: KEY, OPENAI_BASE_URL: fake.baseUrl } };
  const made = await runCli(["generate", "three cats", "-n", "3"], opts);
  assert.equal(made.code, 0, made.stderr);

  const page = stdoutJson<Listed>(await runCli(["images", "list", "--limit", "2", "--json"], opts));
  assert.equal(page.items.length, 2);
  assert.equal(typeof page.nextCursor, "string");
  const rest = stdoutJson<Listed>(
    await runCli(["images", "list", "--json", "--cursor", page.nextCursor!], opts),
  );
  assert.equal(rest.items.length, 1);
  assert.equal(rest.nextCursor, null);
  const all = [...page.items, ...rest.items];
  assert.deepEqual(all.map((i) => i.path).sort(), lines(made.stdout).sort());

  const table = await runCli(["images", "list"], opts);
  assert.match(table.stdout, /^ID\s+CREATED\s+SIZE/);
  assert.equal(lines(table.stdout).length, 4);

  const stats = stdoutJson<{
    stats: { count: number; totalSize: number };
    cleanup: { enabled: boolean; retentionDays: number; maxFiles: number | null };
  }>(await runCli(["images", "stats", "--json"], opts));
  assert.equal(stats.stats.count, 3);
  assert.equal(stats.stats.totalSize, all.reduce((sum, i) => sum + i.bytes, 0));
  assert.deepEqual(
    [stats.cleanup.enabled, stats.cleanup.retentionDays, stats.cleanup.maxFiles],
    [false, 7, null],
  );

  const removed = await runCli(["images", "delete", all[0].id, "--json"], opts);
  assert.equal(removed.code, 0, removed.stderr);
  assert.deepEqual(stdoutJson(removed), { deleted: [all[0].id], missing: [] });
  await assert.rejects(Deno.stat(all[0].path!), Deno.errors.NotFound);
  const again = await runCli(["images", "delete", all[0].id], opts);
  assert.equal(again.code, errorKindInfo("not_found").exitCode, again.stderr);
  const malformed = await runCli(["images", "delete", "../etc/passwd"], opts);
  assert.equal(malformed.code, errorKindInfo("validation").exitCode, malformed.stderr);
});

Deno.test("the predecessor's stats, list --sort and cleanup answer like the new commands", async () => {
  await using fake = await startFakeOpenAI();
  await using dir = await tempDataDir();
  const opts = { dataDir: dir.path, env: { OPENAI_API_KEY: KEY, OPENAI_BASE_URL: fake.baseUrl } };
  for (const size of ["1024x1024", "1536x1024", "1024x1536"]) {
    const run = await runCli(["generate", `size ${size}`, "--size", size], opts);
    assert.equal(run.code, 0, run.stderr);
  }
  const oldStats = await runCli(["stats", "--json"], opts);
  const newStats = await runCli(["images", "stats", "--json"], opts);
  assert.equal(oldStats.code, 0);
  const strip = (run: { stdout: string }) => {
    const body = stdoutJson<{ stats: Record<string, unknown> }>(run as never);
    for (const key of ["oldestFile", "newestFile", "averageAge", "averageAgeFormatted"]) {
      delete body.stats[key];
    }
    return body;
  };
  assert.deepEqual(strip(oldStats), strip(newStats));

  const bySize = stdoutJson<Listed>(await runCli(["list", "--sort", "size", "--json"], opts));
  assert.equal(bySize.items.length, 3);
  const sizes = bySize.items.map((i) => i.bytes);
  assert.deepEqual(sizes, [...sizes].sort((a, b) => b - a), "largest first");
  const byName = stdoutJson<Listed>(await runCli(["list", "--sort", "name", "--json"], opts));
  const names = byName.items.map((i) => i.fileName);
  assert.deepEqual(names, [...names].sort());
  const byAge = stdoutJson<Listed>(await runCli(["list", "--sort", "age", "--json"], opts));
  const created = byAge.items.map((i) => i.created);
  assert.deepEqual(created, [...created].sort((a, b) => b - a), "newest first");

  const preview = await runCli(["cleanup", "--max", "1", "--dry-run", "--json"], opts);
  assert.equal(preview.code, 0, preview.stderr);
  const planned = stdoutJson<{ filesDeleted: number; dryRun: boolean; deletedFiles: string[] }>(
    preview,
  );
  assert.deepEqual([planned.filesDeleted, planned.dryRun], [2, true]);
  const oldest = [...byAge.items].reverse().slice(0, 2).map((i) => i.fileName);
  assert.deepEqual(planned.deletedFiles, oldest);
  const still = stdoutJson<{ stats: { count: number } }>(await runCli(["stats", "--json"], opts));
  assert.equal(still.stats.count, 3, "a dry run deletes nothing");

  const real = await runCli(["cleanup", "--max", "1"], opts);
  assert.equal(real.code, 0, real.stderr);
  assert.match(real.stdout, /^Deleted 2 of 3 images/);
  const after = stdoutJson<{ stats: { count: number } }>(
    await runCli(["images", "stats", "--json"], opts),
  );
  assert.equal(after.stats.count, 1);
  const kept = stdoutJson<Listed>(await runCli(["images", "list", "--json"], opts));
  assert.equal(kept.items[0].id, byAge.items[0].id, "the newest image is kept");

  const retention = stdoutJson<{ filesDeleted: number }>(
    await runCli(["images", "cleanup", "--retention-days", "0", "--json"], opts),
  );
  assert.equal(retention.filesDeleted, 0, "0 days keeps images of any age");
});

Deno.test("images import adopts predecessor files, keeps their names, and is idempotent", async () => {
  await using fake = await startFakeOpenAI();
  await using dir = await tempDataDir();
  const opts = { dataDir: dir.path, env: { OPENAI_API_KEY: KEY, OPENAI_BASE_URL: fake.baseUrl } };
  const png = await runCli(["generate", "old", "--no-save", "-o", "seed.png"], opts);
  assert.equal(png.code, 0, png.stderr);
  const legacy = `${dir.path}/generated-images`;
  await Deno.mkdir(legacy);
  await Deno.copyFile(`${dir.path}/seed.png`, `${legacy}/image_1700000000000.png`);
  await Deno.copyFile(`${dir.path}/seed.png`, `${legacy}/image_1700000001000.png`);
  await Deno.writeTextFile(`${legacy}/notes.txt`, "not an image");

  const first = await runCli(["images", "import", legacy, "--json"], opts);
  assert.equal(first.code, 0, first.stderr);
  const report = stdoutJson<{ copied: string[]; adopted: string[]; inPlace: boolean }>(first);
  assert.equal(report.inPlace, false);
  assert.deepEqual(report.copied, ["image_1700000000000.png", "image_1700000001000.png"]);
  assert.deepEqual(report.adopted.sort(), report.copied);
  const listed = stdoutJson<Listed>(await runCli(["images", "list", "--json"], opts));
  const adopted = listed.items.filter((i) => i.door === "adopted");
  assert.deepEqual(
    adopted.map((i) => [i.fileName, i.created]).sort(),
    [["image_1700000000000.png", 1700000000000], ["image_1700000001000.png", 1700000001000]],
  );
  assert.equal(adopted[0].path, `${dir.path}/images/${adopted[0].fileName}`);
  await Deno.stat(`${legacy}/image_1700000000000.png`); // the source is left as it was

  const second = await runCli(["images", "import", legacy, "--json"], opts);
  const again = stdoutJson<{ copied: string[]; adopted: string[]; alreadyCatalogued: number }>(
    second,
  );
  assert.deepEqual([again.copied, again.adopted, again.alreadyCatalogued], [[], [], 2]);

  // OUTPUT_DIR itself: catalogued in place, nothing copied.
  const inPlace = await runCli(["images", "import", `${dir.path}/images`, "--json"], opts);
  const body = stdoutJson<{ inPlace: boolean; copied: string[] }>(inPlace);
  assert.deepEqual([body.inPlace, body.copied], [true, []]);

  const missing = await runCli(["images", "import", `${dir.path}/nowhere`], opts);
  assert.equal(missing.code, errorKindInfo("not_found").exitCode);
});

Deno.test("images import never replaces a link or folder already named like a predecessor file", async () => {
  await using dir = await tempDataDir();
  const opts = { dataDir: dir.path, env: { OPENAI_API_KEY: KEY } };
  const legacy = `${dir.path}/generated-images`;
  const images = `${dir.path}/images`;
  await Deno.mkdir(legacy);
  await Deno.mkdir(images);
  await Deno.mkdir(`${dir.path}/elsewhere`);
  const bytes = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]);
  for (const ms of [1700000000000, 1700000001000, 1700000002000]) {
    await Deno.writeFile(`${legacy}/image_${ms}.png`, bytes);
  }
  // The user's own entries in OUTPUT_DIR under two of those names: a dangling link and a link
  // to a folder.
  await Deno.symlink(`${dir.path}/nowhere.png`, `${images}/image_1700000000000.png`);
  await Deno.symlink(`${dir.path}/elsewhere`, `${images}/image_1700000001000.png`);

  const run = await runCli(["images", "import", legacy, "--json"], opts);
  assert.equal(run.code, 0, run.stderr);
  const report = stdoutJson<{ copied: string[]; skipped: { file: string }[] }>(run);
  assert.deepEqual(report.copied, ["image_1700000002000.png"]);
  assert.deepEqual(report.skipped.map((s) => s.file).sort(), [
    "image_1700000000000.png",
    "image_1700000001000.png",
  ]);
  assert.equal(
    await Deno.readLink(`${images}/image_1700000000000.png`),
    `${dir.path}/nowhere.png`,
  );
  assert.equal(
    await Deno.readLink(`${images}/image_1700000001000.png`),
    `${dir.path}/elsewhere`,
  );
  assert.deepEqual(await Deno.readFile(`${images}/image_1700000002000.png`), bytes);
});

Deno.test("keys create shows a key once; list, revoke and usage manage it", async () => {
  await using dir = await tempDataDir();
  const opts = { dataDir: dir.path };
  const created = await runCli(["keys", "create", "--name", "ci bot", "--role", "admin"], opts);
  assert.equal(created.code, 0, created.stderr);
  const key = created.stdout.trim();
  assert.match(key, /^oig_[A-Za-z0-9_-]{40,}$/);
  assert.match(created.stderr, /not shown again/);

  const json = await runCli(["keys", "create", "--name", "viewer", "--json"], opts);
  const second = stdoutJson<{ key: string; id: string; role: string; name: string }>(json);
  assert.equal(second.role, "user", "user is the default role");
  assert.match(second.key, /^oig_/);

  const list = await runCli(["keys", "list", "--json"], opts);
  assert.ok(!list.stdout.includes(key) && !list.stdout.includes(second.key), "keys never listed");
  const keys = stdoutJson<{ keys: { id: string; name: string; role: string }[] }>(list).keys;
  assert.deepEqual(keys.map((k) => [k.name, k.role]), [["ci bot", "admin"], ["viewer", "user"]]);

  const revoked = await runCli(["keys", "revoke", second.id], opts);
  assert.equal(revoked.code, 0, revoked.stderr);
  assert.match(revoked.stdout, new RegExp(`Revoked ${second.id}`));
  const active = stdoutJson<{ keys: { id: string; name: string }[] }>(
    await runCli(["keys", "list", "--json"], opts),
  );
  assert.deepEqual(active.keys.map((k) => k.name), ["ci bot"]);
  const everything = stdoutJson<{ keys: { id: string; revokedAt: number | null }[] }>(
    await runCli(["keys", "list", "--all", "--json"], opts),
  );
  assert.equal(everything.keys.find((k) => k.id === second.id)?.revokedAt !== null, true);

  const unknown = await runCli(["keys", "revoke", "key_nothere"], opts);
  assert.equal(unknown.code, errorKindInfo("not_found").exitCode);
  const badRole = await runCli(["keys", "create", "--name", "x", "--role", "root"], opts);
  assert.equal(badRole.code, 2);
  const noName = await runCli(["keys", "create"], opts);
  assert.equal(noName.code, 2);

  const usage = await runCli(["keys", "usage", "--month", "2026-01", "--json"], opts);
  assert.equal(usage.code, 0, usage.stderr);
  assert.deepEqual(stdoutJson(usage), {
    month: "2026-01",
    rows: [],
    totals: { images: 0, spendUsd: 0, requests: 0 },
  });
  const badMonth = await runCli(["keys", "usage", "--month", "2026-13"], opts);
  assert.equal(badMonth.code, 2);
});
