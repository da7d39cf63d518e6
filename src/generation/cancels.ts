/**
 * Cancels that cross instances: a cancel request is a KV key; the instance running the job
 * watches that key and aborts its upstream call. Works for stateless remote MCP, where the cancel
 * may arrive at another instance than the call.
 *
 * @module
 */
import { KEYS } from "../images/mod.ts";
import { kvCommit, kvGetMany } from "../kv/mod.ts";
import { systemClock } from "../clock.ts";

/** How long a cancel request is kept (jobs older than this have long finished). */
const CANCEL_TTL_MS = 3_600_000;

/** Records a cancel request for `jobId` in KV. */
export async function requestCancel(
  kv: Deno.Kv,
  jobId: string,
  reason = "cancelled",
): Promise<void> {
  await kvCommit(
    kv,
    (op) =>
      op.set(KEYS.jobCancel(jobId), { reason, at: systemClock() }, { expireIn: CANCEL_TTL_MS }),
  );
}

/** Calls `onCancel` once when `kv.watch` sees a cancel request for `jobId`; returns a stop function. */
function watchCancelKey(
  kv: Deno.Kv,
  jobId: string,
  onCancel: (reason: string) => void,
): () => void {
  const stream = kv.watch([KEYS.jobCancel(jobId)]);
  const reader = stream.getReader();
  let stopped = false;
  (async () => {
    try {
      while (!stopped) {
        const { value, done } = await reader.read();
        if (done) return;
        const entry = value[0];
        if (entry.value !== null) {
          stopped = true;
          onCancel((entry.value as { reason?: string }).reason ?? "cancelled");
          return;
        }
      }
    } catch {
      // The KV handle closed; nothing to watch any more.
    }
  })();
  return () => {
    if (stopped) return;
    stopped = true;
    reader.cancel().catch(() => {});
  };
}

/**
 * How often running jobs poll a local KV file for cancel requests. `kv.watch` on a local SQLite
 * file only sees writes made by the same process, so a cancel recorded by another process sharing
 * the file (several instances on one machine) would go unnoticed. KV Connect and Deploy's managed
 * KV deliver watches across instances and need no polling.
 */
export const LOCAL_CANCEL_POLL_MS = 250;

/**
 * Cancel requests for the jobs of one process: each job's key is watched with `kv.watch`, and,
 * when `pollMs` is given (see {@link LOCAL_CANCEL_POLL_MS}), the keys of every job running are
 * also read together every `pollMs` — one read for all of them, not one per job, so the KV work of
 * polling does not grow with the jobs in flight.
 */
export class CancelWatch {
  readonly #kv: Deno.Kv;
  readonly #pollMs: number | undefined;
  /** The jobs polled for, and what to call when their cancel request appears. */
  readonly #polled = new Map<string, (reason: string) => void>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #polling = false;
  #closed = false;

  constructor(kv: Deno.Kv, options: { pollMs?: number } = {}) {
    this.#kv = kv;
    this.#pollMs = options.pollMs;
  }

  /** Calls `onCancel` once when a cancel request for `jobId` appears; returns a stop function. */
  watch(jobId: string, onCancel: (reason: string) => void): () => void {
    let stopped = false;
    const stop = () => {
      stopped = true;
      stopWatching();
      this.#polled.delete(jobId);
      if (this.#polled.size === 0) this.#stopTimer();
    };
    const fire = (reason: string) => {
      if (stopped) return;
      stop();
      onCancel(reason);
    };
    const stopWatching = watchCancelKey(this.#kv, jobId, fire);
    if (this.#pollMs !== undefined && !this.#closed) {
      this.#polled.set(jobId, fire);
      this.#schedule();
    }
    return stop;
  }

  /** Stops polling (the watches end when the KV handle closes). */
  close(): void {
    this.#closed = true;
    this.#polled.clear();
    this.#stopTimer();
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#polling || this.#polled.size === 0 || this.#closed) {
      return;
    }
    const timer = setTimeout(() => this.#poll(), this.#pollMs);
    Deno.unrefTimer(timer);
    this.#timer = timer;
  }

  #stopTimer(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  async #poll(): Promise<void> {
    this.#timer = undefined;
    this.#polling = true;
    const jobIds = [...this.#polled.keys()];
    try {
      const entries = await kvGetMany<{ reason?: string }>(
        this.#kv,
        jobIds.map((jobId) => KEYS.jobCancel(jobId)),
      );
      for (const [i, entry] of entries.entries()) {
        if (entry.value !== null) this.#polled.get(jobIds[i])?.(entry.value.reason ?? "cancelled");
      }
    } catch {
      // The KV handle closed, or a read failed past its retries: these jobs are no longer polled
      // (as a job polling alone stopped), but jobs started later are.
      for (const jobId of jobIds) this.#polled.delete(jobId);
    } finally {
      this.#polling = false;
    }
    this.#schedule();
  }
}
