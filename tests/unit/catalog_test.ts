import assert from "node:assert/strict";
import { AppError, ValidationError } from "../../src/errors.ts";
import {
  buildRecord,
  Catalog,
  type CatalogRecord,
  formatBytesExact,
  type RecordFields,
} from "../../src/images/catalog.ts";
import { newImageId, newJobId } from "../../src/images/ids.ts";
import { KEYS } from "../../src/images/kv_keys.ts";
import { withKvRetry } from "../../src/kv/mod.ts";
import { manualClock } from "../support/pinned_time.ts";
import { fields } from "./fixtures/image_store_fixture.ts";

const SHA = "a".repeat(64);

function record(created: number, overrides: Partial<RecordFields> = {}, bytes = 1000) {
  const id = newImageId(created);
  return buildRecord(fields({ created, ...overrides }), {
    id,
    fileName: `${id}.png`,
    mime: "image/png",
    width: 1024,
    height: 1024,
    bytes,
    sha256: SHA,
    created,
  });
}

async function withCatalog(fn: (catalog: Catalog, kv: Deno.Kv) => Promise<void>) {
  const kv = await Deno.openKv(":memory:");
  try {
    await fn(new Catalog(kv, { now: manualClock().now }), kv);
  } finally {
    kv.close();
  }
}

Deno.test("a 32,000-character multi-byte prompt is stored and read back intact", async () => {
  await withCatalog(async (catalog, kv) => {
    const unit = "海🌊é".repeat(4) + "x"; // 17 UTF-16 code units, 1–4 bytes of UTF-8 each
    // Cut at 32,000 code units, which splits the last emoji: even a lone surrogate survives.
    const prompt = unit.repeat(Math.ceil(32_000 / unit.length)).slice(0, 32_000);
    assert.equal(prompt.length, 32_000);
    assert.ok(/[\uD800-\uDBFF]$/.test(prompt));
    assert.ok(new TextEncoder().encode(prompt).length > 65_536, "longer than one KV value");
    const revised = "Révisé ✨ ".repeat(3000);
    const saved = await catalog.insert(record(1_000, { prompt, revisedPrompt: revised }));
    const back = await catalog.get(saved.id);
    // assert.ok instead of equal: a failure must not print 64 KB of text.
    assert.ok(back?.prompt === prompt, "prompt read back intact");
    assert.ok(back?.revisedPrompt === revised, "revised prompt read back intact");
    assert.ok((await catalog.getByFileName(saved.fileName))?.prompt === prompt);
    assert.ok((await catalog.list()).items[0].prompt === prompt);
    assert.equal((await catalog.list({ text: "🌊É".toLowerCase() })).items.length, 1);
    // The record value itself stays small; the text lives in parts.
    const raw = await kv.get(KEYS.record(saved.id));
    assert.ok(JSON.stringify(raw.value).length < 4096);
    await catalog.remove(saved.id);
    const leftovers = [];
    for await (const e of kv.list({ prefix: ["images", "text"] })) leftovers.push(e.key);
    assert.deepEqual(leftovers, []);
  });
});

Deno.test("list pages newest first with an opaque cursor and visits every record once", async () => {
  await withCatalog(async (catalog) => {
    const made: CatalogRecord[] = [];
    for (let i = 0; i < 23; i++) made.push(await catalog.insert(record(10_000 + i * 10)));
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await catalog.list({ limit: 5, cursor });
      seen.push(...page.items.map((r) => r.id));
      cursor = page.cursor;
      pages++;
    } while (cursor !== null);
    assert.equal(pages, 5);
    assert.deepEqual(seen, made.map((r) => r.id).reverse());
  });
});

Deno.test("list filters by model, creator and prompt text, case-insensitively", async () => {
  await withCatalog(async (catalog) => {
    await catalog.insert(record(1, { model: "gpt-image-2", creator: "ada", prompt: "A Red Fox" }));
    await catalog.insert(record(2, { model: "gpt-image-1", creator: "ada", prompt: "blue whale" }));
    await catalog.insert(record(3, { model: "gpt-image-2", creator: "bob", prompt: "red panda" }));
    await catalog.insert(record(4, { model: "gpt-image-2", creator: null, prompt: "green fox" }));
    const prompts = async (options: Parameters<Catalog["list"]>[0]) =>
      (await catalog.list(options)).items.map((r) => r.prompt);
    assert.deepEqual(await prompts({ model: "gpt-image-2" }), [
      "green fox",
      "red panda",
      "A Red Fox",
    ]);
    assert.deepEqual(await prompts({ creator: "ada" }), ["blue whale", "A Red Fox"]);
    assert.deepEqual(await prompts({ text: "RED" }), ["red panda", "A Red Fox"]);
    assert.deepEqual(await prompts({ text: "fox", model: "gpt-image-2", creator: "ada" }), [
      "A Red Fox",
    ]);
    assert.deepEqual(await prompts({ creator: "nobody" }), []);
  });
});

Deno.test("a cursor from another listing is refused", async () => {
  await withCatalog(async (catalog) => {
    for (let i = 0; i < 3; i++) await catalog.insert(record(100 + i));
    const page = await catalog.list({ limit: 1 });
    assert.ok(page.cursor);
    await assert.rejects(catalog.list({ cursor: page.cursor, model: "x" }), ValidationError);
    await assert.rejects(catalog.list({ cursor: "not-a-cursor" }), ValidationError);
    await assert.rejects(catalog.list({ limit: 0 }), ValidationError);
  });
});

Deno.test("stats answer in the predecessor's shape from the counters", async () => {
  await withCatalog(async (catalog) => {
    const empty = await catalog.stats(1_000_000);
    assert.deepEqual(empty, {
      count: 0,
      totalSize: 0,
      totalSizeFormatted: "0 B",
      oldestFile: null,
      newestFile: null,
      averageAge: 0,
      averageAgeFormatted: "0 s",
      averageSize: 0,
      averageSizeFormatted: "0 B",
    });
    const a = await catalog.insert(record(1_000_000, {}, 1024));
    const b = await catalog.insert(record(3_000_000, {}, 3072));
    const stats = await catalog.stats(5_000_000);
    assert.equal(stats.count, 2);
    assert.equal(stats.totalSize, 4096);
    assert.equal(stats.totalSizeFormatted, "4 KB");
    assert.equal(stats.averageSize, 2048);
    assert.equal(stats.averageAge, 3_000_000);
    assert.equal(stats.averageAgeFormatted, "50 min");
    assert.equal(stats.oldestFile?.name, a.fileName);
    assert.equal(stats.oldestFile?.age, 4_000_000);
    assert.equal(stats.newestFile?.name, b.fileName);
    assert.equal(stats.newestFile?.created, new Date(3_000_000).toISOString());
  });
});

Deno.test("removing a record twice counts it once", async () => {
  await withCatalog(async (catalog) => {
    const a = await catalog.insert(record(1, {}, 100));
    await catalog.insert(record(2, {}, 50));
    const results = await Promise.all([catalog.remove(a.id), catalog.remove(a.id)]);
    assert.equal(results.filter((r) => r !== null).length, 1);
    assert.deepEqual(await catalog.counters(), { count: 1, bytes: 50, createdSum: 2 });
    assert.equal(await catalog.getByFileName(a.fileName), null);
  });
});

Deno.test("insert refuses a taken id or file name", async () => {
  await withCatalog(async (catalog) => {
    const a = await catalog.insert(record(1));
    await assert.rejects(
      catalog.insert(a),
      (e) => e instanceof AppError && e.kind === "conflict",
    );
    const other = record(2);
    await assert.rejects(
      catalog.insert({ ...other, fileName: a.fileName }),
      (e) => e instanceof AppError && e.kind === "conflict",
    );
    assert.equal((await catalog.counters()).count, 1);
  });
});

Deno.test("records are validated before anything is written", async () => {
  await withCatalog(async (catalog) => {
    assert.throws(() => record(1, { model: "" }), ValidationError);
    assert.throws(() => record(1, { creator: "x".repeat(201) }), ValidationError);
    assert.throws(() => record(1, { costUsd: Number.NaN }), ValidationError);
    assert.throws(() => record(1, { prompt: "é".repeat(200_000) }), ValidationError);
    assert.throws(
      () => record(1, { parameters: { blob: "x".repeat(60_000) } }),
      ValidationError,
    );
    const ok = record(1);
    await assert.rejects(catalog.insert({ ...ok, fileName: "../x.png" }), ValidationError);
    await assert.rejects(
      catalog.insert({ ...ok, parameters: { blob: "x".repeat(60_000) } }),
      ValidationError,
    );
    assert.equal((await catalog.counters()).count, 0);
  });
});

Deno.test("jobs move from pending through running to a final state that sticks", async () => {
  await withCatalog(async (catalog) => {
    const imageId = newImageId();
    const [job1, job2, job3] = [newJobId(), newJobId(), newJobId()];
    const { job } = await catalog.createJob(job1, {
      prompt: "p".repeat(5000),
      model: "gpt-image-2",
      creator: "ada",
      door: "mcp",
      imageIds: [imageId],
    });
    assert.equal(job.state, "pending");
    assert.equal(job.prompt.length, 4000);
    assert.equal(job.promptTruncated, true);
    assert.equal((await catalog.getJobByImageId(imageId))?.jobId, job1);
    assert.equal((await catalog.updateJob(job1, { state: "running" }))?.state, "running");
    const done = await catalog.updateJob(job1, { state: "succeeded", imageIds: [imageId] });
    assert.deepEqual(done?.imageIds, [imageId]);
    assert.equal((await catalog.getJob(job1))?.state, "succeeded");
    await assert.rejects(
      catalog.updateJob(job1, { state: "cancelled" }),
      (e) => e instanceof AppError && e.kind === "conflict",
    );
    await assert.rejects(
      catalog.createJob(job1, { prompt: "p", model: "m", door: "cli" }),
      (e) => e instanceof AppError && e.kind === "conflict",
    );
    await catalog.createJob(job2, { prompt: "p", model: "m", door: "v1" });
    const failed = await catalog.updateJob(job2, {
      state: "failed",
      error: { kind: "upstream_timeout", message: "OpenAI did not answer in time" },
    });
    assert.deepEqual(failed?.error, {
      kind: "upstream_timeout",
      message: "OpenAI did not answer in time",
    });
    await catalog.createJob(job3, { prompt: "p", model: "m", door: "http" });
    assert.equal((await catalog.updateJob(job3, { state: "cancelled" }))?.state, "cancelled");
    assert.equal(await catalog.updateJob(newJobId(), { state: "running" }), null);
    assert.equal(await catalog.getJob("../bad"), null);
  });
});

Deno.test("a job that starts at once is created running, in one commit, and finishes", async () => {
  await withCatalog(async (catalog) => {
    const imageId = newImageId();
    const jobId = newJobId();
    const { job } = await catalog.createJob(jobId, {
      prompt: "p",
      model: "gpt-image-2",
      door: "http",
      imageIds: [imageId],
      state: "running",
    });
    assert.equal(job.state, "running");
    assert.equal((await catalog.getJobByImageId(imageId))?.state, "running");
    const done = await catalog.updateJob(jobId, { state: "succeeded", imageIds: [imageId] });
    assert.equal(done?.state, "succeeded");
    await assert.rejects(
      catalog.createJob(newJobId(), {
        prompt: "p",
        model: "m",
        door: "cli",
        state: "succeeded" as "running",
      }),
      (e) => e instanceof ValidationError,
    );
  });
});

Deno.test("a job ended against its creation skips the read; one changed since is read again", async () => {
  await withCatalog(async (catalog) => {
    const input = {
      prompt: "p",
      model: "gpt-image-2",
      door: "http" as const,
      state: "running" as const,
    };
    // Unchanged since it was created: ends in one commit, against what its creator knows.
    const first = newJobId();
    const known = await catalog.createJob(first, input);
    assert.equal(known.job.state, "running");
    const done = await catalog.updateJob(first, { state: "succeeded" }, undefined, known);
    assert.equal(done?.state, "succeeded");
    assert.equal((await catalog.getJob(first))?.state, "succeeded");
    // Changed by someone else (another instance failed it): the check fails, the job is read, and
    // the finished job stays as it is.
    const second = newJobId();
    const stale = await catalog.createJob(second, input);
    await catalog.updateJob(second, {
      state: "failed",
      error: { kind: "internal", message: "gone" },
    });
    await assert.rejects(
      catalog.updateJob(second, { state: "succeeded" }, undefined, stale),
      (e) => e instanceof AppError && e.kind === "conflict" && /already failed/.test(e.message),
    );
    // Changed without ending: read again, then updated on top of the change.
    const third = newJobId();
    const before = await catalog.createJob(third, { ...input, state: "pending" });
    await catalog.updateJob(third, { state: "running" });
    const ended = await catalog.updateJob(third, { state: "cancelled" }, undefined, before);
    assert.equal(ended?.state, "cancelled");
    // Knowledge of another job is not used.
    const fourth = newJobId();
    await catalog.createJob(fourth, input);
    assert.equal(
      (await catalog.updateJob(fourth, { state: "succeeded" }, undefined, known))?.jobId,
      fourth,
    );
  });
});

Deno.test("KV calls that fail with a locked database are retried; other errors are not", async () => {
  let calls = 0;
  const value = await withKvRetry(() => {
    calls++;
    if (calls < 4) return Promise.reject(new TypeError("database is locked"));
    return Promise.resolve("done");
  });
  assert.equal(value, "done");
  assert.equal(calls, 4);
  let other = 0;
  await assert.rejects(
    withKvRetry(() => {
      other++;
      return Promise.reject(new TypeError("Value too large"));
    }),
    TypeError,
  );
  assert.equal(other, 1);
  await assert.rejects(
    withKvRetry(() => Promise.reject(new TypeError("database is locked")), { maxWaitMs: 20 }),
    /database is locked/,
  );
});

Deno.test("formatBytesExact uses binary units and two decimals", () => {
  assert.equal(formatBytesExact(0), "0 B");
  assert.equal(formatBytesExact(1536), "1.5 KB");
  assert.equal(formatBytesExact(12.25 * 1024 * 1024), "12.25 MB");
});
