/**
 * Waiting for the kernel to write back what the previous turn left dirty. A target that does not
 * fsync (the predecessor) leaves hundreds of megabytes in the page cache, and the disk writes them
 * while the next target runs: without this wait, a turn is charged with the previous one's I/O.
 *
 * @module
 */

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
 * Resolves once the page cache holds less than `belowBytes` waiting to be written (default
 * 32 MiB), or after `maxMs` (default 15 s); at once where `/proc/meminfo` cannot be read.
 */
export async function settleWriteback(
  options: { belowBytes?: number; maxMs?: number } = {},
): Promise<void> {
  const below = options.belowBytes ?? 32 * 1024 * 1024;
  const deadline = performance.now() + (options.maxMs ?? 15_000);
  while (performance.now() < deadline) {
    const text = await Deno.readTextFile("/proc/meminfo").catch(() => null);
    const pending = text === null ? null : pendingWriteback(text);
    if (pending === null || pending < below) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
