/**
 * Failed authentication, counted per client address (`AUTH_FAILURE_LIMIT`, e.g. `10/1m`): once an
 * address has spent its failures in a window, its further failures are answered 429 with
 * `Retry-After` until the window ends. Only failures are counted and only failures are refused —
 * a valid credential is accepted from a locked-out address too, so one address shared by many
 * people (a proxy without `TRUST_PROXY`, an office NAT) never locks out those who have the key.
 * The count lives in KV like every other limit, so a fleet shares it.
 *
 * IPv6 clients are counted per /64, the block one host usually holds, so hopping across its own
 * addresses does not reset the count.
 *
 * @module
 */
import type { RateWindow } from "../config.ts";
import { AppError } from "../errors.ts";
import { parseIp } from "../net/mod.ts";
import { getLog } from "../log.ts";
import { KEYS } from "./keys.ts";
import { countInWindow } from "./window.ts";

/** Options of {@link recordAuthFailure}. */
export interface AuthFailureOptions {
  /** `AUTH_FAILURE_LIMIT`: failures allowed per window; a limit of 0 counts nothing. */
  limit: RateWindow;
  /** Clock, epoch milliseconds. */
  now: () => number;
}

/** The bucket an address counts in: the address, or its /64 for IPv6. */
export function addressBucket(address: string): string {
  const bytes = parseIp(address);
  if (bytes === null || bytes.length === 4) return address;
  return `${bytes.subarray(0, 8).toHex()}/64`;
}

/**
 * Counts one failed authentication from `address`. Returns null while the address has failures
 * left in its window, else the `rate_limited` error to answer with (its `retryAfterSeconds` is
 * when the window ends).
 */
export async function recordAuthFailure(
  kv: Deno.Kv,
  address: string,
  options: AuthFailureOptions,
): Promise<AppError | null> {
  const { limit, windowMs } = options.limit;
  if (limit === 0) return null;
  const outcome = await countInWindow(kv, KEYS.authFailures(addressBucket(address)), {
    cost: 1,
    limit,
    windowMs,
    now: options.now,
  });
  if (outcome.allowed) {
    if (outcome.count === limit) {
      // Once per window and address: enough for an operator to see a guesser, not a flood.
      getLog("auth").warn(
        "Address {address} sent {limit} failed credentials; its further failures get 429 for {seconds} s",
        {
          address,
          limit,
          seconds: Math.ceil((outcome.resetAt - options.now()) / 1000),
        },
      );
    }
    return null;
  }
  const retryAfterSeconds = Math.max(1, Math.ceil((outcome.resetAt - options.now()) / 1000));
  return new AppError(
    "rate_limited",
    `Too many failed authentication attempts from this address: try again in ${retryAfterSeconds} s ` +
      "(a valid key is still accepted)",
    { retryAfterSeconds, details: { limit } },
  );
}
