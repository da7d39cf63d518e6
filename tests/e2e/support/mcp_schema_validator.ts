/**
 * Checks MCP messages against the published JSON schemas vendored in tests/fixtures/mcp_schemas/
 * (the specification's 2025-11-25 and 2026-07-28 schemas and the tasks extension's draft schema),
 * one named definition at a time, with `@cfworker/json-schema`.
 *
 * @module
 */
import { type OutputUnit, Validator } from "@cfworker/json-schema";

/** A vendored schema: a protocol era, or the 2026 tasks extension. */
export type McpSchemaName = "2025-11-25" | "2026-07-28" | "ext-tasks";

const FILES: Record<McpSchemaName, string> = {
  "2025-11-25": "2025-11-25.schema.json",
  "2026-07-28": "2026-07-28.schema.json",
  "ext-tasks": "ext-tasks-draft.schema.json",
};

const DIR = new URL("../../fixtures/mcp_schemas/", import.meta.url);

interface SchemaDocument {
  $defs: Record<string, unknown>;
}

const documents = new Map<McpSchemaName, SchemaDocument>();
const validators = new Map<string, Validator>();

function documentOf(schema: McpSchemaName): SchemaDocument {
  let document = documents.get(schema);
  if (!document) {
    document = JSON.parse(Deno.readTextFileSync(new URL(FILES[schema], DIR))) as SchemaDocument;
    documents.set(schema, document);
  }
  return document;
}

/** The definition names of `schema` (e.g. `CreateTaskResult`, `Task`). */
export function definitionsOf(schema: McpSchemaName): string[] {
  return Object.keys(documentOf(schema).$defs);
}

/** The schema errors of `message` as definition `definition` of `schema`; empty when it conforms. */
export function schemaErrors(
  schema: McpSchemaName,
  definition: string,
  message: unknown,
): OutputUnit[] {
  const key = `${schema}#${definition}`;
  let validator = validators.get(key);
  if (!validator) {
    const { $defs } = documentOf(schema);
    if (!(definition in $defs)) {
      throw new RangeError(`Cannot validate: schema ${schema} has no definition "${definition}"`);
    }
    validator = new Validator(
      {
        $schema: "https://json-schema.org/draft/2020-12/schema",
        $defs,
        $ref: `#/$defs/${definition}`,
      },
      "2020-12",
      false,
    );
    validators.set(key, validator);
  }
  return validator.validate(message).errors;
}

/** Throws, naming every schema error, unless `message` conforms to `definition` of `schema`. */
export function assertSchema(schema: McpSchemaName, definition: string, message: unknown): void {
  const errors = schemaErrors(schema, definition, message);
  if (errors.length === 0) return;
  const lines = errors.map((e) => `  ${e.instanceLocation} (${e.keywordLocation}): ${e.error}`);
  throw new TypeError(
    `Message does not conform to ${definition} (${schema}):\n${lines.join("\n")}\n` +
      `Message: ${JSON.stringify(message).slice(0, 2000)}`,
  );
}
