import assert from "node:assert/strict";
import type { Caller } from "../../src/core_types.ts";
import { LOCAL_PRINCIPAL } from "../../src/core/policy.ts";
import type { Clock } from "../../src/clock.ts";
import { isJobId, newJobId } from "../../src/images/ids.ts";
import type { Services } from "../../src/services.ts";
import { manualClock } from "../support/pinned_time.ts";
import { withRealCore } from "../support/real_core.ts";
import { generationResult } from "../../src/mcp/results.ts";

const ADMIN: Caller = { principal: LOCAL_PRINCIPAL, door: "mcp" };

const principal = { id: "local", name: "local user", role: "admin" as const };

/** Runs `fn` with the real core's services, on `now` when given. */
function withServices(fn: (services: Services) => Promise<void>, now?: Clock): Promise<void> {
  return withRealCore(({ services }) => fn(services), now ? { now } : {});
}

Deno.test("a generation runs under a job id the catalog and the gallery accept", async () => {
  await withServices(async ({ images, store }) => {
    const job = await images.generate({ prompt: "a red kite", quality: "low" }, {
      door: "mcp",
      principal,
    });
    await job.done;
    assert.ok(isJobId(job.id), job.id);
    assert.equal((await store.catalog.getJob(job.id))?.state, "succeeded");
  });
});

Deno.test("a thumbnail asked for many times at once is made once and kept", async () => {
  await withServices(async ({ images, store }) => {
    const job = await images.generate({ prompt: "a red kite", quality: "low" }, {
      door: "mcp",
      principal,
    });
    const [record] = (await job.done).images;
    assert.equal(await store.readThumbnail(record.id), null, "made on first request, not before");
    const views = await Promise.all(
      Array.from({ length: 6 }, () => images.thumbnail(record.id, ADMIN)),
    );
    for (const view of views) {
      assert.ok(view);
      assert.equal(view.view.mime, "image/webp");
      assert.ok(Math.max(view.view.width, view.view.height) <= 256);
    }
    assert.deepEqual(await store.readThumbnail(record.id), views[0]!.view.bytes);
  });
});

Deno.test("a job that stopped updating is reported as interrupted, not pending forever", async () => {
  const clock = manualClock(Date.UTC(2026, 10, 24, 12));
  await withServices(async ({ images, store }) => {
    const imageId = "0195f3c2-8d1e-7abc-9def-0123456789ab";
    const jobId = newJobId();
    await store.catalog.createJob(jobId, {
      prompt: "x",
      model: "gpt-image-2",
      door: "http",
      imageIds: [imageId],
    });
    await store.catalog.updateJob(jobId, { state: "running" });
    assert.equal((await images.lookup(imageId, ADMIN)).status, "pending");
    // Longer than every upstream attempt (600 s timeout × 3 attempts) plus 2 min for storing.
    clock.advance(40 * 60_000);
    const lost = await images.lookup(imageId, ADMIN);
    assert.equal(lost.status, "failed");
    assert.match(lost.status === "failed" ? lost.error.message : "", /interrupted/);
  }, clock.now);
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
    assert.deepEqual((await images.list(ADMIN)).items, [], "nothing was generated or stored");
  });
});

Deno.test("every generation of the default model has a cost; an estimated price says so in the MCP result", async () => {
  await withServices(async ({ images, config }) => {
    const priced = await (await images.generate({ prompt: "a kite", quality: "low" }, {
      door: "mcp",
      principal,
    })).done;
    assert.equal(priced.model, "gpt-image-2");
    assert.ok(priced.cost.usd !== null && priced.cost.usd > 0, JSON.stringify(priced.cost));
    assert.equal(priced.cost.estimated, undefined);
    assert.equal(priced.images[0].costUsd, priced.cost.usd, "the catalog record carries it");
    const plain = await generationResult({ images, caller: ADMIN }, config, {}, priced);
    assert.doesNotMatch(JSON.stringify(plain.content), /estimate/);

    const estimated = await (await images.generate(
      { prompt: "a kite", quality: "low", model: "gpt-image-2.5-flare" },
      { door: "mcp", principal },
    )).done;
    assert.ok(estimated.cost.usd !== null && estimated.cost.usd > 0);
    assert.equal(estimated.cost.estimated, true);
    const result = await generationResult(
      { images, caller: ADMIN },
      { ...config, mcpStructuredContent: "always" },
      {},
      estimated,
    );
    const text = result.content.map((block) => block.type === "text" ? block.text : "").join("\n");
    assert.match(text, /Cost is an estimate: estimated from .*not confirmed for this model/);
    assert.equal((result.structuredContent as { cost_estimated?: boolean })?.cost_estimated, true);
  });
});

Deno.test("list of models shows every token price with the checked-on date and marks estimates", async () => {
  await withServices(async ({ images }) => {
    const models = new Map((await images.models()).map((m) => [m.id, m.price]));
    assert.equal(
      models.get("gpt-image-2"),
      "per 1M tokens: text in $5, image in $8, image out $30 (checked 2026-12-02)",
    );
    assert.equal(
      models.get("gpt-image-2.5-sunburst"),
      "per 1M tokens: text in $5, image in $8, image out $30 (estimate, checked 2026-12-02)",
    );
    assert.equal(models.get("dall-e-3"), "$0.04 per standard 1024x1024 image (checked 2026-11)");
    assert.equal(models.get("chatgpt-image-latest"), "unknown");
  });
});
