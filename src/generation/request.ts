/**
 * One request schema for every door (MCP, HTTP, CLI) and its normalization: defaults, the
 * retired-model policy (`LEGACY_MODELS`) and the per-model capability check, producing the exact
 * body sent to OpenAI. Invalid requests end here with a {@link ValidationError} that names the
 * field, the bad value, what is accepted and the nearest valid choice.
 *
 * @module
 */
import { z } from "zod";
import { AppError, ValidationError } from "../errors.ts";
import { LEGACY_QUALITY_MAP } from "./model_data.ts";
import {
  checkSize,
  editDistance,
  lifecycleOf,
  type ModelDefaults,
  type ModelInfo,
  type ModelRegistry,
  translateSize,
} from "./models.ts";

/** Schema of an image generation request, shared by every door (a plain object at the root). */
export const GenerateRequestSchema = z.object({
  prompt: z.string().describe("Text description of the desired image(s)"),
  model: z.string().optional().describe(
    "Model id or alias (default: DEFAULT_MODEL). Retired models are handled per LEGACY_MODELS",
  ),
  size: z.string().optional().describe(
    "WIDTHxHEIGHT or auto. gpt-image-2 and later: both sides divisible by 16, aspect between 1:3 and 3:1, at most 3840x2160",
  ),
  quality: z.string().optional().describe(
    "low, medium, high or auto (xhigh and max on gpt-image-2.5+); default DEFAULT_QUALITY",
  ),
  style: z.enum(["vivid", "natural"]).optional().describe(
    "dall-e-3 only; dropped with a warning for GPT image models",
  ),
  n: z.number().int().min(1).max(10).optional().describe("Number of images (default 1)"),
  save: z.boolean().optional().describe("Store the images and return links (default true)"),
  response_format: z.enum(["url", "b64_json"]).optional().describe(
    "How the door returns images; never sent to GPT image models, which always return image data",
  ),
  background: z.enum(["transparent", "opaque", "auto"]).optional().describe(
    "transparent needs output_format png or webp",
  ),
  output_format: z.enum(["png", "jpeg", "webp"]).optional().describe("Image format (default png)"),
  output_compression: z.number().int().min(0).max(100).optional().describe(
    "0-100, jpeg and webp only",
  ),
  moderation: z.enum(["low", "auto"]).optional().describe("Content moderation level"),
  partial_images: z.number().int().min(0).max(3).optional().describe(
    "Partial previews to stream (0-3); each costs extra output tokens",
  ),
  user: z.string().optional().describe("Deprecated end-user id; use safety_identifier"),
  safety_identifier: z.string().optional().describe(
    "Stable hashed id of the end user, for OpenAI's abuse monitoring",
  ),
});

/** Schema of an image edit request: the generation fields plus the input images. */
export const EditRequestSchema = GenerateRequestSchema.omit({ style: true, moderation: true })
  .extend({
    images: z.array(z.string().min(1)).min(1).max(16).describe(
      "Images to edit: references (file paths, URLs or image ids) resolved by the door",
    ),
    mask: z.string().min(1).optional().describe(
      "Reference to a PNG whose fully transparent pixels mark the region to change",
    ),
    markup: z.string().min(1).optional().describe(
      "Reference to a transparent PNG overlay guiding the edit (gpt-image-2.5+, not with mask)",
    ),
    input_fidelity: z.enum(["high", "low"]).optional().describe(
      "How closely to keep input features (gpt-image-1.x only; omitted for gpt-image-2)",
    ),
  });

/** A generation request as the schema accepts it. */
export type GenerateRequestInput = z.input<typeof GenerateRequestSchema>;
/** An edit request as the schema accepts it. */
export type EditRequestInput = z.input<typeof EditRequestSchema>;

/** A validated generation request with every default applied. */
export interface NormalizedGenerateRequest {
  /** Which endpoint the request is for. */
  readonly operation: "generate" | "edit";
  /** The model called upstream. */
  readonly model: string;
  /** The model the caller named (or the default), before aliases and legacy translation. */
  readonly requestedModel: string;
  /** The retired model this request was translated from, if it was. */
  readonly translatedFrom?: string;
  /** Family of {@link model}. */
  readonly family: string;
  /** The prompt, unchanged. */
  readonly prompt: string;
  /** `WxH` or `auto`. */
  readonly size: string;
  /** True when the size is above the model's experimental threshold. */
  readonly experimentalSize: boolean;
  /** Quality sent upstream. */
  readonly quality: string;
  /** Number of images. */
  readonly n: number;
  /** Format of the returned bytes. */
  readonly outputFormat: "png" | "jpeg" | "webp";
  /** Compression for jpeg/webp, when given. */
  readonly outputCompression?: number;
  /** Background setting, or null when the model takes none. */
  readonly background: "transparent" | "opaque" | "auto" | null;
  /** Moderation level, or null when the model (or endpoint) takes none. */
  readonly moderation: "low" | "auto" | null;
  /** Style (dall-e-3 passthrough only). */
  readonly style?: "vivid" | "natural";
  /** Partial previews requested (0 = none, no streaming). */
  readonly partialImages: number;
  /** Whether the upstream call streams (only when partial images are asked for). */
  readonly stream: boolean;
  /** Whether to store the images. */
  readonly save: boolean;
  /** How the caller wants images back from the door, if it said. */
  readonly responseFormat?: "url" | "b64_json";
  /** End-user id sent upstream (as `safety_identifier` or `user`). */
  readonly safetyIdentifier?: string;
}

/** A validated edit request: a generation request plus the input references. */
export interface NormalizedEditRequest extends NormalizedGenerateRequest {
  /** Always `edit`. */
  readonly operation: "edit";
  /** Input image references, in order. */
  readonly images: readonly string[];
  /** Mask reference, if any. */
  readonly mask?: string;
  /** Markup overlay reference, if any. */
  readonly markup?: string;
  /** Input fidelity sent upstream, if any. */
  readonly inputFidelity?: "high" | "low";
}

/** The JSON body (or, for edits, the non-file multipart fields) sent to OpenAI. */
export interface UpstreamImageBody {
  readonly model: string;
  readonly prompt: string;
  readonly n: number;
  readonly size: string;
  readonly quality: string;
  readonly output_format?: string;
  readonly output_compression?: number;
  readonly background?: string;
  readonly moderation?: string;
  readonly style?: string;
  readonly response_format?: "b64_json";
  readonly stream?: true;
  readonly partial_images?: number;
  readonly safety_identifier?: string;
  readonly user?: string;
  readonly input_fidelity?: string;
}

/** Result of {@link normalizeGenerateRequest}. */
export interface GenerateNormalization {
  /** The validated request. */
  readonly request: NormalizedGenerateRequest;
  /** Exactly what goes to OpenAI. */
  readonly upstream: UpstreamImageBody;
  /** Changes made on the caller's behalf, to be shown to them. */
  readonly warnings: readonly string[];
}

/** Result of {@link normalizeEditRequest}. */
export interface EditNormalization {
  /** The validated request. */
  readonly request: NormalizedEditRequest;
  /** Exactly the non-file fields that go to OpenAI. */
  readonly upstream: UpstreamImageBody;
  /** Changes made on the caller's behalf, to be shown to them. */
  readonly warnings: readonly string[];
}

/** What normalization needs: the registry, the defaults and legacy policy, and today. */
export interface NormalizeContext {
  /** Known models. */
  readonly registry: ModelRegistry;
  /** `DEFAULT_MODEL`, `DEFAULT_QUALITY`, `LEGACY_MODELS` (a `Config` fits). */
  readonly config: ModelDefaults;
  /** The current time, for lifecycle dates. */
  readonly now: Date;
}

const ACCEPTED = new Map<string, string>([
  ["prompt", "a non-empty text"],
  ["model", "a model id"],
  ["size", "WxH or auto"],
  ["quality", "a quality of the model"],
  ["style", "vivid, natural"],
  ["n", "an integer from 1 to 10"],
  ["save", "true or false"],
  ["response_format", "url, b64_json"],
  ["background", "transparent, opaque, auto"],
  ["output_format", "png, jpeg, webp"],
  ["output_compression", "an integer from 0 to 100"],
  ["moderation", "low, auto"],
  ["partial_images", "an integer from 0 to 3"],
  ["user", "a string"],
  ["safety_identifier", "a string"],
  ["images", "1 to 16 image references (file paths, URLs or image ids)"],
  ["mask", "an image reference"],
  ["markup", "an image reference"],
  ["input_fidelity", "high, low"],
]);

const NUMERIC_FIELDS = ["n", "output_compression", "partial_images"];
const LOWERCASE_FIELDS = ["quality", "style", "background", "output_format", "moderation"];

/** Renders a value for a message, short and never throwing. */
function show(value: unknown): string {
  try {
    const text = typeof value === "string" ? JSON.stringify(value) : JSON.stringify(value) ??
      String(value);
    return text.length > 60 ? `${text.slice(0, 57)}...` : text;
  } catch {
    return Array.isArray(value) ? "an array" : typeof value;
  }
}

function fieldName(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path) {
    out += typeof key === "number" ? `[${key}]` : `${out ? "." : ""}${String(key)}`;
  }
  return out || "request";
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const key of path) {
    if (typeof value !== "object" || value === null) return undefined;
    value = Object.hasOwn(value, key) ? (value as Record<PropertyKey, unknown>)[key] : undefined;
  }
  return value;
}

function nearestWord(value: unknown, accepted: readonly string[]): string | undefined {
  if (typeof value !== "string" || accepted.length === 0) return undefined;
  const lower = value.toLowerCase();
  const legacy = LEGACY_QUALITY_MAP[lower];
  if (legacy && Object.hasOwn(LEGACY_QUALITY_MAP, lower) && accepted.includes(legacy)) {
    return legacy;
  }
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of accepted) {
    const distance = editDistance(lower.slice(0, 64), candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= Math.max(2, Math.floor((best?.length ?? 0) / 2)) ? best : undefined;
}

function invalid(
  field: string,
  value: unknown,
  reason: string,
  extra: { model?: string; accepted?: readonly string[]; nearest?: readonly string[] } = {},
): ValidationError {
  const nearest = extra.nearest?.filter((n) => n !== undefined) ?? [];
  const where = extra.model ? ` for ${extra.model}` : "";
  const hint = nearest.length ? ` (nearest valid: ${nearest.join(" or ")})` : "";
  return new ValidationError(field, `Invalid ${field} ${show(value)}${where}: ${reason}${hint}`, {
    value: typeof value === "string" || typeof value === "number" ? value : show(value),
    ...(extra.accepted ? { accepted: extra.accepted } : {}),
    ...(nearest.length ? { nearest } : {}),
  });
}

function schemaError(issue: z.core.$ZodIssue, input: unknown): ValidationError {
  const field = fieldName(issue.path);
  const top = typeof issue.path[0] === "string" ? issue.path[0] : "";
  const accepted = ACCEPTED.get(top) ?? "see the request schema";
  const value = valueAt(input, issue.path);
  if (issue.path.length === 0) {
    return new ValidationError(
      "request",
      `Invalid request ${show(input)}: expected a JSON object with at least a prompt`,
    );
  }
  if (value === undefined) {
    return new ValidationError(field, `Missing ${field}: ${accepted} is required`);
  }
  if (issue.code === "invalid_value") {
    const values = issue.values.map(String);
    const near = nearestWord(value, values);
    return invalid(field, value, `accepted: ${values.join(", ")}`, {
      accepted: values,
      ...(near ? { nearest: [near] } : {}),
    });
  }
  if ((issue.code === "too_small" || issue.code === "too_big") && issue.origin === "array") {
    return new ValidationError(
      field,
      `Invalid ${field}: ${(value as unknown[]).length} given (accepted: ${accepted})`,
    );
  }
  if (issue.code === "too_small" || issue.code === "too_big") {
    if (typeof value === "number") {
      const bound = issue.code === "too_small" ? issue.minimum : issue.maximum;
      return invalid(field, value, `accepted: ${accepted}`, { nearest: [String(bound)] });
    }
    return invalid(field, value, `must not be empty (accepted: ${accepted})`);
  }
  if (issue.code === "invalid_type" && issue.expected === "int" && typeof value === "number") {
    return invalid(field, value, `accepted: ${accepted}`, {
      ...(Number.isFinite(value) ? { nearest: [String(Math.round(value))] } : {}),
    });
  }
  return invalid(field, value, `accepted: ${accepted}`);
}

/** Tolerant pre-processing: null and "" mean "not given", numbers and booleans may be text. */
function prepare(input: unknown, shape: Record<string, unknown>): {
  value: unknown;
  unknownKeys: string[];
} {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return { value: input, unknownKeys: [] };
  }
  const out: Record<string, unknown> = {};
  const unknownKeys: string[] = [];
  for (const key of Object.keys(input)) {
    let value = (input as Record<string, unknown>)[key];
    // Forms and some MCP clients send null or "" for "not set"; only the prompt must be present.
    if (value === null || (key !== "prompt" && typeof value === "string" && value.trim() === "")) {
      continue;
    }
    if (!Object.hasOwn(shape, key)) {
      if (key === "image" && Object.hasOwn(shape, "images") && !Object.hasOwn(input, "images")) {
        out.images = typeof value === "string" ? [value] : value;
      } else {
        unknownKeys.push(key);
      }
      continue;
    }
    if (
      NUMERIC_FIELDS.includes(key) && typeof value === "string" && /^\s*\d{1,6}\s*$/.test(value)
    ) {
      value = Number(value);
    } else if (key === "save" && typeof value === "string") {
      const word = value.trim().toLowerCase();
      if (word === "true" || word === "false") value = word === "true";
    } else if (key === "size" && typeof value === "string") {
      value = value.trim().toLowerCase().replaceAll(/\s+/g, "").replaceAll(/[×*]/g, "x");
    } else if (LOWERCASE_FIELDS.includes(key) && typeof value === "string") {
      value = value.trim().toLowerCase();
    } else if (key === "images" && typeof value === "string") {
      value = [value];
    }
    out[key] = value;
  }
  return { value: out, unknownKeys };
}

type GenerateParsed = z.output<typeof GenerateRequestSchema>;
type EditParsed = z.output<typeof EditRequestSchema>;
type AnyParsed = GenerateParsed & Partial<EditParsed>;

interface Resolved {
  readonly model: ModelInfo;
  readonly requested: ModelInfo;
  readonly requestedName: string;
  readonly translatedFrom?: string;
}

function resolveModel(
  parsed: AnyParsed,
  ctx: NormalizeContext,
  warnings: string[],
): Resolved {
  const { registry, config, now } = ctx;
  const requestedName = parsed.model?.trim() ?? config.defaultModel;
  const requested = registry.get(requestedName) ?? registry.get(requestedName.toLowerCase());
  if (!requested) {
    const available = registry.availableIds(now);
    throw invalid("model", requestedName, `unknown model (accepted: ${available.join(", ")})`, {
      accepted: available,
      nearest: registry.suggest(requestedName, 1),
    });
  }
  const life = lifecycleOf(requested, now);
  if (life.state === "shutdown_announced") {
    warnings.push(
      `Model "${requested.id}" will be shut down on ${life.date}${
        life.replacement ? `: switch to "${life.replacement}"` : ""
      }`,
    );
  }
  if (life.state !== "retired" || config.legacyModels === "passthrough") {
    if (life.state === "retired") {
      warnings.push(
        `Model "${requested.id}" was retired on ${life.date}: it is sent unchanged because LEGACY_MODELS=passthrough`,
      );
    }
    return { model: requested, requested, requestedName };
  }
  // The default model itself may have reached its shutdown day while the service runs: then its
  // own suggested replacement is the target.
  const usable = (name: string | undefined) => {
    const found = name === undefined ? undefined : registry.get(name);
    return found && lifecycleOf(found, now).state !== "retired" ? found : undefined;
  };
  const target = usable(config.defaultModel) ??
    usable(registry.replacementFor(config.defaultModel, { now }));
  const replacement = target?.id ?? registry.replacementFor(requested.id, { now });
  if (config.legacyModels === "reject" || !target) {
    throw new AppError(
      "model_not_found",
      `Model "${requested.id}" was retired on ${life.date}${
        replacement ? `: use "${replacement}" instead` : ""
      }`,
      {
        field: "model",
        details: { model: requested.id, retiredOn: life.date, replacement: replacement ?? null },
      },
    );
  }
  warnings.push(
    `Model "${requested.id}" was retired on ${life.date}: the request was translated to "${target.id}"`,
  );
  return { model: target, requested, requestedName, translatedFrom: requested.id };
}

function pickQuality(parsed: AnyParsed, r: Resolved, ctx: NormalizeContext, warnings: string[]) {
  const { model } = r;
  const given = parsed.quality;
  if (given === undefined) {
    return model.qualities.includes(ctx.config.defaultQuality)
      ? ctx.config.defaultQuality
      : model.defaultQuality;
  }
  if (model.qualities.includes(given)) return given;
  // Under LEGACY_MODELS=translate the predecessor's words (hd, standard) are translated even when
  // no retired model is named: its requests relied on dall-e-3 being the default.
  const legacyWord = Object.hasOwn(LEGACY_QUALITY_MAP, given);
  if (
    (r.translatedFrom && r.requested.qualities.includes(given)) ||
    (ctx.config.legacyModels === "translate" && legacyWord)
  ) {
    const mapped = Object.hasOwn(LEGACY_QUALITY_MAP, given) ? LEGACY_QUALITY_MAP[given] : undefined;
    const quality = mapped && model.qualities.includes(mapped)
      ? mapped
      : model.qualities.includes(ctx.config.defaultQuality)
      ? ctx.config.defaultQuality
      : model.defaultQuality;
    warnings.push(`Quality "${given}" became "${quality}" on ${model.id}`);
    return quality;
  }
  throw invalid("quality", given, `accepted: ${model.qualities.join(", ")}`, {
    model: model.id,
    accepted: model.qualities,
    nearest: [nearestWord(given, model.qualities)].filter((q) => q !== undefined),
  });
}

/** True for a size only retired models accepted (1792x1024 on a 1.x model, …). */
function isRetiredSize(size: string, ctx: NormalizeContext): boolean {
  return ctx.registry.list().some((m) =>
    lifecycleOf(m, ctx.now).state === "retired" && m.sizes.includes(size)
  );
}

function pickSize(parsed: AnyParsed, r: Resolved, ctx: NormalizeContext, warnings: string[]) {
  const { model } = r;
  let size = parsed.size ?? model.defaultSize;
  const legacy = r.translatedFrom
    ? checkSize(r.requested, size).valid
    : ctx.config.legacyModels === "translate" && !checkSize(model, size).valid &&
      isRetiredSize(size, ctx);
  if (parsed.size !== undefined && legacy) {
    const translated = translateSize(model, size);
    if (translated !== size) warnings.push(`Size "${size}" became "${translated}" on ${model.id}`);
    size = translated;
  }
  const check = checkSize(model, size);
  if (!check.valid) {
    throw invalid("size", size, check.reason, {
      model: model.id,
      accepted: model.sizes,
      nearest: check.nearest,
    });
  }
  if (check.experimental) {
    const rule = model.sizeRule!;
    warnings.push(
      `Size "${size}" is experimental on ${model.id} (more pixels than ${
        rule.experimentalAbovePixels.toLocaleString("en-US")
      })`,
    );
  }
  return { size, experimental: check.experimental };
}

function dropped(field: string, value: unknown, model: string, why: string): string {
  return `${field} ${show(value)} is not supported by ${model} and was dropped: ${why}`;
}

function normalize(
  operation: "generate" | "edit",
  input: unknown,
  ctx: NormalizeContext,
): {
  request: NormalizedGenerateRequest | NormalizedEditRequest;
  upstream: UpstreamImageBody;
  warnings: string[];
} {
  const schema = operation === "edit" ? EditRequestSchema : GenerateRequestSchema;
  const { value, unknownKeys } = prepare(input, schema.shape);
  const result = schema.safeParse(value);
  if (!result.success) throw schemaError(result.error.issues[0], value);
  const parsed = result.data as AnyParsed;
  const warnings: string[] = [];
  if (unknownKeys.length > 0) {
    const names = unknownKeys.slice(0, 5).map((k) => show(k)).join(", ");
    warnings.push(
      `Ignored unknown field${unknownKeys.length > 1 ? "s" : ""} ${names}${
        unknownKeys.length > 5 ? ` and ${unknownKeys.length - 5} more` : ""
      }`,
    );
  }

  const r = resolveModel(parsed, ctx, warnings);
  const { model } = r;
  const id = model.id;

  const promptLength = [...parsed.prompt].length;
  if (parsed.prompt.trim() === "") {
    throw invalid("prompt", parsed.prompt, "describe the image (accepted: a non-empty text)");
  }
  if (promptLength > model.promptMaxChars) {
    throw new ValidationError(
      "prompt",
      `Invalid prompt for ${id}: ${promptLength} characters (accepted: at most ${model.promptMaxChars})`,
      { length: promptLength, accepted: `at most ${model.promptMaxChars} characters` },
    );
  }

  if (operation === "edit" && !model.edits.supported) {
    const editors = ctx.registry.availableIds(ctx.now)
      .filter((m) => ctx.registry.get(m)?.edits.supported);
    throw invalid(
      "model",
      r.requestedName,
      `this model cannot edit images (accepted: ${editors.join(", ")})`,
      {
        accepted: editors,
      },
    );
  }

  const quality = pickQuality(parsed, r, ctx, warnings);
  const { size, experimental } = pickSize(parsed, r, ctx, warnings);

  const n = parsed.n ?? 1;
  if (n < model.n.min || n > model.n.max) {
    const range = model.n.min === model.n.max
      ? `${model.n.min}`
      : `${model.n.min} to ${model.n.max}`;
    throw invalid("n", n, `accepted: ${range}`, {
      model: id,
      nearest: [String(Math.min(Math.max(n, model.n.min), model.n.max))],
    });
  }

  let style: "vivid" | "natural" | undefined;
  if (parsed.style !== undefined) {
    if (model.styles.includes(parsed.style)) {
      style = parsed.style;
    } else if (model.styles.length > 0) {
      throw invalid("style", parsed.style, `accepted: ${model.styles.join(", ")}`, { model: id });
    } else {
      warnings.push(dropped("style", parsed.style, id, "describe the style in the prompt instead"));
    }
  }

  if (
    parsed.response_format !== undefined && model.responseFormats.length === 0 && r.translatedFrom
  ) {
    warnings.push(
      `response_format ${
        show(parsed.response_format)
      } is not sent to ${id}, which always returns image data: the image is stored and served by this service`,
    );
  }

  let outputFormat: "png" | "jpeg" | "webp" = "png";
  if (model.outputFormats.length > 0) {
    outputFormat = parsed.output_format ?? "png";
    if (!model.outputFormats.includes(outputFormat)) {
      throw invalid("output_format", outputFormat, `accepted: ${model.outputFormats.join(", ")}`, {
        model: id,
      });
    }
  } else if (parsed.output_format !== undefined) {
    warnings.push(dropped("output_format", parsed.output_format, id, "it always returns PNG"));
  }

  let outputCompression: number | undefined;
  if (parsed.output_compression !== undefined) {
    if (!model.outputCompression) {
      warnings.push(dropped("output_compression", parsed.output_compression, id, "it returns PNG"));
    } else if (outputFormat === "png") {
      throw invalid(
        "output_compression",
        parsed.output_compression,
        `compression applies to jpeg and webp only (accepted: set output_format to jpeg or webp, or omit output_compression)`,
      );
    } else {
      outputCompression = parsed.output_compression;
    }
  }

  let background: NormalizedGenerateRequest["background"] = null;
  let sendBackground = false;
  if (model.backgrounds.length > 0) {
    background = parsed.background ?? "auto";
    sendBackground = parsed.background !== undefined;
    if (!model.backgrounds.includes(background)) {
      throw invalid("background", background, `accepted: ${model.backgrounds.join(", ")}`, {
        model: id,
      });
    }
    if (background === "transparent" && outputFormat === "jpeg") {
      throw invalid(
        "background",
        background,
        `transparency needs output_format png or webp, not jpeg (accepted: opaque, auto)`,
      );
    }
  } else if (parsed.background !== undefined) {
    warnings.push(dropped("background", parsed.background, id, "it has no background setting"));
  }

  let moderation: NormalizedGenerateRequest["moderation"] = null;
  if (operation === "generate" && model.moderation) {
    moderation = parsed.moderation ?? "auto";
  } else if (parsed.moderation !== undefined) {
    warnings.push(dropped("moderation", parsed.moderation, id, "it has no moderation setting"));
  }

  let partialImages = 0;
  if (parsed.partial_images !== undefined && parsed.partial_images > 0) {
    if (model.maxPartialImages === 0) {
      warnings.push(dropped("partial_images", parsed.partial_images, id, "it does not stream"));
    } else if (parsed.partial_images > model.maxPartialImages) {
      throw invalid(
        "partial_images",
        parsed.partial_images,
        `accepted: 0 to ${model.maxPartialImages}`,
        {
          model: id,
          nearest: [String(model.maxPartialImages)],
        },
      );
    } else {
      partialImages = parsed.partial_images;
    }
  }

  const endUser = parsed.safety_identifier || parsed.user || undefined;

  const body: Record<string, unknown> = { model: id, prompt: parsed.prompt, n, size, quality };
  if (model.outputFormats.length > 0) body.output_format = outputFormat;
  if (outputCompression !== undefined) body.output_compression = outputCompression;
  if (sendBackground) body.background = background;
  if (moderation !== null && parsed.moderation !== undefined) body.moderation = moderation;
  if (style !== undefined) body.style = style;
  if (model.responseFormats.includes("b64_json")) body.response_format = "b64_json";
  if (partialImages > 0) {
    body.stream = true;
    body.partial_images = partialImages;
  }
  if (endUser !== undefined) body[model.safetyIdentifier ? "safety_identifier" : "user"] = endUser;

  const request: Record<string, unknown> = {
    operation,
    model: id,
    requestedModel: r.requestedName,
    ...(r.translatedFrom ? { translatedFrom: r.translatedFrom } : {}),
    family: model.family,
    prompt: parsed.prompt,
    size,
    experimentalSize: experimental,
    quality,
    n,
    outputFormat,
    ...(outputCompression !== undefined ? { outputCompression } : {}),
    background,
    moderation,
    ...(style !== undefined ? { style } : {}),
    partialImages,
    stream: partialImages > 0,
    save: parsed.save ?? true,
    ...(parsed.response_format !== undefined ? { responseFormat: parsed.response_format } : {}),
    ...(endUser !== undefined ? { safetyIdentifier: endUser } : {}),
  };

  if (operation === "edit") {
    const images = parsed.images ?? [];
    if (images.length > model.edits.maxImages) {
      throw new ValidationError(
        "images",
        `Invalid images for ${id}: ${images.length} given (accepted: at most ${model.edits.maxImages})`,
        { accepted: `at most ${model.edits.maxImages}` },
      );
    }
    if (parsed.mask !== undefined && !model.edits.mask) {
      throw invalid("mask", parsed.mask, "this model takes no mask (accepted: omit it)", {
        model: id,
      });
    }
    if (parsed.markup !== undefined) {
      if (!model.edits.markup) {
        throw invalid("markup", parsed.markup, "this model takes no markup (accepted: omit it)", {
          model: id,
        });
      }
      if (parsed.mask !== undefined) {
        throw invalid(
          "markup",
          parsed.markup,
          "markup cannot be combined with mask (accepted: one of them)",
        );
      }
    }
    let inputFidelity: string | undefined;
    if (parsed.input_fidelity !== undefined) {
      if (model.edits.inputFidelity.length === 0) {
        warnings.push(dropped("input_fidelity", parsed.input_fidelity, id, "the model omits it"));
      } else if (!model.edits.inputFidelity.includes(parsed.input_fidelity)) {
        throw invalid(
          "input_fidelity",
          parsed.input_fidelity,
          `accepted: ${model.edits.inputFidelity.join(", ")}`,
          { model: id, accepted: model.edits.inputFidelity },
        );
      } else {
        inputFidelity = parsed.input_fidelity;
        body.input_fidelity = inputFidelity;
      }
    }
    Object.assign(request, {
      images: Object.freeze([...images]),
      ...(parsed.mask !== undefined ? { mask: parsed.mask } : {}),
      ...(parsed.markup !== undefined ? { markup: parsed.markup } : {}),
      ...(inputFidelity !== undefined ? { inputFidelity } : {}),
    });
  }

  return {
    request: Object.freeze(request) as unknown as NormalizedGenerateRequest,
    upstream: Object.freeze(body) as unknown as UpstreamImageBody,
    warnings,
  };
}

/**
 * Validates and normalizes a generation request from any door. Throws {@link ValidationError}
 * (bad field) or AppError `model_not_found` (retired model under LEGACY_MODELS=reject).
 */
export function normalizeGenerateRequest(
  input: unknown,
  ctx: NormalizeContext,
): GenerateNormalization {
  const { request, upstream, warnings } = normalize("generate", input, ctx);
  return Object.freeze({ request, upstream, warnings: Object.freeze(warnings) });
}

/** Validates and normalizes an edit request; image references are resolved by the caller. */
export function normalizeEditRequest(input: unknown, ctx: NormalizeContext): EditNormalization {
  const { request, upstream, warnings } = normalize("edit", input, ctx);
  return Object.freeze({
    request: request as NormalizedEditRequest,
    upstream,
    warnings: Object.freeze(warnings),
  });
}
