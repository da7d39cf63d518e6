import { resolveConfig } from "../../src/config.ts";
import assert from "node:assert/strict";
import { AppError } from "../../src/errors.ts";
import {
  acquireInflight,
  checkBudget,
  checkRequestRate,
  createLimiter,
  inflightCount,
  rateLimitHeaders,
  type RateResult,
  recordSpend,
  refundGenerations,
  reserveGenerations,
  upstreamQueueStatus,
  usageReport,
  waitForUpstreamBudget,
} from "../../src/ratelimit/limiter.ts";
import { KEYS, type UpstreamState } from "../../src/ratelimit/keys.ts";
import { sleep, systemClock } from "../../src/clock.ts";
import { eventually } from "../support/eventually.ts";
import { manualClock } from "../support/pinned_time.ts";

async function withKv(fn: (kv: Deno.Kv) => Promise<void>): Promise<void> {
  const kv = await Deno.openKv(":memory:");
  try {
    await fn(kv);
  } finally {
    kv.close();
  }
}

async function rejectsWith(promise: Promise<unknown>, kind: string): Promise<AppError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof AppError, `expected an AppError, got ${error}`);
    assert.equal(error.kind, kind, error.message);
    return error;
  }
  assert.fail(`expected a ${kind} error`);
}

// --- general request limit -------------------------------------------------------------------

Deno.test("checkRequestRate allows exactly `limit` requests per window, then refuses", async () => {
  await withKv(async (kv) => {
    const clock = manualClock();
    const options = { limit: 3, windowMs: 60_000, now: clock.now };
    const results: RateResult[] = [];
    for (let i = 0; i < 5; i++) results.push(await checkRequestRate(kv, "ip:1.2.3.4", options));
    assert.deepEqual(results.map((r) => r.allowed), [true, true, true, false, false]);
    assert.deepEqual(results.map((r) => r.remaining), [2, 1, 0, 0, 0]);
    assert.equal(results[0].windowSeconds, 60);
    assert.equal(results[0].resetSeconds, 60);
    assert.equal(results[0].retryAfterSeconds, undefined);
    assert.equal(results[3].retryAfterSeconds, 60);
  });
});

Deno.test("checkRequestRate starts a fresh window once the old one has ended", async () => {
  await withKv(async (kv) => {
    const clock = manualClock();
    const options = { limit: 2, windowMs: 900_000, now: clock.now };
    await checkRequestRate(kv, "p", options);
    clock.advance(100_000);
    await checkRequestRate(kv, "p", options);
    const refused = await checkRequestRate(kv, "p", options);
    assert.equal(refused.allowed, false);
    assert.equal(refused.retryAfterSeconds, 800, "counts from the first request of the window");
    clock.advance(799_999);
    assert.equal((await checkRequestRate(kv, "p", options)).allowed, false);
    clock.advance(1);
    const fresh = await checkRequestRate(kv, "p", options);
    assert.equal(fresh.allowed, true);
    assert.equal(fresh.remaining, 1);
    assert.equal(fresh.resetSeconds, 900);
  });
});

Deno.test("checkRequestRate keeps principals apart and does nothing when the limit is 0", async () => {
  await withKv(async (kv) => {
    const clock = manualClock();
    const options = { limit: 1, windowMs: 1000, now: clock.now };
    assert.equal((await checkRequestRate(kv, "a", options)).allowed, true);
    assert.equal((await checkRequestRate(kv, "b", options)).allowed, true);
    assert.equal((await checkRequestRate(kv, "a", options)).allowed, false);
    const off = { limit: 0, windowMs: 1000, now: clock.now };
    for (let i = 0; i < 5; i++) assert.equal((await checkRequestRate(kv, "c", off)).allowed, true);
    assert.equal((await kv.get(KEYS.requests("c"))).value, null, "nothing stored");
  });
});

Deno.test("REQUEST_RATE_LIMIT=0 as configured (no window) switches the check off", async () => {
  await withKv(async (kv) => {
    const { requestRateLimit } = resolveConfig({ env: { REQUEST_RATE_LIMIT: "0" } });
    const result = await checkRequestRate(kv, "d", { ...requestRateLimit, now: systemClock });
    assert.equal(result.allowed, true);
  });
});

Deno.test("rateLimitHeaders sends the IETF draft fields and the older triple", () => {
  const ok: RateResult = {
    allowed: true,
    limit: 100,
    remaining: 42,
    resetSeconds: 30,
    windowSeconds: 900,
  };
  assert.deepEqual(rateLimitHeaders(ok, "default"), {
    "RateLimit-Policy": `"default";q=100;w=900`,
    "RateLimit": `"default";r=42;t=30`,
    "RateLimit-Limit": "100",
    "RateLimit-Remaining": "42",
    "RateLimit-Reset": "30",
  });
  const refused = { ...ok, allowed: false, remaining: 0, retryAfterSeconds: 30 };
  const headers = rateLimitHeaders(refused, "general");
  assert.equal(headers["Retry-After"], "30");
  assert.equal(headers["RateLimit"], `"general";r=0;t=30`);
  assert.deepEqual(rateLimitHeaders({ ...ok, limit: 0 }, "default"), {});
  assert.throws(() => rateLimitHeaders(ok, 'bad"name'), TypeError);
});

// --- hourly image allowance --------------------------------------------------------------------

Deno.test("reserveGenerations admits exactly perHour images, one at a time", async () => {
  await withKv(async (kv) => {
    const clock = manualClock();
    for (let i = 0; i < 10; i++) {
      const r = await reserveGenerations(kv, "key_a", 1, { perHour: 10, now: clock.now });
      assert.equal(r.remaining, 9 - i);
    }
    const error = await rejectsWith(
      reserveGenerations(kv, "key_a", 1, { perHour: 10, now: clock.now }),
      "rate_limited",
    );
    assert.equal(error.retryAfterSeconds, 3600);
    assert.equal(error.status, 429);
  });
});

Deno.test("reserveGenerations refuses a request for n images whole when fewer are left", async () => {
  await withKv(async (kv) => {
    const clock = manualClock();
    const options = { perHour: 10, now: clock.now };
    await reserveGenerations(kv, "k", 7, options);
    clock.advance(600_000);
    const error = await rejectsWith(reserveGenerations(kv, "k", 4, options), "rate_limited");
    assert.equal(error.retryAfterSeconds, 3000);
    assert.match(error.message, /3 of 10 images left this hour, 4 requested/);
    const r = await reserveGenerations(kv, "k", 3, options);
    assert.equal(r.remaining, 0, "the refused request consumed nothing");
  });
});

Deno.test("reserveGenerations refuses more images than the hourly limit as invalid n", async () => {
  await withKv(async (kv) => {
    const clock = manualClock();
    const error = await rejectsWith(
      reserveGenerations(kv, "k", 11, { perHour: 10, now: clock.now }),
      "validation",
    );
    assert.equal(error.field, "n");
    const unlimited = await reserveGenerations(kv, "k", 50, { perHour: 0, now: clock.now });
    assert.equal(unlimited.n, 50);
  });
});

Deno.test("reserveGenerations rolls over to a new hour", async () => {
  await withKv(async (kv) => {
    const clock = manualClock();
    const options = { perHour: 2, now: clock.now };
    await reserveGenerations(kv, "k", 2, options);
    clock.advance(3_599_999);
    await rejectsWith(reserveGenerations(kv, "k", 1, options), "rate_limited");
    clock.advance(1);
    assert.equal((await reserveGenerations(kv, "k", 2, options)).remaining, 0);
  });
});

Deno.test("refundGenerations credits the window the images came from, not a later one", async () => {
  await withKv(async (kv) => {
    const clock = manualClock();
    const options = { perHour: 4, now: clock.now };
    const first = await reserveGenerations(kv, "k", 3, options);
    assert.equal(await refundGenerations(kv, first, { now: clock.now }), true);
    assert.equal((await reserveGenerations(kv, "k", 4, options)).remaining, 0);

    clock.advance(3_600_000);
    const late = await reserveGenerations(kv, "k", 1, options);
    assert.equal(await refundGenerations(kv, first, { now: clock.now }), false);
    assert.equal(late.remaining, 3);
    assert.equal((await reserveGenerations(kv, "k", 3, options)).remaining, 0);
  });
});

// --- concurrency leases --------------------------------------------------------------------------

Deno.test("acquireInflight refuses beyond max and frees a slot on release", async () => {
  await withKv(async (kv) => {
    const clock = manualClock();
    const options = { max: 2, now: clock.now, heartbeatMs: 0 };
    const a = await acquireInflight(kv, "k", options);
    const b = await acquireInflight(kv, "k", options);
    const error = await rejectsWith(acquireInflight(kv, "k", options), "rate_limited");
    assert.ok((error.retryAfterSeconds ?? 0) > 0);
    await acquireInflight(kv, "other", options).then((l) => l.release());
    await a.release();
    await a.release();
    assert.equal(await inflightCount(kv, "k", { now: clock.now }), 1);
    const c = await acquireInflight(kv, "k", options);
    await b.release();
    await c.release();
    assert.equal(await inflightCount(kv, "k", { now: clock.now }), 0);
  });
});

Deno.test("an inflight lease left by a crashed process expires at its deadline", async () => {
  await withKv(async (kv) => {
    const clock = manualClock();
    const options = { max: 1, now: clock.now, leaseMs: 30_000, heartbeatMs: 0 };
    await acquireInflight(kv, "k", options); // never released: its holder "crashed"
    await rejectsWith(acquireInflight(kv, "k", options), "rate_limited");
    clock.advance(29_999);
    await rejectsWith(acquireInflight(kv, "k", options), "rate_limited");
    clock.advance(1);
    const lease = await acquireInflight(kv, "k", options);
    await lease.release();
  });
});

Deno.test("renew keeps a long job's lease alive past its first deadline", async () => {
  await withKv(async (kv) => {
    const clock = manualClock();
    const options = { max: 1, now: clock.now, leaseMs: 30_000, heartbeatMs: 0 };
    const lease = await acquireInflight(kv, "k", options);
    clock.advance(20_000);
    assert.equal(await lease.renew(), true);
    clock.advance(20_000);
    await rejectsWith(acquireInflight(kv, "k", options), "rate_limited");
    await lease.release();
    assert.equal(await lease.renew(), false, "a released lease stays released");
  });
});

Deno.test("the heartbeat renews a lease until release, which stops it", async () => {
  await withKv(async (kv) => {
    const clock = manualClock();
    const start = clock.now();
    const deadline =
      async () => ((await kv.get<{ leases: Record<string, number> }>(KEYS.inflight("k"))).value
        ?.leases ??
        {});
    {
      await using lease = await acquireInflight(kv, "k", {
        max: 1,
        now: clock.now,
        leaseMs: 1000,
        heartbeatMs: 5,
      });
      assert.equal((await deadline())[lease.id], start + 1000);
      clock.advance(900);
      await eventually(async () => (await deadline())[lease.id] === start + 1900, "a renewal");
      clock.advance(600);
      assert.equal(await inflightCount(kv, "k", { now: clock.now }), 1);
    }
    assert.equal(await inflightCount(kv, "k", { now: clock.now }), 0, "disposed at block end");
  });
});

Deno.test("max 0 means unlimited concurrency and stores nothing", async () => {
  await withKv(async (kv) => {
    const clock = manualClock();
    const leases = await Promise.all(
      Array.from({ length: 5 }, () => acquireInflight(kv, "k", { max: 0, now: clock.now })),
    );
    await Promise.all(leases.map((l) => l.release()));
    assert.equal((await kv.get(KEYS.inflight("k"))).value, null);
  });
});

// --- upstream budget ---------------------------------------------------------------------------

Deno.test("the upstream queue admits in FIFO order as the minute window rolls over", async () => {
  await withKv(async (kv) => {
    const clock = manualClock();
    const signal = AbortSignal.timeout(10_000); // safety bound only
    const options = { perMinute: 2, timeoutMs: 600_000, now: clock.now, signal, maxPollMs: 5 };
    const order: string[] = [];
    const a = await waitForUpstreamBudget(kv, 1, options);
    const b = await waitForUpstreamBudget(kv, 1, options);
    assert.deepEqual([a.waitedMs, b.waitedMs], [0, 0]);

    const waiters: Promise<number>[] = [];
    for (const name of ["C", "D", "E"]) {
      const before = (await upstreamQueueStatus(kv, { now: clock.now })).waiting;
      waiters.push(
        waitForUpstreamBudget(kv, 1, options).then((grant) => {
          order.push(name);
          return grant.waitedMs;
        }),
      );
      await eventually(
        async () => (await upstreamQueueStatus(kv, { now: clock.now })).waiting === before + 1,
        `${name} to take a ticket`,
      );
    }
    await sleep(30);
    assert.deepEqual(order, [], "the third request waits while the window is full");

    clock.advance(60_000);
    await eventually(() => order.length === 2, "C and D");
    assert.deepEqual(order, ["C", "D"]);
    await sleep(30);
    assert.deepEqual(order, ["C", "D"], "E waits for the next window");

    clock.advance(60_000);
    const waited = await Promise.all(waiters);
    assert.deepEqual(order, ["C", "D", "E"]);
    assert.deepEqual(waited, [60_000, 60_000, 120_000]);
  });
});

Deno.test("waiting past UPSTREAM_QUEUE_TIMEOUT_MS fails with 429 and frees the queue", async () => {
  await withKv(async (kv) => {
    const clock = manualClock();
    const options = { perMinute: 1, timeoutMs: 5_000, now: clock.now, maxPollMs: 5 };
    await waitForUpstreamBudget(kv, 1, options);
    const waiting = waitForUpstreamBudget(kv, 1, options);
    await eventually(
      async () => (await upstreamQueueStatus(kv, { now: clock.now })).waiting === 1,
      "a ticket",
    );
    clock.advance(5_000);
    const error = await rejectsWith(waiting, "rate_limited");
    assert.equal(error.retryAfterSeconds, 55);
    assert.equal(error.details?.waitedMs, 5_000);
    assert.equal((await upstreamQueueStatus(kv, { now: clock.now })).waiting, 0);
    clock.advance(55_000);
    const next = await waitForUpstreamBudget(kv, 1, options);
    assert.equal(next.waitedMs, 0);
  });
});

Deno.test("an aborted waiter gives up its ticket and the next one is served", async () => {
  await withKv(async (kv) => {
    const clock = manualClock();
    const options = { perMinute: 1, timeoutMs: 600_000, now: clock.now, maxPollMs: 5 };
    await waitForUpstreamBudget(kv, 1, options);
    const controller = new AbortController();
    const first = waitForUpstreamBudget(kv, 1, { ...options, signal: controller.signal });
    await eventually(
      async () => (await upstreamQueueStatus(kv, { now: clock.now })).waiting === 1,
      "first ticket",
    );
    const second = waitForUpstreamBudget(kv, 1, {
      ...options,
      signal: AbortSignal.timeout(10_000),
    });
    await eventually(
      async () => (await upstreamQueueStatus(kv, { now: clock.now })).waiting === 2,
      "second ticket",
    );
    controller.abort();
    await rejectsWith(first, "cancelled");
    clock.advance(60_000);
    assert.equal((await second).waitedMs, 60_000);
  });
});

Deno.test("a ticket left by a crashed process is skipped once its deadline passes", async () => {
  await withKv(async (kv) => {
    const clock = manualClock();
    const options = { perMinute: 5, timeoutMs: 600_000, now: clock.now, maxPollMs: 5 };
    await waitForUpstreamBudget(kv, 1, options);
    // A process took ticket 1 and died without giving it up.
    const state = (await kv.get<UpstreamState>(KEYS.upstreamState)).value!;
    await kv.atomic()
      .set(KEYS.upstreamState, { ...state, next: state.next + 1 })
      .set(KEYS.upstreamTicket(state.next), { n: 1, deadline: clock.now() + 10_000 })
      .commit();
    const waiting = waitForUpstreamBudget(kv, 1, {
      ...options,
      signal: AbortSignal.timeout(10_000),
    });
    let settled = false;
    waiting.then(() => settled = true, () => settled = true);
    await sleep(30);
    assert.equal(settled, false, "waits behind the dead ticket until its deadline");
    clock.advance(10_000);
    assert.equal((await waiting).waitedMs, 10_000);
  });
});

Deno.test("a request for more images than the per-minute budget gets an empty window", async () => {
  await withKv(async (kv) => {
    const clock = manualClock();
    const options = { perMinute: 2, timeoutMs: 600_000, now: clock.now, maxPollMs: 5 };
    assert.equal((await waitForUpstreamBudget(kv, 5, options)).waitedMs, 0);
    const next = waitForUpstreamBudget(kv, 1, { ...options, signal: AbortSignal.timeout(10_000) });
    await eventually(
      async () => (await upstreamQueueStatus(kv, { now: clock.now })).waiting === 1,
      "a ticket",
    );
    clock.advance(60_000);
    assert.equal((await next).waitedMs, 60_000);
    assert.deepEqual(await waitForUpstreamBudget(kv, 1, { ...options, perMinute: 0 }), {
      ticket: -1,
      waitedMs: 0,
    });
  });
});

// --- spend -------------------------------------------------------------------------------------

Deno.test("checkBudget refuses once the monthly budget is spent and says when it resets", async () => {
  await withKv(async (kv) => {
    const clock = manualClock(Date.UTC(2026, 10, 30, 23, 0, 0));
    const options = { budgetUsd: 1, now: clock.now };
    await recordSpend(kv, "key_a", 0.6, { now: clock.now, images: 2 });
    const status = await checkBudget(kv, "key_a", options);
    assert.equal(status.spentUsd, 0.6);
    assert.equal(Math.round(status.remainingUsd * 1e6), 400_000);
    await rejectsWith(checkBudget(kv, "key_a", { ...options, pendingUsd: 0.5 }), "budget_exceeded");
    await recordSpend(kv, "key_a", 0.45, { now: clock.now, images: 1 });
    const error = await rejectsWith(checkBudget(kv, "key_a", options), "budget_exceeded");
    assert.equal(error.status, 402);
    assert.match(error.message, /spent \$1\.05 of \$1\.00/);
    assert.match(error.message, /resets on 2026-12-01T00:00:00\.000Z/);
    assert.equal(error.retryAfterSeconds, 3600);
    await checkBudget(kv, "key_b", options);
    await checkBudget(kv, "key_a", { budgetUsd: 0, now: clock.now });
    clock.advance(3_600_000);
    assert.equal((await checkBudget(kv, "key_a", options)).spentUsd, 0, "a new month");
  });
});

Deno.test("usageReport lists images, spend and requests per key for a month", async () => {
  await withKv(async (kv) => {
    const clock = manualClock(Date.UTC(2026, 10, 15));
    await recordSpend(kv, "key_a", 0.1, { now: clock.now, images: 1 });
    await recordSpend(kv, "key_a", 0.2, { now: clock.now, images: 2 });
    await recordSpend(kv, "key_b", 0.05, { now: clock.now, images: 1 });
    await recordSpend(kv, "key_c", 0, { now: clock.now });
    clock.set(Date.UTC(2026, 11, 2));
    await recordSpend(kv, "key_a", 9, { now: clock.now, images: 9 });

    const november = await usageReport(kv, { month: "2026-11" });
    assert.deepEqual(november.rows, [
      { principal: "key_a", images: 3, spendUsd: 0.3, requests: 2 },
      { principal: "key_b", images: 1, spendUsd: 0.05, requests: 1 },
      { principal: "key_c", images: 0, spendUsd: 0, requests: 1 },
    ]);
    assert.deepEqual(november.totals, { images: 4, spendUsd: 0.35, requests: 4 });
    const current = await usageReport(kv, { principal: "key_a", now: clock.now });
    assert.equal(current.month, "2026-12");
    assert.deepEqual(current.rows, [{ principal: "key_a", images: 9, spendUsd: 9, requests: 1 }]);
    await assert.rejects(usageReport(kv, { month: "2026-13" }), RangeError);
    await assert.rejects(recordSpend(kv, "k", -1, { now: clock.now }), RangeError);
  });
});

Deno.test("createLimiter binds the configured limits", async () => {
  await withKv(async (kv) => {
    const clock = manualClock();
    const limiter = createLimiter(kv, {
      now: clock.now,
      limits: {
        requestRateLimit: { limit: 1, windowMs: 1000 },
        imageGenerationRateLimit: 2,
        maxInflightPerKey: 1,
        upstreamImagesPerMinute: 0,
        upstreamQueueTimeoutMs: 0,
        budgetUsdPerKeyMonth: 0.5,
      },
    });
    assert.equal((await limiter.checkRequest("k")).allowed, true);
    assert.equal((await limiter.checkRequest("k")).allowed, false);
    const reservation = await limiter.reserveGenerations("k", 2);
    await rejectsWith(limiter.reserveGenerations("k", 1), "rate_limited");
    assert.equal(await limiter.refundGenerations(reservation), true);
    const lease = await limiter.acquireInflight("k");
    await rejectsWith(limiter.acquireInflight("k"), "rate_limited");
    await lease.release();
    assert.equal((await limiter.waitForUpstream(3)).waitedMs, 0);
    await limiter.recordSpend("k", 0.5, 2);
    await rejectsWith(limiter.checkBudget("k"), "budget_exceeded");
    assert.equal((await limiter.usageReport()).totals.images, 2);
  });
});

Deno.test("createLimiter over the default settings of a loopback bind caps keys, not callers without one", async () => {
  await withKv(async (kv) => {
    const clock = manualClock();
    const config = resolveConfig({ env: {}, dotenv: {}, flags: {}, os: "linux", cwd: "/" });
    const limiter = createLimiter(kv, { now: clock.now, limits: config });
    for (let i = 0; i < 3; i++) {
      await limiter.reserveGenerations("ip:127.0.0.1", 10, { anonymous: true });
    }
    await limiter.reserveGenerations("key_a", 10, { anonymous: false });
    await rejectsWith(limiter.reserveGenerations("key_a", 1), "rate_limited");
  });
});

/** A KV whose next `failures` commits throw SQLite's transient lock error. */
function lockedKv(kv: Deno.Kv, failures: { left: number }): Deno.Kv {
  return new Proxy(kv, {
    get(target, prop) {
      if (prop === "atomic") {
        return () => {
          const op = target.atomic();
          const commit = op.commit.bind(op);
          op.commit = () =>
            failures.left-- > 0 ? Promise.reject(new TypeError("database is locked")) : commit();
          return op;
        };
      }
      const member = Reflect.get(target, prop);
      return typeof member === "function" ? member.bind(target) : member;
    },
  });
}

Deno.test("a commit failing with `database is locked` is retried, not lost or doubled", async () => {
  await withKv(async (kv) => {
    const clock = manualClock();
    const failures = { left: 5 };
    const flaky = lockedKv(kv, failures);
    const r = await reserveGenerations(flaky, "k", 2, { perHour: 10, now: clock.now });
    assert.equal(failures.left, -1, "all five failures were met");
    assert.equal(r.remaining, 8);
    failures.left = 3;
    await recordSpend(flaky, "k", 0.25, { now: clock.now, images: 2 });
    assert.deepEqual((await usageReport(kv, { now: clock.now })).totals, {
      images: 2,
      spendUsd: 0.25,
      requests: 1,
    });
  });
});
