/**
 * The most a request can cost before it is sent, for confirmations: per-image prices where the
 * model has them, else token prices applied to the largest output the request can produce. Where
 * a needed figure is unknown the ceiling is `null` with the reason — never an invented number.
 *
 * Output tokens per image follow OpenAI's published table for GPT image models at 1024x1024
 * (low 272, medium 1056, high 4160; 1024x1536 and 1536x1024 cost 1.5 times as much, i.e. the
 * count grows with the pixel area). The table is scaled by area for other sizes, which is a
 * ceiling for the published non-square sizes (6240 ≥ 6208 for 1536x1024 high). Qualities above
 * `high` have no published count, so their ceiling is unknown. A partial image costs about 100
 * output tokens more (OpenAI's streaming guide). The prompt is bounded by its UTF-8 bytes, since
 * a token covers at least one byte. Input images of edits are not counted: their size is known
 * only once they are fetched — the figure says so.
 *
 * @module
 */
import { AppError } from "../errors.ts";
import type { ModelInfo } from "./models.ts";
import {
  type NormalizeContext,
  type NormalizedGenerateRequest,
  normalizeEditRequest,
  normalizeGenerateRequest,
} from "./request.ts";

/** Output tokens of one 1024x1024 image by quality (OpenAI's table for GPT image models). */
const OUTPUT_TOKENS_PER_MEGAPIXEL: Readonly<Record<string, number>> = {
  low: 272,
  medium: 1056,
  high: 4160,
};
const MEGAPIXEL = 1024 * 1024;
const TOKENS_PER_PARTIAL_IMAGE = 100;
const PER_MILLION = 1_000_000;

/** The most a request can cost, and the size and quality that cost assumes. */
export interface PriceCeiling {
  /** US dollars at most, or null when a needed figure is unknown. */
  readonly usd: number | null;
  /** The model priced. */
  readonly model: string;
  /** The size priced (the largest one `auto` can pick). */
  readonly size: string;
  /** The quality priced (the dearest one `auto` can pick). */
  readonly quality: string;
  /** Images asked for. */
  readonly n: number;
  /** Why `usd` is null, or what the figure leaves out. */
  readonly reason?: string;
  /** True when the model's prices are not confirmed, or the token count is a scaled estimate. */
  readonly estimated: boolean;
}

function area(size: string): number | null {
  const match = /^(\d+)x(\d+)$/.exec(size);
  return match ? Number(match[1]) * Number(match[2]) : null;
}

function round(usd: number): number {
  return Math.ceil(usd * 1e6) / 1e6;
}

/** The largest concrete size `auto` may stand for on `model` (its largest listed size). */
function largestSize(model: ModelInfo, sizes: readonly string[]): string {
  const concrete = sizes.filter((size) => area(size) !== null);
  if (concrete.length === 0) return model.defaultSize;
  return concrete.reduce((best, size) => area(size)! > area(best)! ? size : best);
}

/** The worst-case cost of `request` on `model`. */
export function priceCeiling(model: ModelInfo, request: NormalizedGenerateRequest): PriceCeiling {
  const { prices } = model;
  const table = prices.perImage;
  const concreteQualities = model.qualities.filter((quality) => quality !== "auto");
  const edits = request.operation === "edit" ? "; input images of the edit are not included" : "";
  if (table !== null) {
    const qualities = request.quality === "auto" ? Object.keys(table) : [request.quality];
    let worst: { usd: number; size: string; quality: string } | null = null;
    for (const quality of qualities) {
      const bySize = Object.hasOwn(table, quality) ? table[quality] : {};
      const sizes = request.size === "auto" ? Object.keys(bySize) : [request.size];
      for (const size of sizes) {
        const usd = Object.hasOwn(bySize, size) ? bySize[size] : undefined;
        if (usd === undefined) continue;
        if (worst === null || usd > worst.usd) worst = { usd, size, quality };
      }
    }
    const base = { model: model.id, n: request.n, estimated: Boolean(prices.estimated) };
    // A size or quality the table lacks falls back to the token prices, when there are some.
    if (worst === null && prices.tokens === null) {
      return {
        ...base,
        usd: null,
        size: request.size,
        quality: request.quality,
        reason: `${model.id} has no per-image price for quality "${request.quality}" at size ` +
          `"${request.size}"`,
      };
    }
    if (worst !== null) {
      return {
        ...base,
        usd: round(worst.usd * request.n),
        size: worst.size,
        quality: worst.quality,
        ...(edits ? { reason: edits.slice(2) } : {}),
      };
    }
  }
  const size = request.size === "auto" ? largestSize(model, model.sizes) : request.size;
  const quality = request.quality === "auto"
    ? concreteQualities.reduce(
      (best, q) =>
        (OUTPUT_TOKENS_PER_MEGAPIXEL[q] ?? Infinity) >
            (OUTPUT_TOKENS_PER_MEGAPIXEL[best] ?? Infinity)
          ? q
          : best,
      concreteQualities[0] ?? "high",
    )
    : request.quality;
  const base = { model: model.id, n: request.n, size, quality };
  const tokens = prices.tokens;
  const perMegapixel = Object.hasOwn(OUTPUT_TOKENS_PER_MEGAPIXEL, quality)
    ? OUTPUT_TOKENS_PER_MEGAPIXEL[quality]
    : undefined;
  const pixels = area(size);
  const unknown = (reason: string): PriceCeiling => ({
    ...base,
    usd: null,
    reason,
    estimated: true,
  });
  if (tokens === null || tokens.imageOutput === null || tokens.textInput === null) {
    return unknown(`the token prices of ${model.id} are unknown`);
  }
  if (perMegapixel === undefined) {
    return unknown(`no output token count is published for quality "${quality}"`);
  }
  if (pixels === null) return unknown(`size "${size}" has no pixel count`);
  const outputTokens = Math.ceil(perMegapixel * pixels / MEGAPIXEL) +
    request.partialImages * TOKENS_PER_PARTIAL_IMAGE;
  const promptTokens = new TextEncoder().encode(request.prompt).length;
  const usd = (outputTokens * request.n * tokens.imageOutput + promptTokens * tokens.textInput) /
    PER_MILLION;
  return {
    ...base,
    usd: round(usd),
    estimated: true,
    ...(edits ? { reason: edits.slice(2) } : {}),
  };
}

/**
 * The worst-case cost of a generation or edit request as a door received it: validated and
 * normalized like the core does (a ValidationError for a bad request), then priced.
 */
export function quoteRequest(
  operation: "generate" | "edit",
  input: unknown,
  ctx: NormalizeContext,
): PriceCeiling {
  const normalize = operation === "edit" ? normalizeEditRequest : normalizeGenerateRequest;
  const { request } = normalize(input, ctx);
  const model = ctx.registry.get(request.model);
  if (!model) {
    throw new AppError(
      "internal",
      `Cannot price request: model ${request.model} is not registered`,
    );
  }
  return priceCeiling(model, request);
}
