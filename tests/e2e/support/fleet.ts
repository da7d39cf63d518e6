/**
 * Several HTTP service processes on one machine, the way a fleet runs them: each instance is
 * `deno run -P=http src/main_http.ts` in its own process with its own data directory, and they
 * share only what the environment gives them (one KV file, one fake upstream). Each instance
 * comes from `spawnHttpService` in `http_server.ts`, so it can be sent any signal (SIGKILL for a
 * crash, SIGINT for a Deploy eviction).
 *
 * @module
 */
import { type HttpServerProcess, spawnHttpService } from "./http_server.ts";

/** Several instances sharing one KV file, each with its own data directory. */
export interface Fleet extends AsyncDisposable {
  /** The instances, named A, B, C, … */
  readonly instances: readonly HttpServerProcess[];
  /** The shared KV file (KV_PATH of every instance). */
  readonly kvPath: string;
  /** Stops every instance still running (SIGTERM, then SIGKILL) and removes the directories. */
  stop(): Promise<void>;
}

/**
 * Starts `count` instances in parallel on one KV file (`KV_PATH=<tmp>/kv.sqlite3`) with `env`;
 * if any fails to start, the others are stopped before the error is thrown.
 */
export async function startFleet(
  count: number,
  env: Record<string, string>,
): Promise<Fleet> {
  if (!Number.isInteger(count) || count < 1) {
    throw new RangeError(`Cannot start a fleet: count must be a positive integer, got ${count}`);
  }
  const root = await Deno.makeTempDir({ prefix: "fleet-" });
  const kvPath = `${root}/kv.sqlite3`;
  const names = Array.from({ length: count }, (_, i) => String.fromCharCode(65 + i));
  for (const name of names) await Deno.mkdir(`${root}/${name}`);
  const started = await Promise.allSettled(
    names.map((name) =>
      spawnHttpService({ ...env, KV_PATH: kvPath }, { name, dataDir: `${root}/${name}` })
    ),
  );
  const instances = started.flatMap((s) => s.status === "fulfilled" ? [s.value] : []);
  const stop = async () => {
    await Promise.all(instances.map((instance) => instance.stop(5_000)));
    await Deno.remove(root, { recursive: true }).catch(() => {});
  };
  const failed = started.find((s) => s.status === "rejected");
  if (failed) {
    await stop();
    throw (failed as PromiseRejectedResult).reason;
  }
  return { instances, kvPath, stop, [Symbol.asyncDispose]: stop };
}

/**
 * Runs `task(i)` for i = 0 … total-1 with at most `concurrency` running at once; returns the
 * results in order.
 */
export async function runBounded<T>(
  total: number,
  concurrency: number,
  task: (index: number) => Promise<T>,
): Promise<T[]> {
  const results = new Array<T>(total);
  let next = 0;
  const worker = async () => {
    while (next < total) {
      const index = next++;
      results[index] = await task(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker));
  return results;
}

/** Hex SHA-256 of `bytes`. */
export async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}
