/**
 * One request schema for every door (MCP, HTTP, CLI) and its normalization: the checked request
 * goes through the per-field rules (defaults, the retired-model policy `LEGACY_MODELS`, the
 * per-model capability check), producing the exact body sent to OpenAI. Invalid requests end
 * here with a `ValidationError` that names the field, the bad value, what is accepted and
 * the nearest valid choice.
 *
 * @module
 */
import type { z } from "zod";
import {
  CheckedFields,
  type ChoiceOf,
  fieldSpec,
  isFieldName,
  type Operation,
} from "./request_fields.ts";
import { schemaError, show } from "./request_messages.ts";
import {
  checkEditable,
  checkPrompt,
  type ModelRuleState,
  type NormalizeContext,
  pickBackground,
  pickCompression,
  pickEditInputs,
  pickEndUser,
  pickModeration,
  pickN,
  pickOutputFormat,
  pickPartialImages,
  pickQuality,
  pickSize,
  pickStyle,
  resolveModel,
  type RuleState,
  warnResponseFormat,
} from "./request_rules.ts";
import { coreRequestSchema } from "./request_schema.ts";

export type { NormalizeContext } from "./request_rules.ts";

/** Schema of an image generation request, shared by every door (a plain object at the root). */
export const GenerateRequestSchema: z.ZodObject = coreRequestSchema("generate");

/** Schema of an image edit request: the generation fields plus the input images. */
export const EditRequestSchema: z.ZodObject = coreRequestSchema("edit");

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
  readonly outputFormat: ChoiceOf<"output_format">;
  /** Compression for jpeg/webp, when given. */
  readonly outputCompression?: number;
  /** Background setting, or null when the model takes none. */
  readonly background: ChoiceOf<"background"> | null;
  /** Moderation level, or null when the model (or endpoint) takes none. */
  readonly moderation: ChoiceOf<"moderation"> | null;
  /** Style (dall-e-3 passthrough only). */
  readonly style?: ChoiceOf<"style">;
  /** Partial previews requested (0 = none, no streaming). */
  readonly partialImages: number;
  /** Whether the upstream call streams (only when partial images are asked for). */
  readonly stream: boolean;
  /** Whether to store the images. */
  readonly save: boolean;
  /** How the caller wants images back from the door, if it said. */
  readonly responseFormat?: ChoiceOf<"response_format">;
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
  readonly inputFidelity?: ChoiceOf<"input_fidelity">;
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

/** Tidies one given value: null and "" mean "not given", numbers and booleans may be text. */
function tidy(key: string, value: unknown): unknown {
  if (value === null || (key !== "prompt" && typeof value === "string" && value.trim() === "")) {
    return undefined;
  }
  if (!isFieldName(key) || typeof value !== "string") return value;
  const spec = fieldSpec(key);
  switch (spec.type) {
    case "integer":
      return /^\s*\d{1,6}\s*$/.test(value) ? Number(value) : value;
    case "number":
      return /^\s*\d{1,9}(\.\d{1,9})?\s*$/.test(value) ? Number(value) : value;
    case "boolean": {
      const word = value.trim().toLowerCase();
      return word === "true" || word === "false" ? word === "true" : value;
    }
    case "references":
      return [value];
    case "choice":
      return spec.caseless ? value.trim().toLowerCase() : value;
    case "text":
      if (spec.tidy === "size") {
        return value.trim().toLowerCase().replaceAll(/\s+/g, "").replaceAll(/[×*]/g, "x");
      }
      return spec.tidy === "lower" ? value.trim().toLowerCase() : value;
  }
}

/**
 * Tolerant pre-processing before the schema: forms and some MCP clients send null or "" for
 * "not set", text for numbers, one reference where a list is expected (`image` for `images`).
 */
function prepare(input: unknown, shape: Readonly<Record<string, unknown>>): {
  value: unknown;
  unknownKeys: string[];
} {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return { value: input, unknownKeys: [] };
  }
  const out: Record<string, unknown> = {};
  const unknownKeys: string[] = [];
  const entries: [string, unknown][] = Object.entries(input);
  const given = new Set(entries.map(([key]) => key));
  for (const [key, raw] of entries) {
    const plural = singularOf(key, shape);
    const name = plural !== undefined && !given.has(plural) ? plural : key;
    const value = tidy(name, raw);
    if (value === undefined) continue;
    if (Object.hasOwn(shape, name)) out[name] = value;
    else unknownKeys.push(key);
  }
  return { value: out, unknownKeys };
}

/** The list field `key` is the singular of (`images` for `image`), when the schema has it. */
function singularOf(key: string, shape: Readonly<Record<string, unknown>>): string | undefined {
  for (const name of Object.keys(shape)) {
    if (!isFieldName(name)) continue;
    const spec = fieldSpec(name);
    if (spec.type === "references" && spec.singular === key) return name;
  }
  return undefined;
}

function unknownFieldsWarning(keys: readonly string[]): string {
  const names = keys.slice(0, 5).map((k) => show(k)).join(", ");
  return `Ignored unknown field${keys.length > 1 ? "s" : ""} ${names}${
    keys.length > 5 ? ` and ${keys.length - 5} more` : ""
  }`;
}

/** Parses `input` with the core schema of `operation`; throws the first problem. */
function check(operation: Operation, input: unknown, warnings: string[]): CheckedFields {
  const schema = operation === "edit" ? EditRequestSchema : GenerateRequestSchema;
  const { value, unknownKeys } = prepare(input, schema.shape);
  const result = schema.safeParse(value);
  if (!result.success) throw schemaError(result.error.issues[0], value);
  if (unknownKeys.length > 0) warnings.push(unknownFieldsWarning(unknownKeys));
  return new CheckedFields(result.data);
}

/** The rules shared by both operations, composed. */
function normalizeCommon(s: RuleState): {
  request: NormalizedGenerateRequest;
  upstream: UpstreamImageBody;
  state: ModelRuleState;
} {
  const state: ModelRuleState = { ...s, resolved: resolveModel(s) };
  const { model, requestedName, translatedFrom } = state.resolved;
  const prompt = checkPrompt(state);
  checkEditable(state);
  const quality = pickQuality(state);
  const { size, experimental } = pickSize(state);
  const n = pickN(state);
  const style = pickStyle(state);
  warnResponseFormat(state);
  const outputFormat = pickOutputFormat(state);
  const outputCompression = pickCompression(state, outputFormat);
  const { background, send: sendBackground } = pickBackground(state, outputFormat);
  const moderation = pickModeration(state);
  const partialImages = pickPartialImages(state);
  const endUser = pickEndUser(state);
  const givenModeration = s.fields.choice("moderation");
  const responseFormat = s.fields.choice("response_format");

  const upstream: UpstreamImageBody = {
    model: model.id,
    prompt,
    n,
    size,
    quality,
    ...(model.outputFormats.length > 0 ? { output_format: outputFormat } : {}),
    ...(outputCompression === undefined ? {} : { output_compression: outputCompression }),
    ...(sendBackground && background !== null ? { background } : {}),
    ...(moderation !== null && givenModeration !== undefined ? { moderation } : {}),
    ...(style === undefined ? {} : { style }),
    ...(model.responseFormats.includes("b64_json") ? { response_format: "b64_json" } : {}),
    ...(partialImages > 0 ? { stream: true, partial_images: partialImages } : {}),
    ...(endUser === undefined
      ? {}
      : model.safetyIdentifier
      ? { safety_identifier: endUser }
      : { user: endUser }),
  };
  const request: NormalizedGenerateRequest = {
    operation: s.operation,
    model: model.id,
    requestedModel: requestedName,
    ...(translatedFrom ? { translatedFrom } : {}),
    family: model.family,
    prompt,
    size,
    experimentalSize: experimental,
    quality,
    n,
    outputFormat,
    ...(outputCompression === undefined ? {} : { outputCompression }),
    background,
    moderation,
    ...(style === undefined ? {} : { style }),
    partialImages,
    stream: partialImages > 0,
    save: s.fields.flag("save") ?? true,
    ...(responseFormat === undefined ? {} : { responseFormat }),
    ...(endUser === undefined ? {} : { safetyIdentifier: endUser }),
  };
  return { request, upstream, state };
}

/**
 * Validates and normalizes a generation request from any door. Throws `ValidationError`
 * (bad field) or AppError `model_not_found` (retired model under LEGACY_MODELS=reject).
 */
export function normalizeGenerateRequest(
  input: unknown,
  ctx: NormalizeContext,
): GenerateNormalization {
  const warnings: string[] = [];
  const fields = check("generate", input, warnings);
  const { request, upstream } = normalizeCommon({ fields, operation: "generate", ctx, warnings });
  return Object.freeze({
    request: Object.freeze(request),
    upstream: Object.freeze(upstream),
    warnings: Object.freeze(warnings),
  });
}

/** Validates and normalizes an edit request; image references are resolved by the caller. */
export function normalizeEditRequest(input: unknown, ctx: NormalizeContext): EditNormalization {
  const warnings: string[] = [];
  const fields = check("edit", input, warnings);
  const common = normalizeCommon({ fields, operation: "edit", ctx, warnings });
  const inputs = pickEditInputs(common.state);
  const request: NormalizedEditRequest = { ...common.request, operation: "edit", ...inputs };
  const upstream: UpstreamImageBody = {
    ...common.upstream,
    ...(inputs.inputFidelity === undefined ? {} : { input_fidelity: inputs.inputFidelity }),
  };
  return Object.freeze({
    request: Object.freeze(request),
    upstream: Object.freeze(upstream),
    warnings: Object.freeze(warnings),
  });
}
