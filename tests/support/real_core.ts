/**
 * The real core for a test: `createServices` against a fake OpenAI, with an in-memory KV and a
 * temporary data directory, all removed afterwards.
 *
 * @module
 */
import { type Clock, systemClock } from "../../src/clock.ts";
import type { Door } from "../../src/core_types.ts";
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

/** Options of {@link startRealCore}. */
export interface RealCoreOptions {
  /** Extra settings, as environment variables. */
  env?: Record<string, string>;
  /** The core's clock (default: the system clock). */
  now?: Clock;
  /** Options of the fake OpenAI. */
  fake?: FakeOpenAIOptions;
  /** The door the services are built for (default `mcp`). */
  door?: Door;
  /** `fetch` for upstream calls (default: the real one, reaching the fake). */
  fetch?: typeof fetch;
}

/** A started real core; disposing it drains and closes it and removes its data directory. */
export interface StartedCore extends RealCore, AsyncDisposable {}

/** Starts the real core over a fresh fake OpenAI, an in-memory KV and a temporary data directory. */
export async function startRealCore(options: RealCoreOptions = {}): Promise<StartedCore> {
  const fake = await startFakeOpenAI(options.fake ?? {});
  const dataDir = await Deno.makeTempDir({ prefix: "real-core-" });
  const kv = await Deno.openKv(":memory:");
  const cleanUp = async () => {
    kv.close();
    await fake.close();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  };
  try {
    const config = resolveConfig({
      env: {
        OPENAI_API_KEY: "sk-test-real-core-0123",
        OPENAI_BASE_URL: fake.baseUrl,
        DATA_DIR: dataDir,
        ...options.env,
      },
      dotenv: {},
      flags: {},
    });
    const services = await createServices(config, {
      door: options.door ?? "mcp",
      kv,
      skipStartupReconcile: true,
      ...(options.fetch ? { fetch: options.fetch } : {}),
      ...(options.now ? { now: options.now } : {}),
    });
    return {
      fake,
      services,
      config,
      kv,
      async [Symbol.asyncDispose]() {
        await services[Symbol.asyncDispose]();
        await cleanUp();
      },
    };
  } catch (error) {
    await cleanUp();
    throw error;
  }
}

/** Runs `fn` with the real core (see {@link startRealCore}), stopped and removed afterwards. */
export async function withRealCore(
  fn: (core: RealCore) => Promise<void>,
  options: RealCoreOptions = {},
): Promise<void> {
  await using core = await startRealCore(options);
  await fn(core);
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
