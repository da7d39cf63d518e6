/**
 * The per-field rules of request normalization. Each rule reads its field(s) from the checked
 * request, applies the model's capabilities from the registry (and the retired-model policy),
 * and returns the value to use — or throws a {@link ValidationError} naming what is accepted.
 * Changes made on the caller's behalf are pushed to the warnings.
 *
 * @module
 */
import { AppError, ValidationError } from "../errors.ts";
import { LEGACY_QUALITY_MAP } from "./model_data.ts";
import {
  checkSize,
  lifecycleOf,
  type ModelDefaults,
  type ModelInfo,
  type ModelRegistry,
  translateSize,
} from "./models.ts";
import type { CheckedFields, ChoiceOf, Operation } from "./request_fields.ts";
import { dropped, invalid, nearestWord, show } from "./request_messages.ts";

/** What normalization needs: the registry, the defaults and legacy policy, and today. */
export interface NormalizeContext {
  /** Known models. */
  readonly registry: ModelRegistry;
  /** `DEFAULT_MODEL`, `DEFAULT_QUALITY`, `LEGACY_MODELS` (a `Config` fits). */
  readonly config: ModelDefaults;
  /** The current time, for lifecycle dates. */
  readonly now: Date;
}

/** The model a request resolves to. */
export interface Resolved {
  /** The model called upstream. */
  readonly model: ModelInfo;
  /** The model the caller named (or the default). */
  readonly requested: ModelInfo;
  /** The name the caller used. */
  readonly requestedName: string;
  /** The retired model the request was translated from, if it was. */
  readonly translatedFrom?: string;
}

/** What every rule reads. */
export interface RuleState {
  /** The checked request. */
  readonly fields: CheckedFields;
  /** Which endpoint the request is for. */
  readonly operation: Operation;
  /** Registry, defaults and today. */
  readonly ctx: NormalizeContext;
  /** Where rules record changes made on the caller's behalf. */
  readonly warnings: string[];
}

/** A rule that needs the resolved model too. */
export interface ModelRuleState extends RuleState {
  /** The resolved model. */
  readonly resolved: Resolved;
}

/** Resolves the model by id, alias or case, applying the lifecycle and LEGACY_MODELS. */
export function resolveModel(s: RuleState): Resolved {
  const { registry, config, now } = s.ctx;
  const requestedName = s.fields.text("model")?.trim() ?? config.defaultModel;
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
    s.warnings.push(
      `Model "${requested.id}" will be shut down on ${life.date}${
        life.replacement ? `: switch to "${life.replacement}"` : ""
      }`,
    );
  }
  if (life.state !== "retired" || config.legacyModels === "passthrough") {
    if (life.state === "retired") {
      s.warnings.push(
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
  s.warnings.push(
    `Model "${requested.id}" was retired on ${life.date}: the request was translated to "${target.id}"`,
  );
  return { model: target, requested, requestedName, translatedFrom: requested.id };
}

/** Index of the first unpaired UTF-16 surrogate of `text`, or -1. */
function loneSurrogateAt(text: string): number {
  if (text.isWellFormed()) return -1;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
      return i;
    }
    if (unit >= 0xdc00 && unit <= 0xdfff) return i;
  }
  return -1;
}

/**
 * The prompt: not blank, no NUL and no unpaired surrogate (neither survives the catalog's JSON
 * nor means anything to the model), and no longer than the model takes. Its length is counted
 * in UTF-16 code units, as JavaScript strings, HTML `maxlength` and the test upstream count it:
 * never fewer than the code points, so a prompt accepted here is never too long upstream.
 */
export function checkPrompt(s: ModelRuleState): string {
  const prompt = s.fields.text("prompt") ?? "";
  const { model } = s.resolved;
  if (prompt.trim() === "") {
    throw invalid("prompt", prompt, "describe the image (accepted: a non-empty text)");
  }
  const nul = prompt.indexOf("\0");
  if (nul >= 0) {
    throw new ValidationError(
      "prompt",
      `Invalid prompt: it holds a NUL character at position ${nul} (accepted: text without NUL characters)`,
      { position: nul },
    );
  }
  const lone = loneSurrogateAt(prompt);
  if (lone >= 0) {
    const unit = prompt.charCodeAt(lone).toString(16).toUpperCase();
    throw new ValidationError(
      "prompt",
      `Invalid prompt: it holds an unpaired UTF-16 surrogate U+${unit} at position ${lone} (accepted: well-formed Unicode text)`,
      { position: lone },
    );
  }
  if (prompt.length > model.promptMaxChars) {
    throw new ValidationError(
      "prompt",
      `Invalid prompt for ${model.id}: ${prompt.length} characters (accepted: at most ${model.promptMaxChars}, counted in UTF-16 code units)`,
      { length: prompt.length, accepted: `at most ${model.promptMaxChars} characters` },
    );
  }
  return prompt;
}

/** Refuses an edit on a model that cannot edit, naming those that can. */
export function checkEditable(s: ModelRuleState): void {
  const { registry, now } = s.ctx;
  if (s.operation !== "edit" || s.resolved.model.edits.supported) return;
  const editors = registry.availableIds(now).filter((m) => registry.get(m)?.edits.supported);
  throw invalid(
    "model",
    s.resolved.requestedName,
    `this model cannot edit images (accepted: ${editors.join(", ")})`,
    { accepted: editors },
  );
}

/** The quality: the model's, the predecessor's words translated, or the default. */
export function pickQuality(s: ModelRuleState): string {
  const { model, requested, translatedFrom } = s.resolved;
  const { config } = s.ctx;
  const given = s.fields.text("quality");
  const fallback = model.qualities.includes(config.defaultQuality)
    ? config.defaultQuality
    : model.defaultQuality;
  if (given === undefined) return fallback;
  if (model.qualities.includes(given)) return given;
  // Under LEGACY_MODELS=translate the predecessor's words (hd, standard) are translated even when
  // no retired model is named: its requests relied on dall-e-3 being the default.
  const mapped = Object.hasOwn(LEGACY_QUALITY_MAP, given) ? LEGACY_QUALITY_MAP[given] : undefined;
  if (
    (translatedFrom && requested.qualities.includes(given)) ||
    (config.legacyModels === "translate" && mapped !== undefined)
  ) {
    const quality = mapped !== undefined && model.qualities.includes(mapped) ? mapped : fallback;
    s.warnings.push(`Quality "${given}" became "${quality}" on ${model.id}`);
    return quality;
  }
  const near = nearestWord(given, model.qualities);
  throw invalid("quality", given, `accepted: ${model.qualities.join(", ")}`, {
    model: model.id,
    accepted: model.qualities,
    nearest: near === undefined ? [] : [near],
  });
}

/** True for a size only retired models accepted (1792x1024 on a 1.x model, …). */
function isRetiredSize(size: string, ctx: NormalizeContext): boolean {
  return ctx.registry.list().some((m) =>
    lifecycleOf(m, ctx.now).state === "retired" && m.sizes.includes(size)
  );
}

/** The size, a retired model's size translated, and whether it is experimental. */
export function pickSize(s: ModelRuleState): { size: string; experimental: boolean } {
  const { model, requested, translatedFrom } = s.resolved;
  const given = s.fields.text("size");
  let size = given ?? model.defaultSize;
  const legacy = translatedFrom
    ? checkSize(requested, size).valid
    : s.ctx.config.legacyModels === "translate" && !checkSize(model, size).valid &&
      isRetiredSize(size, s.ctx);
  if (given !== undefined && legacy) {
    const translated = translateSize(model, size);
    if (translated !== size) {
      s.warnings.push(`Size "${size}" became "${translated}" on ${model.id}`);
    }
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
  if (check.experimental && model.sizeRule !== null) {
    s.warnings.push(
      `Size "${size}" is experimental on ${model.id} (more pixels than ${
        model.sizeRule.experimentalAbovePixels.toLocaleString("en-US")
      })`,
    );
  }
  return { size, experimental: check.experimental };
}

/** The number of images, within the model's range. */
export function pickN(s: ModelRuleState): number {
  const { model } = s.resolved;
  const n = s.fields.integer("n") ?? 1;
  if (n < model.n.min || n > model.n.max) {
    const range = model.n.min === model.n.max
      ? `${model.n.min}`
      : `${model.n.min} to ${model.n.max}`;
    throw invalid("n", n, `accepted: ${range}`, {
      model: model.id,
      nearest: [String(Math.min(Math.max(n, model.n.min), model.n.max))],
    });
  }
  return n;
}

/** The style for a model that takes one; dropped with a warning by the others. */
export function pickStyle(s: ModelRuleState): ChoiceOf<"style"> | undefined {
  const { model } = s.resolved;
  const style = s.fields.choice("style");
  if (style === undefined || model.styles.includes(style)) return style;
  if (model.styles.length > 0) {
    throw invalid("style", style, `accepted: ${model.styles.join(", ")}`, { model: model.id });
  }
  s.warnings.push(dropped("style", style, model.id, "describe the style in the prompt instead"));
  return undefined;
}

/** Warns when a translated request's `response_format` cannot reach the model. */
export function warnResponseFormat(s: ModelRuleState): void {
  const { model, translatedFrom } = s.resolved;
  const format = s.fields.choice("response_format");
  if (format === undefined || model.responseFormats.length > 0 || !translatedFrom) return;
  s.warnings.push(
    `response_format ${
      show(format)
    } is not sent to ${model.id}, which always returns image data: the image is stored and served by this service`,
  );
}

/** The output format (png for models that take none). */
export function pickOutputFormat(s: ModelRuleState): ChoiceOf<"output_format"> {
  const { model } = s.resolved;
  const given = s.fields.choice("output_format");
  if (model.outputFormats.length === 0) {
    if (given !== undefined) {
      s.warnings.push(dropped("output_format", given, model.id, "it always returns PNG"));
    }
    return "png";
  }
  const format = given ?? "png";
  if (!model.outputFormats.includes(format)) {
    throw invalid("output_format", format, `accepted: ${model.outputFormats.join(", ")}`, {
      model: model.id,
    });
  }
  return format;
}

/** The compression, for jpeg and webp on models that take it. */
export function pickCompression(
  s: ModelRuleState,
  format: ChoiceOf<"output_format">,
): number | undefined {
  const { model } = s.resolved;
  const given = s.fields.integer("output_compression");
  if (given === undefined) return undefined;
  if (!model.outputCompression) {
    s.warnings.push(dropped("output_compression", given, model.id, "it returns PNG"));
    return undefined;
  }
  if (format === "png") {
    throw invalid(
      "output_compression",
      given,
      `compression applies to jpeg and webp only (accepted: set output_format to jpeg or webp, or omit output_compression)`,
    );
  }
  return given;
}

/** The background (null for models without one) and whether to send it upstream. */
export function pickBackground(
  s: ModelRuleState,
  format: ChoiceOf<"output_format">,
): { background: ChoiceOf<"background"> | null; send: boolean } {
  const { model } = s.resolved;
  const given = s.fields.choice("background");
  if (model.backgrounds.length === 0) {
    if (given !== undefined) {
      s.warnings.push(dropped("background", given, model.id, "it has no background setting"));
    }
    return { background: null, send: false };
  }
  const background = given ?? "auto";
  if (!model.backgrounds.includes(background)) {
    throw invalid("background", background, `accepted: ${model.backgrounds.join(", ")}`, {
      model: model.id,
    });
  }
  if (background === "transparent" && format === "jpeg") {
    throw invalid(
      "background",
      background,
      `transparency needs output_format png or webp, not jpeg (accepted: opaque, auto)`,
    );
  }
  return { background, send: given !== undefined };
}

/** The moderation level (null where the model or endpoint takes none). */
export function pickModeration(s: ModelRuleState): ChoiceOf<"moderation"> | null {
  const { model } = s.resolved;
  const given = s.fields.choice("moderation");
  if (s.operation === "generate" && model.moderation) return given ?? "auto";
  if (given !== undefined) {
    s.warnings.push(dropped("moderation", given, model.id, "it has no moderation setting"));
  }
  return null;
}

/** Partial previews to stream, within the model's maximum (0 = no streaming). */
export function pickPartialImages(s: ModelRuleState): number {
  const { model } = s.resolved;
  const given = s.fields.integer("partial_images");
  if (given === undefined || given === 0) return 0;
  if (model.maxPartialImages === 0) {
    s.warnings.push(dropped("partial_images", given, model.id, "it does not stream"));
    return 0;
  }
  if (given > model.maxPartialImages) {
    throw invalid("partial_images", given, `accepted: 0 to ${model.maxPartialImages}`, {
      model: model.id,
      nearest: [String(model.maxPartialImages)],
    });
  }
  return given;
}

/** The end-user id (`safety_identifier`, or the deprecated `user`). */
export function pickEndUser(s: RuleState): string | undefined {
  return s.fields.text("safety_identifier") || s.fields.text("user") || undefined;
}

/** The inputs of an edit, checked against what the model takes. */
export interface EditInputs {
  /** Input image references, in order. */
  readonly images: readonly string[];
  /** Mask reference, if any. */
  readonly mask?: string;
  /** Markup overlay reference, if any. */
  readonly markup?: string;
  /** Input fidelity sent upstream, if any. */
  readonly inputFidelity?: ChoiceOf<"input_fidelity">;
}

/** The images, mask, markup and input fidelity of an edit. */
export function pickEditInputs(s: ModelRuleState): EditInputs {
  const { model } = s.resolved;
  const images = s.fields.references("images") ?? [];
  const mask = s.fields.text("mask");
  const markup = s.fields.text("markup");
  if (images.length > model.edits.maxImages) {
    throw new ValidationError(
      "images",
      `Invalid images for ${model.id}: ${images.length} given (accepted: at most ${model.edits.maxImages})`,
      { accepted: `at most ${model.edits.maxImages}` },
    );
  }
  if (mask !== undefined && !model.edits.mask) {
    throw invalid("mask", mask, "this model takes no mask (accepted: omit it)", {
      model: model.id,
    });
  }
  if (markup !== undefined && !model.edits.markup) {
    throw invalid("markup", markup, "this model takes no markup (accepted: omit it)", {
      model: model.id,
    });
  }
  if (markup !== undefined && mask !== undefined) {
    throw invalid("markup", markup, "markup cannot be combined with mask (accepted: one of them)");
  }
  const inputFidelity = pickInputFidelity(s);
  return {
    images: Object.freeze([...images]),
    ...(mask === undefined ? {} : { mask }),
    ...(markup === undefined ? {} : { markup }),
    ...(inputFidelity === undefined ? {} : { inputFidelity }),
  };
}

function pickInputFidelity(s: ModelRuleState): ChoiceOf<"input_fidelity"> | undefined {
  const { model } = s.resolved;
  const given = s.fields.choice("input_fidelity");
  if (given === undefined) return undefined;
  if (model.edits.inputFidelity.length === 0) {
    s.warnings.push(dropped("input_fidelity", given, model.id, "the model omits it"));
    return undefined;
  }
  if (!model.edits.inputFidelity.includes(given)) {
    throw invalid("input_fidelity", given, `accepted: ${model.edits.inputFidelity.join(", ")}`, {
      model: model.id,
      accepted: model.edits.inputFidelity,
    });
  }
  return given;
}
