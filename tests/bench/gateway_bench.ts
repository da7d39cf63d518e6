/**
 * HTTP gateway throughput: batches of concurrent generations sent with the official `openai` SDK
 * straight to the fake upstream, and through this service's `/v1` (auth, limits, store, catalog,
 * metrics in between). The ratio of the two is the gateway's efficiency (goal ≥ 0.9).
 * Run: `deno task bench` (or `deno bench -P=test tests/bench/gateway_bench.ts`).
 */
import OpenAI from "openai";
import { resolveConfig } from "../../src/config.ts";
import { startHttpService } from "../../src/http_door.ts";
import { startFakeOpenAI } from "../fake_openai.ts";

const BATCH = 16;
const CONCURRENCY = 8;
const fake = await startFakeOpenAI();
const dataDir = await Deno.makeTempDir({ prefix: "bench-gateway-" });
const token = "bench-token-0123456789";
const config = resolveConfig({
  env: {
    OPENAI_API_KEY: "sk-test-bench-0123456789",
    OPENAI_BASE_URL: fake.baseUrl,
    DATA_DIR: dataDir,
    KV_PATH: `${dataDir}/kv.sqlite3`,
    PORT: "0",
    MCP_AUTH_TOKEN: token,
    REQUEST_RATE_LIMIT: "0",
    IMAGE_GENERATION_RATE_LIMIT: "0",
    MAX_INFLIGHT_PER_KEY: "0",
    LOG_LEVEL: "error",
  },
});
const service = (await startHttpService(config))!;
const direct = new OpenAI({ apiKey: "sk-test-bench-0123456789", baseURL: fake.baseUrl });
const gateway = new OpenAI({ apiKey: token, baseURL: `${service.url}/v1` });
let counter = 0;

async function batch(client: OpenAI): Promise<void> {
  let left = BATCH;
  const worker = async () => {
    while (left-- > 0) {
      await client.images.generate({
        model: "gpt-image-2",
        prompt: `gateway bench ${counter++}`,
        size: "1024x1024",
        quality: "low",
      });
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

await batch(gateway);

Deno.bench({
  name: `${BATCH} generations, ${CONCURRENCY} at a time: straight to the upstream`,
  group: "gateway",
  baseline: true,
  n: 10,
  async fn() {
    await batch(direct);
  },
});

Deno.bench({
  name: `${BATCH} generations, ${CONCURRENCY} at a time: through /v1 of this service`,
  group: "gateway",
  n: 10,
  async fn() {
    await batch(gateway);
  },
});

globalThis.addEventListener("unload", () => {
  service.shutdown(1000);
  fake.close();
});
