/**
 * Peak memory of this service with many generations in flight at once: a fresh service, an
 * upstream that holds every answer for a while (so all requests are waiting on it together, then
 * all bodies arrive together), and the kernel's high-water mark of the service's resident set.
 *
 * @module
 */
import { statusBytes } from "../../tests/e2e/support/process_memory.ts";
import { type Door, thisService } from "./gateway.ts";
import { runLoad } from "./load.ts";
import { startUpstream } from "./upstream_process.ts";

/** Figures of the memory run. */
export interface MemoryFigures {
  /** The door called. */
  door: Door;
  /** Generations sent at once. */
  inFlight: number;
  /** Image size asked for. */
  size: string;
  /** Upstream delay before answering, ms. */
  latencyMs: number;
  /** Whether the upstream held all of them at once before answering any. */
  allInFlight: boolean;
  /** Resident set of the idle service before the run, bytes. */
  idleRssBytes: number;
  /** Peak resident set (VmHWM) of the service after the run, bytes. */
  peakRssBytes: number;
  /** Generations that succeeded. */
  ok: number;
}

/** Sends `inFlight` generations of `size` at once through `door` of a fresh service; its peak RSS. */
export async function measurePeakMemory(
  options: { door: Door; inFlight: number; size: string; latencyMs: number },
): Promise<MemoryFigures> {
  await using upstream = await startUpstream({
    latencyMs: options.latencyMs,
    sizes: [options.size],
  });
  await using service = await thisService(upstream, { door: options.door, size: options.size });
  const idleRssBytes = await statusBytes(service.pid, "VmRSS");
  let allInFlight = false;
  const watching = (async () => {
    for (;;) {
      const stats = await upstream.stats();
      if (stats.generations > 0) return;
      if (stats.received >= options.inFlight) {
        allInFlight = true;
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  const run = await runLoad(service.send, {
    requests: options.inFlight,
    concurrency: options.inFlight,
  });
  await watching;
  return {
    ...options,
    allInFlight,
    idleRssBytes,
    peakRssBytes: await statusBytes(service.pid, "VmHWM"),
    ok: run.ok,
  };
}
