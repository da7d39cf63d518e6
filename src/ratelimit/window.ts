/**
 * Fixed-window counters in KV: the general request limit (`REQUEST_RATE_LIMIT`) and the hourly
 * image allowance (`IMAGE_GENERATION_RATE_LIMIT`). A principal's window starts with its first
 * request after the previous window ended, so windows of different principals do not all reset
 * at once. Refused requests consume nothing.
 *
 * @module
 */
import { AppError, ValidationError } from "../errors.ts";
import { updateValue } from "./cas.ts";
import { KEYS, type WindowState } from "./keys.ts";

const HOUR_MS = 3_600_000;

/** Options of {@link checkRequestRate}. */
export interface RequestRateOptions {
  /** Requests allowed per window; 0 disables the limit. */
  limit: number;
  /** Window length in milliseconds. */
  windowMs: number;
  /** Clock, epoch milliseconds. */
  now: () => number;
}

/** The outcome of one request against the general limit, with what rate-limit headers need. */
export interface RateResult {
  /** Whether the request may proceed. */
  readonly allowed: boolean;
  /** Requests allowed per window (0 when the limit is off). */
  readonly limit: number;
  /** Requests left in the current window after this one. */
  readonly remaining: number;
  /** Seconds until the current window ends. */
  readonly resetSeconds: number;
  /** Window length in seconds (the `w` of `RateLimit-Policy`). */
  readonly windowSeconds: number;
  /** Seconds to wait before retrying; present only when refused. */
  readonly retryAfterSeconds?: number;
}

/** The outcome of {@link countInWindow}. */
export interface Consumed {
  /** Whether the units fitted (and were counted). */
  readonly allowed: boolean;
  /** Units counted in the window, after this call. */
  readonly count: number;
  /** End of the window, epoch milliseconds. */
  readonly resetAt: number;
}

/** Options of {@link countInWindow}. */
export interface CountOptions {
  /** Units this call takes. */
  cost: number;
  /** Units allowed per window. */
  limit: number;
  /** Window length in milliseconds. */
  windowMs: number;
  /** Clock, epoch milliseconds. */
  now: () => number;
}

function seconds(ms: number): number {
  return Math.max(0, Math.ceil(ms / 1000));
}

/**
 * Takes `cost` units from the fixed window at `key` when they fit; a refused call takes nothing.
 * The window starts with the first units after the previous one ended. Exact across processes
 * sharing the KV (check-and-set on versionstamps).
 */
export function countInWindow(
  kv: Deno.Kv,
  key: Deno.KvKey,
  options: CountOptions,
): Promise<Consumed> {
  const { cost, limit, windowMs, now } = options;
  return updateValue<WindowState, Consumed>(kv, key, (current) => {
    const t = now();
    const live = current !== null && current.resetAt > t ? current : null;
    const count = live?.count ?? 0;
    const resetAt = live?.resetAt ?? t + windowMs;
    if (count + cost > limit) return { result: { allowed: false, count, resetAt } };
    return {
      result: { allowed: true, count: count + cost, resetAt },
      write: { count: count + cost, resetAt },
      expireIn: resetAt - t + 60_000,
    };
  });
}

function positiveInteger(value: number, name: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`Invalid ${name}: expected a non-negative integer, got ${value}`);
  }
}

/**
 * Counts one request of `principal` against the general limit and says whether it may proceed.
 * Exact across processes sharing the KV (check-and-set on versionstamps).
 */
export async function checkRequestRate(
  kv: Deno.Kv,
  principal: string,
  options: RequestRateOptions,
): Promise<RateResult> {
  const { limit, windowMs, now } = options;
  positiveInteger(limit, "request limit");
  // A limit of 0 switches the check off (REQUEST_RATE_LIMIT=0); its window does not matter.
  if (limit === 0) {
    return { allowed: true, limit: 0, remaining: 0, resetSeconds: 0, windowSeconds: 0 };
  }
  if (!(windowMs > 0)) throw new RangeError(`Invalid window: expected > 0 ms, got ${windowMs}`);
  const windowSeconds = seconds(windowMs);
  const outcome = await countInWindow(kv, KEYS.requests(principal), {
    cost: 1,
    limit,
    windowMs,
    now,
  });
  const resetSeconds = seconds(outcome.resetAt - now());
  const base = {
    allowed: outcome.allowed,
    limit,
    remaining: Math.max(0, limit - outcome.count),
    resetSeconds,
    windowSeconds,
  };
  return outcome.allowed ? base : { ...base, retryAfterSeconds: Math.max(1, resetSeconds) };
}

/** Options of {@link reserveGenerations}. */
export interface GenerationLimitOptions {
  /** Images allowed per hour per principal; 0 disables the limit. */
  perHour: number;
  /** Clock, epoch milliseconds. */
  now: () => number;
}

/** Images taken from a principal's hourly allowance; hand it back with {@link refundGenerations}. */
export interface GenerationReservation {
  /** Whose allowance. */
  readonly principal: string;
  /** Images reserved. */
  readonly n: number;
  /** End of the window the images were taken from (epoch ms); 0 when the limit is off. */
  readonly resetAt: number;
  /** Images left in that window. */
  readonly remaining: number;
}

/**
 * Takes `n` images from `principal`'s hourly allowance, or refuses the whole request with
 * `AppError("rate_limited")` and `retryAfterSeconds` when fewer than `n` are left. A request for
 * more images than the hourly limit can never fit and is refused as a validation error on `n`.
 */
export async function reserveGenerations(
  kv: Deno.Kv,
  principal: string,
  n: number,
  options: GenerationLimitOptions,
): Promise<GenerationReservation> {
  const { perHour, now } = options;
  positiveInteger(perHour, "hourly image limit");
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new RangeError(`Invalid image count: expected a positive integer, got ${n}`);
  }
  if (perHour === 0) return { principal, n, resetAt: 0, remaining: Number.POSITIVE_INFINITY };
  if (n > perHour) {
    throw new ValidationError(
      "n",
      `Cannot generate ${n} images in one request: the limit is ${perHour} images per hour`,
      { limit: perHour, requested: n },
    );
  }
  const outcome = await countInWindow(kv, KEYS.generations(principal), {
    cost: n,
    limit: perHour,
    windowMs: HOUR_MS,
    now,
  });
  if (!outcome.allowed) {
    const retryAfterSeconds = Math.max(1, seconds(outcome.resetAt - now()));
    const left = perHour - outcome.count;
    throw new AppError(
      "rate_limited",
      `Image generation limit reached: ${left} of ${perHour} images left this hour, ` +
        `${n} requested; try again in ${retryAfterSeconds} s`,
      { retryAfterSeconds, details: { limit: perHour, remaining: left, requested: n } },
    );
  }
  return { principal, n, resetAt: outcome.resetAt, remaining: perHour - outcome.count };
}

/**
 * Gives a reservation back, for an upstream call that failed before producing any image. Only
 * the window the images came from is credited: after it has ended there is nothing to return.
 * Returns whether anything was credited.
 */
export function refundGenerations(
  kv: Deno.Kv,
  reservation: GenerationReservation,
  options: { now: () => number },
): Promise<boolean> {
  if (reservation.resetAt === 0) return Promise.resolve(false);
  return updateValue<WindowState, boolean>(
    kv,
    KEYS.generations(reservation.principal),
    (current) => {
      if (current === null || current.resetAt !== reservation.resetAt) return { result: false };
      return {
        result: true,
        write: { count: Math.max(0, current.count - reservation.n), resetAt: current.resetAt },
        expireIn: Math.max(0, current.resetAt - options.now()) + 60_000,
      };
    },
  );
}
