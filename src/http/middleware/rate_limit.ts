/**
 * The general request limit (`REQUEST_RATE_LIMIT`) per principal: the API key, or the client's
 * address when anonymous. It runs after authentication, so rejected credentials never use up
 * anyone's allowance. Every limited response carries `RateLimit-Policy` / `RateLimit` (and the
 * older `RateLimit-Limit/-Remaining/-Reset`); a refusal is 429 with `Retry-After`.
 *
 * @module
 */
import type { Context, MiddlewareHandler } from "hono";
import type { Principal } from "../../core_types.ts";
import { AppError } from "../../errors.ts";
import { type Limiter, rateLimitHeaders } from "../../ratelimit/mod.ts";
import type { ServiceMetrics } from "../../metrics.ts";
import type { HttpEnv } from "../deps.ts";

/** Collaborators of the request limit. */
export interface RequestLimitContext {
  /** Limits bound to the KV. */
  limiter: Limiter;
  /** Counts refusals. */
  metrics: ServiceMetrics;
}

/** Name of the policy in the `RateLimit-Policy` header. */
export const REQUEST_POLICY = "requests";

function describeWindow(seconds: number): string {
  if (seconds % 86_400 === 0) return `${seconds / 86_400} d`;
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}

/**
 * Counts one request of `principal`; returns the headers to send, or throws 429 (with the
 * headers already set on `c`).
 */
export async function checkRequestLimit(
  c: Context,
  ctx: RequestLimitContext,
  principal: Principal,
): Promise<Record<string, string>> {
  const result = await ctx.limiter.checkRequest(principal.id);
  const headers = rateLimitHeaders(result, REQUEST_POLICY);
  for (const [name, value] of Object.entries(headers)) c.header(name, value);
  if (!result.allowed) {
    ctx.metrics.recordRateLimited("request");
    const retryAfterSeconds = result.retryAfterSeconds ?? Math.max(1, result.resetSeconds);
    throw new AppError(
      "rate_limited",
      `Too many requests: the limit is ${result.limit} per ${
        describeWindow(result.windowSeconds)
      }; try again in ${retryAfterSeconds} s`,
      { retryAfterSeconds, details: { limit: result.limit, windowSeconds: result.windowSeconds } },
    );
  }
  return headers;
}

/** Copies `headers` onto the final response unless a handler set them itself. */
export function applyHeaders(c: Context, headers: Record<string, string>): void {
  for (const [name, value] of Object.entries(headers)) {
    if (!c.res.headers.has(name)) c.header(name, value);
  }
}

/** Middleware applying the request limit to the authenticated `principal`. */
export function requestLimit(ctx: RequestLimitContext): MiddlewareHandler<HttpEnv> {
  return async function requestLimitMiddleware(c, next) {
    const headers = await checkRequestLimit(c, ctx, c.get("principal"));
    await next();
    applyHeaders(c, headers);
  };
}
