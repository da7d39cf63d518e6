/**
 * Request validation failures as {@link ValidationError}s naming the field, so every route family
 * reports them the same way (`field` in REST bodies, `param` in OpenAI's).
 *
 * @module
 */
import type { z } from "@hono/zod-openapi";
import { ValidationError } from "../errors.ts";

/** The first issue of `error` as a ValidationError; `fallbackField` names the whole input. */
export function validationErrorOf(error: z.ZodError, fallbackField = "body"): ValidationError {
  const issue = error.issues[0];
  if (issue === undefined) return new ValidationError(fallbackField, "Invalid request");
  const field = issue.path.length > 0 ? issue.path.map(String).join(".") : fallbackField;
  if (issue.code === "invalid_type" && /received undefined/.test(issue.message)) {
    return new ValidationError(field, `Missing required field: ${field}`);
  }
  const message = issue.message.charAt(0).toLowerCase() + issue.message.slice(1);
  return new ValidationError(field, `Invalid ${field}: ${message}`);
}

/** Parses `value` with `schema` or throws the first problem as a ValidationError. */
export function parseOrThrow<S extends z.ZodType>(
  schema: S,
  value: unknown,
  fallbackField = "body",
): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw validationErrorOf(result.error, fallbackField);
  return result.data;
}

/** Parses JSON text or throws a ValidationError on `body`. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ValidationError(
      "body",
      `Malformed JSON in request body: ${(error as Error).message}`,
    );
  }
}
