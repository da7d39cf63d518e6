/**
 * The words of request validation: a {@link ValidationError} names the field, the bad value, what
 * is accepted and, where one is close, the nearest valid choice.
 *
 * @module
 */
import type { z } from "zod";
import { ValidationError } from "../errors.ts";
import { LEGACY_QUALITY_MAP } from "./model_data.ts";
import { editDistance } from "./models.ts";
import { fieldSpec, isFieldName } from "./request_fields.ts";

/** Renders a value for a message, short and never throwing. */
export function show(value: unknown): string {
  try {
    const text = JSON.stringify(value) ?? String(value);
    return text.length > 60 ? `${text.slice(0, 57)}...` : text;
  } catch {
    return Array.isArray(value) ? "an array" : typeof value;
  }
}

function fieldName(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path) {
    out += typeof key === "number" ? `[${key}]` : `${out ? "." : ""}${String(key)}`;
  }
  return out || "request";
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const key of path) {
    if (typeof value !== "object" || value === null || !Object.hasOwn(value, key)) {
      return undefined;
    }
    value = Reflect.get(value, key);
  }
  return value;
}

/** What `field` accepts, in words, from the field table. */
function acceptedOf(field: string): string {
  return isFieldName(field) ? fieldSpec(field).accepted : "see the request schema";
}

/** The word of `accepted` closest to `value` (a legacy quality word maps to its successor). */
export function nearestWord(value: unknown, accepted: readonly string[]): string | undefined {
  if (typeof value !== "string" || accepted.length === 0) return undefined;
  const lower = value.toLowerCase();
  const legacy = Object.hasOwn(LEGACY_QUALITY_MAP, lower) ? LEGACY_QUALITY_MAP[lower] : undefined;
  if (legacy !== undefined && accepted.includes(legacy)) return legacy;
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of accepted) {
    const distance = editDistance(lower.slice(0, 64), candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= Math.max(2, Math.floor((best?.length ?? 0) / 2)) ? best : undefined;
}

/** A refusal of `value` for `field`: `reason` ends with what is accepted. */
export function invalid(
  field: string,
  value: unknown,
  reason: string,
  extra: { model?: string; accepted?: readonly string[]; nearest?: readonly string[] } = {},
): ValidationError {
  const nearest = extra.nearest ?? [];
  const where = extra.model ? ` for ${extra.model}` : "";
  const hint = nearest.length ? ` (nearest valid: ${nearest.join(" or ")})` : "";
  return new ValidationError(field, `Invalid ${field} ${show(value)}${where}: ${reason}${hint}`, {
    value: typeof value === "string" || typeof value === "number" ? value : show(value),
    ...(extra.accepted ? { accepted: extra.accepted } : {}),
    ...(nearest.length ? { nearest } : {}),
  });
}

/** The warning for a field a model does not take. */
export function dropped(field: string, value: unknown, model: string, why: string): string {
  return `${field} ${show(value)} is not supported by ${model} and was dropped: ${why}`;
}

/** The first schema issue about `input` as a ValidationError naming the field. */
export function schemaError(issue: z.core.$ZodIssue, input: unknown): ValidationError {
  const field = fieldName(issue.path);
  const top = typeof issue.path[0] === "string" ? issue.path[0] : "";
  const accepted = acceptedOf(top);
  const value = valueAt(input, issue.path);
  if (issue.path.length === 0) {
    return new ValidationError(
      "request",
      `Invalid request ${show(input)}: expected a JSON object with at least a prompt`,
    );
  }
  if (value === undefined) {
    return new ValidationError(field, `Missing ${field}: ${accepted} is required`);
  }
  if (issue.code === "invalid_value") {
    const values = issue.values.map(String);
    const near = nearestWord(value, values);
    return invalid(field, value, `accepted: ${values.join(", ")}`, {
      accepted: values,
      ...(near ? { nearest: [near] } : {}),
    });
  }
  if ((issue.code === "too_small" || issue.code === "too_big") && Array.isArray(value)) {
    return new ValidationError(
      field,
      `Invalid ${field}: ${value.length} given (accepted: ${accepted})`,
    );
  }
  if (issue.code === "too_small" || issue.code === "too_big") {
    if (typeof value === "number") {
      const bound = issue.code === "too_small" ? issue.minimum : issue.maximum;
      return invalid(field, value, `accepted: ${accepted}`, { nearest: [String(bound)] });
    }
    return invalid(field, value, `must not be empty (accepted: ${accepted})`);
  }
  if (issue.code === "invalid_type" && issue.expected === "int" && typeof value === "number") {
    return invalid(field, value, `accepted: ${accepted}`, {
      ...(Number.isFinite(value) ? { nearest: [String(Math.round(value))] } : {}),
    });
  }
  return invalid(field, value, `accepted: ${accepted}`);
}
