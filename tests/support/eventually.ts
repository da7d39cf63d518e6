/**
 * Waiting for something another task or process does, in tests: poll a condition until it holds
 * or a generous deadline passes. No test asserts timing with it — the deadline only bounds a hang.
 *
 * @module
 */
import { sleep } from "../../src/clock.ts";

/** Polls `check` every 10 ms until it holds; fails naming `what` after `timeoutMs`. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await sleep(10);
  }
}
