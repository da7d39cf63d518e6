/**
 * The only place wiring happens: from a resolved {@link Config} to the running core — KV, the
 * image store (migrated, adopted, reconciled), the model registry, the codec, the OpenAI client,
 * the generator, the limiter and metrics, and the {@link ImageService} facade every door uses —
 * stdio and CLI included, so their generations pass the same limits and land in the same
 * metrics and spend ledger as the HTTP doors'.
 *
 * Two KV databases: the configured one (keys, spend ledger, limits, jobs, cancels) and the image
 * catalog's, which travels with `OUTPUT_DIR` (`OUTPUT_DIR/.openai-image-gen/catalog.sqlite3`)
 * unless `KV_PATH`/`KV_URL` is set explicitly — then both are the configured one.
 *
 * @module
 */
import {
  Catalog,
  type Codec,
  createCodec,
  createImageStore,
  createInputResolver,
  folderCatalogPath,
  type ImageStore,
  prepareImageStore,
  scratchCopy,
  startCleanupTimer,
} from "./images/mod.ts";
import type { Config } from "./config.ts";
import { openKv, openKvToRead } from "./kv/mod.ts";
import type { Door, ImageService } from "./core_types.ts";
import {
  CancelWatch,
  createImageClient,
  type FetchLike,
  Generator,
  type ImageClient,
  Instance,
  loadModelRegistry,
  LOCAL_CANCEL_POLL_MS,
  type ModelRegistry,
  requestCancel,
  validateModelDefaults,
} from "./generation/mod.ts";
import { createAdmission } from "./core/mod.ts";
import { createLimiter, type Limiter } from "./ratelimit/mod.ts";
import { createMetrics, type ServiceMetrics } from "./metrics.ts";
import { createImageService, TransientImages } from "./image_service.ts";
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
  /** The metrics registry to record into (default: a new one). */
  metrics?: ServiceMetrics;
  /** Largest data: URL edit input (the HTTP door raises it for uploads). */
  maxDataUrlBytes?: number;
  /** Skip the start-up reconcile (tests that build many services). */
  skipStartupReconcile?: boolean;
  /**
   * Open for a dry run: nothing on disk changes, start-up included. The catalog is an in-memory
   * copy, the store is read-only, and a configured KV file that does not exist is not created.
   */
  readOnly?: boolean;
}

/** The running core. */
export interface Services extends AsyncDisposable {
  /** Resolved settings. */
  readonly config: Config;
  /** The configured KV database (keys, limits, spend, jobs, cancels). */
  readonly kv: Deno.Kv;
  /** Image bytes and catalog (whose KV may be the folder's own). */
  readonly store: ImageStore;
  /** Known models. */
  readonly registry: ModelRegistry;
  /** Previews and thumbnails. */
  readonly codec: Codec;
  /** Jobs. */
  readonly generator: Generator;
  /** The facade the doors use. */
  readonly images: ImageService;
  /** Metrics of generations (and, at the HTTP door, of requests); served by `/metrics`. */
  readonly metrics: ServiceMetrics;
  /** Limits bound to the configured KV (the HTTP door's request limit uses it too). */
  readonly limiter: Limiter;
  /** Waits for running jobs (including those answered as pending) to finish. */
  drain(): Promise<void>;
  /** Stops timers and closes KV (when opened here). */
  close(): Promise<void>;
}

/** The catalog's KV: the folder's own file, the configured KV, or (read-only) a scratch copy. */
async function openCatalogKv(
  path: string | null,
  kv: Deno.Kv,
  readOnly: boolean,
): Promise<{ catalogKv: Deno.Kv; owned: boolean }> {
  if (readOnly) {
    if (path === null) return { catalogKv: await scratchCopy(kv), owned: true };
    const source = await openKvToRead({ kvPath: path });
    try {
      return { catalogKv: await scratchCopy(source), owned: true };
    } finally {
      source.close();
    }
  }
  if (path === null) return { catalogKv: kv, owned: false };
  return { catalogKv: await openKv({ kvPath: path }), owned: true };
}

/** Builds every service from `config`. */
export async function createServices(config: Config, deps: ServiceDeps): Promise<Services> {
  const now = deps.now ?? systemClock;
  const readOnly = deps.readOnly ?? false;
  const kv = deps.kv ?? (readOnly ? await openKvToRead(config) : await openKv(config));
  const ownsKv = deps.kv === undefined;
  // A KV handed in (tests) holds the catalog too.
  const catalogPath = deps.kv === undefined ? folderCatalogPath(config) : null;
  let catalogKv: Deno.Kv | undefined;
  let ownsCatalogKv = false;
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
    ({ catalogKv, owned: ownsCatalogKv } = await openCatalogKv(catalogPath, kv, readOnly));
    const store = createImageStore(config, {
      kv: catalogKv,
      jobsKv: kv,
      sharedCatalog: catalogPath === null && config.kvExplicit,
      readOnly,
      now,
    });
    // A dry run writes nothing, so it is no instance: it runs no jobs and beats no heartbeat.
    if (!readOnly) {
      instance = new Instance(kv, {
        now,
        intervalMs: config.instanceHeartbeatSeconds * 1000,
        interrupt: (jobId, message) => interruptJob(store, jobId, message),
      });
      // The first beat also marks the jobs of processes that died since the last start.
      await instance.start();
    }
    if (!deps.skipStartupReconcile) {
      const report = await prepareImageStore(store, {
        budgetMs: 5_000,
        ...(catalogPath === null ? {} : {
          earlierCatalog: { catalog: new Catalog(kv), id: config.kvUrl ?? config.kvPath ?? "kv" },
        }),
      });
      const adopted = report.adoption?.adopted.length ?? 0;
      if (adopted > 0) log.info("Adopted {count} predecessor images", { count: adopted });
      const imported = report.imported?.imported.length ?? 0;
      if (imported > 0) {
        log.info("Moved {count} image records into the image folder's catalog", {
          count: imported,
        });
      }
      const rebuilt = report.rebuilt?.rebuilt.length ?? 0;
      if (rebuilt > 0) {
        log.info("Rebuilt {count} image records from record files", { count: rebuilt });
      }
      const unknown = report.reconcile.unknownFiles.length;
      if (unknown > 0) {
        log.info("Left alone {count} files in the image folder that the service did not write", {
          count: unknown,
        });
      }
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
      // Callers of the HTTP door are remote: refusals must not map the server's disk for them.
      showServerPaths: deps.door !== "http",
    });
    const transient = new TransientImages();
    const cancels = new CancelWatch(kv, { pollMs: cancelPollMs });
    const generator = new Generator({
      config,
      registry,
      client: () =>
        client ??= createImageClient(config, {
          fetch: deps.fetch,
          registry,
          now: () => new Date(now()),
        }),
      store,
      resolveInput: (ref, field, signal) => resolver.resolve(ref, field, signal),
      resolveUpload: (file, field) => resolver.fromUpload(file, field),
      now,
      transient,
      watchCancel: (jobId, onCancel) => cancels.watch(jobId, onCancel),
      instance,
      door: deps.door,
    });
    // Process metrics (memory, event loop) are only ever served by the HTTP door's /metrics.
    const metrics = deps.metrics ?? createMetrics({ now, defaultMetrics: deps.door === "http" });
    const limiter = createLimiter(kv, { limits: config, now });
    const images = createImageService({
      generator,
      admission: createAdmission({ limiter, metrics, limits: config }),
      policy: { imagesPublic: config.imagesPublic },
      store,
      codec,
      registry,
      requestCancel: (jobId) => requestCancel(kv, jobId),
      transient,
      now,
      // For jobs recorded before instances existed: every upstream attempt plus storing.
      staleJobMs: config.openaiTimeoutMs * (config.openaiMaxRetries + 1) + 120_000,
      ...(instance ? { isInstanceAlive: (id: string) => instance!.isAlive(id) } : {}),
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
      cancels.close();
      await instance?.close();
      if (ownsCatalogKv) catalogKv?.close();
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
      metrics,
      limiter,
      drain: () => generator.drain(),
      close,
      [Symbol.asyncDispose]: async () => {
        await generator.drain();
        await close();
      },
    };
  } catch (error) {
    await instance?.close();
    if (ownsCatalogKv) catalogKv?.close();
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
