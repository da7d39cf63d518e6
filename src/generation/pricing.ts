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
