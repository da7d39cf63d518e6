/**
 * The built-in model registry as plain data: what each OpenAI image model accepts, when it stops
 * working and what it costs. Code never branches on a model name; it reads these records.
 * `MODELS_FILE` adds models, aliases and prices in the same shape (see `models.ts`).
 *
 * Sources: the `openai` npm package's type files (v7.57) and OpenAI's model, deprecation and
 * pricing pages as collected in November and December 2026. Prices OpenAI did not publish stay
 * `null`; figures from third parties, or carried over from a sibling model because the model's
 * own page could not be read, are marked `estimated`.
 *
 * @module
 */

/** Announced lifecycle of a model; dates decide the effective state at run time. */
export type ModelStatus = "current" | "shutdown_announced" | "retired";

/** The size rule of models that accept any `WxH` within limits (gpt-image-2 and later). */
export interface SizeRuleData {
  /** Both sides must be divisible by this. */
  readonly multipleOf: number;
  /** Largest accepted ratio of long side to short side (3 means between 1:3 and 3:1). */
  readonly maxAspectRatio: number;
  /** Largest accepted long side in pixels. */
  readonly maxLongSide: number;
  /** Largest accepted short side in pixels. */
  readonly maxShortSide: number;
  /** Sizes with more pixels than this are accepted with an "experimental" warning. */
  readonly experimentalAbovePixels: number;
}

/** Edit (`/v1/images/edits`) capabilities of a model. */
export interface EditData {
  /** Whether the model edits images at all. */
  readonly supported: boolean;
  /** Most input images per request. */
  readonly maxImages: number;
  /** Whether a `mask` is accepted. */
  readonly mask: boolean;
  /** Accepted `input_fidelity` values; empty means the parameter must be omitted. */
  readonly inputFidelity: readonly string[];
  /** Whether a `markup` overlay is accepted (never together with a mask). */
  readonly markup: boolean;
}

/** USD per 1M tokens; `null` where no figure is known. */
export interface TokenPriceData {
  /** Text input tokens. */
  readonly textInput: number | null;
  /** Image input tokens (edits). */
  readonly imageInput: number | null;
  /** Image output tokens. */
  readonly imageOutput: number | null;
  /** Text output tokens, where a model reports any. */
  readonly textOutput?: number | null;
}

/** Prices of one model, with when and where they were read. */
export interface PriceData {
  /** Date (or month) the figures were last checked, ISO 8601. */
  readonly checkedOn: string | null;
  /** Where the figures come from. */
  readonly source?: string;
  /** True when any figure is a third-party or approximate number rather than OpenAI's list price. */
  readonly estimated?: boolean;
  /** Token prices, for models billed by tokens. */
  readonly tokens: TokenPriceData | null;
  /** List price per image, by quality then size (`"1024x1024"`). */
  readonly perImage: Readonly<Record<string, Readonly<Record<string, number>>>> | null;
}

/** Everything the service needs to know about one model. */
export interface ModelData {
  /** Model family, e.g. `gpt-image-2` for every 2.x model. */
  readonly family: string;
  /** Announced lifecycle. */
  readonly status: ModelStatus;
  /** Day the model stopped working (retired models). */
  readonly retiredOn?: string;
  /** Announced shutdown day (models with a shutdown announced). */
  readonly shutdownOn?: string;
  /** The model OpenAI suggests instead, for retired or retiring models. */
  readonly replacement?: string;
  /** Accepted sizes as a list (`"auto"` included when accepted); with a rule, the standard sizes. */
  readonly sizes: readonly string[];
  /** Rule for arbitrary sizes, or `null` when only the listed sizes are accepted. */
  readonly sizeRule: SizeRuleData | null;
  /** Size used when a request names none. */
  readonly defaultSize: string;
  /** Accepted `quality` values. */
  readonly qualities: readonly string[];
  /** Quality used when a request names none and `DEFAULT_QUALITY` does not apply. */
  readonly defaultQuality: string;
  /** Accepted `output_format` values; empty when the model only returns PNG and takes no format. */
  readonly outputFormats: readonly string[];
  /** Whether `output_compression` (jpeg/webp) is accepted. */
  readonly outputCompression: boolean;
  /** Accepted `background` values; empty when the parameter is not accepted. */
  readonly backgrounds: readonly string[];
  /** Accepted `style` values; empty when the parameter is not accepted. */
  readonly styles: readonly string[];
  /** Accepted `response_format` values; empty for models that always return base64. */
  readonly responseFormats: readonly string[];
  /** Whether `moderation` is accepted. */
  readonly moderation: boolean;
  /** Whether the end-user id is sent as `safety_identifier` (else as the older `user`). */
  readonly safetyIdentifier: boolean;
  /** Accepted number of images per request. */
  readonly n: { readonly min: number; readonly max: number };
  /** Longest accepted prompt in characters. */
  readonly promptMaxChars: number;
  /** Most partial images when streaming; 0 when the model does not stream. */
  readonly maxPartialImages: number;
  /** Whether responses carry a `revised_prompt`. */
  readonly revisedPrompt: boolean;
  /** Edit capabilities. */
  readonly edits: EditData;
  /** Prices. */
  readonly prices: PriceData;
}

const NOTES_SOURCE = "OpenAI pricing page as collected in the project notes (November 2026)";
const CHECKED = "2026-11";
const CHECKED_2X = "2026-12-02";

/**
 * OpenAI's published gpt-image-2 family token prices (USD per 1M): text input $5 (cached $1.25),
 * image input $8 (cached $2), image output $30. Cached input is not billed separately here: usage
 * reports carry no cached split, so cached tokens count at the full rate (a ceiling, not a guess).
 */
const GPT_IMAGE_2X_TOKENS: TokenPriceData = { textInput: 5, imageInput: 8, imageOutput: 30 };

const GPT_IMAGE_2_PRICES: PriceData = {
  checkedOn: CHECKED_2X,
  source: "OpenAI API pricing page for gpt-image-2, as quoted by several pricing guides " +
    "(checked 2026-04-28) and matching the figures the project notes record for gpt-image-2.6",
  tokens: GPT_IMAGE_2X_TOKENS,
  perImage: null,
};

const GPT_IMAGE_26_SUNBURST_PRICES: PriceData = {
  checkedOn: CHECKED_2X,
  source: "OpenAI's gpt-image-2.6-sunburst model page, as collected in the project notes",
  tokens: GPT_IMAGE_2X_TOKENS,
  perImage: null,
};

/** 2.5 models and 2.6 Flare: no page of their own could be read, so the family's prices stand in. */
const GPT_IMAGE_2X_ESTIMATED_PRICES: PriceData = {
  checkedOn: CHECKED_2X,
  source: "gpt-image-2.6-sunburst's published prices (project notes); not confirmed for this model",
  estimated: true,
  tokens: GPT_IMAGE_2X_TOKENS,
  perImage: null,
};

const UNKNOWN_PRICES: PriceData = {
  checkedOn: CHECKED,
  source: "not published",
  tokens: null,
  perImage: null,
};

const GPT_SIZES = ["1024x1024", "1536x1024", "1024x1536", "auto"] as const;

const SIZE_RULE_2X: SizeRuleData = {
  multipleOf: 16,
  maxAspectRatio: 3,
  maxLongSide: 3840,
  maxShortSide: 2160,
  experimentalAbovePixels: 2560 * 1440,
};

const GPT_IMAGE_BASE = {
  sizes: GPT_SIZES,
  sizeRule: null,
  defaultSize: "1024x1024",
  qualities: ["low", "medium", "high", "auto"],
  defaultQuality: "medium",
  outputFormats: ["png", "jpeg", "webp"],
  outputCompression: true,
  backgrounds: ["transparent", "opaque", "auto"],
  styles: [],
  responseFormats: [],
  moderation: true,
  safetyIdentifier: true,
  n: { min: 1, max: 10 },
  promptMaxChars: 32_000,
  maxPartialImages: 3,
  revisedPrompt: false,
} as const;

const GPT_EDITS = { supported: true, maxImages: 16, mask: true, markup: false } as const;

const GPT_IMAGE_1_CAPS = {
  ...GPT_IMAGE_BASE,
  family: "gpt-image-1",
  replacement: "gpt-image-2",
} as const;

const GPT_IMAGE_1X = {
  ...GPT_IMAGE_1_CAPS,
  status: "shutdown_announced",
  shutdownOn: "2026-12-01",
} as const;

const GPT_IMAGE_2 = {
  ...GPT_IMAGE_BASE,
  family: "gpt-image-2",
  status: "current",
  sizeRule: SIZE_RULE_2X,
  edits: { ...GPT_EDITS, inputFidelity: [] },
} as const;

const GPT_IMAGE_25 = {
  ...GPT_IMAGE_2,
  qualities: ["low", "medium", "high", "xhigh", "max", "auto"],
  edits: { ...GPT_EDITS, inputFidelity: [], markup: true },
  prices: GPT_IMAGE_2X_ESTIMATED_PRICES,
} as const;

/** The built-in models, by id. */
export const MODEL_DATA: Readonly<Record<string, ModelData>> = {
  "dall-e-2": {
    family: "dall-e-2",
    status: "retired",
    retiredOn: "2026-05-12",
    replacement: "gpt-image-2",
    sizes: ["256x256", "512x512", "1024x1024"],
    sizeRule: null,
    defaultSize: "1024x1024",
    qualities: ["standard"],
    defaultQuality: "standard",
    outputFormats: [],
    outputCompression: false,
    backgrounds: [],
    styles: [],
    responseFormats: ["url", "b64_json"],
    moderation: false,
    safetyIdentifier: false,
    n: { min: 1, max: 10 },
    promptMaxChars: 1000,
    maxPartialImages: 0,
    revisedPrompt: false,
    edits: { supported: true, maxImages: 1, mask: true, inputFidelity: [], markup: false },
    prices: {
      checkedOn: CHECKED,
      source: NOTES_SOURCE,
      tokens: null,
      perImage: { standard: { "256x256": 0.016, "512x512": 0.018, "1024x1024": 0.02 } },
    },
  },
  "dall-e-3": {
    family: "dall-e-3",
    status: "retired",
    retiredOn: "2026-05-12",
    replacement: "gpt-image-2",
    sizes: ["1024x1024", "1792x1024", "1024x1792"],
    sizeRule: null,
    defaultSize: "1024x1024",
    qualities: ["standard", "hd"],
    defaultQuality: "standard",
    outputFormats: [],
    outputCompression: false,
    backgrounds: [],
    styles: ["vivid", "natural"],
    responseFormats: ["url", "b64_json"],
    moderation: false,
    safetyIdentifier: false,
    n: { min: 1, max: 1 },
    promptMaxChars: 4000,
    maxPartialImages: 0,
    revisedPrompt: true,
    edits: { supported: false, maxImages: 0, mask: false, inputFidelity: [], markup: false },
    prices: {
      checkedOn: CHECKED,
      source: NOTES_SOURCE,
      tokens: null,
      perImage: {
        standard: { "1024x1024": 0.04, "1792x1024": 0.08, "1024x1792": 0.08 },
        hd: { "1024x1024": 0.08, "1792x1024": 0.12, "1024x1792": 0.12 },
      },
    },
  },
  "gpt-image-1": {
    ...GPT_IMAGE_1_CAPS,
    status: "retired",
    retiredOn: "2026-10-23",
    edits: { ...GPT_EDITS, inputFidelity: ["high", "low"] },
    prices: {
      checkedOn: CHECKED,
      source: NOTES_SOURCE,
      tokens: { textInput: 5, imageInput: 10, imageOutput: 40 },
      perImage: {
        low: { "1024x1024": 0.011 },
        medium: { "1024x1024": 0.042 },
        high: { "1024x1024": 0.167 },
      },
    },
  },
  "gpt-image-1-mini": {
    ...GPT_IMAGE_1X,
    edits: { ...GPT_EDITS, inputFidelity: ["low"] },
    prices: {
      checkedOn: CHECKED,
      source: NOTES_SOURCE,
      tokens: { textInput: 2, imageInput: 2.5, imageOutput: 8 },
      perImage: {
        low: { "1024x1024": 0.005 },
        medium: { "1024x1024": 0.011 },
        high: { "1024x1024": 0.036 },
      },
    },
  },
  "gpt-image-1.5": {
    ...GPT_IMAGE_1X,
    edits: { ...GPT_EDITS, inputFidelity: ["high", "low"] },
    prices: {
      checkedOn: CHECKED,
      source: "third-party figures (approximate)",
      estimated: true,
      tokens: { textInput: 5, imageInput: null, imageOutput: 32 },
      perImage: null,
    },
  },
  "chatgpt-image-latest": {
    ...GPT_IMAGE_1X,
    edits: { ...GPT_EDITS, inputFidelity: [] },
    prices: UNKNOWN_PRICES,
  },
  "gpt-image-2": { ...GPT_IMAGE_2, prices: GPT_IMAGE_2_PRICES },
  "gpt-image-2-2026-04-21": { ...GPT_IMAGE_2, prices: GPT_IMAGE_2_PRICES },
  "gpt-image-2.5-sunburst": GPT_IMAGE_25,
  "gpt-image-2.5-sunburst-2026-09-08": GPT_IMAGE_25,
  "gpt-image-2.5-flare": GPT_IMAGE_25,
  "gpt-image-2.5-flare-2026-09-08": GPT_IMAGE_25,
  "gpt-image-2.6-sunburst": { ...GPT_IMAGE_25, prices: GPT_IMAGE_26_SUNBURST_PRICES },
  "gpt-image-2.6-flare": GPT_IMAGE_25,
};

/** Built-in aliases: another name for a model id. */
export const MODEL_ALIASES: Readonly<Record<string, string>> = {
  "latest": "gpt-image-2",
};

/** Qualities of retired models and what they become on GPT image models. */
export const LEGACY_QUALITY_MAP: Readonly<Record<string, string>> = {
  hd: "high",
  standard: "medium",
};
