import assert from "node:assert/strict";
import { KEYS, type WindowState } from "../../src/ratelimit/keys.ts";

const worker = new URL("./fixtures/ratelimit_worker.ts", import.meta.url).pathname;
const config = new URL("../../deno.json", import.meta.url).pathname;

async function runWorkers(
  kvPath: string,
  mode: "generations" | "requests",
  count: number,
  attempts: number,
  limit: number,
): Promise<{ admitted: number; refused: number }[]> {
  // Both processes start hammering at the same moment, after their start-up.
  const startAt = Date.now() + 1_500;
  const runs = Array.from({ length: count }, () =>
    new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--config",
        config,
        "-P=test",
        worker,
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
        "--start-at",
        String(startAt),
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output());
  const outputs = await Promise.all(runs);
  return outputs.map((output) => {
    const stderr = new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 0, stderr);
    return JSON.parse(new TextDecoder().decode(output.stdout));
  });
}

Deno.test("two processes sharing one KV file never admit more images than the hourly limit", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ratelimit_e2e_" });
  try {
    const kvPath = `${dir}/kv.sqlite3`;
    const results = await runWorkers(kvPath, "generations", 2, 40, 25);
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
    const results = await runWorkers(`${dir}/kv.sqlite3`, "requests", 2, 40, 25);
    assert.equal(results.reduce((sum, r) => sum + r.admitted, 0), 25);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
