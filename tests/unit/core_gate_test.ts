/**
 * The one gate in the core (src/core/admission.ts behind src/image_service.ts), run with the real
 * services against the fake OpenAI upstream: what a cancel refunds, budgets under concurrency,
 * bad requests, and the stdio and CLI doors in the same metrics and spend ledger.
 *
 * @module
 */
import assert from "node:assert/strict";
import { resolveConfig } from "../../src/config.ts";
import type { Caller, GenerationJob, Principal, UploadedFile } from "../../src/core_types.ts";
import { LOCAL_PRINCIPAL } from "../../src/core/policy.ts";
import { AppError } from "../../src/errors.ts";
import { createMetrics } from "../../src/metrics.ts";
import { usageReport } from "../../src/ratelimit/limiter.ts";
import { createServices, type Services } from "../../src/services.ts";
import { type FakeOpenAI, startFakeOpenAI } from "../fake_openai.ts";
import { eventually } from "../support/eventually.ts";
import { TINY_PNG } from "../support/fake_image_service.ts";
import { pinnedClock } from "../support/pinned_time.ts";

const KEY: Principal = { id: "key_gate", name: "gate test", role: "user", kind: "key" };
const V1: Caller & { principal: Principal } = { principal: KEY, door: "v1" };

interface Harness {
  readonly upstream: FakeOpenAI;
  readonly kv: Deno.Kv;
  /** Services for `door` over the shared KV (several may run at once, like processes). */
  services(door: "http" | "mcp" | "cli"): Promise<Services>;
}

async function withCore(
  env: Record<string, string>,
  fn: (h: Harness) => Promise<void>,
): Promise<void> {
  await using upstream = await startFakeOpenAI({ now: pinnedClock });
  const dataDir = await Deno.makeTempDir({ prefix: "core-gate-" });
  const kv = await Deno.openKv(":memory:");
  const opened: Services[] = [];
  const config = resolveConfig({
    env: {
      OPENAI_API_KEY: "sk-test-core-gate-0123",
      OPENAI_BASE_URL: upstream.baseUrl,
      OPENAI_MAX_RETRIES: "0",
      DATA_DIR: dataDir,
      ...env,
    },
    dotenv: {},
    flags: {},
  });
  try {
    await fn({
      upstream,
      kv,
      async services(door) {
        const services = await createServices(config, {
          door,
          kv,
          now: pinnedClock,
          metrics: createMetrics({ defaultMetrics: false, now: pinnedClock }),
          skipStartupReconcile: true,
        });
        opened.push(services);
        return services;
      },
    });
  } finally {
    for (const services of opened) {
      // A failed assertion may leave calls hanging upstream: end them, or drain would wait forever.
      for (const id of services.generator.runningJobIds()) services.generator.abortLocal(id);
      await services.drain();
      await services.close();
    }
    kv.close();
    await Deno.remove(dataDir, { recursive: true });
  }
}

async function rejection(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof AppError, String(error));
    return error;
  }
  assert.fail("expected a rejection");
}

Deno.test("five requests cancelled after the upstream call was sent leave 0 of 5 images and are charged", async () => {
  const env = { IMAGE_GENERATION_RATE_LIMIT: "5", MAX_INFLIGHT_PER_KEY: "0" };
  await withCore(env, async ({ upstream, kv, services }) => {
    const { images } = await services("http");
    const jobs: GenerationJob[] = [];
    for (let i = 0; i < 5; i++) {
      jobs.push(await images.generate({ prompt: `slow ${i} [fault:hang]`, quality: "low" }, V1));
    }
    await eventually(() => upstream.stats.inFlight === 5, "the upstream has all five calls");
    for (const job of jobs) job.cancel("the client went away");
    for (const job of jobs) assert.equal((await rejection(job.done)).kind, "cancelled");

    const refused = await rejection(
      images.generate({ prompt: "one more", quality: "low" }, V1).then((job) => job.done),
    );
    assert.equal(refused.kind, "rate_limited");
    assert.match(refused.message, /0 of 5 images left/);
    assert.equal(upstream.requests.length, 5, "the sixth never reached the upstream");

    const report = await usageReport(kv, { principal: KEY.id, now: pinnedClock });
    assert.equal(report.totals.requests, 5, "every cancelled call that was sent is in the ledger");
    assert.equal(report.totals.images, 0);
    const worstCase =
      (await images.validate("generate", { prompt: "slow 0 [fault:hang]", quality: "low" }))
        .worstCaseUsd;
    assert.ok(worstCase > 0);
    assert.ok(
      Math.abs(report.totals.spendUsd - 5 * worstCase) < 1e-5,
      `charged the worst case each: ${report.totals.spendUsd} vs 5 × ${worstCase}`,
    );
  });
});

Deno.test("a request cancelled while it waits for the upstream budget gets its allowance back", async () => {
  const env = { IMAGE_GENERATION_RATE_LIMIT: "2", UPSTREAM_IMAGES_PER_MINUTE: "1" };
  await withCore(env, async ({ upstream, kv, services }) => {
    const { images } = await services("http");
    const first = await images.generate({ prompt: "first", quality: "low" }, V1);
    await first.done;
    // The minute's upstream budget is spent: the next request waits in the queue, then gives up.
    const controller = new AbortController();
    const waiting = images.generate(
      { prompt: "second", quality: "low" },
      { ...V1, signal: controller.signal },
    );
    setTimeout(() => controller.abort(), 50);
    assert.equal((await rejection(waiting)).kind, "cancelled");
    assert.equal(upstream.requests.length, 1);
    const report = await usageReport(kv, { principal: KEY.id, now: pinnedClock });
    assert.equal(report.totals.requests, 1, "the queued request is not in the ledger");
    // Its image was refunded: one of two is left, so a request for one more fits the hour.
    const error = await rejection(
      images.generate({ prompt: "two", quality: "low", n: 2 }, V1),
    );
    assert.match(error.message, /1 of 2 images left/);
  });
});

Deno.test("30 concurrent requests stay within a $0.30 budget; the refused hear what is left, and a request that fits it runs", async () => {
  const env = {
    BUDGET_USD_PER_KEY_MONTH: "0.30",
    IMAGE_GENERATION_RATE_LIMIT: "0",
    MAX_INFLIGHT_PER_KEY: "0",
  };
  await withCore(env, async ({ kv, services }) => {
    const { images } = await services("http");
    const request = { prompt: "a lighthouse", quality: "medium", size: "1024x1024" };
    const worstCase = (await images.validate("generate", request)).worstCaseUsd;
    const outcomes = await Promise.allSettled(
      Array.from({ length: 30 }, async () => (await images.generate(request, V1)).done),
    );
    const succeeded = outcomes.filter((o) => o.status === "fulfilled").length;
    const refusals = outcomes.flatMap((o) => o.status === "rejected" ? [o.reason as AppError] : []);
    assert.ok(
      succeeded >= 1 && refusals.length >= 1,
      `${succeeded} ran, ${refusals.length} refused`,
    );
    for (const refusal of refusals) {
      assert.equal(refusal.kind, "budget_exceeded");
      assert.equal(refusal.status, 402);
      assert.match(refusal.message, /\$0\.\d{4} left/);
      const remaining = Number(refusal.details?.remainingUsd);
      assert.ok(remaining >= 0 && remaining < worstCase, `remaining ${remaining}`);
    }
    const spent = (await usageReport(kv, { principal: KEY.id, now: pinnedClock })).totals.spendUsd;
    assert.ok(spent <= 0.30 + 1e-9, `spent ${spent} of $0.30`);
    assert.ok(spent > 0.30 - 2 * worstCase, `nearly all of the budget could be used: ${spent}`);

    const small = await (await images.generate({ prompt: "a dot", quality: "low" }, V1)).done;
    assert.equal(small.images.length, 1, "a request that fits the remainder succeeds");
    const after = (await usageReport(kv, { principal: KEY.id, now: pinnedClock })).totals.spendUsd;
    assert.ok(after <= 0.30 + 1e-9, `still within the budget: ${after}`);
  });
});

Deno.test("a bad request never consumes an allowance or a budget", async () => {
  const env = { IMAGE_GENERATION_RATE_LIMIT: "1", BUDGET_USD_PER_KEY_MONTH: "0.02" };
  await withCore(env, async ({ upstream, services }) => {
    const { images, metrics } = await services("http");
    const bad = [
      { prompt: "" },
      { prompt: "x", size: "huge" },
      { prompt: "x", n: 0 },
      { prompt: "x", model: "no-such-model" },
      { prompt: "x", quality: "ultra" },
    ];
    for (const input of bad) {
      const error = await rejection(images.generate(input, V1));
      assert.equal(error.kind, "validation", JSON.stringify(input));
      assert.equal(error.status, 400);
    }
    const done = await (await images.generate({ prompt: "x", quality: "low" }, V1)).done;
    assert.equal(done.images.length, 1, "the whole allowance was still there");
    assert.equal(upstream.requests.length, 1);
    assert.match(
      await metrics.metricsText(),
      /image_generations_total\{model="unknown",outcome="rejected",door="v1"\} 5/,
    );
  });
});

Deno.test("stdio and CLI generations pass the same limits and land in the same metrics and ledger", async () => {
  await withCore({ IMAGE_GENERATION_RATE_LIMIT: "2" }, async ({ kv, services }) => {
    const stdio = await services("mcp");
    const cli = await services("cli");
    const local = (door: "mcp" | "cli") => ({ principal: LOCAL_PRINCIPAL, door });
    await (await stdio.images.generate({ prompt: "from stdio", quality: "low" }, local("mcp")))
      .done;
    await (await cli.images.generate({ prompt: "from the CLI", quality: "low" }, local("cli")))
      .done;
    assert.match(
      await stdio.metrics.metricsText(),
      /image_generations_total\{model="gpt-image-2",outcome="success",door="mcp"\} 1/,
    );
    assert.match(
      await cli.metrics.metricsText(),
      /image_generations_total\{model="gpt-image-2",outcome="success",door="cli"\} 1/,
    );
    const report = await usageReport(kv, { principal: "local", now: pinnedClock });
    assert.equal(report.totals.requests, 2);
    assert.equal(report.totals.images, 2);
    assert.ok(report.totals.spendUsd > 0);
    // One allowance for the local user, whichever door it uses.
    const error = await rejection(
      stdio.images.generate({ prompt: "a third", quality: "low" }, local("mcp")),
    );
    assert.equal(error.kind, "rate_limited");
  });
});

/** `bytes` as an upload a door read: one file in chunks of 7 bytes. */
function uploaded(bytes: Uint8Array, name = "in.png"): UploadedFile {
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += 7) chunks.push(bytes.subarray(at, at + 7));
  return { name, type: "image/png", size: bytes.length, chunks };
}

Deno.test("an upload slot is the edit's one in-flight slot: refused at once at the limit, given back at the end", async () => {
  await withCore({ MAX_INFLIGHT_PER_KEY: "1" }, async ({ upstream, services }) => {
    const { images } = await services("http");
    const slot = await images.reserveUpload(V1);
    // The caller is at its limit: a second upload is refused before anything of it is read.
    const refused = await rejection(images.reserveUpload(V1));
    assert.equal(refused.kind, "rate_limited");

    // The edit runs in the slot it was given: with a limit of 1 it is admitted, not refused.
    const ref = slot.add(uploaded(TINY_PNG));
    const job = await images.edit({ prompt: "add a hat", images: [ref] }, { ...V1, upload: slot });
    await job.done;
    const sent = upstream.lastRequest?.fields?.["image"] as { size: number } | undefined;
    assert.equal(sent?.size, TINY_PNG.length, "the upload reached the upstream as it was read");

    // The job ended: its slot is free again, and releasing the used slot changes nothing.
    await slot.release();
    const next = await images.reserveUpload(V1);
    await next.release();
    await (await images.reserveUpload(V1)).release();
  });
});

Deno.test("an edit refused before admission gives its upload slot back; an upload reference needs its slot", async () => {
  await withCore({ MAX_INFLIGHT_PER_KEY: "1" }, async ({ upstream, services }) => {
    const { images } = await services("http");
    const slot = await images.reserveUpload(V1);
    const ref = slot.add(uploaded(new TextEncoder().encode("just some text")));
    const refused = await rejection(
      images.edit({ prompt: "add a hat", images: [ref] }, { ...V1, upload: slot }),
    );
    assert.equal(refused.kind, "validation");
    assert.equal(refused.field, "images[0]");
    await (await images.reserveUpload(V1)).release();

    // Without the slot that holds it, an upload reference is just an unsupported scheme.
    const unbacked = await rejection(
      images.edit({ prompt: "add a hat", images: ["upload:0"] }, V1),
    );
    assert.equal(unbacked.kind, "validation");
    assert.match(unbacked.message, /"upload:" scheme is not supported/);
    assert.equal(upstream.requests.length, 0);
  });
});
