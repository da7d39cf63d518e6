/**
 * The real core for a test: `createServices` against a fake OpenAI, with an in-memory KV and a
 * temporary data directory, all removed afterwards.
 *
 * @module
 */
import { systemClock } from "../../src/clock.ts";
import { type Config, resolveConfig } from "../../src/config.ts";
import { createServices, type Services } from "../../src/services.ts";
import { createTaskResultRenderer, TaskService } from "../../src/mcp/tasks/mod.ts";
import { type FakeOpenAI, type FakeOpenAIOptions, startFakeOpenAI } from "../fake_openai.ts";

/** What {@link withRealCore} hands to the test. */
export interface RealCore {
  /** The fake upstream. */
  fake: FakeOpenAI;
  /** The running core. */
  services: Services;
  /** Its settings. */
  config: Config;
  /** The in-memory KV (the configured one and the catalog's). */
  kv: Deno.Kv;
}

/** Runs `fn` with the real core; `env` adds settings, `now` pins the core's clock. */
export async function withRealCore(
  fn: (core: RealCore) => Promise<void>,
  options: { env?: Record<string, string>; now?: () => number; fake?: FakeOpenAIOptions } = {},
): Promise<void> {
  await using fake = await startFakeOpenAI(options.fake ?? {});
  const dataDir = await Deno.makeTempDir({ prefix: "real-core-" });
  const kv = await Deno.openKv(":memory:");
  try {
    const config = resolveConfig({
      env: {
        OPENAI_API_KEY: "sk-test-real-core-0123",
        OPENAI_BASE_URL: fake.baseUrl,
        DATA_DIR: dataDir,
        ...options.env,
      },
    });
    await using services = await createServices(config, {
      door: "mcp",
      kv,
      skipStartupReconcile: true,
      ...(options.now ? { now: options.now } : {}),
    });
    await fn({ fake, services, config, kv });
  } finally {
    kv.close();
    await Deno.remove(dataDir, { recursive: true });
  }
}

/** A task service over `services`, rendering results as the MCP door does. */
export function taskServiceFor(
  services: Services,
  options: { kv?: Deno.Kv; now?: () => number; pollIntervalMs?: number } = {},
): TaskService {
  return new TaskService({
    images: services.images,
    kv: options.kv ?? services.kv,
    now: options.now ?? systemClock,
    render: createTaskResultRenderer({
      images: services.images,
      config: services.config,
      client: () => ({ name: "task-tests" }),
      redact: (text) => text,
    }),
    pollIntervalMs: options.pollIntervalMs ?? 50,
  });
}
