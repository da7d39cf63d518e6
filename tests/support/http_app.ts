/**
 * Builds the HTTP app for a test: the route families over in-memory KV and the fake ImageService
 * (or, with {@link startRealTestApp}, the whole app from `createHttpApp` over the real core against
 * the fake OpenAI upstream), its own metrics
 * registry, a fixed clock you can move, and settings from an env-like record. Dispose it with
 * `await using`.
 *
 * @module
 */
import { createHttpApp } from "../../src/app/http_app.ts";
import { type Config, resolveConfig } from "../../src/config.ts";
import { type AppDeps, createApp, type HttpApp } from "../../src/http/app.ts";
import type { CleanupResults, RetentionApi } from "../../src/http/deps.ts";
import type { ImageService } from "../../src/core_types.ts";
import type { ClientMetadataResolver } from "../../src/oauth/mod.ts";
import { createMetrics, type ServiceMetrics } from "../../src/metrics.ts";
import { createServices, type Services } from "../../src/services.ts";
import { type FakeOpenAI, startFakeOpenAI } from "../fake_openai.ts";
import { FakeImageService } from "./fake_image_service.ts";
import { manualClock } from "./pinned_time.ts";

/** Calls made to the fake retention. */
export interface FakeRetention extends RetentionApi {
  /** `cleanup` calls, by their dryRun flag. */
  readonly cleanups: boolean[];
}

/** A fake retention answering fixed statistics and a one-file cleanup report. */
export function fakeRetention(): FakeRetention {
  const cleanups: boolean[] = [];
  return {
    cleanups,
    stats: () =>
      Promise.resolve({
        count: 2,
        totalSize: 2048,
        totalSizeFormatted: "2 KB",
        oldestFile: { name: "image_1700000000000.png", id: "a", created: "x", size: 1024, age: 5 },
        newestFile: null,
        averageAge: 5,
        averageAgeFormatted: "5 s",
        averageSize: 1024,
        averageSizeFormatted: "1 KB",
      }),
    unknownFiles: () => Promise.resolve({ count: 1, names: ["my-holiday-photo.png"] }),
    cleanup: ({ dryRun }): Promise<CleanupResults> => {
      cleanups.push(dryRun);
      return Promise.resolve({
        filesScanned: 2,
        filesDeleted: 1,
        spaceFreed: 1024,
        errors: [],
        deletedFiles: ["image_1700000000000.png"],
        dryRun,
        adoptedKept: 0,
        unknownFiles: { count: 1, names: ["my-holiday-photo.png"] },
      });
    },
  };
}

/** Everything a test needs around one app. */
export interface TestApp extends AsyncDisposable {
  /** The app. */
  readonly app: HttpApp;
  /** The fake core. */
  readonly images: FakeImageService;
  /** The in-memory KV. */
  readonly kv: Deno.Kv;
  /** The resolved settings. */
  readonly config: Config;
  /** The metrics registry. */
  readonly metrics: ServiceMetrics;
  /** The fake retention. */
  readonly retention: FakeRetention;
  /** The app's clock, epoch milliseconds. */
  now(): number;
  /** Moves the clock by `ms`. */
  advance(ms: number): void;
  /** Sends a request (path relative to `http://localhost`), as from `address` (default loopback). */
  request(path: string, init?: RequestInit, address?: string): Promise<Response>;
}

/** Options of {@link startTestApp}. */
export interface TestAppOptions {
  /** Settings, as environment variables. */
  env?: Record<string, string>;
  /** Replaces or adds collaborators. */
  deps?: Partial<AppDeps>;
}

/** Sends requests to `app` as from an address (default loopback), the way Deno.serve passes it. */
function requester(app: HttpApp): TestApp["request"] {
  return (path, init, address = "127.0.0.1") =>
    Promise.resolve(
      app.request(path, init, { remoteAddr: { hostname: address, port: 40000, transport: "tcp" } }),
    );
}

/** Builds an app over fresh fakes. */
export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const clock = manualClock();
  const now = clock.now;
  const config = resolveConfig({
    env: { OUTPUT_DIR: "/srv/images", ...options.env },
    dotenv: {},
    flags: {},
    os: "linux",
    cwd: "/srv",
  });
  const kv = await Deno.openKv(":memory:");
  const images = new FakeImageService();
  images.now = now;
  images.policy = { imagesPublic: config.imagesPublic };
  const metrics = createMetrics({ defaultMetrics: false, now });
  const retention = fakeRetention();
  const app = createApp({ config, images, kv, metrics, retention, now, ...options.deps });
  return {
    app,
    images,
    kv,
    config,
    metrics,
    retention,
    now,
    advance: clock.advance,
    request: requester(app),
    [Symbol.asyncDispose]() {
      kv.close();
      return Promise.resolve();
    },
  };
}

/** A JSON request init. */
export function json(
  body: unknown,
  init: { method?: string; headers?: Record<string, string> } = {},
): RequestInit {
  return {
    method: init.method ?? "POST",
    headers: { "Content-Type": "application/json", ...init.headers },
    body: JSON.stringify(body),
  };
}

/** `Authorization: Bearer <token>`. */
export function bearer(token: string): Record<string, string> {
  return { Authorization: `Bearer ${token}` };
}

/**
 * The whole app over the real core, as `createHttpApp` builds it for the service: {@link TestApp}'s
 * shape with the real services (retention included) and upstream.
 */
export interface RealTestApp extends Omit<TestApp, "images" | "retention"> {
  /** The real core. */
  readonly images: ImageService;
  /** All services (store, limiter, metrics). */
  readonly services: Services;
  /** The fake OpenAI upstream the core calls. */
  readonly upstream: FakeOpenAI;
}

/**
 * Builds the whole app over the real core (createServices with an in-memory KV and a temporary image
 * folder) calling a fresh fake OpenAI upstream, so limits, budgets, authorization and metrics are
 * the core's own. The clock starts at 2026-11-20 12:00 UTC and moves only by `advance`.
 */
export async function startRealTestApp(
  options: { env?: Record<string, string>; resolveClientMetadata?: ClientMetadataResolver } = {},
): Promise<RealTestApp> {
  const clock = manualClock();
  const now = clock.now;
  const upstream = await startFakeOpenAI({ now });
  const dataDir = await Deno.makeTempDir({ prefix: "http-real-core-" });
  const kv = await Deno.openKv(":memory:");
  const config = resolveConfig({
    env: {
      OPENAI_API_KEY: "sk-test-real-core-0123",
      OPENAI_BASE_URL: upstream.baseUrl,
      OPENAI_MAX_RETRIES: "0",
      DATA_DIR: dataDir,
      ...options.env,
    },
    dotenv: {},
    flags: {},
  });
  const metrics = createMetrics({ defaultMetrics: false, now });
  const services = await createServices(config, {
    door: "http",
    kv,
    now,
    metrics,
    skipStartupReconcile: true,
  });
  const http = createHttpApp(services, {
    now,
    ...(options.resolveClientMetadata
      ? { resolveClientMetadata: options.resolveClientMetadata }
      : {}),
  });
  const { app } = http;
  return {
    app,
    images: services.images,
    services,
    upstream,
    kv,
    config,
    metrics,
    now,
    advance: clock.advance,
    request: requester(app),
    async [Symbol.asyncDispose]() {
      await services.drain();
      await http[Symbol.asyncDispose]();
      await services.close();
      kv.close();
      await upstream.close();
      await Deno.remove(dataDir, { recursive: true });
    },
  };
}
