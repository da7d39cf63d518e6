/**
 * The OpenAPI document without a running service: the routes are registered on an app whose
 * collaborators refuse every call, which is enough because building the document calls none.
 * Used by `deno task openapi` and the drift test.
 *
 * @module
 */
import { resolveConfig } from "../config.ts";
import type { ImageService } from "../core_types.ts";
import { createMetrics } from "../metrics.ts";
import { createApp } from "./app.ts";
import { type OpenApiDocument, openApiDocument, renderOpenApiYaml } from "./openapi.ts";

function inert<T extends object>(what: string): T {
  return new Proxy({} as T, {
    get(_target, property) {
      if (property === "then") return undefined;
      throw new Error(`The documentation app has no ${what}: ${String(property)} was used`);
    },
  });
}

/** The OpenAPI 3.1 document of the HTTP API. */
export function apiDocument(): OpenApiDocument {
  const app = createApp({
    config: resolveConfig({ env: {}, dotenv: {}, flags: {}, os: "linux", cwd: "/" }),
    images: inert<ImageService>("image service"),
    kv: inert<Deno.Kv>("KV"),
    metrics: createMetrics({ defaultMetrics: false }),
    retention: inert("retention"),
    now: () => 0,
  });
  return openApiDocument(app);
}

/** `docs/openapi.yaml` as the code defines it. */
export function apiDocumentYaml(): string {
  return renderOpenApiYaml(apiDocument());
}
