import assert from "node:assert/strict";
import type { Caller } from "../../src/core_types.ts";
import { LOCAL_PRINCIPAL } from "../../src/core/policy.ts";
import { resolveConfig } from "../../src/config.ts";
import { Instance, INTERRUPTED_MESSAGE } from "../../src/generation/instances.ts";
import { newJobId } from "../../src/images/ids.ts";
import { createServices } from "../../src/services.ts";
import { manualClock } from "../support/pinned_time.ts";

const ADMIN: Caller = { principal: LOCAL_PRINCIPAL, door: "mcp" };

const T0 = Date.UTC(2026, 11, 2, 12);

/** Two instances on one KV with one clock; `interrupted` collects the jobs marked. */
async function twoInstances(intervalMs = 15_000) {
  const kv = await Deno.openKv(":memory:");
  const clock = manualClock(T0);
  const interrupted: [string, string][] = [];
  const interrupt = (jobId: string, message: string) => {
    interrupted.push([jobId, message]);
    return Promise.resolve();
  };
  const a = new Instance(kv, { now: clock.now, interrupt, intervalMs, id: "a" });
  const b = new Instance(kv, { now: clock.now, interrupt, intervalMs, id: "b" });
  return {
    kv,
    clock,
    a,
    b,
    interrupted,
    async [Symbol.asyncDispose]() {
      await a.close();
      await b.close();
      kv.close();
    },
  };
}

Deno.test("a job of an instance that missed three beats is interrupted, not one beat earlier", async () => {
  await using t = await twoInstances();
  await t.a.beat();
  await t.a.jobStarted("job-1");
  await t.b.beat();
  t.clock.advance(45_000);
  assert.equal(await t.b.sweep(), 0, "three intervals without a beat is still alive");
  assert.equal(await t.b.isAlive("a"), true);
  t.clock.advance(1);
  assert.equal(await t.b.isAlive("a"), false);
  assert.equal(await t.b.sweep(), 1);
  assert.deepEqual(t.interrupted, [["job-1", INTERRUPTED_MESSAGE]]);
  assert.match(INTERRUPTED_MESSAGE, /interrupted: the process running it stopped/);
  assert.equal(await t.b.sweep(), 0, "each job is marked once");
  assert.equal(
    (await t.kv.get(["instances", "beat", "a"])).value,
    null,
    "the dead one is forgotten",
  );
});

Deno.test("a beating instance keeps its jobs, and a finished job is no longer indexed", async () => {
  await using t = await twoInstances();
  await t.a.beat();
  await t.a.jobStarted("job-running");
  await t.a.jobStarted("job-done");
  await t.a.jobFinished("job-done");
  for (let i = 0; i < 10; i++) {
    t.clock.advance(15_000);
    await t.a.beat();
    assert.equal(await t.b.sweep(), 0);
  }
  await t.a.close();
  await t.b.beat();
  assert.deepEqual(t.interrupted.map(([id]) => id), ["job-running"], "only the unfinished job");
});

Deno.test("a closed instance's leftover jobs are interrupted at the next beat of another", async () => {
  await using t = await twoInstances();
  await t.a.beat();
  await t.a.jobStarted("job-left");
  await t.a.close();
  assert.equal(await t.b.isAlive("a"), false, "no heartbeat is no life");
  assert.equal(await t.b.isAlive("never-seen"), false);
  assert.equal(await t.b.isAlive("b"), true, "an instance is alive to itself");
  await t.b.beat();
  assert.deepEqual(t.interrupted.map(([id]) => id), ["job-left"]);
});

Deno.test("the dead instance's own interval decides, whatever the observer's", async () => {
  await using t = await twoInstances(60_000);
  const fast = new Instance(t.kv, {
    now: t.clock.now,
    interrupt: () => Promise.resolve(),
    intervalMs: 1_000,
    id: "fast",
  });
  await fast.beat();
  t.clock.advance(3_001);
  assert.equal(await t.b.isAlive("fast"), false);
  await fast.close();
});

Deno.test("start beats at once on an unref'd timer that close stops", async () => {
  await using t = await twoInstances();
  await t.a.start();
  assert.deepEqual((await t.kv.get(["instances", "beat", "a"])).value, {
    at: T0,
    intervalMs: 15_000,
  });
  await t.a.close();
  assert.equal((await t.kv.get(["instances", "beat", "a"])).value, null);
  assert.throws(
    () =>
      new Instance(t.kv, { now: t.clock.now, interrupt: () => Promise.resolve(), intervalMs: 0 }),
    RangeError,
  );
});

/** Starts services (a "process") over one shared in-memory KV and data directory. */
async function processes(fn: (start: () => ReturnType<typeof createServices>) => Promise<void>) {
  const dataDir = await Deno.makeTempDir({ prefix: "instances-" });
  const kv = await Deno.openKv(":memory:");
  try {
    const config = resolveConfig({
      env: { OPENAI_API_KEY: "sk-test-instances-0123", DATA_DIR: dataDir, KV_PATH: ":memory:" },
    });
    await fn(() => createServices(config, { door: "mcp", kv, skipStartupReconcile: true, now }));
  } finally {
    kv.close();
    await Deno.remove(dataDir, { recursive: true });
  }
}

/** A running job of instance `instance`, as its process recorded it. */
async function runningJob(
  services: Awaited<ReturnType<typeof createServices>>,
  jobId: string,
  imageId: string,
  instance: string,
): Promise<void> {
  const { catalog } = services.store;
  await catalog.createJob(jobId, {
    prompt: "x",
    model: "gpt-image-2",
    door: "mcp",
    imageIds: [imageId],
    instance,
  });
  await catalog.updateJob(jobId, { state: "running" });
}

const clock = manualClock(T0);
const now = clock.now;

Deno.test("the next process marks the jobs of a dead one interrupted at start-up and lookups say so", async () => {
  await processes(async (start) => {
    const imageId = "0195f3c2-8d1e-7abc-9def-0123456789ab";
    const jobId = newJobId();
    {
      // A process (instance "dead") starts a job, then dies without closing its instance.
      await using first = await start();
      const dead = new Instance(first.kv, { now, interrupt: () => Promise.resolve(), id: "dead" });
      await dead.beat();
      await dead.jobStarted(jobId);
      await runningJob(first, jobId, imageId, "dead");
      assert.equal(
        (await first.images.lookup(imageId, ADMIN)).status,
        "pending",
        "fresh heartbeat",
      );
    }
    clock.advance(46_000);
    await using next = await start();
    const job = await next.store.catalog.getJob(jobId);
    assert.equal(job?.state, "failed", "marked by the start-up sweep");
    assert.equal(job?.error?.message, INTERRUPTED_MESSAGE);
    const lookup = await next.images.lookup(imageId, ADMIN);
    assert.equal(lookup.status, "failed");
    assert.match(lookup.status === "failed" ? lookup.error.message : "", /interrupted/);
  });
});

Deno.test("a job whose instance left no heartbeat reads as interrupted before any sweep", async () => {
  await processes(async (start) => {
    await using services = await start();
    const imageId = "0195f3c2-8d1e-7abc-9def-0123456789ac";
    await runningJob(services, newJobId(), imageId, "gone");
    const lookup = await services.images.lookup(imageId, ADMIN);
    assert.equal(lookup.status, "failed");
    assert.match(lookup.status === "failed" ? lookup.error.message : "", /interrupted/);
  });
});

Deno.test("a job is indexed in the commit that creates it and unindexed in the one that ends it", async () => {
  await processes(async (start) => {
    await using services = await start();
    const { catalog } = services.store;
    const here = new Instance(services.kv, { now, interrupt: () => Promise.resolve(), id: "here" });
    const indexed = async () => {
      const keys = [];
      for await (const entry of services.kv.list({ prefix: ["instances", "jobs", "here"] })) {
        keys.push(entry.key.at(-1));
      }
      return keys;
    };
    const jobId = newJobId();
    const job = {
      prompt: "x",
      model: "gpt-image-2",
      door: "mcp" as const,
      state: "running" as const,
    };
    await catalog.createJob(jobId, job, (op) => here.indexJob(op, jobId));
    assert.deepEqual(await indexed(), [jobId]);

    // A create refused (the id is taken) indexes nothing.
    await assert.rejects(catalog.createJob(jobId, job, (op) => here.indexJob(op, "other")));
    assert.deepEqual(await indexed(), [jobId]);

    assert.notEqual(
      await catalog.updateJob(jobId, { state: "succeeded" }, (op) => here.unindexJob(op, jobId)),
      null,
    );
    assert.deepEqual(await indexed(), []);
    // An update refused (the job has ended) removes nothing it was given.
    await here.jobStarted("still-here");
    await assert.rejects(
      catalog.updateJob(jobId, { state: "failed" }, (op) => here.unindexJob(op, "still-here")),
    );
    assert.deepEqual(await indexed(), ["still-here"]);
  });
});
