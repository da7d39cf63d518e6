/**
 * The upstream is not trusted to be sane: a broken or hostile OpenAI-compatible server may send
 * more images than asked, image data without end, or usage figures that would bill a caller for
 * millions of tokens. These bounds keep what it sends to what was asked for.
 *
 * @module
 */
import { AppError } from "../errors.ts";
import { getLog } from "../log.ts";
import type { ImageUsage } from "./pricing.ts";

const log = getLog("generation", "upstream");

/**
 * Largest decoded image accepted from the upstream: 64 MiB, several times the largest PNG the
 * Images API makes (3840x2160).
 */
export const MAX_UPSTREAM_IMAGE_BYTES = 64 * 1024 * 1024;

/** Most tokens one asked-for image may account for in any usage figure. */
export const MAX_TOKENS_PER_IMAGE = 1_000_000;

/** The error for an image over `limit` bytes (decoded). */
export function imageTooLarge(what: string, limit: number): AppError {
  return new AppError(
    "upstream_unavailable",
    `The image API sent ${what} larger than ${Math.round(limit / 1024 / 1024)} MiB: refused ` +
      "(check OPENAI_BASE_URL points at a working Images API)",
    { details: { limit } },
  );
}

/** Throws {@link imageTooLarge} when base64 text `b64` decodes to more than `limit` bytes. */
export function checkBase64Size(b64: string, what: string, limit: number): void {
  if (Math.floor(b64.length / 4) * 3 > limit + 3) throw imageTooLarge(what, limit);
}

/** Logs a warning when the upstream sent `sent` images where `n` were asked for. */
export function noteExtraImages(sent: number, n: number): void {
  if (sent <= n) return;
  log.warning("The image API sent {sent} images where {n} were asked for; kept the first {n}", {
    sent,
    n,
  });
}

/** The first `n` of `images`; a warning says when the upstream sent more than asked. */
export function keepAsked<T>(images: readonly T[], n: number): T[] {
  noteExtraImages(images.length, n);
  return images.slice(0, n);
}

const TOKEN_FIELDS = ["input_tokens", "output_tokens", "total_tokens"] as const;
const DETAIL_FIELDS = ["text_tokens", "image_tokens"] as const;

type Counts = Record<string, number>;

function counts(
  source: unknown,
  fields: readonly string[],
  max: number,
  where: string,
): Counts | string {
  if (typeof source !== "object" || source === null || Array.isArray(source)) {
    return `${where} is not an object`;
  }
  const out: Counts = {};
  for (const field of fields) {
    const value = (source as Record<string, unknown>)[field];
    if (value === undefined || value === null) continue;
    if (!Number.isSafeInteger(value) || (value as number) < 0 || (value as number) > max) {
      return `${where}${field} is ${JSON.stringify(value)} (accepted: 0 to ${max})`;
    }
    out[field] = value as number;
  }
  return out;
}

/**
 * The usage of a call that asked for `n` images, keeping only the figures pricing reads, or
 * undefined — with a warning — when any figure is not a whole number from 0 to
 * `n` × {@link MAX_TOKENS_PER_IMAGE}: the cost is then priced per image instead.
 */
export function believableUsage(usage: unknown, n: number): ImageUsage | undefined {
  if (usage === undefined || usage === null) return undefined;
  const max = Math.max(1, n) * MAX_TOKENS_PER_IMAGE;
  const top = counts(usage, TOKEN_FIELDS, max, "usage.");
  const raw = usage as Record<string, unknown>;
  const parts: Record<string, Counts | string> = {};
  for (const key of ["input_tokens_details", "output_tokens_details"] as const) {
    if (raw?.[key] !== undefined && raw?.[key] !== null) {
      parts[key] = counts(raw[key], DETAIL_FIELDS, max, `usage.${key}.`);
    }
  }
  const problem = [top, ...Object.values(parts)].find((part) => typeof part === "string");
  if (problem !== undefined) {
    log.warning(
      "The image API reported usage this service does not believe: {problem}; the " +
        "cost is priced per image instead",
      { problem },
    );
    return undefined;
  }
  return { ...top as Counts, ...parts as Record<string, Counts> } as ImageUsage;
}
