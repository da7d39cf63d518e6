/**
 * The request field table and its projections: every door's schema is built from the one table,
 * so a field means the same thing (and reads the same description) in every door.
 */
import assert from "node:assert/strict";
import { requestFlagDocs, requestFromFlags } from "../../src/cli/request_flags.ts";
import {
  doorFields,
  fieldSpec,
  isFieldName,
  REQUEST_FIELDS,
} from "../../src/generation/request_fields.ts";
import {
  coreInputOf,
  doorRequestSchema,
  multipartRequestSchema,
} from "../../src/generation/request_schema.ts";
import { formRequest } from "../../src/http/gallery/form_request.ts";
import { editImageInput } from "../../src/mcp/tools/edit_image.ts";
import { generateImageInput } from "../../src/mcp/tools/generate_image.ts";

interface JsonObjectSchema {
  type: string;
  required: string[];
  properties: Record<string, { description?: string; type?: string; maximum?: number }>;
}

/** The JSON Schema a Standard-Schema consumer (MCP SDK v2's `registerTool`) derives. */
function standardJsonSchema(schema: typeof generateImageInput): JsonObjectSchema {
  const converted = schema["~standard"].jsonSchema.input({ target: "draft-2020-12" });
  return {
    type: String(converted.type),
    required: Array.isArray(converted.required) ? converted.required.map(String) : [],
    properties: typeof converted.properties === "object" && converted.properties !== null
      ? Object.fromEntries(Object.entries(converted.properties))
      : {},
  };
}

Deno.test("MCP tool inputs are Standard Schemas whose JSON Schema lists the table's fields", () => {
  const generate = standardJsonSchema(generateImageInput);
  assert.equal(generate.type, "object");
  assert.deepEqual(generate.required, ["prompt"]);
  assert.deepEqual(Object.keys(generate.properties), doorFields("mcp", "generate"));
  assert.equal(generate.properties.n.maximum, 10);
  assert.equal(generate.properties.quality.description, REQUEST_FIELDS.quality.description);
  const edit = standardJsonSchema(editImageInput);
  assert.deepEqual(edit.required, ["prompt", "images"]);
  assert.ok(!("style" in edit.properties) && !("moderation" in edit.properties));
});

Deno.test("a field reads the same description in every door that offers it", () => {
  for (const door of ["mcp", "rest", "v1"] as const) {
    const schema = standardJsonSchema(doorRequestSchema(door, "generate"));
    for (const [name, property] of Object.entries(schema.properties)) {
      assert.ok(isFieldName(name), `${door} ${name}`);
      assert.ok(property.description?.startsWith(fieldSpec(name).description), `${door} ${name}`);
    }
  }
});

Deno.test("/v1 multipart fields coerce numbers and booleans; caseless words pass to the core", () => {
  const parsed = multipartRequestSchema("v1", "edit").parse({
    prompt: "p",
    n: "2",
    stream: "true",
    background: "Transparent",
  });
  assert.deepEqual(parsed, { prompt: "p", n: 2, stream: true, background: "Transparent" });
  assert.deepEqual(coreInputOf("v1", "edit", parsed), {
    prompt: "p",
    n: 2,
    background: "Transparent",
  });
  assert.equal(
    multipartRequestSchema("v1", "edit").safeParse({ prompt: "p", n: "11" }).success,
    false,
  );
});

Deno.test("CLI flags give the request fields, with the predecessor's short flags and aliases", () => {
  const values: Record<string, string | boolean> = {
    model: "gpt-image-2",
    n: "2",
    format: "jpg",
    "no-save": true,
    style: "vivid",
  };
  const input = requestFromFlags(
    "generate",
    (flag) => values[flag],
    (flag) => typeof values[flag] === "string" ? Number(values[flag]) : undefined,
  );
  assert.deepEqual(input, {
    model: "gpt-image-2",
    n: 2,
    output_format: "jpeg",
    style: "vivid",
    save: false,
  });
  const docs = requestFlagDocs("generate", ["prompt"]).map((doc) => doc.synopsis);
  assert.ok(docs.includes("-m, --model MODEL") && docs.includes("--no-save"));
  assert.ok(!docs.some((doc) => doc.includes("--prompt")));
  assert.ok(requestFlagDocs("edit").some((doc) => doc.synopsis === "-p, --prompt TEXT"));
});

Deno.test("the gallery form's request takes the custom size and keeps numbers in range", () => {
  const input = formRequest({
    prompt: " a fox ",
    size: "1024x1024",
    size_custom: "1920x1088",
    n: "9",
    partial_images: "7",
    quality: "",
  });
  assert.deepEqual(input, { prompt: "a fox", size: "1920x1088", n: 4, partial_images: 3 });
  assert.throws(() => formRequest({ prompt: "  " }), /Enter a prompt/);
});
