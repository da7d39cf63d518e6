/**
 * Runs the same fixture script in several real processes at once and collects the JSON each prints
 * on stdout — for tests of what processes sharing one KV file do together.
 *
 * @module
 */
import assert from "node:assert/strict";

const config = new URL("../../../deno.json", import.meta.url).pathname;

/**
 * Starts `count` processes of `script` (under the `test` permission set) with `args` plus
 * `--start-at <ms>`, a moment after their start-up, so they act at the same time. Each must exit 0
 * and print one JSON document.
 */
export async function runWorkers<T>(
  script: string,
  args: (startAt: number) => string[],
  options: { count: number; startDelayMs: number },
): Promise<T[]> {
  const startAt = Date.now() + options.startDelayMs;
  const outputs = await Promise.all(
    Array.from({ length: options.count }, () =>
      new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--config",
          config,
          "-P=test",
          script,
          ...args(startAt),
          "--start-at",
          String(startAt),
        ],
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output()),
  );
  return outputs.map((output) => {
    assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
    return JSON.parse(new TextDecoder().decode(output.stdout)) as T;
  });
}
