/**
 * The fake's model table and OpenAI-like validation of image request parameters (state of
 * November 2026, see shared notes `openai_images.md`).
 *
 * @module
 */

import type { ProbedImage } from "./image_probe.ts";
import type { RenderFormat } from "./render.ts";

/** How a model sizes its output. */
export type SizeRule = "flexible" | "fixed";

/** One image model the fake serves. */
export interface FakeModel {
  /** Model id as sent in `model`. */
  readonly id: string;
  /** `flexible`: any WxH (multiples of 16, 1:3–3:1, ≤3840x2160); `fixed`: three sizes. */
  readonly sizes: SizeRule;
  /** Accepted `quality` values besides `auto`. */
  readonly qualities: readonly string[];
  /** Accepted `input_fidelity` values on edits; empty = parameter must be omitted. */
  readonly inputFidelity: readonly string[];
  /** Whether edits accept a `markup` overlay. */
  readonly markup: boolean;
  /** Unix seconds shown by `GET /v1/models`. */
  readonly created: number;
}

const BASE_QUALITIES = ["low", "medium", "high"] as const;
const EXTENDED_QUALITIES = ["low", "medium", "high", "xhigh", "max"] as const;

function model(id: string, init: Partial<FakeModel> & Pick<FakeModel, "sizes">): FakeModel {
  return Object.freeze({
    id,
    qualities: BASE_QUALITIES,
    inputFidelity: [],
    markup: false,
    created: 1_745_000_000,
    ...init,
  });
}

/** Image models the fake answers for, by id. */
export const FAKE_IMAGE_MODELS: ReadonlyMap<string, FakeModel> = new Map(
  [
    model("gpt-image-2", { sizes: "flexible", created: 1_776_729_600 }),
    model("gpt-image-2-2026-04-21", { sizes: "flexible", created: 1_776_729_600 }),
    ...["gpt-image-2.5-sunburst", "gpt-image-2.5-flare"].flatMap((id) => [
      model(id, { sizes: "flexible", qualities: EXTENDED_QUALITIES, markup: true }),
      model(`${id}-2026-09-08`, { sizes: "flexible", qualities: EXTENDED_QUALITIES, markup: true }),
    ]),
    model("gpt-image-2.6-sunburst", {
      sizes: "flexible",
      qualities: EXTENDED_QUALITIES,
      markup: true,
    }),
    model("gpt-image-2.6-flare", {
      sizes: "flexible",
      qualities: EXTENDED_QUALITIES,
      markup: true,
    }),
    model("gpt-image-1.5", { sizes: "fixed", inputFidelity: ["high", "low"] }),
    model("gpt-image-1-mini", { sizes: "fixed", inputFidelity: ["low"] }),
    model("chatgpt-image-latest", { sizes: "fixed", inputFidelity: ["high", "low"] }),
  ].map((m) => [m.id, m]),
);

/** Models that used to exist and now answer 404 `model_not_found`, with their end date. */
export const RETIRED_MODELS: ReadonlyMap<string, string> = new Map([
  ["dall-e-2", "2026-05-12"],
  ["dall-e-3", "2026-05-12"],
  ["gpt-image-1", "2026-10-23"],
]);

/** Non-image models listed by `GET /v1/models`, so clients must filter the list. */
export const OTHER_MODELS: readonly string[] = ["gpt-5", "gpt-5-mini", "text-embedding-3-small"];

/** An OpenAI error body plus the HTTP status it travels with. */
export interface ApiError {
  /** HTTP status. */
  readonly status: number;
  /** Human-readable message. */
  readonly message: string;
  /** OpenAI error type. */
  readonly type: string;
  /** Request field at fault, or null. */
  readonly param: string | null;
  /** Machine-readable code, or null. */
  readonly code: string | null;
  /** Extra top-level members of `error` (e.g. `moderation_details`). */
  readonly extra?: Record<string, unknown>;
}

/** Builds an `invalid_request_error`; status 400, `param` and `code` null unless given. */
export function invalidRequest(
  message: string,
  options: { param?: string; code?: string; status?: number } = {},
): ApiError {
  const { param = null, code = null, status = 400 } = options;
  return { status, message, type: "invalid_request_error", param, code };
}

/** An uploaded file as the fake saw it. */
export interface UploadedImage {
  /** Multipart field name (`image[]`, `image`, `mask`, `markup`). */
  readonly field: string;
  /** File name sent by the client. */
  readonly filename: string;
  /** Size in bytes. */
  readonly size: number;
  /** Content type sent by the client. */
  readonly type: string;
  /** What the headers say, or null when the bytes are not PNG/JPEG/WebP. */
  readonly probe: ProbedImage | null;
}

/** Everything needed to produce the answer of a valid image request. */
export interface ImagePlan {
  /** `generation` or `edit`. */
  readonly kind: "generation" | "edit";
  /** Model id. */
  readonly model: string;
  /** Prompt text. */
  readonly prompt: string;
  /** Number of images. */
  readonly n: number;
  /** Output width. */
  readonly width: number;
  /** Output height. */
  readonly height: number;
  /** Resolved quality (never `auto`). */
  readonly quality: string;
  /** Output encoding. */
  readonly format: RenderFormat;
  /** JPEG/WebP quality, when sent. */
  readonly compression: number | undefined;
  /** Resolved background (never `auto`). */
  readonly background: "transparent" | "opaque";
  /** Whether to answer with server-sent events. */
  readonly stream: boolean;
  /** Partial images per output image when streaming (0–3). */
  readonly partialImages: number;
  /** Edit inputs (empty for generations). */
  readonly images: readonly UploadedImage[];
}

const COMMON_PARAMS = [
  "model",
  "prompt",
  "n",
  "size",
  "quality",
  "output_format",
  "output_compression",
  "background",
  "stream",
  "partial_images",
  "user",
  "safety_identifier",
  "complexity",
  "frame_count",
  "frame_duration_ms",
  "svg",
];
const GENERATION_PARAMS = new Set([...COMMON_PARAMS, "moderation"]);
const EDIT_PARAMS = new Set([
  ...COMMON_PARAMS,
  "image",
  "image[]",
  "mask",
  "markup",
  "input_fidelity",
]);
const OUTPUT_FORMATS = ["png", "jpeg", "webp"];
const GATED_FORMATS = ["gif", "svg"];
const FIXED_SIZES = ["1024x1024", "1536x1024", "1024x1536"];
const MAX_PROMPT = 32_000;
const MAX_INPUT_IMAGES = 16;
const MAX_INPUT_BYTES = 50 * 1024 * 1024;
const MAX_MASK_BYTES = 4 * 1024 * 1024;

function listValues(values: readonly string[]): string {
  const quoted = values.map((v) => `'${v}'`);
  return quoted.length < 2
    ? quoted.join("")
    : `${quoted.slice(0, -1).join(", ")}, and ${quoted.at(-1)}`;
}

function invalidValue(param: string, value: unknown, supported: readonly string[]): ApiError {
  return invalidRequest(
    `Invalid value: '${String(value)}'. Supported values are: ${listValues(supported)}.`,
    { param: param, code: "invalid_value" },
  );
}

/** Returns the model of a request, or the error OpenAI answers for an unusable one. */
export function resolveModel(id: unknown): FakeModel | ApiError {
  if (id === undefined || id === null || id === "") {
    return invalidRequest("Missing required parameter: 'model'.", {
      param: "model",
      code: "missing_required_parameter",
    });
  }
  if (typeof id !== "string") {
    return invalidRequest(
      `Invalid type for 'model': expected a string, but got ${typeof id} instead.`,
      { param: "model", code: "invalid_type" },
    );
  }
  const found = FAKE_IMAGE_MODELS.get(id);
  if (found) return found;
  if (OTHER_MODELS.includes(id)) {
    return invalidRequest(`Invalid value for 'model': '${id}' is not an image model.`, {
      param: "model",
      code: "invalid_value",
    });
  }
  return invalidRequest(`The model \`${id}\` does not exist or you do not have access to it.`, {
    code: "model_not_found",
    status: 404,
  });
}

/** Parses `WxH` and checks it against the model's size rule. */
export function checkSize(
  model: FakeModel,
  size: string,
): { width: number; height: number } | ApiError {
  const match = /^(\d{1,5})x(\d{1,5})$/.exec(size);
  if (model.sizes === "fixed") {
    if (!match || !FIXED_SIZES.includes(size)) {
      return invalidValue("size", size, [...FIXED_SIZES, "auto"]);
    }
    return { width: Number(match[1]), height: Number(match[2]) };
  }
  if (!match) {
    return invalidRequest(
      `Invalid size '${size}'. Use 'auto' or WIDTHxHEIGHT, for example '1536x864'.`,
      { param: "size", code: "invalid_value" },
    );
  }
  const width = Number(match[1]);
  const height = Number(match[2]);
  const long = Math.max(width, height);
  const short = Math.min(width, height);
  let problem: string | null = null;
  if (width % 16 !== 0 || height % 16 !== 0 || short === 0) {
    problem = "width and height must both be positive multiples of 16";
  } else if (long > 3 * short) problem = "the aspect ratio must be between 1:3 and 3:1";
  else if (long > 3840 || short > 2160) problem = "the maximum supported resolution is 3840x2160";
  if (problem) {
    return invalidRequest(`Invalid size '${size}': ${problem}.`, {
      param: "size",
      code: "invalid_value",
    });
  }
  return { width, height };
}

function intParam(
  fields: Record<string, unknown>,
  name: string,
  min: number,
  max: number,
): number | undefined | ApiError {
  const raw = fields[name];
  if (raw === undefined || raw === null) return undefined;
  const value = typeof raw === "string" && raw.trim() !== "" ? Number(raw) : raw;
  if (typeof value !== "number" || !Number.isInteger(value)) {
    return invalidRequest(
      `Invalid type for '${name}': expected an integer, but got ${JSON.stringify(raw)} instead.`,
      { param: name, code: "invalid_type" },
    );
  }
  if (value < min) {
    return invalidRequest(
      `Invalid '${name}': integer below minimum value. Expected a value >= ${min}, but got ${value} instead.`,
      { param: name, code: "integer_below_min_value" },
    );
  }
  if (value > max) {
    return invalidRequest(
      `Invalid '${name}': integer above maximum value. Expected a value <= ${max}, but got ${value} instead.`,
      { param: name, code: "integer_above_max_value" },
    );
  }
  return value;
}

function isError(value: unknown): value is ApiError {
  return typeof value === "object" && value !== null && "status" in value && "type" in value;
}

function boolParam(fields: Record<string, unknown>, name: string): boolean | ApiError {
  const raw = fields[name];
  if (raw === undefined || raw === null || raw === false || raw === "false") return false;
  if (raw === true || raw === "true") return true;
  return invalidRequest(
    `Invalid type for '${name}': expected a boolean, but got ${JSON.stringify(raw)} instead.`,
    { param: name, code: "invalid_type" },
  );
}

function present(fields: Record<string, unknown>, name: string): boolean {
  return fields[name] !== undefined && fields[name] !== null;
}

/**
 * Validates an image request the way OpenAI does and returns what to produce, or the error.
 * `fields` holds JSON members or multipart text fields; `images` the uploaded edit inputs.
 */
export function planImageRequest(
  kind: "generation" | "edit",
  model: FakeModel,
  options: { fields: Record<string, unknown>; images?: readonly UploadedImage[] },
): ImagePlan | ApiError {
  const { fields } = options;
  const allowed = kind === "generation" ? GENERATION_PARAMS : EDIT_PARAMS;
  // Legacy DALL·E parameters (`response_format`, `style`) fall through to "Unknown parameter".
  for (const name of Object.keys(fields)) {
    const base = name.replace(/\[.*$/, "");
    if (!allowed.has(name) && !allowed.has(base)) {
      return invalidRequest(`Unknown parameter: '${name}'.`, {
        param: name,
        code: "unknown_parameter",
      });
    }
  }
  const prompt = fields.prompt;
  if (prompt === undefined || prompt === null || prompt === "") {
    return invalidRequest("Missing required parameter: 'prompt'.", {
      param: "prompt",
      code: "missing_required_parameter",
    });
  }
  if (typeof prompt !== "string") {
    return invalidRequest("Invalid type for 'prompt': expected a string.", {
      param: "prompt",
      code: "invalid_type",
    });
  }
  if (prompt.length > MAX_PROMPT) {
    return invalidRequest(
      `Invalid 'prompt': string too long. Expected a string with maximum length ${MAX_PROMPT}, but got a string with length ${prompt.length} instead.`,
      { param: "prompt", code: "string_above_max_length" },
    );
  }
  const images = options.images ?? [];
  if (kind === "edit") {
    const checked = checkEditInputs(model, fields, images);
    if (checked) return checked;
  }
  const n = intParam(fields, "n", 1, 10);
  if (isError(n)) return n;
  const partialImages = intParam(fields, "partial_images", 0, 3);
  if (isError(partialImages)) return partialImages;
  const stream = boolParam(fields, "stream");
  if (isError(stream)) return stream;
  const compression = intParam(fields, "output_compression", 0, 100);
  if (isError(compression)) return compression;

  const sizeValue = fields.size ?? "auto";
  let size: { width: number; height: number } | ApiError;
  if (sizeValue === "auto") {
    const first = images.find((i) => i.field !== "mask" && i.field !== "markup")?.probe;
    const fromInput = first ? checkSize(model, `${first.width}x${first.height}`) : null;
    size = fromInput && !isError(fromInput) ? fromInput : { width: 1024, height: 1024 };
  } else if (typeof sizeValue !== "string") {
    size = invalidRequest("Invalid type for 'size': expected a string.", {
      param: "size",
      code: "invalid_type",
    });
  } else size = checkSize(model, sizeValue);
  if (isError(size)) return size;

  const qualityValue = fields.quality ?? "auto";
  if (qualityValue !== "auto" && !model.qualities.includes(String(qualityValue))) {
    return invalidValue("quality", qualityValue, [...model.qualities, "auto"]);
  }
  const quality = qualityValue === "auto" ? "medium" : String(qualityValue);

  const formatValue = String(fields.output_format ?? "png");
  if (GATED_FORMATS.includes(formatValue)) {
    return invalidRequest(
      `Your organization does not have access to output_format '${formatValue}'.`,
      { param: "output_format", status: 403 },
    );
  }
  if (!OUTPUT_FORMATS.includes(formatValue)) {
    return invalidValue("output_format", formatValue, OUTPUT_FORMATS);
  }
  const format = formatValue as RenderFormat;
  if (compression !== undefined && format === "png") {
    return invalidRequest(
      "The 'output_compression' parameter is only supported for the 'jpeg' and 'webp' output formats.",
      { param: "output_compression", code: "invalid_value" },
    );
  }
  for (const gifOnly of ["frame_count", "frame_duration_ms"]) {
    if (present(fields, gifOnly)) {
      return invalidRequest(
        `The '${gifOnly}' parameter is only supported with output_format=gif.`,
        { param: gifOnly, code: "invalid_value" },
      );
    }
  }
  if (present(fields, "svg")) {
    return invalidRequest("The 'svg' parameter requires output_format=svg.", {
      param: "svg",
      code: "invalid_value",
    });
  }
  const backgroundValue = fields.background ?? "auto";
  if (!["transparent", "opaque", "auto"].includes(String(backgroundValue))) {
    return invalidValue("background", backgroundValue, ["transparent", "opaque", "auto"]);
  }
  if (backgroundValue === "transparent" && format === "jpeg") {
    return invalidRequest(
      "Transparent background is not supported for the 'jpeg' output format; use 'png' or 'webp'.",
      { param: "background", code: "invalid_value" },
    );
  }
  if (present(fields, "moderation") && !["low", "auto"].includes(String(fields.moderation))) {
    return invalidValue("moderation", fields.moderation, ["low", "auto"]);
  }
  if (
    present(fields, "complexity") && !["low", "medium", "high"].includes(String(fields.complexity))
  ) {
    return invalidValue("complexity", fields.complexity, ["low", "medium", "high"]);
  }
  return {
    kind,
    model: model.id,
    prompt,
    n: n ?? 1,
    width: size.width,
    height: size.height,
    quality,
    format,
    compression,
    background: backgroundValue === "transparent" ? "transparent" : "opaque",
    stream,
    partialImages: partialImages ?? 0,
    images: images.filter((i) => i.field === "image" || i.field === "image[]"),
  };
}

function checkEditInputs(
  model: FakeModel,
  fields: Record<string, unknown>,
  uploads: readonly UploadedImage[],
): ApiError | null {
  const inputs = uploads.filter((u) => u.field === "image" || u.field === "image[]");
  if (inputs.length === 0) {
    return invalidRequest("Missing required parameter: 'image'.", {
      param: "image",
      code: "missing_required_parameter",
    });
  }
  if (inputs.length > MAX_INPUT_IMAGES) {
    return invalidRequest(
      `Invalid 'image': array too long. Expected an array with maximum length ${MAX_INPUT_IMAGES}, but got an array with length ${inputs.length} instead.`,
      { param: "image", code: "array_above_max_length" },
    );
  }
  for (const [index, input] of inputs.entries()) {
    if (input.size >= MAX_INPUT_BYTES) {
      return invalidRequest(`Invalid image ${index + 1}: file must be smaller than 50 MB.`, {
        param: "image",
        code: "invalid_image_file",
      });
    }
    if (!input.probe) {
      return invalidRequest(
        `Invalid image file or mode for image ${
          index + 1
        }, please check your image file. Supported formats are 'png', 'webp' and 'jpg'.`,
        { param: "image", code: "invalid_image_file" },
      );
    }
  }
  const mask = uploads.find((u) => u.field === "mask");
  const markup = uploads.find((u) => u.field === "markup");
  const first = inputs[0].probe!;
  if (mask) {
    if (mask.size >= MAX_MASK_BYTES || mask.probe?.format !== "png") {
      return invalidRequest("Invalid mask image: must be a PNG file smaller than 4 MB.", {
        param: "mask",
        code: "invalid_image_format",
      });
    }
    if (mask.probe.width !== first.width || mask.probe.height !== first.height) {
      return invalidRequest(
        `Invalid mask image: mask size ${mask.probe.width}x${mask.probe.height} does not match image size ${first.width}x${first.height}.`,
        { param: "mask", code: "invalid_image_format" },
      );
    }
    if (!mask.probe.hasAlpha) {
      return invalidRequest("Invalid mask image: the mask must have an alpha channel.", {
        param: "mask",
        code: "invalid_image_format",
      });
    }
  }
  if (markup) {
    if (!model.markup) {
      return invalidRequest(`The 'markup' parameter is not supported by model '${model.id}'.`, {
        param: "markup",
        code: "invalid_value",
      });
    }
    if (mask) {
      return invalidRequest("'markup' cannot be combined with 'mask'.", {
        param: "markup",
        code: "invalid_value",
      });
    }
    if (
      markup.probe?.format !== "png" || markup.probe.width !== first.width ||
      markup.probe.height !== first.height
    ) {
      return invalidRequest(
        "Invalid markup image: must be a PNG with the dimensions of the first image.",
        { param: "markup", code: "invalid_image_format" },
      );
    }
  }
  if (present(fields, "input_fidelity")) {
    const value = String(fields.input_fidelity);
    if (model.inputFidelity.length === 0) {
      return invalidRequest(
        `The 'input_fidelity' parameter is not supported by model '${model.id}'; omit it.`,
        { param: "input_fidelity", code: "unsupported_parameter" },
      );
    }
    if (!model.inputFidelity.includes(value)) {
      return invalidValue("input_fidelity", value, model.inputFidelity);
    }
  }
  return null;
}

const OUTPUT_TOKENS_1024: Record<string, number> = {
  low: 272,
  medium: 1056,
  high: 4160,
  xhigh: 8320,
  max: 16640,
};

/** Token usage OpenAI would bill for a plan, derived only from prompt, inputs, size and quality. */
export function usageFor(plan: ImagePlan, images = plan.n): {
  input_tokens: number;
  input_tokens_details: { text_tokens: number; image_tokens: number };
  output_tokens: number;
  output_tokens_details: { image_tokens: number; text_tokens: number };
  total_tokens: number;
} {
  const textTokens = Math.max(1, Math.ceil(plan.prompt.length / 4));
  let imageTokens = 0;
  for (const input of plan.images) {
    const { width, height } = input.probe ?? { width: 1024, height: 1024 };
    imageTokens += 85 + 170 * Math.ceil(width / 512) * Math.ceil(height / 512);
  }
  const perImage = Math.round(
    (OUTPUT_TOKENS_1024[plan.quality] ?? 1056) * (plan.width * plan.height) / (1024 * 1024),
  );
  const output = perImage * images;
  const input = textTokens + imageTokens;
  return {
    input_tokens: input,
    input_tokens_details: { text_tokens: textTokens, image_tokens: imageTokens },
    output_tokens: output,
    output_tokens_details: { image_tokens: output, text_tokens: 0 },
    total_tokens: input + output,
  };
}

/** Whether a value is an {@link ApiError}. */
export function isApiError(value: unknown): value is ApiError {
  return isError(value);
}
