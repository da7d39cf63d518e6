/**
 * Cost of a generation in USD, from the registry's prices: by tokens when OpenAI reports usage,
 * else by the per-image list price. When a needed figure is unknown the cost is `null` with the
 * reason — never an invented number.
 *
 * @module
 */
import type { ModelData } from "./model_data.ts";

/** Token usage as OpenAI reports it (`usage` of an images response or completed event). */
export interface ImageUsage {
  /** All input tokens (text and image). */
  readonly input_tokens?: number;
  /** Split of the input tokens. */
  readonly input_tokens_details?: {
    readonly text_tokens?: number;
    readonly image_tokens?: number;
  };
  /** All output tokens. */
  readonly output_tokens?: number;
  /** Split of the output tokens, when reported. */
  readonly output_tokens_details?: {
    readonly text_tokens?: number;
    readonly image_tokens?: number;
  };
  /** Input plus output. */
  readonly total_tokens?: number;
}

/** A cost figure and how it was reached. */
export interface CostEstimate {
  /** Cost in USD, or null when a needed price is unknown. */
  readonly usd: number | null;
  /** Why `usd` is null, or a note on an estimated figure. */
  readonly reason?: string;
  /** Whether tokens or per-image prices were used. */
  readonly basis: "tokens" | "per_image";
  /** True when the prices used are third-party or approximate figures. */
  readonly estimated?: boolean;
  /** When the prices were last checked. */
  readonly checkedOn?: string | null;
}

/** What was generated, for {@link estimateCost}. */
export interface CostInput {
  /** Usage reported by OpenAI, if any. */
  readonly usage?: ImageUsage | null;
  /** Quality of the images. */
  readonly quality: string;
  /** Size of the images (`WxH` or `auto`). */
  readonly size: string;
  /** Number of images. */
  readonly n: number;
}

const PER_MILLION = 1_000_000;

function round(usd: number): number {
  return Math.round(usd * 1e6) / 1e6;
}

function tokenCost(model: ModelData & { id?: string }, usage: ImageUsage): CostEstimate {
  const prices = model.prices.tokens;
  const name = model.id ?? model.family;
  const base = {
    basis: "tokens" as const,
    checkedOn: model.prices.checkedOn,
    ...(model.prices.estimated ? { estimated: true } : {}),
  };
  if (prices === null) {
    return { usd: null, reason: `token prices of ${name} are unknown`, ...base };
  }
  const input = usage.input_tokens ?? 0;
  const imageIn = usage.input_tokens_details?.image_tokens ?? 0;
  const textIn = usage.input_tokens_details?.text_tokens ?? Math.max(input - imageIn, 0);
  const output = usage.output_tokens ?? 0;
  const textOut = usage.output_tokens_details?.text_tokens ?? 0;
  const imageOut = usage.output_tokens_details?.image_tokens ?? Math.max(output - textOut, 0);
  const parts: [number, number | null | undefined, string][] = [
    [textIn, prices.textInput, "text input"],
    [imageIn, prices.imageInput, "image input"],
    [imageOut, prices.imageOutput, "image output"],
    [textOut, prices.textOutput, "text output"],
  ];
  let usd = 0;
  for (const [tokens, price, label] of parts) {
    if (tokens <= 0) continue;
    if (price === null || price === undefined) {
      return { usd: null, reason: `the ${label} token price of ${name} is unknown`, ...base };
    }
    usd += tokens * price / PER_MILLION;
  }
  return {
    usd: round(usd),
    ...(model.prices.estimated
      ? { reason: `estimated from ${model.prices.source ?? "approximate prices"}` }
      : {}),
    ...base,
  };
}

function perImageCost(model: ModelData & { id?: string }, input: CostInput): CostEstimate {
  const name = model.id ?? model.family;
  const base = {
    basis: "per_image" as const,
    checkedOn: model.prices.checkedOn,
    ...(model.prices.estimated ? { estimated: true } : {}),
  };
  const table = model.prices.perImage;
  if (table === null) {
    return {
      usd: null,
      reason: `no usage was reported and ${name} has no per-image price`,
      ...base,
    };
  }
  const byQuality = Object.hasOwn(table, input.quality) ? table[input.quality] : undefined;
  const price = byQuality && Object.hasOwn(byQuality, input.size)
    ? byQuality[input.size]
    : undefined;
  if (price === undefined) {
    return {
      usd: null,
      reason:
        `${name} has no per-image price for quality "${input.quality}" at size "${input.size}"`,
      ...base,
    };
  }
  return { usd: round(price * input.n), ...base };
}

/**
 * Cost in USD of one request on `model`: token prices when usage is reported, else per-image
 * prices; `usd: null` with a reason when a needed price is unknown.
 */
export function estimateCost(model: ModelData & { id?: string }, input: CostInput): CostEstimate {
  if (input.usage && model.prices.tokens !== null) return tokenCost(model, input.usage);
  if (model.prices.perImage !== null || !input.usage) return perImageCost(model, input);
  return tokenCost(model, input.usage);
}

/**
 * True when every figure `model` can be billed by is known: all token prices, or (for per-image
 * models) a per-image table. Budgets count an unpriced generation as $0.
 */
export function isFullyPriced(model: ModelData): boolean {
  const { tokens, perImage } = model.prices;
  if (tokens === null) return perImage !== null;
  return [tokens.textInput, tokens.imageInput, tokens.imageOutput].every((usd) => usd !== null);
}

/**
 * Output tokens of one 1024x1024 image per quality, as OpenAI documents them for its token-billed
 * image models; other sizes scale with their area. Qualities not listed count as the largest.
 */
const OUTPUT_TOKENS_PER_1024_SQUARE: Readonly<Record<string, number>> = {
  low: 272,
  medium: 1056,
  high: 4160,
  xhigh: 8320,
  max: 16640,
};

/** Extra output tokens OpenAI bills per partial image. */
const PARTIAL_IMAGE_TOKENS = 100;

/** Input tokens assumed per input image of an edit (its size is not known before it is read). */
const INPUT_IMAGE_TOKENS = 6_000;

/** What a request asks for, as far as its price depends on it (see {@link worstCaseCost}). */
export interface WorstCaseInput {
  /** Quality (`auto` counts as the model's most expensive). */
  readonly quality: string;
  /** `WxH`, or `auto` (counts as the model's largest size). */
  readonly size: string;
  /** Number of images. */
  readonly n: number;
  /** Characters of the prompt (a token is at least one character). */
  readonly promptChars: number;
  /** Input images of an edit (mask included). */
  readonly inputImages: number;
  /** Partial images streamed. */
  readonly partialImages: number;
}

function pixelsOf(size: string): number | null {
  const match = /^(\d+)x(\d+)$/.exec(size);
  return match ? Number(match[1]) * Number(match[2]) : null;
}

function largestPixels(model: ModelData): number {
  if (model.sizeRule) return model.sizeRule.maxLongSide * model.sizeRule.maxShortSide;
  return Math.max(1024 * 1024, ...model.sizes.map((size) => pixelsOf(size) ?? 0));
}

/** True when {@link worstCaseCost} has a price to count (it answers 0 for a model with none). */
export function hasWorstCase(model: ModelData): boolean {
  return model.prices.tokens?.imageOutput != null || model.prices.perImage !== null;
}

/**
 * The most a request on `model` can cost in USD, reserved from a budget before the upstream call
 * and replaced by the real cost afterwards: the quality's output tokens scaled to the size (the
 * largest quality and size for `auto`), partial images, and every prompt character and input
 * image counted at input prices. 0 when the model's prices are unknown (budgets cannot count it).
 */
export function worstCaseCost(model: ModelData, input: WorstCaseInput): number {
  const tokens = model.prices.tokens;
  if (tokens !== null && tokens.imageOutput !== null) {
    const qualities = input.quality === "auto" ? model.qualities : [input.quality];
    const perSquare = Math.max(
      ...qualities.map((q) =>
        OUTPUT_TOKENS_PER_1024_SQUARE[q] ??
          Math.max(...Object.values(OUTPUT_TOKENS_PER_1024_SQUARE))
      ),
    );
    const pixels = pixelsOf(input.size) ?? largestPixels(model);
    const output = Math.ceil(perSquare * pixels / (1024 * 1024)) * input.n +
      PARTIAL_IMAGE_TOKENS * input.partialImages * input.n;
    const usd = output * tokens.imageOutput / PER_MILLION +
      input.promptChars * (tokens.textInput ?? 0) / PER_MILLION +
      input.inputImages * INPUT_IMAGE_TOKENS * (tokens.imageInput ?? tokens.imageOutput) /
        PER_MILLION;
    return round(usd);
  }
  const table = model.prices.perImage;
  if (table === null) return 0;
  const byQuality = Object.hasOwn(table, input.quality) ? table[input.quality] : undefined;
  const exact = byQuality && Object.hasOwn(byQuality, input.size)
    ? byQuality[input.size]
    : undefined;
  const highest = Math.max(0, ...Object.values(table).flatMap((bySize) => Object.values(bySize)));
  return round((exact ?? highest) * input.n);
}
