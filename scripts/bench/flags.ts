/**
 * Command-line flags shared by the bench scripts: the gateway workload's flags (one set of
 * defaults for `deno task bench` and `deno task bench:profile`, so their figures describe the same
 * workload) and whole-number checking.
 *
 * @module
 */

/** `parseArgs` options of the gateway workload: 300 requests at 20 concurrent after 20 warm-up. */
export const GATEWAY_WORKLOAD_FLAGS = Object.freeze(
  {
    requests: { type: "string", default: "300" },
    concurrency: { type: "string", default: "20" },
    warmup: { type: "string", default: "20" },
  } as const,
);

/** The value of `--<flag>` as a whole number of at least `min` (default 0); a RangeError if not. */
export function wholeNumber(flag: string, value: string | undefined, min = 0): number {
  const parsed = Number(value);
  if (value === undefined || value.trim() === "" || !Number.isInteger(parsed) || parsed < min) {
    throw new RangeError(`--${flag} must be a whole number of at least ${min}, got ${value}`);
  }
  return parsed;
}
