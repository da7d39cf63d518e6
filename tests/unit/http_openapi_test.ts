import assert from "node:assert/strict";
import { apiDocument, apiDocumentYaml } from "../../src/http/api_document.ts";
import { toYaml } from "../../src/http/openapi.ts";
import { startTestApp } from "../support/http_app.ts";

Deno.test("docs/openapi.yaml matches the document generated from the routes", async () => {
  const committed = await Deno.readTextFile(new URL("../../docs/openapi.yaml", import.meta.url));
  assert.ok(
    committed === apiDocumentYaml(),
    "docs/openapi.yaml is stale: run `deno task openapi` and commit the result",
  );
});

Deno.test("the OpenAPI document covers every API route the app serves", async () => {
  await using t = await startTestApp();
  const doc = apiDocument() as { paths: Record<string, Record<string, unknown>> };
  const documented = new Set(
    Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((method) =>
        `${method.toUpperCase()} ${path.replaceAll(/\{(\w+)\}/g, ":$1")}`
      )
    ),
  );
  const undocumented = t.app.routes
    .filter((r) => r.method !== "ALL")
    .filter((r) => !r.path.startsWith("/docs") && r.path !== "/openapi.json")
    .filter((r) => !(r.method === "DELETE" && r.path === "/mcp"))
    .map((r) => `${r.method} ${r.path}`)
    .filter((route) => !documented.has(route));
  assert.deepEqual(undocumented, []);
});

Deno.test("toYaml writes block YAML deterministically and quotes what YAML would misread", () => {
  const value = {
    openapi: "3.1.0",
    paths: { "/v1/images": { get: { responses: { "200": { description: "ok" } } } } },
    flags: [true, null, 1.5, "yes", "a: b", "line\nbreak"],
    empty: {},
    none: [],
    list: [{ name: "a", tags: ["x"] }, { name: "b" }],
  };
  const expected = [
    'openapi: "3.1.0"',
    "paths:",
    '  "/v1/images":',
    "    get:",
    "      responses:",
    '        "200":',
    '          description: "ok"',
    "flags:",
    "- true",
    "- null",
    "- 1.5",
    '- "yes"',
    '- "a: b"',
    '- "line\\nbreak"',
    "empty: {}",
    "none: []",
    "list:",
    '- name: "a"',
    "  tags:",
    '  - "x"',
    '- name: "b"',
    "",
  ].join("\n");
  assert.equal(toYaml(value), expected);
  assert.equal(toYaml(value), toYaml(structuredClone(value)));
});
