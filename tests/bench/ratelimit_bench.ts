/**
 * Cost of the per-request rate-limit check against a real on-disk KV file (one read plus one
 * check-and-set commit per request).
 *
 * deno bench -P=test tests/bench/ratelimit_bench.ts
 */
import { checkRequestRate, reserveGenerations } from "../../src/ratelimit/limiter.ts";
import { systemClock } from "../../src/clock.ts";

const dir = Deno.makeTempDirSync({ prefix: "ratelimit_bench_" });
const kv = await Deno.openKv(`${dir}/kv.sqlite3`);
globalThis.addEventListener("unload", () => {
  kv.close();
  Deno.removeSync(dir, { recursive: true });
});

let i = 0;

Deno.bench("checkRequestRate, one principal (allowed: read + commit)", async () => {
  await checkRequestRate(kv, "key_bench", {
    limit: Number.MAX_SAFE_INTEGER,
    windowMs: 900_000,
    now: systemClock,
  });
});

Deno.bench("checkRequestRate, refused (read only)", async () => {
  await checkRequestRate(kv, "key_refused", { limit: 1, windowMs: 3_600_000, now: systemClock });
});

Deno.bench("checkRequestRate, 1,000 rotating principals", async () => {
  await checkRequestRate(kv, `ip:10.0.${(i = (i + 1) % 1000) >> 8}.${i & 255}`, {
    limit: Number.MAX_SAFE_INTEGER,
    windowMs: 900_000,
    now: systemClock,
  });
});

Deno.bench("reserveGenerations, one image", async () => {
  await reserveGenerations(kv, "key_gen", 1, {
    perHour: Number.MAX_SAFE_INTEGER,
    now: systemClock,
  });
});
