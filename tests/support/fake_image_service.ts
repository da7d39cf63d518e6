/**
 * A fake {@link ImageService} for HTTP tests: keeps images in memory, records every call, and can
 * be told to fail, to hold a job open, or to emit partial images. It validates just enough
 * (prompt, n, size, edit images) to exercise the doors' error paths, and authorises with the
 * core's own policy (src/core/policy.ts). It applies no limits: tests of limits, budgets and
 * metrics of generations use the real core (tests/support/http_app.ts `startRealTestApp`).
 *
 * @module
 */
import type {
  Allowance,
  Caller,
  CheckedRequest,
  GenerationJob,
  GenerationResult,
  ImageLookup,
  ImagePage,
  ImageRecord,
  ImageService,
  ImageView,
  ListImagesOptions,
  ModelSummary,
  StartOptions,
  UploadedFile,
  UploadSlot,
} from "../../src/core_types.ts";
import { HeldUpload } from "../../src/core/upload_slot.ts";
import { authorize, type PolicySettings } from "../../src/core/policy.ts";
import { hourlyImageLimit, type LimitSettings } from "../../src/ratelimit/limiter.ts";
import { AppError, ValidationError } from "../../src/errors.ts";
import { newImageId, newJobId, sha256Hex } from "../../src/images/ids.ts";
import { type Clock, systemClock } from "../../src/clock.ts";

/** A 1x1 PNG. */
export const TINY_PNG: Uint8Array<ArrayBuffer> = Uint8Array.fromBase64(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
);

const NO_LEASE = {
  id: "fake",
  renew: () => Promise.resolve(true),
  release: () => Promise.resolve(),
  [Symbol.asyncDispose]: () => Promise.resolve(),
};

/** Bytes standing in for a WebP thumbnail. */
export const FAKE_THUMB: Uint8Array<ArrayBuffer> = new TextEncoder().encode(
  "RIFF\0\0\0\0WEBPVP8 fake",
);

/** One recorded call. */
export interface FakeCall {
  /** Method name. */
  readonly method: "generate" | "edit";
  /** The input as given. */
  readonly input: Record<string, unknown>;
  /** The start options (without the signal and the upload slot). */
  readonly options: Omit<StartOptions, "signal" | "upload"> & { hasSignal: boolean };
  /** The files of the request's upload slot, by the references the input names them with. */
  readonly uploads: ReadonlyMap<string, UploadedFile>;
}

interface Stored {
  record: ImageRecord;
  bytes: Uint8Array;
}

/** Options of {@link FakeImageService.seed}. */
export interface SeedOptions {
  /** File name (default `<id>.png`); a predecessor name `image_<ms>.png` is allowed. */
  fileName?: string;
  /** Creation time, epoch ms. */
  created?: number;
  /** Prompt. */
  prompt?: string;
  /** Model. */
  model?: string;
  /** Creator principal id. */
  creator?: string | null;
  /** Bytes (default {@link TINY_PNG}). */
  bytes?: Uint8Array;
}

const MODELS: ModelSummary[] = [{
  id: "gpt-image-2",
  status: "current",
  lifecycle: "current",
  sizes: "any WxH divisible by 16",
  qualities: ["low", "medium", "high", "auto"],
  formats: ["png", "jpeg", "webp"],
  edits: true,
  price: "$30 per 1M output image tokens",
}];

function encodeCursor(record: ImageRecord): string {
  return btoa(JSON.stringify({ k: "t", c: record.created, i: record.id }))
    .replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function decodeCursor(cursor: string): { c: number; i: string } {
  try {
    const data = JSON.parse(atob(cursor.replaceAll("-", "+").replaceAll("_", "/")));
    if (typeof data.c === "number" && typeof data.i === "string") return data;
  } catch {
    // fall through
  }
  throw new ValidationError("cursor", "Invalid cursor: use the cursor of the previous page");
}

/** The fake. Everything is public so tests can inspect and steer it. */
export class FakeImageService implements ImageService {
  /** Every generate/edit call, in order. */
  readonly calls: FakeCall[] = [];
  /** Every validate call, in order. */
  readonly validations: { operation: "generate" | "edit"; input: Record<string, unknown> }[] = [];
  /** Stored images by id. */
  readonly store = new Map<string, Stored>();
  /** The next job fails with this (once). */
  failNext: AppError | undefined;
  /** Partial images each job emits before finishing when partials are requested. */
  partials = 2;
  /** Cost per image in USD (null: unknown). */
  costPerImage: number | null = 0.042;
  /** When set, jobs wait for this promise before finishing. */
  hold: Promise<void> | undefined;
  /** Clock for records. */
  now: Clock = systemClock;
  /** Upload slots given out and not yet used by an edit or given back. */
  slotsHeld = 0;
  /** When set, {@link reserveUpload} refuses with this (a caller at its in-flight limit). */
  refuseUploads: AppError | undefined;
  /** What the authorization policy depends on. */
  policy: PolicySettings = { imagesPublic: true };
  /** The hourly allowances {@link allowance} reports (it enforces none). */
  limits: Pick<LimitSettings, "imageGenerationRateLimit" | "anonymousImageGenerationRateLimit"> = {
    imageGenerationRateLimit: 10,
  };
  #started = new Set<Promise<unknown>>();
  #pending = new Map<
    string,
    { imageIds: string[]; model: string; created: number; creator: string; cancel: () => void }
  >();

  /** Number of stored images. */
  get size(): number {
    return this.store.size;
  }

  /** Resolves once every job started so far has finished (for a test's teardown). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#started]);
  }

  /** Image ids of jobs still running. */
  pendingIds(): string[] {
    return [...this.#pending.values()].flatMap((job) => job.imageIds);
  }

  /** Adds an image directly. */
  async seed(options: SeedOptions = {}): Promise<ImageRecord> {
    const created = options.created ?? this.now();
    const id = newImageId(created);
    const bytes = options.bytes ?? TINY_PNG;
    const record: ImageRecord = {
      id,
      fileName: options.fileName ?? `${id}.png`,
      mime: "image/png",
      width: 1,
      height: 1,
      bytes: bytes.length,
      sha256: await sha256Hex(bytes),
      prompt: options.prompt ?? "a seeded image",
      revisedPrompt: null,
      model: options.model ?? "gpt-image-2",
      parameters: {
        size: "1024x1024",
        quality: "medium",
        output_format: "png",
        background: "auto",
      },
      usage: null,
      costUsd: null,
      creator: options.creator ?? null,
      door: "http",
      created,
      jobId: null,
      state: "ready",
      thumbnail: null,
    };
    this.store.set(id, { record, bytes });
    return record;
  }

  /** Checks a request the way {@link generate} and {@link edit} do, starting nothing. */
  validate(operation: "generate" | "edit", raw: unknown): Promise<CheckedRequest> {
    const input = (raw ?? {}) as Record<string, unknown>;
    this.validations.push({ operation, input });
    try {
      const n = this.#check(operation, input);
      const model = typeof input.model === "string" ? input.model : "gpt-image-2";
      const refs = operation === "edit" && Array.isArray(input.images) ? input.images : [];
      return Promise.resolve({ model, n, warnings: [], inputRefs: refs, worstCaseUsd: 0 });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #check(operation: "generate" | "edit", input: Record<string, unknown>): number {
    const n = this.#validate(input);
    if (operation === "edit") {
      const images = input.images;
      if (!Array.isArray(images) || images.length === 0) {
        throw new ValidationError("images", "Missing images: give 1 to 16 input images");
      }
    }
    return n;
  }

  #validate(input: Record<string, unknown>): number {
    if (typeof input.prompt !== "string" || input.prompt.trim() === "") {
      throw new ValidationError("prompt", "Missing prompt: describe the image to generate");
    }
    const n = input.n ?? 1;
    if (typeof n !== "number" || !Number.isInteger(n) || n < 1 || n > 10) {
      throw new ValidationError("n", "Invalid n: expected 1 to 10");
    }
    if (input.size !== undefined && !/^(\d+x\d+|auto)$/.test(String(input.size))) {
      throw new ValidationError(
        "size",
        `Invalid size ${JSON.stringify(input.size)}: use WIDTHxHEIGHT`,
        {
          accepted: ["1024x1024", "1536x1024", "1024x1536", "auto"],
        },
      );
    }
    return n;
  }

  #start(
    method: "generate" | "edit",
    raw: unknown,
    options: StartOptions,
  ): GenerationJob {
    const input = (raw ?? {}) as Record<string, unknown>;
    const { signal, upload, ...rest } = options;
    const taken = upload instanceof HeldUpload ? upload.take() : null;
    // Like the real core, the edit owns the slot from here: it ends with the job.
    if (taken !== null) void taken.held.release();
    this.calls.push({
      method,
      input,
      options: { ...rest, hasSignal: signal !== undefined },
      uploads: taken?.files ?? new Map(),
    });
    const n = this.#check(method, input);
    authorize(options, method, this.policy);
    const model = typeof input.model === "string" ? input.model : "gpt-image-2";
    const created = this.now();
    const imageIds = Array.from({ length: n }, () => newImageId(created));
    const jobId = newJobId(created);
    const failure = this.failNext;
    this.failNext = undefined;
    let cancelled = false;
    this.#pending.set(jobId, {
      imageIds,
      model,
      created,
      creator: options.principal.id,
      cancel: () => (cancelled = true),
    });
    const done = (async (): Promise<GenerationResult> => {
      try {
        if ((options.partialImages ?? 0) > 0) {
          for (let i = 0; i < Math.min(this.partials, options.partialImages!); i++) {
            options.onProgress?.({
              stage: "partial_image",
              elapsedMs: 1,
              partialImage: { index: i, bytes: TINY_PNG, mime: "image/png" },
            });
          }
        }
        if (this.hold) await this.hold;
        if (cancelled || signal?.aborted) {
          throw new AppError("cancelled", "The request was cancelled");
        }
        if (failure) throw failure;
        const sha = await sha256Hex(TINY_PNG);
        const format = typeof input.output_format === "string" ? input.output_format : "png";
        const records = imageIds.map((id, index): ImageRecord => ({
          id,
          fileName: `${id}.png`,
          mime: "image/png",
          width: 1,
          height: 1,
          bytes: TINY_PNG.length,
          sha256: sha,
          prompt: String(input.prompt),
          revisedPrompt: index === 0 ? `revised: ${input.prompt}` : null,
          model,
          parameters: {
            size: typeof input.size === "string" ? input.size : "1024x1024",
            quality: typeof input.quality === "string" ? input.quality : "medium",
            output_format: format,
            background: typeof input.background === "string" ? input.background : "auto",
          },
          usage: { input_tokens: 10, output_tokens: 100, total_tokens: 110 },
          costUsd: this.costPerImage,
          creator: options.principal.id,
          door: options.door,
          created,
          jobId,
          state: "ready",
          thumbnail: null,
        }));
        for (const record of records) this.store.set(record.id, { record, bytes: TINY_PNG });
        return {
          jobId,
          images: records,
          model,
          usage: {
            input_tokens: 10,
            output_tokens: 100 * n,
            total_tokens: 10 + 100 * n,
            input_tokens_details: { text_tokens: 10, image_tokens: 0 },
          },
          cost: this.costPerImage === null
            ? { usd: null, basis: "unknown", reason: "price unknown" }
            : { usd: this.costPerImage * n, basis: "tokens" },
          warnings: input.style !== undefined ? ["style is ignored by gpt-image-2"] : [],
          timings: { upstreamMs: 1, totalMs: 2 },
        };
      } finally {
        this.#pending.delete(jobId);
      }
    })();
    this.#started.add(done);
    done.then(() => this.#started.delete(done), () => this.#started.delete(done));
    return {
      id: jobId,
      imageIds,
      model,
      warnings: [],
      done,
      cancel: () => {
        cancelled = true;
      },
      detach: () => {},
    };
  }

  generate(input: unknown, options: StartOptions): Promise<GenerationJob> {
    try {
      return Promise.resolve(this.#start("generate", input, options));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  edit(input: unknown, options: StartOptions): Promise<GenerationJob> {
    try {
      return Promise.resolve(this.#start("edit", input, options));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** A slot under no limit, counted in {@link slotsHeld} until it is used or given back. */
  reserveUpload(caller: Caller): Promise<UploadSlot> {
    try {
      authorize(caller, "edit", this.policy);
      if (this.refuseUploads) throw this.refuseUploads;
    } catch (error) {
      return Promise.reject(error);
    }
    this.slotsHeld++;
    let held = true;
    const release = () => {
      if (held) this.slotsHeld--;
      held = false;
      return Promise.resolve();
    };
    return Promise.resolve(
      new HeldUpload({ lease: NO_LEASE, stopGauge: () => {}, release }),
    );
  }

  #find(id: string): ImageRecord | null {
    const direct = this.store.get(id);
    if (direct) return direct.record;
    // Like the real service, predecessor file names resolve through the file-name index.
    for (const { record } of this.store.values()) {
      if (record.fileName === id) return record;
    }
    return null;
  }

  get(id: string, caller: Caller): Promise<ImageRecord | null> {
    return Promise.try(() => {
      const record = this.#find(id);
      if (record !== null) authorize(caller, "read", this.policy, record);
      return record;
    });
  }

  async read(
    id: string,
    caller: Caller,
  ): Promise<{ record: ImageRecord; bytes: Uint8Array } | null> {
    const record = await this.get(id, caller);
    if (record === null) return null;
    return { record, bytes: this.store.get(record.id)!.bytes };
  }

  async view(id: string, caller: Caller): Promise<{ record: ImageRecord; view: ImageView } | null> {
    const read = await this.read(id, caller);
    if (read === null) return null;
    return {
      record: read.record,
      view: { bytes: read.bytes, mime: "image/png", width: 1, height: 1, reencoded: false },
    };
  }

  async thumbnail(
    id: string,
    caller: Caller,
  ): Promise<{ record: ImageRecord; view: ImageView } | null> {
    const record = await this.get(id, caller);
    if (record === null) return null;
    return {
      record,
      view: { bytes: FAKE_THUMB, mime: "image/webp", width: 1, height: 1, reencoded: true },
    };
  }

  list(caller: Caller, options: ListImagesOptions = {}): Promise<ImagePage> {
    try {
      authorize(caller, "list", this.policy);
    } catch (error) {
      return Promise.reject(error);
    }
    const own = caller.principal?.role === "user" ? caller.principal.id : undefined;
    const limit = options.limit ?? 20;
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
      return Promise.reject(new ValidationError("limit", "Invalid limit: expected 1 to 100"));
    }
    let all = [...this.store.values()].map((s) => s.record)
      .filter((r) => options.model === undefined || r.model === options.model)
      .filter((r) => own === undefined || r.creator === own)
      .sort((a, b) => b.created - a.created || b.id.localeCompare(a.id));
    let after: { c: number; i: string } | undefined;
    if (options.cursor !== undefined) {
      try {
        after = decodeCursor(options.cursor);
      } catch (error) {
        return Promise.reject(error);
      }
    } else if (options.after !== undefined) {
      const anchor = all.find((r) => r.id === options.after);
      if (anchor === undefined) {
        return Promise.reject(
          new ValidationError("after", `Invalid after: no image with id "${options.after}"`),
        );
      }
      after = { c: anchor.created, i: anchor.id };
    }
    if (after !== undefined) {
      const { c, i } = after;
      all = all.filter((r) => r.created < c || (r.created === c && r.id < i));
    }
    const items = all.slice(0, limit);
    return Promise.resolve({
      items,
      ...(all.length > limit ? { nextCursor: encodeCursor(items.at(-1)!) } : {}),
    });
  }

  delete(id: string, caller: Caller): Promise<boolean> {
    return Promise.try(() => {
      const record = this.store.get(id)?.record;
      if (record === undefined) return false;
      authorize(caller, "delete", this.policy, record);
      return this.store.delete(id);
    });
  }

  async lookup(id: string, caller: Caller): Promise<ImageLookup> {
    const record = await this.get(id, caller);
    if (record) return { status: "ready", record };
    for (const [jobId, job] of this.#pending) {
      if (job.imageIds.includes(id)) {
        return {
          status: "pending",
          job: {
            id: jobId,
            state: "running",
            imageIds: job.imageIds,
            model: job.model,
            created: job.created,
            updated: job.created,
          },
        };
      }
    }
    return { status: "missing" };
  }

  cancel(id: string, caller: Caller): Promise<boolean> {
    return Promise.try(() => {
      for (const [jobId, job] of this.#pending) {
        if (jobId !== id && !job.imageIds.includes(id)) continue;
        authorize(caller, "cancel", this.policy, { id, creator: job.creator });
        job.cancel();
        return true;
      }
      return false;
    });
  }

  allowance(caller: Caller): Promise<Allowance> {
    const kind = caller.principal?.kind;
    const local = kind === "anonymous" || kind === "local";
    return Promise.resolve({ imagesPerHour: hourlyImageLimit(this.limits, local) });
  }

  models(): Promise<readonly ModelSummary[]> {
    return Promise.resolve(MODELS);
  }
}
