/**
 * Limits kept in Deno KV, exact across processes: request rates, hourly images, in-flight
 * generations, the upstream queue, the monthly spend ledger, and failed credentials per address.
 *
 * @module
 */
export {
  createLimiter,
  hourlyImageLimit,
  type Limiter,
  type LimiterOptions,
  type LimitSettings,
} from "./limiter.ts";
export { rateLimitHeaders } from "./headers.ts";
export type { InflightLease } from "./inflight.ts";
export { type SpendReservation, type UsageReport, usageReport } from "./spend.ts";
export type { GenerationReservation } from "./window.ts";
export { recordAuthFailure } from "./auth_failures.ts";
export {
  AUTHORIZATION_REQUEST_LIMIT,
  recordAuthorizationRequest,
  recordRegistration,
} from "./registrations.ts";
