/**
 * Writing back what the previous turn left dirty before the next turn starts. A target that does
 * not fsync (the predecessor) leaves hundreds of megabytes in the page cache, which the kernel
 * writes out on its own schedule (after ~30 s, or past a share of memory) — possibly while the
 * next target runs: without this flush, a turn could be charged with the previous one's I/O.
 *
 * @module
 */
import { procText } from "./process_cpu.ts";

/** Bytes of `Dirty` + `Writeback` in a `/proc/meminfo` text; null when neither is there. */
export function pendingWriteback(meminfo: string): number | null {
  let total: number | null = null;
  for (const name of ["Dirty", "Writeback"]) {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB$`, "m").exec(meminfo);
    if (match) total = (total ?? 0) + Number(match[1]) * 1024;
  }
  return total;
}

/**
 * Flushes the page cache to disk with `sync` (untimed; skipped where `sync` cannot run) and
 * resolves with the bytes still pending afterwards, or null where `/proc/meminfo` cannot be read.
 */
export async function flushWriteback(): Promise<number | null> {
  await new Deno.Command("sync", { stdout: "null", stderr: "null" }).output().catch(() => {});
  const text = await procText("/proc/meminfo");
  return text === null ? null : pendingWriteback(text);
}
