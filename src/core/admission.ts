/**
 * Admission of one generation, the same for every door: the monthly budget (the request's
 * worst-case price reserved, not just checked, so concurrent requests cannot overshoot it), the
 * hourly image allowance (a request for n images needs n), concurrent generations per principal
 * and the global upstream queue — then, when the job ends, its settlement and metrics.
 *
 * What a request that does not succeed gives back:
 * - refused at admission, cancelled while queued or before the upstream call was sent: everything
 *   (allowance and reservation);
 * - refused by the upstream with an error answer (which OpenAI does not bill): the allowance, and
 *   the reservation settles to $0;
 * - cancelled or timed out after the upstream call was sent: nothing — the upstream may have
 *   billed it, so the reservation settles to the cost the upstream reported or, when it reported
 *   nothing, to the worst case.
 *
 * @module
 */
import type { Caller, CheckedRequest, Cost, GenerationResult } from "../core_types.ts";
import { type AppError, type ErrorKind, toAppError } from "../errors.ts";
import type { UpstreamWatch } from "../generation/mod.ts";
import { getLog } from "../log.ts";
import type { LimitName, MetricsDoor, ServiceMetrics } from "../metrics.ts";
import {
  type GenerationReservation,
  hourlyImageLimit,
  type InflightLease,
  type Limiter,
  type LimitSettings,
  type SpendReservation,
} from "../ratelimit/mod.ts";
import { withSpan } from "../tracing.ts";

const log = getLog("core", "admission");

/** Error kinds that come from the upstream API (counted by `upstream_errors_total`). */
const UPSTREAM_KINDS: ReadonlySet<ErrorKind> = new Set<ErrorKind>([
  "moderation_blocked",
  "upstream_auth",
  "upstream_verification_required",
  "model_not_found",
  "upstream_invalid_request",
  "upstream_rate_limited",
  "upstream_quota",
  "upstream_unavailable",
  "upstream_timeout",
]);

/** Failures after the upstream call was sent for which no answer arrived (it may have billed). */
const UNANSWERED_KINDS: ReadonlySet<ErrorKind> = new Set<ErrorKind>([
  "cancelled",
  "upstream_timeout",
]);

/** Collaborators of {@link createAdmission}. */
export interface AdmissionDeps {
  /** Limits bound to the KV. */
  limiter: Limiter;
  /** Where outcomes are recorded. */
  metrics: ServiceMetrics;
  /** The configured limits (the hourly allowance of anonymous and local callers). */
  limits: Pick<LimitSettings, "imageGenerationRateLimit" | "anonymousImageGenerationRateLimit">;
}

/** An admitted request: what it holds, and how to account for the job it became. */
export interface Admitted {
  /** Hand this to the generator: it reports when the upstream call is sent and answered. */
  readonly watch: UpstreamWatch;
  /** Accounts the job's end (spend, allowance, slot, metrics); never throws. */
  settle(outcome: { ok: true; result: GenerationResult } | { ok: false; error: unknown }): Promise<
    void
  >;
}

/**
 * One of a caller's in-flight slots, taken before its request is known (an upload still to be
 * read); {@link Admission.admit} given it runs the request in it instead of taking another.
 */
export interface HeldInflight {
  /** The concurrency lease. */
  readonly lease: InflightLease;
  /** Stops counting the slot in the in-flight gauge; safe to call more than once. */
  readonly stopGauge: () => void;
  /** Gives the slot back; safe to call more than once. */
  release(): Promise<void>;
}

/** Options of {@link Admission.admit}. */
export interface AdmitOptions {
  /** Aborts waiting in the upstream queue. */
  signal?: AbortSignal;
  /** A slot {@link Admission.hold} took for this request; admission owns it from then on. */
  held?: HeldInflight;
}

/** Admission and settlement bound to the limiter and metrics. */
export interface Admission {
  /** Admits `checked` for `caller` or throws the refusal (nothing is held then). */
  admit(caller: Caller, checked: CheckedRequest, options?: AdmitOptions): Promise<Admitted>;
  /** Takes one of `caller`'s in-flight slots now, or throws the refusal `admit` would. */
  hold(caller: Caller): Promise<HeldInflight>;
  /** Records a request refused before admission (invalid, unauthorised) in the metrics. */
  refused(caller: Caller, model: string, error: AppError): void;
  /** The hourly image allowance of `caller` (0 = no cap). */
  imagesPerHour(caller: Caller): number;
}

function metricsDoor(caller: Caller): MetricsDoor {
  return caller.door === "adopted" ? "cli" : caller.door;
}

/** Callers at the machine itself: no credentials on a loopback bind, or the stdio/CLI user. */
function isLocalOrAnonymous(caller: Caller): boolean {
  const kind = caller.principal?.kind;
  return kind === "anonymous" || kind === "local";
}

/** Builds the admission of generations over `deps`. */
export function createAdmission(deps: AdmissionDeps): Admission {
  const { limiter, metrics } = deps;

  function recordFailure(caller: Caller, model: string, error: AppError, limit?: LimitName) {
    if (limit !== undefined) metrics.recordRateLimited(limit);
    const outcome = limit !== undefined || error.kind === "validation" ||
        error.kind === "forbidden" || error.kind === "unauthorized"
      ? "rejected"
      : error.kind === "cancelled"
      ? "cancelled"
      : "error";
    metrics.recordGeneration({ model, outcome, door: metricsDoor(caller) });
    metrics.recordGenerationError(error.kind);
    if (UPSTREAM_KINDS.has(error.kind)) metrics.recordUpstreamError(error.kind);
  }

  async function quietly(what: string, action: () => Promise<unknown>): Promise<void> {
    try {
      await action();
    } catch (error) {
      log.warning("Cannot {what}: {error}", { what, error: String(error) });
    }
  }

  function imagesPerHour(caller: Caller): number {
    return hourlyImageLimit(deps.limits, isLocalOrAnonymous(caller));
  }

  async function hold(caller: Caller): Promise<HeldInflight> {
    let lease: InflightLease;
    try {
      lease = await limiter.acquireInflight(caller.principal!.id);
    } catch (error) {
      // The request is not read yet: its model is unknown, and caller text is never a label.
      const appError = toAppError(error);
      recordFailure(caller, "unknown", appError, "inflight");
      throw appError;
    }
    const untrack = metrics.trackInflight();
    let tracked = true;
    const stopGauge = () => {
      if (tracked) untrack();
      tracked = false;
    };
    return {
      lease,
      stopGauge,
      async release() {
        stopGauge();
        await quietly("release a concurrency slot", () => lease.release());
      },
    };
  }

  async function admit(
    caller: Caller,
    checked: CheckedRequest,
    options: AdmitOptions = {},
  ): Promise<Admitted> {
    const { signal } = options;
    const slot = options.held;
    const principal = caller.principal!;
    const id = principal.id;
    const started = performance.now();
    let limit: LimitName = "budget";
    let spend: SpendReservation | undefined;
    let window: GenerationReservation | undefined;
    let lease: InflightLease | undefined = slot?.lease;
    let stopGauge: (() => void) | undefined = slot?.stopGauge;
    const releaseAll = async (refundWindow: boolean) => {
      stopGauge?.();
      if (lease) await quietly("release a concurrency slot", () => lease!.release());
      if (refundWindow && window) {
        await quietly(
          `refund ${window.n} images of ${id}`,
          () => limiter.refundGenerations(window!),
        );
      }
    };
    try {
      await withSpan("ratelimit.check", async (span) => {
        try {
          spend = await limiter.reserveSpend(id, checked.worstCaseUsd);
          limit = "generation";
          window = await limiter.reserveGenerations(id, checked.n, {
            anonymous: isLocalOrAnonymous(caller),
          });
          limit = "inflight";
          if (slot === undefined) {
            lease = await limiter.acquireInflight(id);
            stopGauge = metrics.trackInflight();
          }
          limit = "upstream";
          const grant = await limiter.waitForUpstream(checked.n, signal);
          if (grant.ticket >= 0) metrics.observeUpstreamQueueWait(grant.waitedMs / 1000);
          span.setAttributes({ "ratelimit.queue_wait_ms": Math.round(grant.waitedMs) });
        } catch (error) {
          span.setAttributes({ "ratelimit.limit": limit });
          throw error;
        }
      }, { attributes: { "image.n": checked.n, "door": caller.door } });
    } catch (error) {
      const appError = toAppError(error);
      const refusedBy = appError.kind === "validation" || appError.kind === "cancelled"
        ? undefined
        : limit;
      recordFailure(caller, checked.model, appError, refusedBy);
      await releaseAll(true);
      if (spend) await quietly("release a budget reservation", () => limiter.releaseSpend(spend!));
      throw appError;
    }

    let sent = false;
    let answered: Cost | undefined;
    const held = { spend: spend!, window: window! };
    return {
      watch: {
        sent: () => (sent = true),
        answered: (cost) => (answered = cost),
      },
      async settle(outcome) {
        if (outcome.ok) {
          const done = outcome.result;
          metrics.recordGeneration({
            model: done.model,
            outcome: "success",
            door: metricsDoor(caller),
            durationSeconds: (performance.now() - started) / 1000,
          });
          if (done.cost.usd !== null) metrics.recordCost(done.model, done.cost.usd);
          // Images kept only for this answer (`save: false`) have no file name and are not stored.
          const saved = done.images.filter((image) => image.fileName !== "");
          metrics.recordImagesStored(saved.length, saved.reduce((sum, i) => sum + i.bytes, 0));
          await releaseAll(false);
          await quietly(
            `record spend of ${id}`,
            () => limiter.settleSpend(held.spend, done.cost.usd ?? 0, done.images.length),
          );
          return;
        }
        const error = toAppError(outcome.error);
        recordFailure(caller, checked.model, error);
        if (!sent) {
          await releaseAll(true);
          await quietly("release a budget reservation", () => limiter.releaseSpend(held.spend));
          return;
        }
        const billed = answered !== undefined || UNANSWERED_KINDS.has(error.kind);
        await releaseAll(!billed);
        const usd = answered !== undefined ? answered.usd ?? 0 : billed ? checked.worstCaseUsd : 0;
        await quietly(`record spend of ${id}`, () => limiter.settleSpend(held.spend, usd, 0));
      },
    };
  }

  return {
    admit,
    hold,
    refused: (caller, model, error) => recordFailure(caller, model, error),
    imagesPerHour,
  };
}
