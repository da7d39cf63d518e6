import assert from "node:assert/strict";
import { resolveConfig } from "../../src/config.ts";
import { createServices } from "../../src/services.ts";
import { startFakeOpenAI } from "../fake_openai.ts";

const principal = { id: "local", name: "local user", role: "admin" as const };

async function withServices(
  fn: (services: Awaited<ReturnType<typeof createServices>>) => Promise<void>,
  now?: () => number,
) {
  await using fake = await startFakeOpenAI();
  const dataDir = await Deno.makeTempDir({ prefix: "image-service-" });
  const kv = await Deno.openKv(":memory:");
  try {
    const config = resolveConfig({
      env: {
        OPENAI_API_KEY: "sk-test-image-service-0123",
        OPENAI_BASE_URL: fake.baseUrl,
        DATA_DIR: dataDir,
        KV_PATH: ":memory:",
      },
    });
    await using services = await createServices(config, {
      door: "mcp",
      kv,
      skipStartupReconcile: true,
      ...(now ? { now } : {}),
    });
    await fn(services);
  } finally {
    kv.close();
    await Deno.remove(dataDir, { recursive: true });
  }
}

Deno.test("a thumbnail asked for many times at once is made once and kept", async () => {
  await withServices(async ({ images, store }) => {
    const job = await images.generate({ prompt: "a red kite", quality: "low" }, {
      door: "mcp",
      principal,
    });
    const [record] = (await job.done).images;
    assert.equal(await store.readThumbnail(record.id), null, "made on first request, not before");
    const views = await Promise.all(Array.from({ length: 6 }, () => images.thumbnail(record.id)));
    for (const view of views) {
      assert.ok(view);
      assert.equal(view.view.mime, "image/webp");
      assert.ok(Math.max(view.view.width, view.view.height) <= 256);
    }
    assert.deepEqual(await store.readThumbnail(record.id), views[0]!.view.bytes);
  });
});

Deno.test("a job that stopped updating is reported as interrupted, not pending forever", async () => {
  let clock = Date.UTC(2026, 10, 24, 12);
  await withServices(async ({ images, store }) => {
    const imageId = "0195f3c2-8d1e-7abc-9def-0123456789ab";
    await store.catalog.createJob("job-lost", {
      prompt: "x",
      model: "gpt-image-2",
      door: "http",
      imageIds: [imageId],
    });
    await store.catalog.updateJob("job-lost", { state: "running" });
    assert.equal((await images.lookup(imageId)).status, "pending");
    // Longer than every upstream attempt (600 s timeout × 3 attempts) plus 2 min for storing.
    clock += 40 * 60_000;
    const lost = await images.lookup(imageId);
    assert.equal(lost.status, "failed");
    assert.match(lost.status === "failed" ? lost.error.message : "", /interrupted/);
  }, () => clock);
});

Deno.test("validate checks a request the way generate does and starts nothing", async () => {
  await withServices(async ({ images }) => {
    const checked = await images.validate("generate", {
      prompt: "a kite",
      model: "dall-e-3",
      n: 2,
    });
    assert.equal(checked.model, "gpt-image-2", "a retired model resolves to its translation");
    assert.equal(checked.n, 2);
    assert.match(checked.warnings.join("\n"), /"dall-e-3" was retired/);
    const error = await images.validate("generate", { prompt: "a kite", size: "999x999" })
      .then(() => undefined, (e) => e);
    assert.equal(error?.kind, "validation");
    assert.equal(error?.field, "size");
    const edit = await images.validate("edit", { prompt: "greener" }).then(
      () => undefined,
      (e) => e,
    );
    assert.equal(edit?.field, "images", "an edit needs its input images");
    assert.deepEqual((await images.list()).items, [], "nothing was generated or stored");
  });
});
