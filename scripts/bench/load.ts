/**
 * The bench's load client: N requests, C at a time, each a function that sends request `i` and
 * says whether it succeeded; the same client drives every target so their figures compare.
 *
 * @module
 */
import { percentile } from "./stats.ts";

/** Sends request `i`; resolves true on success, or a short reason for a failure. */
export type SendOne = (i: number) => Promise<true | string>;

/** The outcome of one load run. */
export interface LoadRun {
  /** Requests sent. */
  requests: number;
  /** Requests in flight at once. */
  concurrency: number;
  /** Wall-clock seconds from the first request to the last answer. */
  seconds: number;
  /** Successful requests per second. */
  rps: number;
  /** Median latency, ms. */
  p50Ms: number;
  /** 95th percentile latency, ms. */
  p95Ms: number;
  /** Requests that succeeded. */
  ok: number;
  /** Failures by reason. */
  failures: Record<string, number>;
  /** Every request's latency, ms, in order of completion. */
  latenciesMs: number[];
}

/** Sends `requests` requests with `send`, `concurrency` at a time. */
export async function runLoad(
  send: SendOne,
  options: { requests: number; concurrency: number },
): Promise<LoadRun> {
  const { requests, concurrency } = options;
  const latencies: number[] = [];
  const failures: Record<string, number> = {};
  let ok = 0;
  let next = 0;
  const worker = async () => {
    while (next < requests) {
      const i = next++;
      const started = performance.now();
      let outcome: true | string;
      try {
        outcome = await send(i);
      } catch (error) {
        outcome = error instanceof Error ? error.message.slice(0, 120) : String(error);
      }
      latencies.push(performance.now() - started);
      if (outcome === true) ok++;
      else failures[outcome] = (failures[outcome] ?? 0) + 1;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: Math.min(concurrency, requests) }, worker));
  const seconds = (performance.now() - started) / 1000;
  return {
    requests,
    concurrency,
    seconds,
    rps: ok / seconds,
    p50Ms: percentile(latencies, 0.5),
    p95Ms: percentile(latencies, 0.95),
    ok,
    failures,
    latenciesMs: latencies,
  };
}

/**
 * Runs of one target taken in turns (interleaved with other targets' runs) as one: requests, time,
 * successes and failures summed, percentiles over every latency.
 */
export function mergeLoadRuns(runs: readonly LoadRun[]): LoadRun {
  if (runs.length === 0) throw new RangeError("Cannot merge no load runs");
  const failures: Record<string, number> = {};
  for (const run of runs) {
    for (const [why, n] of Object.entries(run.failures)) failures[why] = (failures[why] ?? 0) + n;
  }
  const seconds = runs.reduce((sum, run) => sum + run.seconds, 0);
  const ok = runs.reduce((sum, run) => sum + run.ok, 0);
  const latenciesMs = runs.flatMap((run) => run.latenciesMs);
  return {
    requests: runs.reduce((sum, run) => sum + run.requests, 0),
    concurrency: Math.max(...runs.map((run) => run.concurrency)),
    seconds,
    rps: seconds > 0 ? ok / seconds : 0,
    p50Ms: percentile(latenciesMs, 0.5),
    p95Ms: percentile(latenciesMs, 0.95),
    ok,
    failures,
    latenciesMs,
  };
}

/** `total` split into `parts` whole shares as even as possible (the first ones larger). */
export function evenShares(total: number, parts: number): number[] {
  if (!Number.isInteger(total) || !Number.isInteger(parts) || total < 0 || parts < 1) {
    throw new RangeError(`Cannot split ${total} into ${parts} shares`);
  }
  return Array.from(
    { length: parts },
    (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0),
  );
}

/** POSTs `body` as JSON to `url` with `headers`; the response, body unread. */
export function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}
