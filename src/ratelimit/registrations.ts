/**
 * OAuth Dynamic Client Registrations per client address (`OAUTH_DCR_LIMIT` per hour), so that one
 * address cannot fill the KV with clients. Counted in KV like every other limit, per /64 for IPv6.
 *
 * @module
 */
import { AppError } from "../errors.ts";
import { addressBucket } from "./auth_failures.ts";
import { KEYS } from "./keys.ts";
import { countInWindow } from "./window.ts";

const HOUR_MS = 3_600_000;

/**
 * Counts one registration from `address`: null when it fits in the hour's `limit` (0 = no limit),
 * else the `rate_limited` error to answer with.
 */
export async function recordRegistration(
  kv: Deno.Kv,
  address: string,
  options: { limit: number; now: () => number },
): Promise<AppError | null> {
  if (options.limit === 0) return null;
  const outcome = await countInWindow(kv, KEYS.registrations(addressBucket(address)), {
    cost: 1,
    limit: options.limit,
    windowMs: HOUR_MS,
    now: options.now,
  });
  if (outcome.allowed) return null;
  const retryAfterSeconds = Math.max(1, Math.ceil((outcome.resetAt - options.now()) / 1000));
  return new AppError(
    "rate_limited",
    `Too many client registrations from this address: at most ${options.limit} per hour ` +
      `(OAUTH_DCR_LIMIT); try again in ${retryAfterSeconds} s`,
    { retryAfterSeconds },
  );
}
