/**
 * Cancels that cross instances: a cancel request is a KV key; the instance running the job
 * watches that key and aborts its upstream call. Works for stateless remote MCP, where the cancel
 * may arrive at another instance than the call.
 *
 * @module
 */
import { KEYS } from "../images/mod.ts";
import { kvCommit, kvGet } from "../kv/mod.ts";
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
 * How often a running job polls a local KV file for a cancel request. `kv.watch` on a local
 * SQLite file only sees writes made by the same process, so a cancel recorded by another process
 * sharing the file (several instances on one machine) would go unnoticed. KV Connect and Deploy's
 * managed KV deliver watches across instances and need no polling.
 */
export const LOCAL_CANCEL_POLL_MS = 250;

/**
 * Calls `onCancel` once when a cancel request for `jobId` appears — seen by `kv.watch`, and also by
 * polling every `options.pollMs` when given (see {@link LOCAL_CANCEL_POLL_MS}); returns a stop
 * function.
 */
export function watchCancel(
  kv: Deno.Kv,
  jobId: string,
  onCancel: (reason: string) => void,
  options: { pollMs?: number } = {},
): () => void {
  const { pollMs } = options;
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stop = () => {
    stopped = true;
    clearTimeout(timer);
    stopWatching();
  };
  const fire = (reason: string) => {
    if (stopped) return;
    stop();
    onCancel(reason);
  };
  const stopWatching = watchCancelKey(kv, jobId, fire);
  const poll = async () => {
    try {
      const entry = await kvGet<{ reason?: string }>(kv, KEYS.jobCancel(jobId));
      if (entry.value !== null) return fire(entry.value.reason ?? "cancelled");
    } catch {
      return; // The KV handle closed; nothing to watch any more.
    }
    if (!stopped) schedule();
  };
  const schedule = () => {
    const next = setTimeout(poll, pollMs);
    Deno.unrefTimer(next);
    timer = next;
  };
  if (pollMs !== undefined) schedule();
  return stop;
}
