/**
 * Cancels that cross instances: a cancel request is a KV key; the instance running the job
 * watches that key and aborts its upstream call. Works for stateless remote MCP, where the cancel
 * may arrive at another instance than the call.
 *
 * @module
 */
import { KEYS } from "../images/kv_keys.ts";
import { kvCommit } from "../images/kv_retry.ts";

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
    (op) => op.set(KEYS.jobCancel(jobId), { reason, at: Date.now() }, { expireIn: CANCEL_TTL_MS }),
  );
}

/** Calls `onCancel` once when a cancel request for `jobId` appears; returns a stop function. */
export function watchCancel(
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
