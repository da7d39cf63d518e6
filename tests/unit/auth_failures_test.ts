/**
 * Failed credentials counted per address (`AUTH_FAILURE_LIMIT`): the count, the lockout and its
 * end on a pinned clock, one bucket per IPv4 address and per IPv6 /64, and one count for every
 * process that opens the same KV file.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { AppError } from "../../src/errors.ts";
import { recordAuthFailure } from "../../src/ratelimit/auth_failures.ts";
import { manualClock, PINNED_NOW, pinnedClock } from "../support/pinned_time.ts";

const LIMIT = { limit: 3, windowMs: 60_000 };

/** A KV file in a fresh directory, opened `handles` times (as by that many processes). */
async function withKvFile(handles: number, fn: (kvs: Deno.Kv[]) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "auth-failures-" });
  const kvs = await Promise.all(
    Array.from({ length: handles }, () => Deno.openKv(join(dir, "kv.sqlite3"))),
  );
  try {
    await fn(kvs);
  } finally {
    for (const kv of kvs) kv.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("an address gets its failures, then 429 with Retry-After until its window ends", async () => {
  await withKvFile(1, async ([kv]) => {
    const clock = manualClock();
    const options = { limit: LIMIT, now: clock.now };
    for (let i = 0; i < 3; i++) {
      assert.equal(await recordAuthFailure(kv, "203.0.113.5", options), null, `failure ${i + 1}`);
      clock.advance(1_000);
    }
    const lockout = await recordAuthFailure(kv, "203.0.113.5", options);
    assert.ok(lockout instanceof AppError);
    assert.equal(lockout.kind, "rate_limited");
    assert.equal(lockout.status, 429);
    assert.equal(lockout.retryAfterSeconds, 57, "the window started with the first failure");
    assert.match(lockout.message, /^Too many failed authentication attempts from this address/);
    assert.equal(
      await recordAuthFailure(kv, "203.0.113.6", options),
      null,
      "another address has its own count",
    );
    clock.set(PINNED_NOW + 60_000);
    assert.equal(await recordAuthFailure(kv, "203.0.113.5", options), null, "a new window");
  });
});

Deno.test("IPv6 addresses of one /64 share a count, other /64s do not", async () => {
  await withKvFile(1, async ([kv]) => {
    const options = { limit: LIMIT, now: pinnedClock };
    for (const address of ["2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff::9"]) {
      assert.equal(await recordAuthFailure(kv, address, options), null, address);
    }
    assert.ok(await recordAuthFailure(kv, "2001:db8:1:2:abcd::1", options), "same /64: locked");
    assert.equal(await recordAuthFailure(kv, "2001:db8:1:3::1", options), null, "next /64");
  });
});

Deno.test("processes sharing a KV file share the count", async () => {
  await withKvFile(2, async ([a, b]) => {
    const options = { limit: LIMIT, now: pinnedClock };
    assert.equal(await recordAuthFailure(a, "198.51.100.4", options), null);
    assert.equal(await recordAuthFailure(b, "198.51.100.4", options), null);
    assert.equal(await recordAuthFailure(a, "198.51.100.4", options), null);
    assert.ok(await recordAuthFailure(b, "198.51.100.4", options), "the fourth, wherever it lands");
  });
});

Deno.test("AUTH_FAILURE_LIMIT=0 counts nothing and locks nobody out", async () => {
  await withKvFile(1, async ([kv]) => {
    const options = { limit: { limit: 0, windowMs: 0 }, now: pinnedClock };
    for (let i = 0; i < 20; i++) {
      assert.equal(await recordAuthFailure(kv, "192.0.2.1", options), null);
    }
    assert.equal((await Array.fromAsync(kv.list({ prefix: [] }))).length, 0, "nothing stored");
  });
});
