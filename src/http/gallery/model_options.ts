/**
 * The generate form's choices, read from the model registry: per model the sizes, qualities,
 * output formats and backgrounds it accepts, how many partial images it can stream and how many
 * images one request may ask for. The page renders the default model's choices; the inline data
 * lets the script swap them when another model is picked.
 *
 * @module
 */
import { lifecycleOf, type ModelRegistry, parseSize } from "../../generation/mod.ts";

/** A `<option>`: value and label. */
export type Choice = readonly [value: string, label: string];

/** What the form offers for one model. */
export interface ModelChoices {
  /** Model id. */
  readonly id: string;
  /** Label in the model picker. */
  readonly label: string;
  /** Listed sizes. */
  readonly sizes: readonly Choice[];
  /** Size selected at first. */
  readonly defaultSize: string;
  /** Whether any `WxH` within a rule is accepted (a free-form size field is shown). */
  readonly customSize: boolean;
  /** The size rule in words, when there is one. */
  readonly sizeHint: string;
  /** Qualities. */
  readonly qualities: readonly Choice[];
  /** Quality selected at first. */
  readonly defaultQuality: string;
  /** Output formats (empty: the model takes no format). */
  readonly formats: readonly Choice[];
  /** Backgrounds (empty: the model takes no background). */
  readonly backgrounds: readonly Choice[];
  /** Most partial images the model streams. */
  readonly maxPartialImages: number;
  /** Most images per request offered by the form. */
  readonly maxImages: number;
}

/** Most images one form submission may ask for (the API allows more; the page shows up to 4). */
export const FORM_MAX_IMAGES = 4;

const WORDS: Record<string, string> = {
  auto: "Auto",
  low: "Low",
  medium: "Medium",
  high: "High",
  xhigh: "Extra high",
  max: "Max",
  standard: "Standard",
  hd: "HD",
  png: "PNG",
  jpeg: "JPEG",
  webp: "WebP",
  opaque: "Opaque",
  transparent: "Transparent",
};

function word(value: string): string {
  return WORDS[value] ?? value;
}

function sizeLabel(size: string): string {
  if (size === "auto") return "Auto";
  const parsed = parseSize(size);
  if (parsed === null) return size;
  const shape = parsed.width === parsed.height
    ? "square"
    : parsed.width > parsed.height
    ? "landscape"
    : "portrait";
  return `${parsed.width} × ${parsed.height} (${shape})`;
}

/** The form's choices for every model that is not retired on `now`, and the one to preselect. */
export function modelChoices(
  registry: ModelRegistry,
  options: { now: Date; defaultModel: string; defaultQuality: string },
): { models: ModelChoices[]; defaultModel: string } {
  const ids = registry.availableIds(options.now);
  const models = ids.map((id): ModelChoices => {
    const model = registry.get(id)!;
    const life = lifecycleOf(model, options.now);
    const rule = model.sizeRule;
    return {
      id,
      label: life.state === "shutdown_announced" && life.date
        ? `${id} (retiring ${life.date})`
        : id,
      sizes: model.sizes.map((size) => [size, sizeLabel(size)] as const),
      defaultSize: model.defaultSize,
      customSize: rule !== null,
      sizeHint: rule === null
        ? ""
        : `Any width × height with both sides divisible by ${rule.multipleOf}, aspect ratio up to ${rule.maxAspectRatio}:1, at most ${rule.maxLongSide} × ${rule.maxShortSide}`,
      qualities: model.qualities.map((q) => [q, word(q)] as const),
      defaultQuality: model.qualities.includes(options.defaultQuality)
        ? options.defaultQuality
        : model.defaultQuality,
      formats: model.outputFormats.map((f) => [f, word(f)] as const),
      backgrounds: model.backgrounds.map((b) => [b, word(b)] as const),
      maxPartialImages: model.maxPartialImages,
      maxImages: Math.max(1, Math.min(FORM_MAX_IMAGES, model.n.max)),
    };
  });
  const preferred = registry.get(options.defaultModel)?.id;
  const defaultModel = preferred !== undefined && ids.includes(preferred)
    ? preferred
    : (ids[0] ?? options.defaultModel);
  return { models, defaultModel };
}
