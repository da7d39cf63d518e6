/**
 * The bench's arithmetic: percentiles of latency samples and ratios between runs.
 *
 * @module
 */

/**
 * The `q` quantile (0–1) of `samples` by the nearest-rank method: the smallest sample with at
 * least `q` of all samples at or below it. NaN for no samples.
 */
export function percentile(samples: readonly number[], q: number): number {
  if (!(q >= 0 && q <= 1)) {
    throw new RangeError(`Cannot take a percentile: q must be 0–1, got ${q}`);
  }
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[rank - 1];
}

/** The median of `samples` (the 0.5 nearest-rank percentile). */
export function median(samples: readonly number[]): number {
  return percentile(samples, 0.5);
}

/** `value / base`, or null when either is missing or the base is not a positive number. */
export function ratio(value: number | null, base: number | null): number | null {
  if (value === null || base === null || !Number.isFinite(value) || !(base > 0)) return null;
  return value / base;
}
