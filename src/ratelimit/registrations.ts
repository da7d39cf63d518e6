/**
 * Per-address hourly limits of the OAuth endpoints anyone may call, so that one address cannot
 * fill the KV or drive the service's outbound fetches: Dynamic Client Registrations
 * (`OAUTH_DCR_LIMIT`) and authorization requests (each keeps a pending request in KV and may fetch
 * a client metadata document). Counted in KV like every other limit, per /64 for IPv6.
 *
 * @module
 */
import { AppError } from "../errors.ts";
import { addressBucket } from "./auth_failures.ts";
import { KEYS } from "./keys.ts";
import { countInWindow } from "./window.ts";

const HOUR_MS = 3_600_000;

/** Authorization requests allowed per address and hour (a person needs a few; a NAT, more). */
export const AUTHORIZATION_REQUEST_LIMIT = 120;

/** Options of the per-address limits. */
interface PerAddressOptions {
  limit: number;
  now: () => number;
}

async function countPerHour(
  kv: Deno.Kv,
  key: Deno.KvKey,
  options: PerAddressOptions,
  refusal: (retryAfterSeconds: number) => string,
): Promise<AppError | null> {
  if (options.limit === 0) return null;
  const outcome = await countInWindow(kv, key, {
    cost: 1,
    limit: options.limit,
    windowMs: HOUR_MS,
    now: options.now,
  });
  if (outcome.allowed) return null;
  const retryAfterSeconds = Math.max(1, Math.ceil((outcome.resetAt - options.now()) / 1000));
  return new AppError("rate_limited", refusal(retryAfterSeconds), { retryAfterSeconds });
}

/**
 * Counts one registration from `address`: null when it fits in the hour's `limit` (0 = no limit),
 * else the `rate_limited` error to answer with.
 */
export function recordRegistration(
  kv: Deno.Kv,
  address: string,
  options: PerAddressOptions,
): Promise<AppError | null> {
  return countPerHour(
    kv,
    KEYS.registrations(addressBucket(address)),
    options,
    (seconds) =>
      `Too many client registrations from this address: at most ${options.limit} per hour ` +
      `(OAUTH_DCR_LIMIT); try again in ${seconds} s`,
  );
}

/**
 * Counts one authorization request from `address`: null while it fits in
 * {@link AUTHORIZATION_REQUEST_LIMIT} per hour, else the `rate_limited` error to answer with.
 */
export function recordAuthorizationRequest(
  kv: Deno.Kv,
  address: string,
  options: { now: () => number; limit?: number },
): Promise<AppError | null> {
  const limit = options.limit ?? AUTHORIZATION_REQUEST_LIMIT;
  return countPerHour(
    kv,
    KEYS.authorizationRequests(addressBucket(address)),
    { limit, now: options.now },
    (seconds) =>
      `Too many sign-in requests from this address: at most ${limit} per hour; ` +
      `try again in ${seconds} s`,
  );
}
