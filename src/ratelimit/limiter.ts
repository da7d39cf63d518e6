/**
 * Limits shared by every process that opens the same Deno KV: the general request rate, the
 * hourly image allowance, concurrent generations per principal, the global upstream budget and
 * the monthly spend ledger. All state lives in KV; every function takes the KV and a clock.
 *
 * Typical order for one generation of `n` images by `principal` (run by the core's admission,
 * src/core/admission.ts): `reserveSpend` (the worst-case price) → `reserveGenerations` →
 * `acquireInflight` → `waitForUpstreamBudget` → upstream call → `settleSpend` (the real cost);
 * `refundGenerations` gives the hourly allowance back only to a request that never reached the
 * upstream or that the upstream refused (the upstream budget is not refunded: the call was made).
 *
 * @module
 */
import type { RateWindow } from "../config.ts";
import { acquireInflight, type InflightLease } from "./inflight.ts";
import {
  type BudgetStatus,
  checkBudget,
  recordSpend,
  releaseSpend,
  reserveSpend,
  settleSpend,
  type SpendReservation,
  type UsageReport,
  usageReport,
  type UsageReportOptions,
} from "./spend.ts";
import { type UpstreamGrant, waitForUpstreamBudget } from "./upstream_budget.ts";
import {
  checkRequestRate,
  type GenerationReservation,
  type RateResult,
  refundGenerations,
  reserveGenerations,
} from "./window.ts";
import { systemClock } from "../clock.ts";

export { rateLimitHeaders } from "./headers.ts";
export { acquireInflight, inflightCount } from "./inflight.ts";
export type { InflightLease, InflightOptions } from "./inflight.ts";
export {
  checkBudget,
  monthOf,
  nextMonthStart,
  recordSpend,
  releaseSpend,
  reserveSpend,
  settleSpend,
  usageReport,
} from "./spend.ts";
export type {
  BudgetOptions,
  BudgetStatus,
  RecordSpendOptions,
  ReserveSpendOptions,
  SpendReservation,
  UsageReport,
  UsageReportOptions,
  UsageRow,
} from "./spend.ts";
export { upstreamQueueStatus, waitForUpstreamBudget } from "./upstream_budget.ts";
export type {
  UpstreamBudgetOptions,
  UpstreamGrant,
  UpstreamQueueStatus,
} from "./upstream_budget.ts";
export { checkRequestRate, refundGenerations, reserveGenerations } from "./window.ts";
export type {
  GenerationLimitOptions,
  GenerationReservation,
  RateResult,
  RequestRateOptions,
} from "./window.ts";

/** The configured limits, as in the resolved config. */
export interface LimitSettings {
  /** `REQUEST_RATE_LIMIT`. */
  readonly requestRateLimit: RateWindow;
  /** `IMAGE_GENERATION_RATE_LIMIT`, images per hour; 0 = unlimited. */
  readonly imageGenerationRateLimit: number;
  /** Images per hour for callers without credentials (default: `imageGenerationRateLimit`). */
  readonly anonymousImageGenerationRateLimit?: number;
  /** `MAX_INFLIGHT_PER_KEY`; 0 = unlimited. */
  readonly maxInflightPerKey: number;
  /** `UPSTREAM_IMAGES_PER_MINUTE`; 0 = unlimited. */
  readonly upstreamImagesPerMinute: number;
  /** `UPSTREAM_QUEUE_TIMEOUT_MS`. */
  readonly upstreamQueueTimeoutMs: number;
  /** `BUDGET_USD_PER_KEY_MONTH`; 0 = none. */
  readonly budgetUsdPerKeyMonth: number;
}

/** Options of {@link createLimiter}. */
export interface LimiterOptions {
  /** The limits (a resolved `Config` fits). */
  limits: LimitSettings;
  /** Clock, epoch milliseconds (default `Date.now`). */
  now?: () => number;
  /** Lease length for concurrency slots (default 60,000 ms). */
  leaseMs?: number;
}

/** The limiter functions bound to one KV, one clock and the configured limits. */
export interface Limiter {
  /** Counts a request against `REQUEST_RATE_LIMIT`. */
  checkRequest(principal: string): Promise<RateResult>;
  /**
   * Takes `n` images from the hourly allowance or throws `rate_limited`; an `anonymous` caller's
   * allowance is {@link hourlyImageLimit}'s.
   */
  reserveGenerations(
    principal: string,
    n: number,
    caller?: { anonymous: boolean },
  ): Promise<GenerationReservation>;
  /** Gives a reservation back after an upstream failure that produced no image. */
  refundGenerations(reservation: GenerationReservation): Promise<boolean>;
  /** Takes a concurrency slot or throws `rate_limited`. */
  acquireInflight(principal: string): Promise<InflightLease>;
  /** Waits in order for the global upstream budget or throws `rate_limited` / `cancelled`. */
  waitForUpstream(n: number, signal?: AbortSignal): Promise<UpstreamGrant>;
  /** Throws `budget_exceeded` when the principal's monthly budget is spent. */
  checkBudget(principal: string, pendingUsd?: number): Promise<BudgetStatus>;
  /** Adds spend and images to the principal's monthly ledger. */
  recordSpend(principal: string, usd: number, images: number): Promise<void>;
  /** Sets a request's worst-case price aside from the budget, or throws `budget_exceeded`. */
  reserveSpend(principal: string, usd: number): Promise<SpendReservation>;
  /** Replaces a reservation with the real cost (and images) in the ledger. */
  settleSpend(reservation: SpendReservation, usd: number, images: number): Promise<void>;
  /** Gives a reservation back unspent (the request never reached the upstream). */
  releaseSpend(reservation: SpendReservation): Promise<void>;
  /** Per-principal usage of a month. */
  usageReport(options?: Omit<UsageReportOptions, "now">): Promise<UsageReport>;
}

/** Images per hour a caller may generate (0 = no cap); callers without credentials may differ. */
export function hourlyImageLimit(
  limits: Pick<LimitSettings, "imageGenerationRateLimit" | "anonymousImageGenerationRateLimit">,
  anonymous: boolean,
): number {
  return anonymous
    ? limits.anonymousImageGenerationRateLimit ?? limits.imageGenerationRateLimit
    : limits.imageGenerationRateLimit;
}

/** Binds the limiter functions to `kv`, a clock and the configured limits. */
export function createLimiter(kv: Deno.Kv, options: LimiterOptions): Limiter {
  const { limits } = options;
  const now = options.now ?? systemClock;
  return {
    checkRequest: (principal) =>
      checkRequestRate(kv, principal, {
        limit: limits.requestRateLimit.limit,
        windowMs: limits.requestRateLimit.windowMs,
        now,
      }),
    reserveGenerations: (principal, n, caller) =>
      reserveGenerations(kv, principal, n, {
        perHour: hourlyImageLimit(limits, caller?.anonymous ?? false),
        now,
      }),
    refundGenerations: (reservation) => refundGenerations(kv, reservation, { now }),
    acquireInflight: (principal) =>
      acquireInflight(kv, principal, {
        max: limits.maxInflightPerKey,
        now,
        ...(options.leaseMs === undefined ? {} : { leaseMs: options.leaseMs }),
      }),
    waitForUpstream: (n, signal) =>
      waitForUpstreamBudget(kv, n, {
        perMinute: limits.upstreamImagesPerMinute,
        timeoutMs: limits.upstreamQueueTimeoutMs,
        now,
        ...(signal === undefined ? {} : { signal }),
      }),
    checkBudget: (principal, pendingUsd) =>
      checkBudget(kv, principal, {
        budgetUsd: limits.budgetUsdPerKeyMonth,
        now,
        ...(pendingUsd === undefined ? {} : { pendingUsd }),
      }),
    recordSpend: (principal, usd, images) => recordSpend(kv, principal, usd, { now, images }),
    reserveSpend: (principal, usd) =>
      reserveSpend(kv, principal, usd, { budgetUsd: limits.budgetUsdPerKeyMonth, now }),
    settleSpend: (reservation, usd, images) => settleSpend(kv, reservation, usd, { now, images }),
    releaseSpend: (reservation) => releaseSpend(kv, reservation, { now }),
    usageReport: (report = {}) => usageReport(kv, { ...report, now }),
  };
}
