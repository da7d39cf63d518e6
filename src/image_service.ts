/**
 * The core facade every door uses ({@link ImageService}): generation jobs, the catalog, shaped
 * views of stored images and cross-instance cancels, over the generator, store and codec. Every
 * operation takes the caller and runs the one pipeline: validate → authorise (core/policy.ts) →
 * admit (core/admission.ts) → upstream → store → settle spend and record metrics.
 *
 * @module
 */
import type {
  Caller,
  GenerationJob,
  ImageLookup,
  ImagePage,
  ImageRecord,
  ImageService,
  ImageView,
  ListImagesOptions,
  ModelSummary,
  StartOptions,
} from "./core_types.ts";
import {
  type Admission,
  authorize,
  type HeldInflight,
  HeldUpload,
  permits,
  type PolicySettings,
  scopeOf,
  Semaphore,
} from "./core/mod.ts";
import { AppError, toAppError, ValidationError } from "./errors.ts";
import {
  catalogIdOfRef,
  checkImageRef,
  type Codec,
  type ImageStore,
  isImageId,
  sniffImage,
} from "./images/mod.ts";
import {
  type Generator,
  lifecycleOf,
  type ModelInfo,
  type ModelRegistry,
  type PreparedInputs,
} from "./generation/mod.ts";
import { withSpan } from "./tracing.ts";
import { systemClock } from "./clock.ts";

/** Collaborators of {@link createImageService}. */
export interface ImageServiceDeps {
  /** Jobs. */
  generator: Generator;
  /** Limits, budget reservations and metrics of generations. */
  admission: Admission;
  /** What the authorization policy depends on (`IMAGES_PUBLIC`). */
  policy: PolicySettings;
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
   * Previews made at once (each holds an image's bytes and pixels while it is made); default the
   * number of CPU cores, which is also how many the codec can work on in parallel.
   */
  previewConcurrency?: number;
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
  const { store, codec, generator, transient, admission, policy } = deps;
  const catalog = store.catalog;
  const now = deps.now ?? systemClock;
  // 50 answers finishing together must not decode 50 images together: they queue for a place.
  const previews = new Semaphore(
    deps.previewConcurrency ?? Math.max(1, navigator.hardwareConcurrency ?? 1),
  );

  /** The record of `id` (saved or kept for one answer), or null. */
  async function find(id: string): Promise<ImageRecord | null> {
    return transient.get(id)?.record ?? await store.get(id);
  }

  /** The record of `id` once `caller` may read it; null when there is none. */
  async function readable(id: string, caller: Caller): Promise<ImageRecord | null> {
    const record = await find(id);
    if (record !== null) authorize(caller, "read", policy, record);
    return record;
  }

  async function read(id: string, caller: Caller) {
    const kept = transient.get(id);
    if (kept) {
      authorize(caller, "read", policy, kept.record);
      return kept;
    }
    const found = await store.read(id);
    if (found === null) return null;
    authorize(caller, "read", policy, found.record);
    return { record: found.record, bytes: found.bytes };
  }

  /**
   * Validate → authorise → admit → start: the job's `done` settles only after its spend and
   * metrics are recorded. A refusal at any step throws and holds nothing.
   */
  async function start(
    operation: "generate" | "edit",
    input: unknown,
    options: StartOptions,
  ): Promise<GenerationJob> {
    const caller: Caller = options;
    // The door's slot is this request's from here on: every way out below releases or settles it.
    const taken = takeUpload(options);
    const held: HeldInflight | undefined = taken?.held;
    const refuse = async (error: unknown) => {
      await held?.release();
      return toAppError(error);
    };
    let checked;
    try {
      checked = generator.validate(operation, input, options);
    } catch (error) {
      // The model is not validated yet: never publish caller text as a label.
      const appError = await refuse(error);
      admission.refused(caller, "unknown", appError);
      throw appError;
    }
    let prepared: PreparedInputs | undefined;
    try {
      authorize(caller, operation, policy);
      for (const ref of checked.inputRefs) {
        const id = catalogIdOfRef(ref);
        const record = id === null ? null : await find(id);
        if (record !== null) authorize(caller, "read", policy, record);
      }
      // A bad input image is a bad request: refused before the limits, like any other field.
      if (operation === "edit") {
        prepared = await generator.prepareInputs(input, {
          ...options,
          ...(taken === null ? {} : { uploads: taken.files }),
        }, options.signal);
      }
    } catch (error) {
      const appError = await refuse(error);
      admission.refused(caller, checked.model, appError);
      throw appError;
    }
    const admitted = await admission.admit(caller, checked, {
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      ...(held === undefined ? {} : { held }),
    });
    let job: GenerationJob;
    try {
      job = operation === "edit"
        ? await generator.edit(input, options, admitted.watch, prepared)
        : await generator.generate(input, options, admitted.watch);
    } catch (error) {
      await admitted.settle({ ok: false, error });
      throw toAppError(error);
    }
    const done = job.done.then(
      async (result) => {
        await admitted.settle({ ok: true, result });
        return result;
      },
      async (error) => {
        await admitted.settle({ ok: false, error });
        throw error;
      },
    );
    return { ...job, done };
  }

  /** The slot and files of the door's upload, taken over once; null without one. */
  function takeUpload(options: StartOptions) {
    const slot = options.upload;
    if (slot === undefined) return null;
    if (!(slot instanceof HeldUpload)) {
      throw new TypeError("Cannot start an edit: its upload slot was not made by this service");
    }
    const taken = slot.take();
    if (taken === null) {
      throw new TypeError("Cannot start an edit: its upload slot was already used or given back");
    }
    return taken;
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
    generate: (input, options) => start("generate", input, options),
    edit: (input, options) => start("edit", input, options),

    async reserveUpload(caller) {
      authorize(caller, "edit", policy);
      return new HeldUpload(await admission.hold(caller));
    },

    get: readable,

    read,

    async view(id, caller, limits): Promise<{ record: ImageRecord; view: ImageView } | null> {
      // The bytes are read inside the place too: a waiting request holds nothing.
      const made = await previews.run(async () => {
        const found = await read(id, caller);
        if (!found) return null;
        // JPEG encodes several times faster than WebP; images with alpha still become WebP.
        const preview = await codec.makePreview(found.bytes, { ...limits, prefer: "jpeg" });
        return { found, preview };
      });
      if (made === null) return null;
      const { found, preview } = made;
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

    async thumbnail(id, caller) {
      const record = await store.get(id);
      if (!record) return null;
      authorize(caller, "read", policy, record);
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

    async list(caller, options: ListImagesOptions = {}): Promise<ImagePage> {
      authorize(caller, "list", policy);
      // A user's list holds only its own images, whatever creator it asked for.
      const creator = scopeOf(caller, "list", policy) === "own"
        ? caller.principal!.id
        : options.creator;
      const limit = options.limit ?? 20;
      if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
        throw new ValidationError("limit", `Invalid limit ${limit}: accepted 1 to 100`);
      }
      let after: ImageRecord | null = null;
      if (options.after !== undefined) {
        after = isImageId(options.after) ? await store.get(options.after) : null;
        // An image the caller may not read is, to it, an image that does not exist.
        if (after !== null && !permits(caller, "read", policy, after)) after = null;
        if (after === null) {
          throw new ValidationError(
            "after",
            `Invalid after: no image with id ${JSON.stringify(options.after.slice(0, 80))}`,
          );
        }
      }
      const page = await withSpan("catalog.list", async (span) => {
        const found = await catalog.list({
          limit,
          cursor: options.cursor,
          ...(after === null ? {} : { after }),
          model: options.model,
          creator,
          text: options.query,
        });
        span.setAttributes({ "catalog.items": found.items.length });
        return found;
      }, {
        attributes: {
          "catalog.limit": limit,
          "catalog.filtered": Boolean(options.model || creator || options.query),
          "catalog.paged": options.cursor !== undefined,
        },
      });
      return { items: page.items, nextCursor: page.cursor ?? undefined };
    },

    async delete(id, caller) {
      const record = await store.get(id);
      if (record === null) {
        // A malformed id is a bad request, not a missing image.
        checkImageRef(id);
        return false;
      }
      authorize(caller, "delete", policy, record);
      return (await store.delete(record.id)) !== null;
    },

    async lookup(id, caller, options = {}): Promise<ImageLookup> {
      const deadline = now() + (options.waitMs ?? 0);
      for (;;) {
        const record = await readable(id, caller);
        if (record) return { status: "ready", record };
        const job = await jobFor(id);
        if (!job) return { status: "missing" };
        authorize(caller, "read", policy, { id, creator: job.creator });
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
            const first = await readable(job.imageIds[0], caller);
            if (first) return { status: "ready", record: first };
          }
          return { status: "missing" };
        }
        if (now() >= deadline || options.signal?.aborted) return { status: "pending", job: status };
        await new Promise((resolve) => setTimeout(resolve, Math.min(POLL_MS, deadline - now())));
      }
    },

    async cancel(id, caller) {
      const job = await jobFor(id);
      if (!job) return false;
      authorize(caller, "cancel", policy, { id, creator: job.creator });
      if (generator.abortLocal(job.jobId)) return true;
      if (job.state !== "pending" && job.state !== "running") return false;
      await deps.requestCancel(job.jobId);
      return true;
    },

    allowance: (caller) => Promise.resolve({ imagesPerHour: admission.imagesPerHour(caller) }),

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
