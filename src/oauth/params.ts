/**
 * Request parameters as RFC 6749 §3.1 and §3.2 want them: each at most once (only RFC 8707's
 * `resource` may repeat), so that no two parsers of one request can read different values.
 *
 * @module
 */
import { OAuthError } from "./errors.ts";

/** Throws `invalid_request` naming the first of `names` that `params` holds more than once. */
export function checkSingleParams(params: URLSearchParams, names: readonly string[]): void {
  const repeated = names.find((name) => params.getAll(name).length > 1);
  if (repeated !== undefined) {
    throw new OAuthError(
      "invalid_request",
      `Repeated parameter ${repeated}: each parameter may be sent only once`,
    );
  }
}
