/**
 * The request vocabulary of `src/generation/`, a light public module: the request field table,
 * its zod projections and the hint for a missing API key — what a door needs to describe and check
 * a request. It loads no engine (`mod.ts` brings the model registry and the OpenAI SDK), so the
 * stdio door and the MCP server use it before the first tool call loads the core.
 *
 * @module
 */
export { type KeyVariable, missingKeyHint } from "./key_hint.ts";
export {
  CheckedFields,
  type Door,
  doorFields,
  FIELD_NAMES,
  type FieldName,
  type FieldSpec,
  fieldSpec,
  isFieldName,
  type Operation,
  REQUEST_FIELDS,
} from "./request_fields.ts";
export {
  coreInputOf,
  coreRequestSchema,
  doorRequestSchema,
  multipartRequestSchema,
} from "./request_schema.ts";
