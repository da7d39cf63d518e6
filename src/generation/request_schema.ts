/**
 * Zod projections of the request field table ({@link REQUEST_FIELDS}): the core's schema, and the
 * schemas a door publishes and checks — MCP tool inputs, OpenAPI JSON bodies and the `/v1`
 * multipart fields. They are plain zod v4 objects, which both MCP SDK 1.x `registerTool` and the
 * SDK v2 (Standard Schema with JSON Schema) accept, and which `@hono/zod-openapi` documents.
 *
 * The doors check JSON types and ranges only; words that do not depend on case (quality,
 * background, …) are checked by the core, which answers a wrong one with the nearest valid one.
 *
 * @module
 */
import { z } from "zod";
import {
  coreFields,
  type Door,
  doorFields,
  type FieldName,
  type FieldSpec,
  fieldSpec,
  type Operation,
} from "./request_fields.ts";

/** Zod type of a field as the core checks it, after tidying (exact words, exact ranges). */
function coreType(spec: FieldSpec): z.ZodType {
  switch (spec.type) {
    case "text":
      return z.string();
    case "choice":
      return z.enum(spec.values);
    case "integer":
      return z.number().int().min(spec.min).max(spec.max);
    case "number":
      return z.number().min(spec.min);
    case "boolean":
      return z.boolean();
    case "references":
      return z.array(z.string().min(1)).min(spec.min).max(spec.max);
  }
}

/** Zod type of a field as a door's JSON body carries it. */
function jsonType(spec: FieldSpec): z.ZodType {
  switch (spec.type) {
    case "text":
      return spec.required ? z.string().min(1) : z.string();
    case "choice":
      return spec.caseless ? z.string() : z.enum(spec.values);
    case "integer":
      return z.number().int().min(spec.min).max(spec.max);
    case "number":
      return z.number().min(spec.min);
    case "boolean":
      return z.boolean();
    case "references":
      return z.array(z.string()).min(spec.min).max(spec.max);
  }
}

/** Zod type of a field sent as multipart text: numbers and booleans arrive as words. */
function multipartType(spec: FieldSpec): z.ZodType {
  switch (spec.type) {
    case "integer":
      return z.coerce.number().int().min(spec.min).max(spec.max);
    case "number":
      return z.coerce.number().min(spec.min);
    case "boolean":
      return z.union([z.boolean(), z.enum(["true", "false"]).transform((v) => v === "true")]);
    default:
      return jsonType(spec);
  }
}

/** `type` with the field's description (and `door`'s note), example and optionality. */
function documented(spec: FieldSpec, type: z.ZodType, door?: Door): z.ZodType {
  const note = door === undefined ? undefined : spec.notes?.[door];
  const described = type.meta({
    description: note === undefined ? spec.description : `${spec.description} ${note}`,
    ...(spec.example === undefined ? {} : { example: spec.example }),
  });
  return spec.required ? described : described.optional();
}

function objectOf(
  names: readonly FieldName[],
  typeOf: (spec: FieldSpec) => z.ZodType,
  door?: Door,
) {
  const shape: Record<string, z.ZodType> = {};
  for (const name of names) {
    const spec = fieldSpec(name);
    shape[name] = documented(spec, typeOf(spec), door);
  }
  return z.object(shape);
}

/** The core's schema of an `operation` request (a plain object at the root). */
export function coreRequestSchema(operation: Operation): z.ZodObject {
  return objectOf(coreFields(operation), coreType);
}

/**
 * The JSON body `door` accepts for `operation`: the MCP tool input schema, or an OpenAPI body.
 * A zod object, which is a Standard Schema with a JSON Schema converter.
 */
export function doorRequestSchema(door: Door, operation: Operation): z.ZodObject {
  return objectOf(doorFields(door, operation), jsonType, door);
}

/** The text fields of a multipart `door` request for `operation`, numbers and booleans coerced. */
export function multipartRequestSchema(door: Door, operation: Operation): z.ZodObject {
  return objectOf(doorFields(door, operation), multipartType, door);
}

/** The fields of a door's checked `body` that `door` passes to the core for `operation`. */
export function coreInputOf(
  door: Door,
  operation: Operation,
  body: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  for (const name of doorFields(door, operation, "core")) {
    if (body[name] !== undefined) input[name] = body[name];
  }
  return input;
}
