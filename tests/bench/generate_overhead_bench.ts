/**
 * What the service adds on top of the upstream: one 1024x1024 generation through the core (job,
 * verification, store, catalog, MCP preview; thumbnails are made on first request) against the same request sent straight to
 * the fake upstream with the same SDK. The difference of the two means is the overhead.
 * Run: `deno task bench:micro` (or `deno bench -P=test tests/bench/generate_overhead_bench.ts`).
 */
import type { Caller } from "../../src/core_types.ts";
import { LOCAL_PRINCIPAL } from "../../src/core/policy.ts";
import OpenAI from "openai";
import { resolveConfig } from "../../src/config.ts";
import { createServices } from "../../src/services.ts";
import { startFakeOpenAI } from "../fake_openai.ts";

const ADMIN: Caller = { principal: LOCAL_PRINCIPAL, door: "mcp" };

const fake = await startFakeOpenAI();
const dataDir = await Deno.makeTempDir({ prefix: "bench-overhead-" });
const config = resolveConfig({
  env: {
    OPENAI_API_KEY: "sk-test-bench-0123456789",
    OPENAI_BASE_URL: fake.baseUrl,
    DATA_DIR: dataDir,
    KV_PATH: `${dataDir}/kv.sqlite3`,
  },
});
const services = await createServices(config, { door: "mcp", skipStartupReconcile: true });
const direct = new OpenAI({ apiKey: "sk-test-bench-0123456789", baseURL: fake.baseUrl });
const principal = { id: "bench", name: "bench", role: "admin" as const };
const request = { prompt: "a lighthouse at dusk", size: "1024x1024", quality: "low" };
// Warm up the codec engine and connection pool so both cases measure steady state.
await (await services.images.generate(request, { door: "mcp", principal })).done;

Deno.bench({
  name: "upstream only (openai SDK → fake)",
  group: "generate 1024x1024",
  baseline: true,
  async fn() {
    await direct.images.generate({ model: "gpt-image-2", ...request } as never);
  },
});

Deno.bench({
  name: "through the core + MCP preview (job, verify, store, catalog, preview)",
  group: "generate 1024x1024",
  async fn() {
    const job = await services.images.generate(request, { door: "mcp", principal });
    const result = await job.done;
    await services.images.view(result.images[0].id, ADMIN, { maxBytes: 700_000, maxSide: 1568 });
  },
});

globalThis.addEventListener("unload", () => {
  services.close();
  fake.close();
  Deno.removeSync(dataDir, { recursive: true });
});
