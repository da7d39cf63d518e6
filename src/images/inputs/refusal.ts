/**
 * The one shape of an edit-input error: `Cannot use "<ref>" as an edit input: <detail>`, with a
 * machine-readable `reason` in the details. A reference is echoed only in a shortened form, and a
 * data URL never with its payload, so no image or file content reaches a message.
 *
 * @module
 */

import { ValidationError } from "../../errors.ts";
import type { NetProblem } from "../../net/mod.ts";

/** Why an edit input was refused, as `details.reason` of the error (URL refusals: the guard's). */
export type InputProblem =
  | NetProblem
  | "empty"
  | "disabled"
  | "outside_roots"
  | "sandbox_path"
  | "home_path"
  | "foreign_path"
  | "missing"
  | "unreadable"
  | "not_a_file"
  | "not_an_image";

const MAX_SHOWN = 160;

/** Quotes `ref` for a message: shortened, and a data URL without its payload. */
export function describeRef(ref: string): string {
  let shown = ref;
  if (/^data:/i.test(ref)) {
    const comma = ref.indexOf(",");
    shown = `${comma === -1 ? ref.slice(0, 40) : ref.slice(0, comma + 1)}…`;
  }
  if (shown.length > MAX_SHOWN) shown = `${shown.slice(0, MAX_SHOWN)}…`;
  return JSON.stringify(shown);
}

/** Builds a {@link ValidationError} for one refused reason, detail and optional extra details. */
export type Refuse = (
  reason: InputProblem,
  detail: string,
  details?: Record<string, unknown>,
) => ValidationError;

/** Returns the error builder for `ref` in request field `field`. */
export function refusal(field: string, ref: string): Refuse {
  return (reason, detail, details = {}) =>
    new ValidationError(field, `Cannot use ${describeRef(ref)} as an edit input: ${detail}`, {
      reason,
      ...details,
    });
}

/** Formats a byte count for a message: `50 MB`, `512 KB`, `10 bytes`. */
export function formatSize(bytes: number): string {
  const units: [number, string][] = [[1024 * 1024, "MB"], [1024, "KB"]];
  for (const [size, unit] of units) {
    if (bytes >= size) {
      const value = bytes / size;
      return `${Number.isInteger(value) ? value : value.toFixed(1)} ${unit}`;
    }
  }
  return `${bytes} bytes`;
}
