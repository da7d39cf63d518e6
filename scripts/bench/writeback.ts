/**
 * Writing out what a turn left dirty in the page cache. A target that does not fsync (the
 * predecessor) leaves hundreds of megabytes there, which the kernel writes out on its own schedule
 * (after ~30 s, or past a share of memory) — possibly while another target runs. `sync` before a
 * turn (untimed) and after it (timed) makes each turn pay for its own writes and no other's.
 *
 * @module
 */

/** Flushes the page cache to disk with `sync`; does nothing where `sync` cannot run. */
export async function flushWriteback(): Promise<void> {
  await new Deno.Command("sync", { stdout: "null", stderr: "null" }).output().catch(() => {});
}
