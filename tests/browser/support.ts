/**
 * Test support for the gallery: the whole HTTP app (`createHttpApp`) served on loopback with real
 * services against the fake OpenAI, and Debian's Chromium driven by `playwright-core` with a fresh
 * profile.
 *
 * @module
 */
import fs from "node:fs";
import { createHttpApp } from "../../src/app/http_app.ts";
import type { Principal } from "../../src/core_types.ts";
import type { Services } from "../../src/services.ts";
import type { FakeOpenAI, FakeOpenAIOptions } from "../fake_openai.ts";
import { startRealCore } from "../support/real_core.ts";

// playwright-core probes for WSL at import time with `fs.existsSync` on a /proc path that Deno
// only lets `--allow-all` read; under a permission set the probe throws instead of answering
// false. Answer "does not exist" for such refusals so the module can load under `-P=test`.
const existsSync = fs.existsSync;
(fs as { existsSync: typeof fs.existsSync }).existsSync = (path) => {
  try {
    return existsSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) return false;
    throw error;
  }
};

/** Where Chromium is: `CHROMIUM_PATH`, else Debian's `/usr/bin/chromium`. */
export function chromiumPath(): string {
  return Deno.env.get("CHROMIUM_PATH") || "/usr/bin/chromium";
}

/** Whether a Chromium binary is present (tests are skipped with a reason when not). */
export function hasChromium(): boolean {
  try {
    return Deno.statSync(chromiumPath()).isFile;
  } catch {
    return false;
  }
}

/** The flags every launch uses: headless, no sandbox (root in CI), nothing phoning home. */
export const CHROMIUM_ARGS: readonly string[] = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** A running gallery with its services. */
export interface GalleryServer extends AsyncDisposable {
  /** `http://127.0.0.1:PORT`. */
  readonly baseUrl: string;
  /** The real services behind it. */
  readonly services: Services;
  /** The fake upstream. */
  readonly fake: FakeOpenAI;
  /** The in-memory KV. */
  readonly kv: Deno.Kv;
  /** Stops everything and removes the data directory. */
  close(): Promise<void>;
}

/** Options of {@link startGalleryServer}. */
export interface GalleryServerOptions {
  /** Extra settings, as environment variables. */
  env?: Record<string, string>;
  /** Options of the fake OpenAI. */
  fake?: FakeOpenAIOptions;
  /** Port (default: any free one). */
  port?: number;
  /** `fetch` for upstream calls (default: the real one, reaching the fake). */
  upstreamFetch?: typeof fetch;
  /** Clock of the services and the gallery (default: the system clock). */
  now?: () => number;
}

/** Serves the gallery on loopback with real services against a fresh fake OpenAI. */
export async function startGalleryServer(
  options: GalleryServerOptions = {},
): Promise<GalleryServer> {
  const core = await startRealCore({
    door: "http",
    env: { KV_PATH: ":memory:", LOG_LEVEL: "error", ...options.env },
    ...(options.fake ? { fake: options.fake } : {}),
    ...(options.upstreamFetch ? { fetch: options.upstreamFetch } : {}),
    ...(options.now ? { now: options.now } : {}),
  });
  try {
    // The whole app, as the service serves it: the gallery with the real image routes and links.
    const http = createHttpApp(core.services, options.now ? { now: options.now } : {});
    const { promise: listening, resolve } = Promise.withResolvers<Deno.NetAddr>();
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: options.port ?? 0, onListen: resolve },
      (request, info) => http.app.fetch(request, { remoteAddr: info.remoteAddr }),
    );
    const addr = await listening;
    let closed = false;
    const close = async () => {
      if (closed) return;
      closed = true;
      await http[Symbol.asyncDispose]();
      await server.shutdown();
      await core[Symbol.asyncDispose]();
    };
    return {
      baseUrl: `http://${addr.hostname}:${addr.port}`,
      services: core.services,
      fake: core.fake,
      kv: core.kv,
      close,
      [Symbol.asyncDispose]: close,
    };
  } catch (error) {
    await core[Symbol.asyncDispose]();
    throw error;
  }
}

/** A principal for seeding images directly through the ImageService. */
export const SEED_PRINCIPAL: Principal = {
  id: "seed",
  name: "seed",
  role: "admin",
  kind: "anonymous",
};

/** Generates and stores one image directly (no browser), returning its id. */
export async function seedImage(
  services: Services,
  input: Record<string, unknown>,
): Promise<string> {
  const job = await services.images.generate(input, {
    door: "http",
    principal: SEED_PRINCIPAL,
  });
  const result = await job.done;
  return result.images[0].id;
}

/**
 * Launches Chromium (playwright makes a fresh, empty profile directory for it), with `extraArgs`
 * after the usual flags.
 */
export async function launchBrowser(
  extraArgs: readonly string[] = [],
): Promise<import("playwright-core").Browser> {
  // Imported here, after the `existsSync` shim above is in place.
  const { chromium } = await import("playwright-core");
  return await chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: [...CHROMIUM_ARGS, ...extraArgs],
    env: browserEnv(),
  });
}

/**
 * The browser's environment: this process's, without a clock shift. CI's year-ahead run moves the
 * clock of every process it starts with libfaketime (LD_PRELOAD); the browser is the user's
 * program, not ours, and Chromium under libfaketime crawls — so it keeps the real time.
 */
function browserEnv(): Record<string, string> {
  const env = Deno.env.toObject();
  for (const name of Object.keys(env)) {
    if (name === "LD_PRELOAD" || name.startsWith("FAKETIME")) delete env[name];
  }
  return env;
}

/**
 * `body()`, or an error naming `what` once `ms` have passed: Playwright's `evaluate` and `close`
 * wait without a timeout of their own, so a browser that died under them would hang the suite
 * instead of failing one test.
 */
export async function withinDeadline<T>(
  what: string,
  ms: number,
  body: () => Promise<T>,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} took longer than ${ms / 1000} s (did the browser die?)`)),
      ms,
    );
  });
  try {
    return await Promise.race([body(), expired]);
  } finally {
    clearTimeout(timer);
  }
}
