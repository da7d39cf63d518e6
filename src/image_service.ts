/**
 * The core facade every door uses ({@link ImageService}): generation jobs, the catalog, shaped
 * views of stored images and cross-instance cancels, over the generator, store and codec.
 *
 * @module
 */
import type {
  ImageLookup,
  ImagePage,
  ImageRecord,
  ImageService,
  ImageView,
  ListImagesOptions,
  ModelSummary,
} from "./core_types.ts";
import { AppError, ValidationError } from "./errors.ts";
import { type Codec, sniffImage } from "./images/codec.ts";
import type { ImageStore } from "./images/store.ts";
import type { Generator } from "./generation/generator.ts";
import { lifecycleOf, type ModelInfo, type ModelRegistry } from "./generation/models.ts";
import { withSpan } from "./tracing.ts";
import { systemClock } from "./clock.ts";

/** Collaborators of {@link createImageService}. */
export interface ImageServiceDeps {
  /** Jobs. */
  generator: Generator;
  /** Bytes and catalog. */
  store: ImageStore;
  /** Previews and thumbnails. */
  codec: Pick<Codec, "makePreview" | "makeThumbnail">;
  /** Models. */
  registry: ModelRegistry;
  /** Records a cancel request other instances see (KV). */
  requestCancel: (jobId: string) => Promise<void>;
  /** Images generated with `save: false`, kept briefly in memory for the answer. */
  transient: TransientImages;
  /** Clock. */
  now?: () => number;
  /**
   * After how long without an update a pending or running job that names no instance counts as
   * lost (the process that ran it stopped); default 15 minutes.
   */
  staleJobMs?: number;
  /** Whether the instance (process) running a job is still alive (its heartbeat is fresh). */
  isInstanceAlive?: (instanceId: string) => Promise<boolean>;
}

/** A small bounded in-memory store for images that were not saved (`save: false`). */
export class TransientImages {
  #items = new Map<string, { record: ImageRecord; bytes: Uint8Array }>();
  #max: number;

  /** Keeps at most `max` images, dropping the oldest. */
  constructor(max = 20) {
    this.#max = max;
  }

  /** Keeps an unsaved image. */
  put(record: ImageRecord, bytes: Uint8Array): void {
    this.#items.set(record.id, { record, bytes });
    while (this.#items.size > this.#max) this.#items.delete(this.#items.keys().next().value!);
  }

  /** An unsaved image, if still kept. */
  get(id: string): { record: ImageRecord; bytes: Uint8Array } | undefined {
    return this.#items.get(id);
  }
}

const POLL_MS = 250;

function isConflict(error: unknown): boolean {
  return error instanceof AppError &&
    (error.kind === "conflict" ||
      (error.cause instanceof AppError && error.cause.kind === "conflict"));
}

function unfinished(job: { state: string }): boolean {
  return job.state === "pending" || job.state === "running";
}

function describePrice(model: ModelInfo): string {
  const { prices } = model;
  const checked = prices.checkedOn ? `checked ${prices.checkedOn}` : "";
  const note = [prices.estimated ? "estimate" : "", checked].filter(Boolean).join(", ");
  const suffix = note ? ` (${note})` : "";
  const tokens = prices.tokens;
  if (tokens?.imageOutput != null) {
    const figure = (usd: number | null | undefined) => usd == null ? "unknown" : `$${usd}`;
    return `per 1M tokens: text in ${figure(tokens.textInput)}, image in ${
      figure(tokens.imageInput)
    }, image out ${figure(tokens.imageOutput)}${suffix}`;
  }
  const perImage = prices.perImage ? Object.entries(prices.perImage)[0] : undefined;
  if (perImage) {
    const [quality, bySize] = perImage;
    const [size, usd] = Object.entries(bySize)[0] ?? [];
    if (size) return `$${usd} per ${quality} ${size} image${suffix}`;
  }
  return "unknown";
}

function describeSizes(model: ModelInfo): string {
  const rule = model.sizeRule;
  if (!rule) return model.sizes.join(", ");
  return `any WxH with sides divisible by ${rule.multipleOf}, aspect up to ${rule.maxAspectRatio}:1, ` +
    `up to ${rule.maxLongSide}x${rule.maxShortSide} (e.g. ${model.sizes.join(", ")})`;
}

function describeLifecycle(lifecycle: ReturnType<typeof lifecycleOf>): string {
  const instead = lifecycle.replacement ? `; use ${lifecycle.replacement}` : "";
  switch (lifecycle.state) {
    case "current":
      return "current";
    case "shutdown_announced":
      return `shutdown announced for ${lifecycle.date}${instead}`;
    case "retired":
      return `retired${lifecycle.date ? ` on ${lifecycle.date}` : ""}${instead}`;
  }
}

/** Builds the core facade. */
export function createImageService(deps: ImageServiceDeps): ImageService {
  const { store, codec, generator, transient } = deps;
  const catalog = store.catalog;
  const now = deps.now ?? systemClock;

  async function read(id: string) {
    const kept = transient.get(id);
    if (kept) return kept;
    const found = await store.read(id);
    return found ? { record: found.record, bytes: found.bytes } : null;
  }

  // A gallery page asks for many thumbnails at once, sometimes the same one twice.
  const making = new Map<string, Promise<Uint8Array | null>>();

  /** Makes and keeps the thumbnail of `id` once, however many requests ask at the same time. */
  function makeThumbnailOnce(id: string): Promise<Uint8Array | null> {
    let pending = making.get(id);
    if (!pending) {
      pending = (async () => {
        const found = await store.read(id);
        if (!found) return null;
        const bytes = (await codec.makeThumbnail(found.bytes)).bytes;
        try {
          await store.putThumbnail(id, bytes);
        } catch (error) {
          // Another process is storing the same thumbnail: serve ours, theirs will be kept.
          if (!isConflict(error)) {
            throw error;
          }
        }
        return bytes;
      })().finally(() => making.delete(id));
      making.set(id, pending);
    }
    return pending;
  }

  async function jobFor(id: string) {
    return await catalog.getJobByImageId(id) ?? await catalog.getJob(id);
  }

  /** A job whose process stopped: its instance missed its heartbeats (else: no update for long). */
  async function lost(job: { instance?: string; updated: number }): Promise<boolean> {
    if (job.instance !== undefined && deps.isInstanceAlive) {
      return !(await deps.isInstanceAlive(job.instance));
    }
    return now() - job.updated > (deps.staleJobMs ?? 15 * 60_000);
  }

  return {
    validate: (operation, input) => Promise.try(() => generator.validate(operation, input)),
    generate: (input, options) => generator.generate(input, options),
    edit: (input, options) => generator.edit(input, options),

    async get(id) {
      return transient.get(id)?.record ?? await store.get(id);
    },

    read,

    async view(id, limits): Promise<{ record: ImageRecord; view: ImageView } | null> {
      const found = await read(id);
      if (!found) return null;
      // JPEG encodes several times faster than WebP; images with alpha still become WebP.
      const preview = await codec.makePreview(found.bytes, { ...limits, prefer: "jpeg" });
      return {
        record: found.record,
        view: {
          bytes: preview.bytes,
          mime: preview.mime,
          width: preview.width,
          height: preview.height,
          reencoded: preview.reencoded,
        },
      };
    },

    async thumbnail(id) {
      const record = await store.get(id);
      if (!record) return null;
      const bytes = await store.readThumbnail(id) ?? await makeThumbnailOnce(record.id);
      if (!bytes) return null;
      const info = sniffImage(bytes);
      return {
        record,
        view: {
          bytes,
          mime: info?.mime ?? "image/webp",
          width: info?.width ?? 0,
          height: info?.height ?? 0,
          reencoded: true,
        },
      };
    },

    async list(options: ListImagesOptions = {}): Promise<ImagePage> {
      const limit = options.limit ?? 20;
      if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
        throw new ValidationError("limit", `Invalid limit ${limit}: accepted 1 to 100`);
      }
      const page = await withSpan("catalog.list", async (span) => {
        const found = await catalog.list({
          limit,
          cursor: options.cursor,
          model: options.model,
          creator: options.creator,
          text: options.query,
        });
        span.setAttributes({ "catalog.items": found.items.length });
        return found;
      }, {
        attributes: {
          "catalog.limit": limit,
          "catalog.filtered": Boolean(options.model || options.creator || options.query),
          "catalog.paged": options.cursor !== undefined,
        },
      });
      return { items: page.items, nextCursor: page.cursor ?? undefined };
    },

    async delete(id) {
      return (await store.delete(id)) !== null;
    },

    async lookup(id, options = {}): Promise<ImageLookup> {
      const deadline = now() + (options.waitMs ?? 0);
      for (;;) {
        const record = transient.get(id)?.record ?? await store.get(id);
        if (record) return { status: "ready", record };
        const job = await jobFor(id);
        if (!job) return { status: "missing" };
        const status = {
          id: job.jobId,
          state: job.state,
          imageIds: job.imageIds,
          model: job.model,
          created: job.created,
          updated: job.updated,
          ...(job.error ? { error: job.error } : {}),
        };
        if (unfinished(job) && await lost(job)) {
          return {
            status: "failed",
            job: status,
            error: new AppError(
              "upstream_unavailable",
              `The generation of image ${id} was interrupted: the instance running it stopped ` +
                `before it finished (${job.state} since ${new Date(job.updated).toISOString()}); ` +
                "generate it again",
            ),
          };
        }
        if (job.state === "failed" || job.state === "cancelled") {
          // The catalog keeps no error for a cancelled job: its state says what happened.
          const kind = (job.error?.kind ??
            (job.state === "cancelled" ? "cancelled" : "internal")) as AppError["kind"];
          return {
            status: "failed",
            job: status,
            error: new AppError(
              kind,
              job.error?.message ?? `The generation of image ${id} was ${job.state}`,
            ),
          };
        }
        if (job.state === "succeeded") {
          // The job finished but this id was not among its images (e.g. it made fewer).
          if (job.jobId === id && job.imageIds.length > 0) {
            const first = await store.get(job.imageIds[0]);
            if (first) return { status: "ready", record: first };
          }
          return { status: "missing" };
        }
        if (now() >= deadline || options.signal?.aborted) return { status: "pending", job: status };
        await new Promise((resolve) => setTimeout(resolve, Math.min(POLL_MS, deadline - now())));
      }
    },

    async cancel(id) {
      if (generator.abortLocal(id)) return true;
      const job = await jobFor(id);
      if (!job || (job.state !== "pending" && job.state !== "running")) return false;
      await deps.requestCancel(job.jobId);
      return true;
    },

    now,

    models(): Promise<readonly ModelSummary[]> {
      const today = new Date(now());
      return Promise.resolve(
        deps.registry.list().map((model) => {
          const lifecycle = lifecycleOf(model, today);
          return {
            id: model.id,
            status: lifecycle.state,
            lifecycle: describeLifecycle(lifecycle),
            sizes: describeSizes(model),
            qualities: model.qualities,
            formats: model.outputFormats,
            edits: Boolean(model.edits),
            price: describePrice(model),
          };
        }),
      );
    },
  };
}
