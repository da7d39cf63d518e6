/**
 * The only place wiring happens: from a resolved {@link Config} to the running core — KV, the
 * image store (migrated, adopted, reconciled), the model registry, the codec, the OpenAI client,
 * the generator and the {@link ImageService} facade every door uses.
 *
 * @module
 */
import { dirname } from "node:path";
import type { Config } from "./config.ts";
import type { Door, ImageService } from "./core_types.ts";
import { LOCAL_CANCEL_POLL_MS, requestCancel, watchCancel } from "./generation/cancels.ts";
import { Generator, type JobObserver, type UpstreamGate } from "./generation/generator.ts";
import {
  loadModelRegistry,
  type ModelRegistry,
  validateModelDefaults,
} from "./generation/models.ts";
import { Instance } from "./generation/instances.ts";
import { createImageClient, type FetchLike, type ImageClient } from "./generation/openai.ts";
import { createImageService, TransientImages } from "./image_service.ts";
import { type Codec, createCodec } from "./images/codec.ts";
import { createInputResolver } from "./images/inputs.ts";
import { startCleanupTimer } from "./images/retention.ts";
import { createImageStore, type ImageStore, prepareImageStore } from "./images/store.ts";
import { AppError } from "./errors.ts";
import { getLog, type LoggingHandle } from "./log.ts";
import { systemClock } from "./clock.ts";

const log = getLog("services");

/** Collaborators a door (or a test) may supply. */
export interface ServiceDeps {
  /** Which door the services run behind (decides scheduled work). */
  door: Door;
  /** The logging handle (for doors that forward logs). */
  logging?: LoggingHandle;
  /** An open KV to use instead of opening the configured one (tests). */
  kv?: Deno.Kv;
  /** `fetch` for upstream calls (tests). */
  fetch?: FetchLike;
  /** `fetch` for URL edit inputs (tests). */
  inputFetch?: typeof fetch;
  /** DNS for URL edit inputs (tests). */
  resolveDns?: (hostname: string) => Promise<string[]>;
  /** Clock (tests). */
  now?: () => number;
  /** Limits around upstream calls (the HTTP door). */
  gate?: UpstreamGate;
  /** Observer of finished jobs (metrics). */
  observe?: JobObserver;
  /** Largest data: URL edit input (the HTTP door raises it for uploads). */
  maxDataUrlBytes?: number;
  /** Skip the start-up reconcile (tests that build many services). */
  skipStartupReconcile?: boolean;
}

/** The running core. */
export interface Services extends AsyncDisposable {
  /** Resolved settings. */
  readonly config: Config;
  /** The KV database. */
  readonly kv: Deno.Kv;
  /** Image bytes and catalog. */
  readonly store: ImageStore;
  /** Known models. */
  readonly registry: ModelRegistry;
  /** Previews and thumbnails. */
  readonly codec: Codec;
  /** Jobs. */
  readonly generator: Generator;
  /** The facade the doors use. */
  readonly images: ImageService;
  /** Waits for running jobs (including those answered as pending) to finish. */
  drain(): Promise<void>;
  /** Stops timers and closes KV (when opened here). */
  close(): Promise<void>;
}

/** Opens the configured KV: `KV_URL` (KV Connect), `KV_PATH` (local file), or Deploy's own. */
export async function openKv(config: Pick<Config, "kvUrl" | "kvPath">): Promise<Deno.Kv> {
  if (config.kvUrl) return await Deno.openKv(config.kvUrl);
  if (config.kvPath && config.kvPath !== ":memory:") {
    await Deno.mkdir(dirname(config.kvPath), { recursive: true });
  }
  return await Deno.openKv(config.kvPath);
}

/** Builds every service from `config`. */
export async function createServices(config: Config, deps: ServiceDeps): Promise<Services> {
  const now = deps.now ?? systemClock;
  const kv = deps.kv ?? await openKv(config);
  const ownsKv = deps.kv === undefined;
  const cancelPollMs = ownsKv && !config.kvUrl && config.kvPath !== undefined &&
      config.kvPath !== ":memory:"
    ? LOCAL_CANCEL_POLL_MS
    : undefined;
  let instance: Instance | undefined;
  try {
    const registry = await loadModelRegistry({ modelsFile: config.modelsFile });
    for (const warning of validateModelDefaults(registry, config, { now: new Date(now()) })) {
      log.warning(warning);
    }
    const store = createImageStore(config, { kv, now });
    instance = new Instance(kv, {
      now,
      intervalMs: config.instanceHeartbeatSeconds * 1000,
      interrupt: (jobId, message) => interruptJob(store, jobId, message),
    });
    // The first beat also marks the jobs of processes that died since the last start.
    await instance.start();
    if (!deps.skipStartupReconcile) {
      const report = await prepareImageStore(store, { budgetMs: 5_000 });
      const adopted = report.adoption?.adopted.length ?? 0;
      if (adopted > 0) log.info("Adopted {count} predecessor images", { count: adopted });
    }
    const codec = createCodec({
      engine: "auto",
      onFallback: (error) =>
        log.info("Native image codec unavailable, using WASM: {message}", {
          message: String((error as Error)?.message ?? error),
        }),
    });
    let client: ImageClient | undefined;
    const resolver = createInputResolver({
      allowedRoots: config.editAllowedRoots,
      allowedUrlHosts: config.editAllowedUrlHosts ?? [],
      loadImage: async (id) => {
        const found = await store.read(id);
        return found ? { bytes: found.bytes, mime: found.mime, file: found.record.fileName } : null;
      },
      ...(deps.inputFetch ? { fetch: deps.inputFetch } : {}),
      ...(deps.resolveDns ? { resolveDns: deps.resolveDns } : {}),
      ...(deps.maxDataUrlBytes ? { maxDataUrlBytes: deps.maxDataUrlBytes } : {}),
    });
    const transient = new TransientImages();
    const generator = new Generator({
      config,
      registry,
      client: () => client ??= createImageClient(config, { fetch: deps.fetch, registry }),
      store,
      resolveInput: (ref, field, signal) => resolver.resolve(ref, field, signal),
      now,
      gate: deps.gate,
      observe: deps.observe,
      transient,
      watchCancel: (jobId, onCancel) => watchCancel(kv, jobId, onCancel, { pollMs: cancelPollMs }),
      instance,
      door: deps.door,
    });
    const images = createImageService({
      generator,
      store,
      codec,
      registry,
      requestCancel: (jobId) => requestCancel(kv, jobId),
      transient,
      now,
      // For jobs recorded before instances existed: every upstream attempt plus storing.
      staleJobMs: config.openaiTimeoutMs * (config.openaiMaxRetries + 1) + 120_000,
      isInstanceAlive: (id) => instance!.isAlive(id),
    });
    // The stdio server and CLI never register a cron (it would keep them alive); the stdio server
    // runs retention on an unref'd timer instead. The HTTP door registers its cron itself.
    const timer = deps.door === "mcp" && config.cleanupEnabled
      ? startCleanupTimer({ store, settings: config, now })
      : undefined;
    let closed = false;
    const close = async () => {
      if (closed) return;
      closed = true;
      timer?.[Symbol.dispose]();
      await instance!.close();
      if (ownsKv) kv.close();
    };
    return {
      config,
      kv,
      store,
      registry,
      codec,
      generator,
      images,
      drain: () => generator.drain(),
      close,
      [Symbol.asyncDispose]: async () => {
        await generator.drain();
        await close();
      },
    };
  } catch (error) {
    await instance?.close();
    if (ownsKv) kv.close();
    throw error;
  }
}

/** Marks a job of a stopped process failed; one that already ended stays as it is. */
async function interruptJob(store: ImageStore, jobId: string, message: string): Promise<void> {
  try {
    await store.catalog.updateJob(jobId, {
      state: "failed",
      error: { kind: "upstream_unavailable", message },
    });
  } catch (error) {
    if (!(error instanceof AppError && error.kind === "conflict")) throw error;
  }
}
