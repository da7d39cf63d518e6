/**
 * The generator: one generation or edit as a job with an id from the moment it is accepted.
 * validate → job in KV (image ids reserved) → upstream call (abortable, streamed when partial
 * images are wanted) → bytes verified → stored and catalogued → job succeeded.
 * An image is either fully stored and catalogued, or not visible at all.
 *
 * @module
 */
import type { Config } from "../config.ts";
import type {
  CheckedRequest,
  Cost,
  Door,
  GenerationJob,
  GenerationResult,
  ImageRecord,
  JobStage,
  StartOptions,
} from "../core_types.ts";
import { AppError, toAppError } from "../errors.ts";
import {
  type ImageExt,
  type ImageStore,
  type KnownJob,
  newImageId,
  newJobId,
  sniffImage,
  type StagedImage,
  type UploadedFile,
  verifyImage,
  verifyImageParts,
} from "../images/mod.ts";
import { getLog } from "../log.ts";
import { type SpanAttributes, withSpan } from "../tracing.ts";
import type { ModelRegistry } from "./models.ts";
import {
  editImages,
  type EditInput,
  type GeneratedImage,
  generateImages,
  type ImageCallOptions,
  type ImageClient,
  type ImageResult,
  mapUpstreamError,
} from "./openai.ts";
import type { Instance } from "./instances.ts";
import { missingKeyHint } from "./key_hint.ts";
import { estimateCost, hasWorstCase, worstCaseCost } from "./pricing.ts";
import {
  type EditNormalization,
  type GenerateNormalization,
  type NormalizeContext,
  normalizeEditRequest,
  normalizeGenerateRequest,
} from "./request.ts";
import { systemClock } from "../clock.ts";

const log = getLog("generator");

/** Resolves an edit's image references to bytes (see src/images/inputs.ts). */
export type ResolveInput = (ref: string, field: string, signal?: AbortSignal) => Promise<EditInput>;

/** Checks an edit input a door received as an upload (see src/images/inputs.ts). */
export type ResolveUpload = (file: UploadedFile, field: string) => EditInput;

/**
 * Edit inputs resolved before the job starts, by request field (`images[0]`, `mask`, `markup`):
 * what can be checked on this machine is checked before any allowance is taken.
 */
export type PreparedInputs = ReadonlyMap<string, EditInput>;

/**
 * What a job tells its admission (src/core/admission.ts) about the upstream call: once it is sent
 * a cancel no longer refunds the allowance, and once it is answered its cost is known even if
 * storing then fails.
 */
export interface UpstreamWatch {
  /** The upstream call is about to be sent (edit inputs are resolved). */
  sent(): void;
  /** The upstream answered with images costing `cost`. */
  answered(cost: Cost): void;
}

/** Collaborators of {@link Generator}. */
export interface GeneratorDeps {
  /** Settings (defaults, legacy policy, key presence). */
  config: Config;
  /** Known models. */
  registry: ModelRegistry;
  /** The upstream client (created lazily by the caller). */
  client: () => ImageClient | Promise<ImageClient>;
  /** Where images go. */
  store: ImageStore;
  /** Edit input resolution. */
  resolveInput: ResolveInput;
  /** Checks uploaded edit inputs; without it, edits with uploads are refused. */
  resolveUpload?: ResolveUpload;
  /** Clock. */
  now?: () => number;
  /** Images kept when `save` is false, so the door can still show them once. */
  transient?: { put(record: ImageRecord, bytes: Uint8Array): void };
  /** Watches for cancel requests from other instances; returns a stop function. */
  watchCancel?: (jobId: string, onCancel: (reason: string) => void) => () => void;
  /** The door this process serves (not the request's): decides where a missing key is set. */
  door?: Door;
  /**
   * This process as an instance: jobs carry its id and are indexed while they run, in the job's
   * own commits (the instance's KV is the one that holds the catalog's jobs).
   */
  instance?: Pick<Instance, "id" | "indexJob" | "unindexJob" | "jobFinished">;
}

/** Whether a job's entry in the instance's index was removed by the commit that ended it. */
interface JobIndex {
  unindexed: boolean;
  /** Adds the removal to an atomic operation (undefined without an instance). */
  readonly also: ((op: Deno.AtomicOperation) => void) | undefined;
  /** The job as created: its end is committed against it without reading it again. */
  readonly created: KnownJob;
}

/**
 * Checks an image the upstream sent (see `verifyImage`); a staged one by its head and tail, or
 * whole when its header lies beyond the head.
 */
async function verifyResult(
  image: GeneratedImage,
  staged: StagedImage | undefined,
  format: GenerateNormalization["request"]["outputFormat"],
): Promise<{ info: ReturnType<typeof verifyImage>; size: number }> {
  const expected = { format };
  if (image.bytes !== undefined) {
    return { info: verifyImage(image.bytes, expected), size: image.bytes.length };
  }
  if (staged === undefined) throw new TypeError("Cannot store an image held by an unknown sink");
  const written = await staged.finish();
  const info = written.size > written.head.length && sniffImage(written.head) === null
    ? verifyImage(await staged.readAll(), expected)
    : verifyImageParts(written, expected);
  return { info, size: written.size };
}

const EXT_OF: Record<string, ImageExt> = {
  "image/png": "png",
  "image/jpeg": "jpg",
  "image/webp": "webp",
  "image/gif": "gif",
};

/** Runs generations and edits as jobs. */
export class Generator {
  #deps: GeneratorDeps;
  #now: () => number;
  #running = new Map<string, { controller: AbortController; imageIds: readonly string[] }>();
  #settled = new Set<Promise<unknown>>();

  /** Creates a generator over `deps`. */
  constructor(deps: GeneratorDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? systemClock;
  }

  /**
   * Validates a generation or edit request without starting anything; `partialImages` is what the
   * door will ask for (it changes the worst-case price).
   */
  validate(
    operation: "generate" | "edit",
    input: unknown,
    options: Pick<StartOptions, "partialImages"> = {},
  ): CheckedRequest {
    const normalized = this.#normalize(operation, input, options);
    const { request, warnings } = normalized;
    const edit = request.operation === "edit" ? (request as EditNormalization["request"]) : null;
    const inputRefs = edit ? [...edit.images, ...(edit.mask ? [edit.mask] : [])] : [];
    const model = this.#deps.registry.get(request.model);
    return {
      model: request.model,
      n: request.n,
      warnings,
      inputRefs,
      worstCaseUsd: model
        ? worstCaseCost(model, {
          quality: request.quality,
          size: request.size,
          n: request.n,
          promptChars: request.prompt.length,
          inputImages: inputRefs.length + (edit?.markup ? 1 : 0),
          partialImages: request.partialImages,
        })
        : 0,
      ...(model && hasWorstCase(model)
        ? {}
        : { priceUnknown: `the prices of ${request.model} are unknown` }),
    };
  }

  /** Validates a generation request and starts its job; `watch` hears about the upstream call. */
  generate(input: unknown, options: StartOptions, watch?: UpstreamWatch): Promise<GenerationJob> {
    return this.#start(this.#normalize("generate", input, options), options, watch);
  }

  /**
   * Validates an edit request and starts its job; `watch` hears about the upstream call, and
   * `prepared` holds inputs {@link prepareInputs} already resolved.
   */
  edit(
    input: unknown,
    options: StartOptions,
    watch?: UpstreamWatch,
    prepared?: PreparedInputs,
  ): Promise<GenerationJob> {
    return this.#start(this.#normalize("edit", input, options), options, watch, prepared);
  }

  /**
   * Resolves the edit inputs of `input` that live here — catalog images, files, data URLs — so a
   * bad one is refused (400 naming its field) before any limit is consulted. URL inputs are
   * fetched by the job itself: fetching them is work the limits exist to bound. References in
   * `options.uploads` name files the door received in this request.
   */
  async prepareInputs(
    input: unknown,
    options: Pick<StartOptions, "partialImages"> & { uploads?: ReadonlyMap<string, UploadedFile> },
    signal?: AbortSignal,
  ): Promise<PreparedInputs> {
    const edit = this.#normalize("edit", input, options) as EditNormalization;
    const refs: [string, string][] = edit.request.images.map((ref, i) => [`images[${i}]`, ref]);
    if (edit.request.mask) refs.push(["mask", edit.request.mask]);
    if (edit.request.markup) refs.push(["markup", edit.request.markup]);
    const prepared = new Map<string, EditInput>();
    for (const [field, ref] of refs) {
      const upload = options.uploads?.get(ref.trim());
      if (upload !== undefined && this.#deps.resolveUpload !== undefined) {
        prepared.set(field, this.#deps.resolveUpload(upload, field));
        continue;
      }
      if (/^\s*https?:/i.test(ref)) continue;
      prepared.set(field, await this.#deps.resolveInput(ref, field, signal));
    }
    return prepared;
  }

  #normalize(
    operation: "generate" | "edit",
    input: unknown,
    options: Pick<StartOptions, "partialImages">,
  ): GenerateNormalization | EditNormalization {
    const normalize: (
      input: unknown,
      context: NormalizeContext,
    ) => GenerateNormalization | EditNormalization = operation === "edit"
      ? normalizeEditRequest
      : normalizeGenerateRequest;
    const context = this.#context();
    const normalized = normalize(input, context);
    const partials = this.#doorPartialImages(input, normalized, options);
    // The door's partial images apply only when the request named none; the model decides the cap.
    return partials > 0
      ? normalize({ ...(input as object), partial_images: partials }, context)
      : normalized;
  }

  /**
   * Partial images a door asks for (`MCP_PARTIAL_IMAGES`) when the request names none: capped at
   * what the model streams, 0 for models that do not stream (a door setting is no request error).
   */
  #doorPartialImages(
    input: unknown,
    normalized: GenerateNormalization | EditNormalization,
    options: Pick<StartOptions, "partialImages">,
  ): number {
    const wanted = options.partialImages ?? 0;
    if (wanted <= 0 || typeof input !== "object" || input === null || Array.isArray(input)) {
      return 0;
    }
    if ((input as Record<string, unknown>).partial_images !== undefined) return 0;
    const max = this.#deps.registry.get(normalized.request.model)?.maxPartialImages ?? 0;
    return Math.min(wanted, max);
  }

  /** Aborts a job running in this process (by job id or one of its image ids). */
  abortLocal(id: string, reason = "cancelled"): boolean {
    for (const [jobId, running] of this.#running) {
      if (jobId === id || running.imageIds.includes(id)) {
        running.controller.abort(new AppError("cancelled", `The image generation was ${reason}`));
        return true;
      }
    }
    return false;
  }

  /** Ids of jobs running in this process. */
  runningJobIds(): string[] {
    return [...this.#running.keys()];
  }

  /** Waits until every job started so far has settled (used at shutdown). */
  async drain(): Promise<void> {
    while (this.#settled.size > 0) await Promise.allSettled([...this.#settled]);
  }

  #context() {
    return {
      registry: this.#deps.registry,
      config: this.#deps.config,
      now: new Date(this.#now()),
    };
  }

  async #start(
    normalized: GenerateNormalization | EditNormalization,
    options: StartOptions,
    watch: UpstreamWatch | undefined,
    prepared?: PreparedInputs,
  ): Promise<GenerationJob> {
    const { config } = this.#deps;
    if (!config.openaiApiKey && !(config.azureEndpoint && config.azureApiKey)) {
      const variable = config.azureEndpoint ? "AZURE_OPENAI_API_KEY" : "OPENAI_API_KEY";
      throw new AppError(
        "missing_api_key",
        `Cannot generate images: no OpenAI API key is configured; ${
          missingKeyHint(this.#deps.door ?? options.door, variable)
        }`,
      );
    }
    const { request } = normalized;
    const warnings = [...normalized.warnings];
    const jobId = newJobId(this.#now());
    const imageIds = Array.from({ length: request.n }, () => newImageId(this.#now()));
    const instance = this.#deps.instance;
    // Indexed in the commit that creates it: no job is ever visible that nobody can interrupt.
    const created = await this.#deps.store.catalog.createJob(
      jobId,
      {
        prompt: request.prompt,
        model: request.model,
        creator: options.principal.id,
        door: options.door,
        imageIds,
        ...(instance ? { instance: instance.id } : {}),
        // The job runs at once (admission happened before): one commit, not create + update.
        state: "running",
      },
      instance ? (op) => instance.indexJob(op, jobId) : undefined,
    );
    // Unindexed in the commit that ends it, when that commit is made; otherwise on its own.
    const index: JobIndex = {
      unindexed: false,
      also: instance ? (op) => instance.unindexJob(op, jobId) : undefined,
      created,
    };
    const controller = new AbortController();
    const follow = () => controller.abort(options.signal?.reason);
    if (options.signal?.aborted) follow();
    options.signal?.addEventListener("abort", follow, { once: true });
    const detach = () => options.signal?.removeEventListener("abort", follow);
    this.#running.set(jobId, { controller, imageIds });
    const stopWatching = this.#deps.watchCancel?.(
      jobId,
      (reason) => controller.abort(new AppError("cancelled", `The image generation was ${reason}`)),
    );
    const done = this.#run(jobId, imageIds, normalized, options, controller.signal, {
      watch,
      prepared,
      index,
    }).finally(
      async () => {
        stopWatching?.();
        detach();
        this.#running.delete(jobId);
        if (index.unindexed) return;
        await instance?.jobFinished(jobId).catch((error) =>
          log.warning("Cannot unindex job {jobId}: {message}", { jobId, message: String(error) })
        );
      },
    );
    const tracked = done.catch(() => {});
    this.#settled.add(tracked);
    tracked.finally(() => this.#settled.delete(tracked));
    return {
      id: jobId,
      imageIds,
      model: request.model,
      warnings,
      done,
      cancel: (reason) =>
        controller.abort(
          new AppError(
            "cancelled",
            `The image generation was cancelled${reason ? `: ${reason}` : ""}`,
          ),
        ),
      detach,
    };
  }

  async #run(
    jobId: string,
    imageIds: readonly string[],
    normalized: GenerateNormalization | EditNormalization,
    options: StartOptions,
    signal: AbortSignal,
    hooks: { watch?: UpstreamWatch; prepared?: PreparedInputs; index: JobIndex },
  ): Promise<GenerationResult> {
    const { watch, index } = hooks;
    const { request } = normalized;
    const catalog = this.#deps.store.catalog;
    const started = this.#now();
    const stage = (
      name: JobStage,
      partialImage?: { index: number; bytes: Uint8Array; mime: string },
    ) => options.onProgress?.({ stage: name, elapsedMs: this.#now() - started, partialImage });
    let cost: Cost | null = null;
    let stored: ImageRecord[] = [];
    // Saved images are written to the store as the answer arrives, never held whole.
    const staging: StagedImage[] = [];
    const stageIn = this.#deps.store.stage?.bind(this.#deps.store);
    const sinkFor = request.save && stageIn
      ? async (index: number) => {
        const id = imageIds[index];
        if (id === undefined) return undefined;
        const staged = await stageIn(id, EXT_OF[`image/${request.outputFormat}`] ?? "png");
        staging.push(staged);
        return staged;
      }
      : undefined;
    try {
      stage("queued");
      signal.throwIfAborted();
      stage("generating");
      const upstreamStarted = this.#now();
      const result = await this.#callUpstream(
        normalized,
        signal,
        stage,
        () => watch?.sent(),
        { prepared: hooks.prepared, sinkFor },
      );
      const upstreamMs = this.#now() - upstreamStarted;
      signal.throwIfAborted();
      stage("storing");
      const estimate = estimateCost(
        this.#deps.registry.get(request.model) ?? { id: request.model } as never,
        {
          usage: result.usage ?? null,
          quality: result.quality ?? request.quality,
          size: result.size ?? request.size,
          n: result.images.length,
        },
      );
      cost = {
        usd: estimate.usd,
        basis: estimate.basis,
        reason: estimate.reason,
        ...(estimate.estimated ? { estimated: true } : {}),
      };
      watch?.answered(cost);
      const perImage = estimate.usd === null
        ? null
        : Math.round((estimate.usd / Math.max(1, result.images.length)) * 1e6) / 1e6;
      stored = await withSpan("images.store", async (span) => {
        const records = await this.#store(jobId, imageIds, normalized, options, result, {
          costPerImage: perImage,
          staging,
        });
        span.setAttributes({ "image.bytes": records.reduce((sum, r) => sum + r.bytes, 0) });
        return records;
      }, {
        attributes: {
          "image.store": this.#deps.config.imageStore,
          "image.count": result.images.length,
          "image.save": request.save,
        },
      });
      const ended = await catalog.updateJob(
        jobId,
        {
          state: "succeeded",
          imageIds: stored.map((record) => record.id),
        },
        index.also,
        index.created,
      );
      index.unindexed = ended !== null;
      stage("done");
      const totalMs = this.#now() - started;
      return {
        jobId,
        images: stored,
        model: request.model,
        usage: (result.usage as GenerationResult["usage"]) ?? null,
        cost,
        warnings: normalized.warnings,
        timings: { upstreamMs, totalMs },
      };
    } catch (thrown) {
      const error = signal.aborted && !(thrown instanceof AppError && thrown.kind !== "cancelled")
        ? toAppError(signal.reason instanceof AppError ? signal.reason : thrown)
        : mapUpstreamError(thrown, {
          model: request.model,
          registry: this.#deps.registry,
          now: new Date(this.#now()),
          timeoutMs: this.#deps.config.openaiTimeoutMs,
        });
      const appError = signal.aborted && error.kind !== "cancelled"
        ? new AppError("cancelled", "The image generation was cancelled", { cause: thrown })
        : error;
      const ended = await catalog.updateJob(
        jobId,
        {
          state: appError.kind === "cancelled" ? "cancelled" : "failed",
          error: { kind: appError.kind, message: appError.message },
        },
        index.also,
        index.created,
      ).catch((updateError) =>
        log.error("Cannot record the failure of job {jobId}: {message}", {
          jobId,
          message: String(updateError),
        })
      );
      index.unindexed ||= ended !== null && ended !== undefined;
      if (appError.kind === "internal") {
        log.error("Job {jobId} failed: {error}", { jobId, error: String(thrown) });
      }
      throw appError;
    } finally {
      // Images written but not saved (a failed call or check) leave nothing behind.
      for (const staged of staging) await staged.discard().catch(() => {});
    }
  }

  async #callUpstream(
    normalized: GenerateNormalization | EditNormalization,
    signal: AbortSignal,
    stage: (name: JobStage, partial?: { index: number; bytes: Uint8Array; mime: string }) => void,
    sent: () => void,
    hooks: { prepared?: PreparedInputs; sinkFor?: ImageCallOptions["sinkFor"] },
  ): Promise<ImageResult> {
    const { prepared, sinkFor } = hooks;
    const client = await this.#deps.client();
    const onPartialImage = (partial: { index: number; bytes: Uint8Array; outputFormat: string }) =>
      stage("partial_image", {
        index: partial.index,
        bytes: partial.bytes,
        mime: `image/${partial.outputFormat === "jpg" ? "jpeg" : partial.outputFormat}`,
      });
    const { request } = normalized;
    const attributes: SpanAttributes = {
      "gen_ai.system": "openai",
      "gen_ai.operation.name": request.operation === "edit" ? "image_edit" : "image_generation",
      "gen_ai.request.model": request.model,
      "image.size": request.size,
      "image.quality": request.quality,
      "image.n": request.n,
      "image.output_format": request.outputFormat,
      "image.stream": normalized.request.stream,
    };
    const traced = (name: string, call: () => Promise<ImageResult>) =>
      withSpan(name, async (span) => {
        const result = await call();
        span.setAttributes({ "image.count": result.images.length });
        return result;
      }, { attributes });
    if (normalized.request.operation !== "edit") {
      sent();
      return await traced(
        "openai.images.generate",
        () => generateImages(client, normalized, { signal, onPartialImage, sinkFor }),
      );
    }
    const edit = normalized as EditNormalization;
    const resolve: ResolveInput = async (ref, field, signal) =>
      prepared?.get(field) ?? await this.#deps.resolveInput(ref, field, signal);
    const inputs = await Promise.all(
      edit.request.images.map((ref, i) => resolve(ref, `images[${i}]`, signal)),
    );
    const mask = edit.request.mask ? await resolve(edit.request.mask, "mask", signal) : undefined;
    const markup = edit.request.markup
      ? await resolve(edit.request.markup, "markup", signal)
      : undefined;
    signal.throwIfAborted();
    sent();
    return await traced(
      "openai.images.edit",
      () => editImages(client, edit, inputs, mask, { signal, onPartialImage, markup, sinkFor }),
    );
  }

  async #store(
    jobId: string,
    imageIds: readonly string[],
    normalized: GenerateNormalization | EditNormalization,
    options: StartOptions,
    result: ImageResult,
    saving: { costPerImage: number | null; staging: readonly StagedImage[] },
  ): Promise<ImageRecord[]> {
    const { costPerImage, staging } = saving;
    const { request } = normalized;
    const expectedFormat = request.outputFormat;
    // Verify every image before storing any, so a truncated one cannot leave half a result.
    const verified = [];
    for (const image of result.images) {
      const staged = image.sink && staging.find((s) => s === image.sink);
      verified.push({ image, staged, ...await verifyResult(image, staged, expectedFormat) });
    }
    const parameters = {
      size: result.size ?? request.size,
      quality: result.quality ?? request.quality,
      output_format: request.outputFormat,
      background: result.background ?? request.background,
      n: request.n,
      ...(request.outputCompression === undefined
        ? {}
        : { output_compression: request.outputCompression }),
      ...(request.moderation ? { moderation: request.moderation } : {}),
      ...(request.translatedFrom ? { translated_from: request.translatedFrom } : {}),
      operation: request.operation,
    };
    const records: ImageRecord[] = [];
    for (const [index, { image, staged, info, size }] of verified.entries()) {
      const id = imageIds[index] ?? newImageId(this.#now());
      const fields = {
        prompt: request.prompt,
        revisedPrompt: image.revisedPrompt ?? null,
        model: request.model,
        parameters,
        usage: (result.usage as Record<string, unknown> | undefined) ?? null,
        costUsd: costPerImage,
        creator: options.principal.id,
        door: options.door,
        jobId,
      };
      if (staged) {
        records.push(
          await staged.save({
            mime: info.mime,
            width: info.width,
            height: info.height,
            record: fields,
          }),
        );
        continue;
      }
      if (!request.save || image.bytes === undefined) {
        const record: ImageRecord = {
          ...fields,
          id,
          fileName: "",
          mime: info.mime,
          width: info.width,
          height: info.height,
          bytes: size,
          sha256: "",
          created: this.#now(),
          state: "ready",
          thumbnail: null,
        };
        if (image.bytes) this.#deps.transient?.put(record, image.bytes);
        records.push(record);
        continue;
      }
      records.push(
        await this.#deps.store.save({
          id,
          bytes: image.bytes,
          mime: info.mime,
          ext: EXT_OF[info.mime] ?? "png",
          width: info.width,
          height: info.height,
          // Thumbnails are made on first request (ImageService.thumbnail): ~20 ms per image kept
          // out of every generation, and most images are never shown in the gallery grid.
          record: fields,
        }),
      );
    }
    return records;
  }
}
