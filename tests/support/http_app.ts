/**
 * Builds the HTTP app for a test: in-memory KV, the fake ImageService, its own metrics registry,
 * a fixed clock you can move, and settings from an env-like record. Dispose it with `await using`.
 *
 * @module
 */
import { type Config, resolveConfig } from "../../src/config.ts";
import { type AppDeps, createApp, type HttpApp } from "../../src/http/app.ts";
import type { CleanupResults, RetentionApi } from "../../src/http/deps.ts";
import { createMetrics, type ServiceMetrics } from "../../src/metrics.ts";
import { FakeImageService } from "./fake_image_service.ts";

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
  /** Sends a request (path relative to `http://localhost`), as from `address`. */
  request(path: string, init?: RequestInit, address?: string): Promise<Response>;
}

/** Options of {@link startTestApp}. */
export interface TestAppOptions {
  /** Settings, as environment variables. */
  env?: Record<string, string>;
  /** Replaces or adds collaborators. */
  deps?: Partial<AppDeps>;
}

/** Builds an app over fresh fakes. */
export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  let clock = Date.UTC(2026, 10, 20, 12, 0, 0);
  const now = () => clock;
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
    advance(ms) {
      clock += ms;
    },
    request(path, init, address = "203.0.113.7") {
      return Promise.resolve(
        app.request(path, init, {
          remoteAddr: { hostname: address, port: 40000, transport: "tcp" },
        }),
      );
    },
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
