/**
 * The OpenAI Images client: one wrapper over `npm:openai` for OpenAI, Azure OpenAI and any
 * OpenAI-compatible base URL. Every SDK option is passed explicitly (the SDK never has to read
 * environment variables for them), retries honour `retry-after` (the SDK does it), an abort
 * signal reaches the socket, and every upstream failure becomes one {@link AppError} kind with a
 * message a person can act on.
 *
 * Timeouts: `OPENAI_TIMEOUT_MS` is the SDK's per-attempt timeout (request to parsed body) and, for
 * streamed calls, a deadline over the whole stream. Deno's `fetch` has no header or body timeout of
 * its own (unlike Node's undici, ~5 minutes), so nothing shorter cuts a long generation.
 *
 * @module
 */
import OpenAI, {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
  AzureOpenAI,
  OpenAIError,
  toFile,
  toStreamingFile,
} from "openai";
import type {
  ImageEditParamsNonStreaming,
  ImageEditParamsStreaming,
  ImageGenerateParamsNonStreaming,
  ImageGenerateParamsStreaming,
  ImagesResponse,
} from "openai/resources/images";
import type { Config } from "../config.ts";
import type { UploadedFile } from "../images/mod.ts";
import { AppError } from "../errors.ts";
import { getLog } from "../log.ts";
import { decodeImagesResponse, type ImageSink } from "./response_stream.ts";
import { createModelRegistry, type ModelRegistry } from "./models.ts";
import type { ImageUsage } from "./pricing.ts";
import {
  believableUsage,
  checkBase64Size,
  keepAsked,
  MAX_UPSTREAM_IMAGE_BYTES,
  noteExtraImages,
} from "./upstream_bounds.ts";
import type {
  NormalizedEditRequest,
  NormalizedGenerateRequest,
  UpstreamImageBody,
} from "./request.ts";
import { systemClock } from "../clock.ts";

/** A `fetch` implementation (the global one, or a mock in tests). */
export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** The settings the client reads (a full `Config` fits). */
export type ImageClientConfig = Pick<
  Config,
  | "openaiApiKey"
  | "openaiBaseUrl"
  | "openaiOrgId"
  | "openaiProjectId"
  | "azureEndpoint"
  | "azureApiKey"
  | "azureDeployment"
  | "openaiApiVersion"
  | "openaiTimeoutMs"
  | "openaiMaxRetries"
>;

/** Options of {@link createImageClient}. */
export interface ImageClientOptions {
  /** `fetch` used for every upstream call (default: the global `fetch`). */
  fetch?: FetchLike;
  /** Registry used to suggest replacements in errors (default: the built-in table). */
  registry?: ModelRegistry;
  /** Clock for lifecycle checks in error messages (default: the system clock). */
  now?: () => Date;
  /** Largest decoded image accepted from the upstream (default: 64 MiB). */
  maxImageBytes?: number;
}

/** A configured upstream client. `sdk` is null when no API key is configured. */
export interface ImageClient {
  /** Which kind of upstream this is. */
  readonly mode: "openai" | "azure" | "compatible";
  /** Base URL of the upstream API. */
  readonly baseUrl: string;
  /** Per-call timeout in milliseconds. */
  readonly timeoutMs: number;
  /** Retries on 408/409/429/5xx and connection errors. */
  readonly maxRetries: number;
  /** The environment variable holding the key, for messages. */
  readonly keyVariable: "OPENAI_API_KEY" | "AZURE_OPENAI_API_KEY";
  /** The SDK client, or null when the key is missing. */
  readonly sdk: OpenAI | null;
  /** Registry used for error messages. */
  readonly registry: ModelRegistry;
  /** Clock used for error messages. */
  readonly now: () => Date;
  /** Largest decoded image accepted from the upstream. */
  readonly maxImageBytes: number;
}

/** One image returned by the upstream: its bytes, or the sink they were written to. */
export type GeneratedImage =
  & {
    /** Prompt as revised by the model (dall-e-3). */
    readonly revisedPrompt?: string;
  }
  & (
    | {
      /** Decoded image bytes. */
      readonly bytes: Uint8Array<ArrayBuffer>;
      readonly sink?: never;
    }
    | {
      readonly bytes?: never;
      /** The sink {@link ImageCallOptions.sinkFor} gave, which holds the bytes. */
      readonly sink: ImageSink;
    }
  );

/** What a generation or edit returned. */
export interface ImageResult {
  /** The images, in order. */
  readonly images: readonly GeneratedImage[];
  /** Token usage, when reported. */
  readonly usage?: ImageUsage;
  /** Format of the bytes. */
  readonly outputFormat: string;
  /** Size as reported (or requested). */
  readonly size: string;
  /** Quality as reported (or requested). */
  readonly quality: string;
  /** Background as reported (or requested). */
  readonly background: string | null;
  /** Wall time of the upstream call. */
  readonly elapsedMs: number;
}

/** A partial preview delivered while streaming. */
export interface PartialImage {
  /** 0-based index of the partial preview. */
  readonly index: number;
  /** Decoded preview bytes. */
  readonly bytes: Uint8Array<ArrayBuffer>;
  /** Format of the bytes. */
  readonly outputFormat: string;
}

/** Options of {@link generateImages} and {@link editImages}. */
export interface ImageCallOptions {
  /** Aborts the call and closes the upstream connection. */
  signal?: AbortSignal;
  /** Called for each partial image, in order; awaited before the next event is read. */
  onPartialImage?: (partial: PartialImage) => void | Promise<void>;
  /**
   * Where the bytes of image `index` of a non-streamed answer go as they arrive (undefined: kept
   * in memory). Streamed answers keep every image in memory.
   */
  sinkFor?: (index: number) => Promise<ImageSink | undefined>;
}

/** An input file for an edit, already resolved to bytes. */
export interface EditInput {
  /** File contents; an upload stays in the chunks it arrived in, streamed upstream as they are. */
  readonly bytes: Uint8Array | UploadedFile;
  /** File name sent in the multipart body. */
  readonly filename: string;
  /** MIME type (`image/png`, `image/jpeg`, `image/webp`). */
  readonly mime: string;
}

/** Options of {@link editImages}. */
export interface EditCallOptions extends ImageCallOptions {
  /** The markup overlay's bytes, when the request has one. */
  markup?: EditInput;
}

/** A normalized request with the body to send. */
export interface UpstreamCall<R extends NormalizedGenerateRequest = NormalizedGenerateRequest> {
  /** The normalized request. */
  readonly request: R;
  /** The exact upstream body (non-file fields). */
  readonly upstream: UpstreamImageBody;
}

/** Routes SDK log lines to the service log (stderr); the SDK's per-request lines are debug. */
function sdkLogger() {
  const log = getLog("openai");
  const line = (message: unknown) => ({ message: String(message) });
  return {
    error: (message: unknown) => log.error("OpenAI SDK: {message}", line(message)),
    warn: (message: unknown) => log.warn("OpenAI SDK: {message}", line(message)),
    info: (message: unknown) => log.debug("OpenAI SDK: {message}", line(message)),
    debug: (message: unknown) => log.debug("OpenAI SDK: {message}", line(message)),
  };
}

/**
 * Creates the upstream client: Azure OpenAI when `AZURE_OPENAI_ENDPOINT` is set, else OpenAI or
 * the OpenAI-compatible `OPENAI_BASE_URL`. Never throws for a missing key: calls then fail with
 * `missing_api_key`.
 */
export function createImageClient(
  config: ImageClientConfig,
  options: ImageClientOptions = {},
): ImageClient {
  const fetchImpl: FetchLike = options.fetch ?? ((input, init) => fetch(input, init));
  const registry = options.registry ?? createModelRegistry();
  const now = options.now ?? (() => new Date(systemClock()));
  const maxImageBytes = options.maxImageBytes ?? MAX_UPSTREAM_IMAGE_BYTES;
  const common = {
    organization: config.openaiOrgId ?? null,
    project: config.openaiProjectId ?? null,
    adminAPIKey: null,
    webhookSecret: null,
    timeout: config.openaiTimeoutMs,
    maxRetries: config.openaiMaxRetries,
    fetch: fetchImpl,
    logger: sdkLogger(),
    logLevel: "info" as const,
  };
  if (config.azureEndpoint) {
    // baseURL instead of endpoint: with endpoint alone the SDK also consults OPENAI_BASE_URL.
    const baseUrl = `${config.azureEndpoint.replace(/\/+$/, "")}/openai`;
    const key = config.azureApiKey;
    return Object.freeze({
      mode: "azure" as const,
      baseUrl,
      timeoutMs: config.openaiTimeoutMs,
      maxRetries: config.openaiMaxRetries,
      keyVariable: "AZURE_OPENAI_API_KEY" as const,
      registry,
      now,
      maxImageBytes,
      sdk: key
        ? new AzureOpenAI({
          ...common,
          apiKey: key,
          baseURL: baseUrl,
          apiVersion: config.openaiApiVersion,
          ...(config.azureDeployment ? { deployment: config.azureDeployment } : {}),
        })
        : null,
    });
  }
  const baseUrl = config.openaiBaseUrl ?? "https://api.openai.com/v1";
  const key = config.openaiApiKey;
  return Object.freeze({
    mode: config.openaiBaseUrl ? "compatible" as const : "openai" as const,
    baseUrl,
    timeoutMs: config.openaiTimeoutMs,
    maxRetries: config.openaiMaxRetries,
    keyVariable: "OPENAI_API_KEY" as const,
    registry,
    now,
    maxImageBytes,
    sdk: key ? new OpenAI({ ...common, apiKey: key, baseURL: baseUrl }) : null,
  });
}

function requireSdk(client: ImageClient): OpenAI {
  if (client.sdk) return client.sdk;
  const where = client.keyVariable === "OPENAI_API_KEY"
    ? `set ${client.keyVariable} (for Claude Desktop, in the "env" block of this server in claude_desktop_config.json; otherwise in the environment or .env)`
    : `set ${client.keyVariable} next to AZURE_OPENAI_ENDPOINT`;
  throw new AppError("missing_api_key", `No API key is configured for image generation: ${where}`);
}

/** A deadline over a whole streamed call, merged with the caller's signal. */
function streamDeadline(ms: number, caller?: AbortSignal) {
  const controller = new AbortController();
  let fired = false;
  const timer = setTimeout(() => {
    fired = true;
    controller.abort(new DOMException("The upstream call timed out", "TimeoutError"));
  }, ms);
  const onAbort = () => controller.abort(caller?.reason);
  if (caller?.aborted) onAbort();
  else caller?.addEventListener("abort", onAbort, { once: true });
  return {
    signal: controller.signal,
    get fired() {
      return fired;
    },
    clear() {
      clearTimeout(timer);
      caller?.removeEventListener("abort", onAbort);
    },
  };
}

function decodeBase64(b64: unknown, what: string, limit: number): Uint8Array<ArrayBuffer> {
  if (typeof b64 !== "string" || b64.length === 0) {
    throw new AppError(
      "upstream_unavailable",
      `The image API sent a response without image data: ${what} has no b64_json`,
    );
  }
  checkBase64Size(b64, what, limit);
  try {
    return Uint8Array.fromBase64(b64);
  } catch (cause) {
    throw new AppError(
      "upstream_unavailable",
      `The image API sent image data that is not valid base64: ${what}`,
      { cause },
    );
  }
}

/** Reads a non-streamed answer, decoding its image data as the body arrives (see response_stream). */
async function fromRawResponse(
  raw: Response,
  request: NormalizedGenerateRequest,
  started: number,
  maxImageBytes: number,
  sinkFor: ImageCallOptions["sinkFor"],
): Promise<ImageResult> {
  if (!raw.body) {
    throw new AppError("upstream_unavailable", "The image API sent an empty response");
  }
  const length = Number(raw.headers.get("content-length"));
  const decoded = await decodeImagesResponse(raw.body, {
    ...(Number.isFinite(length) && length > 0 ? { sizeHint: length } : {}),
    maxImages: request.n,
    maxImageBytes,
    ...(sinkFor ? { sinkFor } : {}),
  });
  return fromResponse(decoded.body as unknown as ImagesResponse, request, started, {
    decodedImages: decoded.images,
    maxImageBytes,
  });
}

function fromResponse(
  response: ImagesResponse,
  request: NormalizedGenerateRequest,
  started: number,
  options: {
    decodedImages: readonly (Uint8Array<ArrayBuffer> | ImageSink)[];
    maxImageBytes: number;
  },
): ImageResult {
  const { decodedImages, maxImageBytes } = options;
  if (typeof response !== "object" || response === null || !Array.isArray(response.data)) {
    throw new AppError(
      "upstream_unavailable",
      "The image API sent a response this service could not read: no data array",
    );
  }
  if (response.data.length === 0) {
    throw new AppError("upstream_unavailable", "The image API sent a response with no images");
  }
  const images = keepAsked(response.data, request.n).map((item, i) => {
    if (typeof item?.b64_json !== "string" && typeof item?.url === "string") {
      throw new AppError(
        "upstream_unavailable",
        `The image API sent an image URL instead of image data: the server ignored response_format=b64_json`,
      );
    }
    const index = Number(item?.b64_json);
    const decoded = Number.isInteger(index) ? decodedImages[index] : undefined;
    const revised = typeof item.revised_prompt === "string"
      ? { revisedPrompt: item.revised_prompt }
      : {};
    if (decoded !== undefined && !(decoded instanceof Uint8Array)) {
      return { sink: decoded, ...revised };
    }
    const bytes = decoded ?? decodeBase64(item?.b64_json, `image ${i}`, maxImageBytes);
    return { bytes, ...revised };
  });
  const usage = believableUsage(response.usage, request.n);
  return {
    images,
    ...(usage ? { usage } : {}),
    outputFormat: response.output_format ?? request.outputFormat,
    size: response.size ?? request.size,
    quality: response.quality ?? request.quality,
    background: response.background ?? request.background,
    elapsedMs: Math.round(performance.now() - started),
  };
}

/** Wraps an error thrown by the caller's partial-image callback, so it is not mistaken for upstream. */
class CallbackFailure {
  constructor(readonly error: unknown) {}
}

interface StreamEvent {
  type?: string;
  b64_json?: string;
  partial_image_index?: number;
  output_format?: string;
  size?: string;
  quality?: string;
  background?: string;
  usage?: ImageUsage;
}

function addUsage(a: ImageUsage | undefined, b: ImageUsage | undefined): ImageUsage | undefined {
  if (!a) return b;
  if (!b) return a;
  const sum = (x?: number, y?: number) => (x ?? 0) + (y ?? 0);
  return {
    input_tokens: sum(a.input_tokens, b.input_tokens),
    input_tokens_details: {
      text_tokens: sum(a.input_tokens_details?.text_tokens, b.input_tokens_details?.text_tokens),
      image_tokens: sum(a.input_tokens_details?.image_tokens, b.input_tokens_details?.image_tokens),
    },
    output_tokens: sum(a.output_tokens, b.output_tokens),
    total_tokens: sum(a.total_tokens, b.total_tokens),
  };
}

async function consumeStream(
  stream: AsyncIterable<StreamEvent>,
  request: NormalizedGenerateRequest,
  options: ImageCallOptions,
  started: number,
  maxImageBytes: number,
): Promise<ImageResult> {
  const images: GeneratedImage[] = [];
  let usage: ImageUsage | undefined;
  let unbelievable = false;
  let sent = 0;
  let last: StreamEvent | undefined;
  for await (const event of stream) {
    const type = event?.type ?? "";
    if (type.endsWith(".partial_image")) {
      const index = event.partial_image_index ?? 0;
      if (options.onPartialImage) {
        const partial = {
          index,
          bytes: decodeBase64(event.b64_json, `partial image ${index}`, maxImageBytes),
          outputFormat: event.output_format ?? request.outputFormat,
        };
        try {
          await options.onPartialImage(partial);
        } catch (error) {
          throw new CallbackFailure(error);
        }
      }
    } else if (type.endsWith(".completed")) {
      // Images beyond the number asked for are neither decoded nor counted in the usage.
      if (sent++ >= request.n) continue;
      images.push({ bytes: decodeBase64(event.b64_json, `image ${images.length}`, maxImageBytes) });
      const believed = believableUsage(event.usage, 1);
      if (event.usage != null && believed === undefined) unbelievable = true;
      usage = addUsage(usage, believed);
      last = event;
    }
  }
  noteExtraImages(sent, request.n);
  if (unbelievable) usage = undefined;
  if (images.length === 0) {
    throw new AppError(
      "upstream_unavailable",
      "The image API ended the stream without a final image: retry later",
    );
  }
  return {
    images,
    ...(usage ? { usage } : {}),
    outputFormat: last?.output_format ?? request.outputFormat,
    size: last?.size ?? request.size,
    quality: last?.quality ?? request.quality,
    background: last?.background ?? request.background,
    elapsedMs: Math.round(performance.now() - started),
  };
}

async function call(
  client: ImageClient,
  normalized: UpstreamCall,
  options: ImageCallOptions,
  send: (sdk: OpenAI, signal: AbortSignal | undefined) => Promise<unknown>,
): Promise<ImageResult> {
  const sdk = requireSdk(client);
  const started = performance.now();
  const { request } = normalized;
  const context = {
    model: request.model,
    registry: client.registry,
    now: client.now(),
    timeoutMs: client.timeoutMs,
    keyVariable: client.keyVariable,
  };
  if (options.signal?.aborted) throw mapUpstreamError(new APIUserAbortError(), context);
  // The SDK's own timeout ends with the response headers; the body (decoded here as it streams
  // in) needs a deadline of its own.
  const deadline = streamDeadline(client.timeoutMs, options.signal);
  try {
    const result = await send(sdk, deadline.signal);
    if (!request.stream) {
      return await fromRawResponse(
        result as Response,
        request,
        started,
        client.maxImageBytes,
        options.sinkFor,
      );
    }
    const outcome = await consumeStream(
      result as AsyncIterable<StreamEvent>,
      request,
      options,
      started,
      client.maxImageBytes,
    );
    // The SDK ends a stream quietly when it is aborted; make that visible.
    if (deadline.fired) throw new APIConnectionTimeoutError();
    if (options.signal?.aborted) throw new APIUserAbortError();
    return outcome;
  } catch (error) {
    if (error instanceof CallbackFailure) throw error.error;
    // An aborted stream may surface as a quiet end (no final image): the abort's cause wins.
    if (deadline.fired) {
      throw mapUpstreamError(new APIConnectionTimeoutError(), context);
    }
    if (options.signal?.aborted && !(error instanceof AppError && error.kind === "cancelled")) {
      throw mapUpstreamError(new APIUserAbortError(), context);
    }
    throw mapUpstreamError(error, context);
  } finally {
    deadline.clear();
  }
}

/**
 * Generates images for a normalized request. Streams (and calls `onPartialImage` for each
 * preview, in order) only when the request asks for partial images. Throws {@link AppError}.
 */
export function generateImages(
  client: ImageClient,
  normalized: UpstreamCall,
  options: ImageCallOptions = {},
): Promise<ImageResult> {
  return call(client, normalized, options, (sdk, signal) => {
    const body = normalized.upstream as unknown as ImageGenerateParamsNonStreaming;
    return normalized.request.stream
      ? sdk.images.generate({ ...body, stream: true } as ImageGenerateParamsStreaming, { signal })
      : sdk.images.generate({ ...body, stream: undefined }, { signal }).asResponse();
  });
}

/** `chunks` as an async iterable that starts over each time it is read (a retried call). */
function replayable(chunks: readonly Uint8Array[]): AsyncIterable<Uint8Array<ArrayBuffer>> {
  return {
    async *[Symbol.asyncIterator]() {
      for (const chunk of chunks) yield chunk as Uint8Array<ArrayBuffer>;
    },
  };
}

/**
 * Edits images: `inputs` are the request's images resolved to bytes (same order), `mask` the
 * resolved mask. Sent as multipart with repeated `image[]` fields when there are several.
 */
export async function editImages(
  client: ImageClient,
  normalized: UpstreamCall<NormalizedEditRequest>,
  inputs: readonly EditInput[],
  mask?: EditInput,
  options: EditCallOptions = {},
): Promise<ImageResult> {
  const { request } = normalized;
  if (inputs.length === 0 || inputs.length !== request.images.length) {
    throw new RangeError(
      `Cannot edit: ${inputs.length} input files given for ${request.images.length} image references`,
    );
  }
  if ((request.mask === undefined) !== (mask === undefined)) {
    throw new RangeError("Cannot edit: the mask file and the request's mask must go together");
  }
  if ((request.markup === undefined) !== (options.markup === undefined)) {
    throw new RangeError("Cannot edit: the markup file and the request's markup must go together");
  }
  const upload = (input: EditInput) =>
    input.bytes instanceof Uint8Array
      ? toFile(input.bytes, input.filename, { type: input.mime })
      // Streamed from its chunks: a File would copy the whole upload once more.
      : toStreamingFile(replayable(input.bytes.chunks), input.filename, { type: input.mime });
  const files = await Promise.all(inputs.map(upload));
  const extra = {
    image: files.length === 1 ? files[0] : files,
    ...(mask ? { mask: await upload(mask) } : {}),
    ...(options.markup ? { markup: await upload(options.markup) } : {}),
  };
  return call(client, normalized, options, (sdk, signal) => {
    const body = { ...normalized.upstream, ...extra } as unknown as ImageEditParamsNonStreaming;
    return request.stream
      ? sdk.images.edit({ ...body, stream: true } as ImageEditParamsStreaming, { signal })
      : sdk.images.edit({ ...body, stream: undefined }, { signal }).asResponse();
  });
}

/** What {@link mapUpstreamError} needs to word its messages. */
export interface UpstreamErrorContext {
  /** The model that was called. */
  model: string;
  /** Registry, for replacement suggestions. */
  registry: ModelRegistry;
  /** Today, for lifecycle checks (default: now). */
  now?: Date;
  /** The timeout that applied, for timeout messages. */
  timeoutMs?: number;
  /** Environment variable holding the key (default `OPENAI_API_KEY`). */
  keyVariable?: string;
}

const SECRET_PATTERN = /\b(sk|sess|rk)-[A-Za-z0-9_*.-]{4,}/g;

/** Upstream text made safe to show: no key fragments, bounded length. */
function clean(text: unknown): string {
  const raw = typeof text === "string" ? text : JSON.stringify(text) ?? "";
  const masked = raw.replace(SECRET_PATTERN, "<redacted>").replace(/\s+/g, " ").trim()
    .replace(/\.$/, "");
  return masked.length > 300 ? `${masked.slice(0, 297)}...` : masked;
}

function retryAfterSeconds(headers: Headers | undefined): number | undefined {
  if (!headers) return undefined;
  const ms = Number.parseFloat(headers.get("retry-after-ms") ?? "");
  if (Number.isFinite(ms) && ms >= 0) return Math.max(1, Math.ceil(ms / 1000));
  const raw = headers.get("retry-after");
  if (raw === null) return undefined;
  const seconds = Number.parseFloat(raw);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.max(1, Math.ceil(seconds));
  const date = Date.parse(raw);
  if (Number.isFinite(date)) return Math.max(1, Math.ceil((date - systemClock()) / 1000));
  return undefined;
}

function moderationCategories(body: unknown): string[] {
  const details = (body as { moderation_details?: { categories?: unknown } } | undefined)
    ?.moderation_details;
  const categories = details?.categories;
  return Array.isArray(categories) ? categories.map(String) : [];
}

const VERIFICATION = /verif(y|ied|ication)/i;

/**
 * Maps anything an upstream call throws to one {@link AppError} kind with an actionable message.
 * Never includes the API key.
 */
export function mapUpstreamError(error: unknown, context: UpstreamErrorContext): AppError {
  if (error instanceof AppError) return error;
  const keyVariable = context.keyVariable ?? "OPENAI_API_KEY";
  if (
    error instanceof APIUserAbortError ||
    (error instanceof DOMException && error.name === "AbortError")
  ) {
    return new AppError("cancelled", "The image generation was cancelled", { cause: error });
  }
  if (
    error instanceof APIConnectionTimeoutError ||
    (error instanceof DOMException && error.name === "TimeoutError")
  ) {
    const seconds = context.timeoutMs ? ` within ${Math.round(context.timeoutMs / 1000)} s` : "";
    return new AppError(
      "upstream_timeout",
      `The image API did not answer${seconds}: retry, use a lower quality, or raise OPENAI_TIMEOUT_MS`,
      { cause: error },
    );
  }
  if (error instanceof APIConnectionError) {
    return new AppError(
      "upstream_unavailable",
      "Could not reach the image API: the connection failed (check the network and OPENAI_BASE_URL, then retry)",
      { cause: error },
    );
  }
  if (error instanceof APIError) return mapApiError(error, context, keyVariable);
  if (error instanceof SyntaxError) {
    return new AppError(
      "upstream_unavailable",
      "The image API sent a response this service could not read: malformed JSON (retry later)",
      { cause: error },
    );
  }
  if (error instanceof OpenAIError && /credentials|api key/i.test(error.message)) {
    return new AppError(
      "missing_api_key",
      `No API key is configured for image generation: set ${keyVariable}`,
      { cause: error },
    );
  }
  const detail = error instanceof Error ? clean(error.message) : clean(String(error));
  return new AppError(
    "upstream_unavailable",
    `The connection to the image API failed: ${detail || "unknown error"} (retry later)`,
    { cause: error },
  );
}

function mapApiError(
  error: APIError,
  context: UpstreamErrorContext,
  keyVariable: string,
): AppError {
  const status = error.status as number | undefined;
  const body = error.error as { message?: unknown; code?: unknown } | undefined;
  const code = typeof error.code === "string" ? error.code : undefined;
  const upstreamMessage = clean(body?.message ?? "");
  const details: Record<string, unknown> = {
    ...(status !== undefined ? { status } : {}),
    ...(code ? { code } : {}),
    ...(error.requestID ? { requestId: error.requestID } : {}),
  };
  const options = { cause: error, details };
  const replacement = () => {
    const now = context.now ?? new Date(systemClock());
    const known = context.registry.get(context.model);
    const suggested = context.registry.replacementFor(context.model, { now });
    if (suggested && suggested !== known?.id) return suggested;
    const current = context.registry.availableIds(now).find((id) => id !== context.model);
    return current;
  };
  const modelNotFound = () => {
    const instead = replacement();
    return new AppError(
      "model_not_found",
      `The image API does not serve model "${context.model}"${
        instead ? `: use "${instead}" instead` : ""
      } (or check AZURE_OPENAI_DEPLOYMENT / OPENAI_BASE_URL if you use a custom server)`,
      { ...options, field: "model", details: { ...details, replacement: instead ?? null } },
    );
  };

  if (code === "moderation_blocked" || code === "content_policy_violation") {
    const categories = moderationCategories(body);
    return new AppError(
      "moderation_blocked",
      `The request was blocked by OpenAI's safety system${
        categories.length ? ` (${categories.join(", ")})` : ""
      }: change the prompt or the input images`,
      { ...options, details: { ...details, categories } },
    );
  }
  if (code === "billing_hard_limit_reached" || code === "insufficient_quota") {
    return new AppError(
      "upstream_quota",
      code === "billing_hard_limit_reached"
        ? "OpenAI refused the request: the billing hard limit was reached (raise it or add credit in the OpenAI dashboard under Billing)"
        : "OpenAI refused the request: the account has no quota left (add credit or check the plan in the OpenAI dashboard under Billing)",
      options,
    );
  }
  if (code === "model_not_found" || status === 404) return modelNotFound();
  if (status === 401 || code === "invalid_api_key") {
    return new AppError(
      "upstream_auth",
      `OpenAI rejected the API key: set ${keyVariable} to a valid key (create one at https://platform.openai.com/api-keys)`,
      options,
    );
  }
  if (VERIFICATION.test(upstreamMessage) && (status === 403 || status === 400)) {
    return new AppError(
      "upstream_verification_required",
      `OpenAI requires a verified organization to use ${context.model}: verify it at https://platform.openai.com/settings/organization/general (access can take a few minutes), or choose another model`,
      options,
    );
  }
  if (status === 403) {
    return new AppError(
      "upstream_auth",
      `OpenAI refused access${
        upstreamMessage ? `: ${upstreamMessage}` : ""
      } (check that the key's project may use ${context.model})`,
      options,
    );
  }
  if (status === 429) {
    const retryAfter = retryAfterSeconds(error.headers as Headers | undefined);
    return new AppError(
      "upstream_rate_limited",
      `OpenAI's rate limit was reached: retry ${
        retryAfter !== undefined ? `in ${retryAfter} s` : "shortly"
      } (UPSTREAM_IMAGES_PER_MINUTE can queue requests to stay under your tier's limit)`,
      { ...options, ...(retryAfter !== undefined ? { retryAfterSeconds: retryAfter } : {}) },
    );
  }
  if (status === 408) {
    return new AppError(
      "upstream_timeout",
      "The image API timed out: retry, or use a lower quality",
      options,
    );
  }
  if ((status !== undefined && status >= 500) || status === 409) {
    return new AppError(
      "upstream_unavailable",
      `The image API failed with HTTP ${status}: retry later${
        upstreamMessage ? ` (${upstreamMessage})` : ""
      }`,
      options,
    );
  }
  if (status === undefined) {
    return new AppError(
      "upstream_unavailable",
      `The image API reported an error while streaming: ${
        upstreamMessage || "no detail"
      } (retry later)`,
      options,
    );
  }
  const param = typeof error.param === "string" && error.param !== "" ? error.param : undefined;
  return new AppError(
    "upstream_invalid_request",
    `OpenAI rejected the request${param ? ` (field ${param})` : ""}: ${
      upstreamMessage || `HTTP ${status}`
    }`,
    { ...options, ...(param ? { field: param } : {}) },
  );
}
