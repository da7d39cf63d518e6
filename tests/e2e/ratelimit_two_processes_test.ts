import assert from "node:assert/strict";
import { KEYS, type WindowState } from "../../src/ratelimit/keys.ts";
import { runWorkers } from "./support/workers.ts";

const worker = new URL("./fixtures/ratelimit_worker.ts", import.meta.url).pathname;

function runRateWorkers(
  kvPath: string,
  mode: "generations" | "requests",
  count: number,
  attempts: number,
  limit: number,
): Promise<{ admitted: number; refused: number }[]> {
  // The processes start hammering at the same moment, after their start-up.
  return runWorkers(worker, () => [
    "--kv",
    kvPath,
    "--mode",
    mode,
    "--attempts",
    String(attempts),
    "--limit",
    String(limit),
    "--concurrency",
    "4",
  ], { count, startDelayMs: 1_500 });
}

Deno.test("two processes sharing one KV file never admit more images than the hourly limit", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ratelimit_e2e_" });
  try {
    const kvPath = `${dir}/kv.sqlite3`;
    const results = await runRateWorkers(kvPath, "generations", 2, 40, 25);
    const admitted = results.reduce((sum, r) => sum + r.admitted, 0);
    const refused = results.reduce((sum, r) => sum + r.refused, 0);
    assert.equal(admitted + refused, 80);
    assert.equal(admitted, 25, `admitted per process: ${results.map((r) => r.admitted)}`);
    const kv = await Deno.openKv(kvPath);
    try {
      const stored = await kv.get<WindowState>(KEYS.generations("key_shared"));
      assert.equal(stored.value?.count, 25);
    } finally {
      kv.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("two processes sharing one KV file never admit more requests than the general limit", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ratelimit_e2e_" });
  try {
    const results = await runRateWorkers(`${dir}/kv.sqlite3`, "requests", 2, 40, 25);
    assert.equal(results.reduce((sum, r) => sum + r.admitted, 0), 25);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
