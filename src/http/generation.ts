/**
 * The limits around one generation, shared by every HTTP door (`POST /mcp`, `/v1`, remote MCP
 * tools, the gallery form): the request is validated by the core first — a bad request is a
 * validation error and costs no allowance — then the monthly budget, the hourly image allowance
 * (a request for n images needs n), concurrent generations per principal and the global upstream
 * queue, then the ImageService call, then the spend ledger. Images reserved for a request that
 * produced nothing are given back. Metrics record the outcome by model, door and error kind, the
 * in-flight gauge and the queue wait.
 *
 * @module
 */
import type {
  CheckedRequest,
  GenerationJob,
  GenerationResult,
  ImageService,
  ProgressListener,
} from "../core_types.ts";
import type { Principal } from "../auth/tokens.ts";
import { type AppError, type ErrorKind, toAppError } from "../errors.ts";
import type { Limiter } from "../ratelimit/limiter.ts";
import type { GenerationReservation } from "../ratelimit/limiter.ts";
import type { LimitName, MetricsDoor, ServiceMetrics } from "../metrics.ts";
import { getLog } from "../log.ts";
import { withSpan } from "../tracing.ts";

/** Collaborators of {@link startGatedGeneration}. */
export interface GenerationGate {
  /** Limits bound to the KV. */
  limiter: Limiter;
  /** Where outcomes are recorded. */
  metrics: ServiceMetrics;
}

/** One generation request to run under the limits. */
export interface GatedRequest {
  /** Who asked. */
  principal: Principal;
  /** Door for the catalog and metrics. */
  door: "http" | "v1" | "mcp";
  /** The core: validates the request, then starts it. */
  images: Pick<ImageService, "validate" | "generate" | "edit">;
  /** Which call the request is. */
  operation: "generate" | "edit";
  /** The request as the door passes it to the core. */
  input: unknown;
  /** Aborts the wait and the upstream call. */
  signal?: AbortSignal;
  /** Progress (stages and partial images). */
  onProgress?: ProgressListener;
  /** Partial images to ask for (streaming). */
  partialImages?: number;
}

/** A started generation and its settled outcome (limits and metrics already accounted). */
export interface GatedJob {
  /** The running job (ids known from the start). */
  readonly job: GenerationJob;
  /** Settles with the stored images, or rejects with an AppError. */
  readonly result: Promise<GenerationResult>;
}

const log = getLog("http", "generation");

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

function record(
  gate: GenerationGate,
  door: MetricsDoor,
  model: string,
  error: AppError,
  limit?: LimitName,
): void {
  if (limit !== undefined) gate.metrics.recordRateLimited(limit);
  const outcome = limit !== undefined
    ? "rejected"
    : error.kind === "cancelled"
    ? "cancelled"
    : error.kind === "validation"
    ? "rejected"
    : "error";
  gate.metrics.recordGeneration({ model, outcome, door });
  gate.metrics.recordGenerationError(error.kind);
  if (UPSTREAM_KINDS.has(error.kind)) gate.metrics.recordUpstreamError(error.kind);
}

async function refund(gate: GenerationGate, reservation: GenerationReservation): Promise<void> {
  try {
    await gate.limiter.refundGenerations(reservation);
  } catch (error) {
    log.warning("Cannot refund {n} images of {principal}: {error}", {
      n: reservation.n,
      principal: reservation.principal,
      error: String(error),
    });
  }
}

/**
 * Validates `request`, checks the limits, starts the job and returns it with its outcome. Throws
 * (an AppError) when the input is invalid — before any allowance is taken — or a limit refuses
 * the request; nothing is started or kept in that case.
 */
export async function startGatedGeneration(
  gate: GenerationGate,
  request: GatedRequest,
): Promise<GatedJob> {
  const id = request.principal.id;
  let checked: CheckedRequest;
  try {
    checked = await request.images.validate(request.operation, request.input);
  } catch (error) {
    const appError = toAppError(error);
    // The model is not validated yet: never publish caller text as a label.
    record(gate, request.door, "unknown", appError);
    throw appError;
  }
  const started = performance.now();
  let limit: LimitName | undefined = "budget";
  let reservation: GenerationReservation | undefined;
  let lease: { release(): Promise<void> } | undefined;
  let stopGauge: (() => void) | undefined;
  try {
    await withSpan("ratelimit.check", async (span) => {
      try {
        await gate.limiter.checkBudget(id);
        limit = "generation";
        reservation = await gate.limiter.reserveGenerations(id, checked.n, {
          anonymous: request.principal.kind === "anonymous",
        });
        limit = "inflight";
        lease = await gate.limiter.acquireInflight(id);
        stopGauge = gate.metrics.trackInflight();
        limit = "upstream";
        const grant = await gate.limiter.waitForUpstream(checked.n, request.signal);
        if (grant.ticket >= 0) gate.metrics.observeUpstreamQueueWait(grant.waitedMs / 1000);
        span.setAttributes({ "ratelimit.queue_wait_ms": Math.round(grant.waitedMs) });
      } catch (error) {
        span.setAttributes({ "ratelimit.limit": limit });
        throw error;
      }
    }, { attributes: { "image.n": checked.n, "door": request.door } });
    limit = undefined;
    const job = await request.images[request.operation](request.input, {
      door: request.door,
      principal: request.principal,
      ...(request.signal === undefined ? {} : { signal: request.signal }),
      ...(request.onProgress === undefined ? {} : { onProgress: request.onProgress }),
      ...(request.partialImages === undefined ? {} : { partialImages: request.partialImages }),
    });
    const held = { reservation: reservation!, lease: lease!, stopGauge: stopGauge! };
    const result = job.done.then(
      async (done) => {
        gate.metrics.recordGeneration({
          model: done.model,
          outcome: "success",
          door: request.door,
          durationSeconds: (performance.now() - started) / 1000,
        });
        if (done.cost.usd !== null) gate.metrics.recordCost(done.model, done.cost.usd);
        // Images kept only for this answer (`save: false`) have no file name and are not stored.
        const saved = done.images.filter((image) => image.fileName !== "");
        gate.metrics.recordImagesStored(saved.length, saved.reduce((sum, i) => sum + i.bytes, 0));
        try {
          await gate.limiter.recordSpend(id, done.cost.usd ?? 0, done.images.length);
        } catch (error) {
          log.warning("Cannot record spend of {principal}: {error}", {
            principal: id,
            error: String(error),
          });
        }
        return done;
      },
      async (error) => {
        const appError = toAppError(error);
        record(gate, request.door, job.model, appError);
        await refund(gate, held.reservation);
        throw appError;
      },
    ).finally(async () => {
      held.stopGauge();
      await held.lease.release().catch(() => {});
    });
    return { job, result };
  } catch (error) {
    const appError = toAppError(error);
    const refusedBy = limit !== undefined && appError.kind !== "validation" &&
        appError.kind !== "cancelled"
      ? limit
      : undefined;
    record(gate, request.door, checked.model, appError, refusedBy);
    stopGauge?.();
    if (reservation !== undefined) await refund(gate, reservation);
    if (lease !== undefined) await lease.release().catch(() => {});
    throw appError;
  }
}
