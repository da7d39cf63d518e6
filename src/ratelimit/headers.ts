/**
 * Rate-limit response headers: the IETF draft's structured `RateLimit-Policy` / `RateLimit`
 * fields and the older `RateLimit-Limit` / `-Remaining` / `-Reset` triple that the predecessor's
 * express-rate-limit sent (clients and dashboards read either), plus `Retry-After` on refusal.
 *
 * @module
 */
import type { RateResult } from "./window.ts";

// A policy name is sent as a structured-field string: printable ASCII without `"` or `\`.
const POLICY_NAME = /^[\x20\x21\x23-\x5b\x5d-\x7e]+$/;

/** Headers describing `result` under the policy `policyName`; none when the limit is off. */
export function rateLimitHeaders(
  result: RateResult,
  policyName = "default",
): Record<string, string> {
  if (!POLICY_NAME.test(policyName)) {
    throw new TypeError(`Invalid rate-limit policy name: ${JSON.stringify(policyName)}`);
  }
  if (result.limit === 0) return {};
  const headers: Record<string, string> = {
    "RateLimit-Policy": `"${policyName}";q=${result.limit};w=${result.windowSeconds}`,
    "RateLimit": `"${policyName}";r=${result.remaining};t=${result.resetSeconds}`,
    "RateLimit-Limit": String(result.limit),
    "RateLimit-Remaining": String(result.remaining),
    "RateLimit-Reset": String(result.resetSeconds),
  };
  if (!result.allowed) {
    headers["Retry-After"] = String(result.retryAfterSeconds ?? Math.max(1, result.resetSeconds));
  }
  return headers;
}
