/**
 * The vocabulary shared by the core and its three doors: image records, generation jobs and the
 * {@link ImageService} facade every door talks to. Types only: no runtime code, no I/O.
 *
 * @module
 */
import type { AppError } from "./errors.ts";
import type { CatalogRecord, Door, JobState, UploadedFile } from "./images/mod.ts";

export type { Door, JobState, UploadedFile };

/** One stored image, as the catalog knows it. */
export type ImageRecord = CatalogRecord;

/**
 * What an OAuth access token may do: `images:read` (read, list), `images:write` (generate, edit,
 * cancel), `images:delete` (delete), `admin` (the admin role, when the consenting key has it).
 */
export type OAuthScope = "images:read" | "images:write" | "images:delete" | "admin";

/** Who asked: used for authorization, limits, budgets and the catalog's creator index. */
export interface Principal {
  /** Stable id: key id, `token` for MCP_AUTH_TOKEN, `local` for stdio/CLI, `ip:<addr>` for anonymous. */
  readonly id: string;
  /** Display name. */
  readonly name: string;
  /** What the principal may do (see docs/authorization.md). */
  readonly role: "admin" | "user";
  /**
   * How it was identified: `token` (MCP_AUTH_TOKEN), `key` (a named API key), `anonymous` (no
   * credentials; may have its own hourly image allowance), `local` (stdio server and CLI), `oauth`
   * (an OAuth access token). Absent on the owner an MCP task record keeps, which holds only id,
   * name and role.
   */
  readonly kind?: "token" | "key" | "anonymous" | "local" | "oauth";
  /**
   * The scopes of an OAuth access token, which limit what the principal may do beyond its role
   * (src/core/policy.ts). Absent for every other kind: unrestricted by scope.
   */
  readonly scopes?: readonly OAuthScope[];
}

/**
 * Who is calling the image service and through which door. Every operation takes one: the core
 * authorises, limits and records metrics by it, so every door gets the same answer.
 */
export interface Caller {
  /** The principal, or null for a signed-out gallery visitor (the `guest` role). */
  readonly principal: Principal | null;
  /** The door the request came through. */
  readonly door: Door;
  /**
   * `file_url`: a read at an image file URL (`/images/*`), which the HTTP door has already let
   * through by `IMAGES_PUBLIC`, a valid signed link or a valid key; ownership does not apply.
   */
  readonly via?: "file_url";
}

/** Token usage reported by OpenAI. */
export interface Usage {
  /** Input tokens (text + images). */
  readonly input_tokens?: number;
  /** Output tokens. */
  readonly output_tokens?: number;
  /** Total tokens. */
  readonly total_tokens?: number;
  /** Split of input tokens. */
  readonly input_tokens_details?: { text_tokens?: number; image_tokens?: number };
}

/** Cost of a generation, or why it is unknown. */
export interface Cost {
  /** US dollars, or null when the model's price is unknown. */
  readonly usd: number | null;
  /** How the figure was computed. */
  readonly basis: "tokens" | "per_image" | "unknown";
  /** Why the figure is null, or where an estimated figure comes from. */
  readonly reason?: string;
  /** True when the prices behind the figure are not confirmed for the model (an estimate). */
  readonly estimated?: boolean;
}

/** Stages a generation passes through, reported as progress. */
export type JobStage =
  | "queued"
  | "waiting_for_upstream_budget"
  | "generating"
  | "partial_image"
  | "storing"
  | "done";

/** What KV knows about a job (visible to every instance). */
export interface JobStatus {
  /** Job id. */
  readonly id: string;
  /** Current state. */
  readonly state: JobState;
  /** Image ids reserved for the job's images (known from the start). */
  readonly imageIds: readonly string[];
  /** Model used. */
  readonly model: string;
  /** Creation time, epoch ms. */
  readonly created: number;
  /** Last update, epoch ms. */
  readonly updated: number;
  /** Failure, when failed or cancelled. */
  readonly error?: { kind: string; message: string };
}

/** Progress callback: stage, elapsed milliseconds, and a partial image when one arrives. */
export type ProgressListener = (event: {
  stage: JobStage;
  elapsedMs: number;
  partialImage?: { index: number; bytes: Uint8Array; mime: string };
}) => void;

/** Options for starting a generation or edit: the caller, plus how to follow the job. */
export interface StartOptions {
  /** Door the request came through. */
  door: Door;
  /** Who asked (generating needs a principal). */
  principal: Principal;
  /** Aborts the upstream call and stores nothing. */
  signal?: AbortSignal;
  /** Progress (stage changes and partial images). */
  onProgress?: ProgressListener;
  /** Partial images to request (0–3); each costs extra output tokens. */
  partialImages?: number;
  /**
   * The slot {@link ImageService.reserveUpload} gave the door for this request: the edit runs in
   * it (its in-flight count is not taken again) and may name its files by their references.
   */
  upload?: UploadSlot;
}

/**
 * A concurrency slot a door holds for a caller while it reads an upload, so that requests beyond
 * the caller's in-flight limit are refused before their bodies are read. An edit given the slot
 * consumes it; otherwise the door gives it back with {@link UploadSlot.release}.
 */
export interface UploadSlot extends AsyncDisposable {
  /** Keeps an uploaded file for the edit; returns the reference that names it in `images`/`mask`. */
  add(file: UploadedFile): string;
  /** Gives the slot back unless an edit took it; safe to call more than once. */
  release(): Promise<void>;
}

/** The finished result of a job. */
export interface GenerationResult {
  /** Job id. */
  readonly jobId: string;
  /** Stored images, in upstream order. */
  readonly images: readonly ImageRecord[];
  /** Model used. */
  readonly model: string;
  /** Token usage of the request. */
  readonly usage: Usage | null;
  /** Total cost of the request. */
  readonly cost: Cost;
  /** Translations and notices (legacy model mapped, size adjusted, …). */
  readonly warnings: readonly string[];
  /** Milliseconds spent upstream and in total. */
  readonly timings: { readonly upstreamMs: number; readonly totalMs: number };
}

/** A running generation: known ids from the start, a promise for the end. */
export interface GenerationJob {
  /** Job id. */
  readonly id: string;
  /** Ids the images will have once stored. */
  readonly imageIds: readonly string[];
  /** Model the request resolved to. */
  readonly model: string;
  /** Warnings known at validation time. */
  readonly warnings: readonly string[];
  /** Settles when the job is stored (or failed/cancelled). */
  readonly done: Promise<GenerationResult>;
  /** Aborts the job (upstream request closed, nothing stored). */
  cancel(reason?: string): void;
  /** Stops following the caller's signal: the job finishes even if the caller goes away. */
  detach(): void;
}

/** What validating a request found, before anything is started or any allowance taken. */
export interface CheckedRequest {
  /** Model the request resolves to (after aliases and legacy translation). */
  readonly model: string;
  /** Images the request asks for. */
  readonly n: number;
  /** Changes made on the caller's behalf (retired model translated, …). */
  readonly warnings: readonly string[];
  /** Input references of an edit (images, then the mask); empty for a generation. */
  readonly inputRefs: readonly string[];
  /** The most the request can cost, reserved from a monthly budget while it runs (USD). */
  readonly worstCaseUsd: number;
  /** Why `worstCaseUsd` is not a real ceiling (it counts a price nobody knows as $0), if so. */
  readonly priceUnknown?: string;
}

/** The hourly image allowance a caller has (for doors that show it). */
export interface Allowance {
  /** Images per hour; 0 = no cap. */
  readonly imagesPerHour: number;
}

/** A page of catalog results. */
export interface ImagePage {
  /** Records, newest first. */
  readonly items: readonly ImageRecord[];
  /** Cursor for the next page, if any. */
  readonly nextCursor?: string;
}

/** Filters for listing images. */
export interface ListImagesOptions {
  /** Page size (default 20, max 100). */
  limit?: number;
  /** Opaque cursor from a previous page. */
  cursor?: string;
  /**
   * Start after the image with this id (OpenAI-style paging); a validation error naming `after`
   * when the caller has no such image.
   */
  after?: string;
  /** Only images of this model. */
  model?: string;
  /** Only images by this creator (a user key lists only its own whatever this says). */
  creator?: string;
  /** Case-insensitive substring of the prompt. */
  query?: string;
}

/** What a wait for an image found. */
export type ImageLookup =
  | { readonly status: "ready"; readonly record: ImageRecord }
  | { readonly status: "pending"; readonly job: JobStatus }
  | { readonly status: "failed"; readonly job: JobStatus; readonly error: AppError }
  | { readonly status: "missing" };

/** Bytes shaped for a client: the original or a smaller re-encoded preview. */
export interface ImageView {
  /** Encoded bytes. */
  readonly bytes: Uint8Array;
  /** MIME type of `bytes`. */
  readonly mime: string;
  /** Pixel width of `bytes`. */
  readonly width: number;
  /** Pixel height of `bytes`. */
  readonly height: number;
  /** True when `bytes` are not the stored original. */
  readonly reencoded: boolean;
}

/** A model as doors present it. */
export interface ModelSummary {
  /** Model id to pass as `model`. */
  readonly id: string;
  /** `current`, `deprecated` (shutdown announced) or `retired`. */
  readonly status: string;
  /** Human text about the lifecycle, e.g. `shutdown announced for 2026-12-01`. */
  readonly lifecycle: string;
  /** Sizes: a list, or a rule in words. */
  readonly sizes: string;
  /** Accepted qualities. */
  readonly qualities: readonly string[];
  /** Output formats. */
  readonly formats: readonly string[];
  /** Whether the model edits images. */
  readonly edits: boolean;
  /** Token prices per 1M (or per image) in words, with "estimate" and the checked-on date. */
  readonly price: string;
}

/**
 * The facade of the core that every door uses. Every operation takes the {@link Caller} and runs
 * the same pipeline whatever the door: validate and normalise → authorise (src/core/policy.ts) →
 * admit (limits and a budget reservation, src/core/admission.ts) → upstream → store → metrics and
 * spend. Refusals are AppErrors (`validation`, `unauthorized`, `forbidden`, `rate_limited`,
 * `budget_exceeded`), never a silent null.
 */
export interface ImageService {
  /** Validates a generation or edit request without starting it (throws ValidationError). */
  validate(operation: "generate" | "edit", input: unknown): Promise<CheckedRequest>;
  /** Validates `input`, authorises and admits the caller, and starts a generation job. */
  generate(input: unknown, options: StartOptions): Promise<GenerationJob>;
  /** Like {@link generate}; stored images used as inputs must be readable by the caller. */
  edit(input: unknown, options: StartOptions): Promise<GenerationJob>;
  /**
   * Takes one of the caller's in-flight slots for an edit whose upload is still to be read, or
   * refuses at once (`rate_limited`, as {@link edit} would) when the caller is at its limit.
   */
  reserveUpload(caller: Caller): Promise<UploadSlot>;
  /** The catalog record of an image the caller may read, or null when there is none. */
  get(id: string, caller: Caller): Promise<ImageRecord | null>;
  /** The record and full bytes of an image the caller may read, or null. */
  read(id: string, caller: Caller): Promise<{ record: ImageRecord; bytes: Uint8Array } | null>;
  /** A view of an image within `maxBytes` and `maxSide` (the original when it fits). */
  view(
    id: string,
    caller: Caller,
    limits: { maxBytes: number; maxSide: number },
  ): Promise<{ record: ImageRecord; view: ImageView } | null>;
  /** A 256 px thumbnail (made and kept on first request). */
  thumbnail(id: string, caller: Caller): Promise<{ record: ImageRecord; view: ImageView } | null>;
  /** Images the caller may list, newest first. */
  list(caller: Caller, options?: ListImagesOptions): Promise<ImagePage>;
  /** Deletes an image (record first, then bytes); false when it did not exist. */
  delete(id: string, caller: Caller): Promise<boolean>;
  /** Finds an image by id, waiting up to `waitMs` while its job is still running. */
  lookup(
    id: string,
    caller: Caller,
    options?: { waitMs?: number; signal?: AbortSignal },
  ): Promise<ImageLookup>;
  /** Cancels a running job by job id or image id, on any instance sharing the KV. */
  cancel(id: string, caller: Caller): Promise<boolean>;
  /** The caller's hourly image allowance. */
  allowance(caller: Caller): Promise<Allowance>;
  /** The models the registry knows, with lifecycle and capabilities. */
  models(): Promise<readonly ModelSummary[]>;
  /** The core's clock, epoch milliseconds (ages and elapsed times shown to callers). */
  now(): number;
}
