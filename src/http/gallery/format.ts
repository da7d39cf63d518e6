/**
 * Small text formatters of the gallery pages: money, ages, sizes, stage names, and the words
 * shown for each error kind (a title and what to do about it).
 *
 * @module
 */
import type { JobStage } from "../../core_types.ts";
import type { ErrorKind } from "../../errors.ts";

export { formatBytes } from "../../format_bytes.ts";

/** A cost in US dollars, or an em dash when unknown. */
export function formatUsd(usd: number | null | undefined): string {
  if (usd === null || usd === undefined || !Number.isFinite(usd)) return "—";
  if (usd === 0) return "$0";
  return `$${usd < 0.01 ? usd.toFixed(4) : usd.toFixed(3)}`;
}

/** How long ago `then` was, relative to `now`, in short words (`just now`, `5 min ago`). */
export function formatAge(then: number, now: number): string {
  const seconds = Math.max(0, Math.round((now - then) / 1000));
  if (seconds < 45) return "just now";
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 24) return `${hours} h ago`;
  const days = Math.round(hours / 24);
  if (days < 45) return days === 1 ? "yesterday" : `${days} days ago`;
  const months = Math.round(days / 30);
  if (months < 18) return `${months} months ago`;
  return `${Math.round(days / 365)} years ago`;
}

/** A duration in seconds as `7 s` or `2 min 05 s`. */
export function formatSeconds(totalSeconds: number): string {
  const s = Math.max(0, Math.floor(totalSeconds));
  if (s < 60) return `${s} s`;
  return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
}

/** An epoch-millisecond time as `2026-11-20 12:00 UTC`. */
export function formatTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/** A thumbnail's pixel size: the image scaled to fit `side` (square when the size is unknown). */
export function fitWithin(
  width: number,
  height: number,
  side = 256,
): { width: number; height: number } {
  if (!(width > 0 && height > 0)) return { width: side, height: side };
  const scale = Math.min(1, side / Math.max(width, height));
  return {
    width: Math.max(1, Math.round(width * scale)),
    height: Math.max(1, Math.round(height * scale)),
  };
}

const STAGE_LABELS: Record<JobStage, string> = {
  queued: "Queued",
  waiting_for_upstream_budget: "Waiting for the upstream budget",
  generating: "Generating",
  partial_image: "Receiving previews",
  storing: "Saving",
  done: "Done",
};

/** The words shown for a job stage. */
export function stageLabel(stage: JobStage): string {
  return STAGE_LABELS[stage] ?? stage;
}

/** What a failure looks like to a person: a title and what to do next. */
export interface ErrorDescription {
  /** A short title. */
  readonly title: string;
  /** What to do about it. */
  readonly hint: string;
}

/** Title and hint for an error of `kind`, with the retry delay when one is known. */
export function describeError(
  kind: string,
  options: { retryAfterSeconds?: number | undefined } = {},
): ErrorDescription {
  const retry = options.retryAfterSeconds;
  const when = retry !== undefined && retry > 0
    ? `Try again in ${formatSeconds(Math.ceil(retry))}.`
    : "Try again in a little while.";
  switch (kind as ErrorKind) {
    case "moderation_blocked":
      return {
        title: "Blocked by content moderation",
        hint:
          "The prompt or image was refused by OpenAI's safety system. Rephrase the prompt and try again.",
      };
    case "rate_limited":
      return { title: "Rate limit reached", hint: `You have made too many requests. ${when}` };
    case "upstream_rate_limited":
      return {
        title: "OpenAI rate limit reached",
        hint: `OpenAI is busy for this account. ${when}`,
      };
    case "budget_exceeded":
      return {
        title: "Monthly budget used up",
        hint: "The spending limit for your key has been reached. Ask an administrator to raise it.",
      };
    case "upstream_quota":
      return {
        title: "OpenAI quota or billing limit reached",
        hint: "The OpenAI account has no credit left. An administrator needs to check its billing.",
      };
    case "missing_api_key":
      return {
        title: "No OpenAI API key configured",
        hint: "An administrator needs to set OPENAI_API_KEY and restart the service.",
      };
    case "upstream_auth":
      return {
        title: "OpenAI refused the API key",
        hint:
          "The configured OPENAI_API_KEY is invalid or revoked. An administrator needs to replace it.",
      };
    case "upstream_verification_required":
      return {
        title: "Organization verification required",
        hint: "OpenAI requires the organization to be verified before this model can be used.",
      };
    case "validation":
    case "upstream_invalid_request":
    case "model_not_found":
      return { title: "The request was not accepted", hint: "Check the fields and try again." };
    case "payload_too_large":
      return { title: "The request is too large", hint: "Use a shorter prompt or smaller images." };
    case "upstream_unavailable":
      return { title: "OpenAI is unavailable", hint: when };
    case "upstream_timeout":
      return {
        title: "OpenAI took too long",
        hint: "Try a lower quality or a smaller size, or try again later.",
      };
    case "cancelled":
      return { title: "Cancelled", hint: "The generation was cancelled; nothing was stored." };
    case "unauthorized":
      return { title: "Sign-in required", hint: "Sign in with an API key to continue." };
    case "forbidden":
      // Also an expired form or another key's image, not only a missing role.
      return { title: "Not allowed", hint: "The service refused this for the reason below." };
    case "not_found":
      return { title: "Not found", hint: "It may have been deleted or never existed." };
    case "conflict":
      return { title: "Conflict", hint: when };
    case "storage":
      return { title: "The image could not be stored", hint: when };
    default:
      return { title: "Something went wrong", hint: "The server log has the details." };
  }
}
