/**
 * Deterministic fault injection for the fake: the fault names, how they are written
 * (`[fault:NAME]` or `[fault:NAME=VALUE]` in a prompt, the same text in `setFault`, the
 * `x-fake-openai-fault` header or `POST /_control/fault`), and the OpenAI error each one answers.
 *
 * @module
 */

import { type ApiError, invalidRequest } from "./models.ts";

/** Every fault the fake can inject, besides the timing faults `latency=MS` and `slow=MS`. */
export const FAULT_NAMES = [
  "rate_limit",
  "rate_limit_once",
  "quota",
  "moderation",
  "unauthorized",
  "org_verification",
  "billing",
  "server_error",
  "overloaded",
  "malformed_json",
  "reset",
  "hang",
  "stream_error",
  "stream_cut",
] as const;

/**
 * Faults that answer 200 with a broken body instead of an error: more images than asked
 * (`extra_images=K`, default 2), image data of `huge_image=MB` megabytes (default 80), usage figures
 * no real call reports (`absurd_usage`), bytes that are no image (`undecodable_image`). Kept apart
 * from {@link FAULT_NAMES}, whose every fault is an error answer.
 */
export const ANSWER_FAULT_NAMES = [
  "extra_images",
  "huge_image",
  "absurd_usage",
  "undecodable_image",
] as const;

/**
 * A fault name, `latency` (waits, then answers normally) or `slow` (answers normally over the
 * given time: a stream's events, partial images included, spread evenly across it).
 */
export type FaultName =
  | typeof FAULT_NAMES[number]
  | typeof ANSWER_FAULT_NAMES[number]
  | "latency"
  | "slow";

const TIMING_FAULTS = ["latency", "slow"] as const;

/** A parsed fault. */
export interface Fault {
  /** Which fault. */
  readonly name: FaultName;
  /** The text after `=`, if any (latency milliseconds, moderation categories). */
  readonly value?: string;
}

/** Parses `NAME` or `NAME=VALUE`; throws a TypeError for an unknown fault. */
export function parseFault(text: string): Fault {
  const [name, ...rest] = text.trim().split("=");
  const value = rest.length > 0 ? rest.join("=") : undefined;
  if ((TIMING_FAULTS as readonly string[]).includes(name)) {
    if (value === undefined || !/^\d+$/.test(value)) {
      throw new TypeError(`Cannot parse fault: ${name} needs milliseconds, e.g. "${name}=1500"`);
    }
    return { name: name as FaultName, value };
  }
  const known = [...FAULT_NAMES, ...ANSWER_FAULT_NAMES] as readonly string[];
  if (!known.includes(name)) {
    throw new TypeError(`Cannot parse fault: unknown fault "${name}"`);
  }
  return value === undefined ? { name: name as FaultName } : { name: name as FaultName, value };
}

const MARKER = /\[fault:([a-z_]+(?:=[^\]]*)?)\]/g;

/** Returns the faults marked in a prompt, in order; unknown markers are ignored. */
export function faultsInText(text: string): Fault[] {
  const faults: Fault[] = [];
  for (const match of text.matchAll(MARKER)) {
    try {
      faults.push(parseFault(match[1]));
    } catch {
      // An unknown marker is just prompt text.
    }
  }
  return faults;
}

/** How an answer fault (see {@link ANSWER_FAULT_NAMES}) changes a successful answer. */
export interface AnswerShape {
  /** Images sent beyond the n asked for. */
  readonly extraImages: number;
  /** When above 0, the first image's data is this many bytes of zeros instead of the image. */
  readonly hugeBytes: number;
  /** Usage figures are replaced by impossible ones. */
  readonly absurdUsage: boolean;
  /** Image data is bytes that are no image. */
  readonly undecodable: boolean;
}

/** Usage no real call reports: negative, astronomically large, not a number. */
export const ABSURD_USAGE = Object.freeze({
  input_tokens: -5,
  input_tokens_details: { text_tokens: "many", image_tokens: 1e300 },
  output_tokens: 1e15,
  total_tokens: 1e15,
});

/** Bytes the fake sends for `undecodable_image`: no image format starts like this. */
export const UNDECODABLE_BYTES = new TextEncoder().encode(
  "this is not an image, just text ".repeat(8),
);

/** The answer shape of `fault` (a plain answer for every other fault and for none). */
export function answerShape(fault: string | null): AnswerShape {
  const parsed = fault === null ? null : parseFault(fault);
  const number = (fallback: number) =>
    parsed?.value !== undefined && /^\d+$/.test(parsed.value) ? Number(parsed.value) : fallback;
  return {
    extraImages: parsed?.name === "extra_images" ? number(2) : 0,
    hugeBytes: parsed?.name === "huge_image" ? number(80) * 1024 * 1024 : 0,
    absurdUsage: parsed?.name === "absurd_usage",
    undecodable: parsed?.name === "undecodable_image",
  };
}

/** Returns the milliseconds of a `latency` fault, 0 for any other. */
export function latencyOf(fault: Fault): number {
  return fault.name === "latency" ? Number(fault.value) : 0;
}

/** Returns the milliseconds of a `slow` fault, 0 for any other. */
export function slowOf(fault: Fault): number {
  return fault.name === "slow" ? Number(fault.value) : 0;
}

/** True for `latency` and `slow`, which change when the answer comes, not what it is. */
export function isTimingFault(fault: Fault): boolean {
  return (TIMING_FAULTS as readonly string[]).includes(fault.name);
}

/** Context an error answer may mention. */
export interface FaultContext {
  /** Model of the request, when known. */
  readonly model: string | null;
  /** Delay suggested by `retry-after` / `retry-after-ms` on 429. */
  readonly retryAfterMs: number;
  /** The request id sent in `x-request-id`. */
  readonly requestId: string;
}

/** An error answer: body fields and extra response headers. */
export interface FaultAnswer {
  /** The error to send. */
  readonly error: ApiError;
  /** Headers to add (e.g. `retry-after`). */
  readonly headers: Record<string, string>;
}

/** Returns the HTTP error answer of a fault, or null for faults that are not plain errors. */
export function faultAnswer(fault: Fault, context: FaultContext): FaultAnswer | null {
  const model = context.model ?? "gpt-image-2";
  const retryHeaders = {
    "retry-after": String(Math.max(1, Math.ceil(context.retryAfterMs / 1000))),
    "retry-after-ms": String(context.retryAfterMs),
  };
  switch (fault.name) {
    case "rate_limit":
    case "rate_limit_once":
      return {
        error: {
          status: 429,
          message:
            `Rate limit reached for ${model} in organization org-fake on images per min (IPM): Limit 5, Used 5, Requested 1. Please try again in ${
              (context.retryAfterMs / 1000).toFixed(1)
            }s. Visit https://platform.openai.com/account/rate-limits to learn more.`,
          type: "requests",
          param: null,
          code: "rate_limit_exceeded",
        },
        headers: retryHeaders,
      };
    case "quota":
      return {
        error: {
          status: 429,
          message:
            "You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.",
          type: "insufficient_quota",
          param: null,
          code: "insufficient_quota",
        },
        headers: {},
      };
    case "moderation": {
      const categories = fault.value ? fault.value.split(",").filter(Boolean) : ["violence"];
      return {
        error: {
          status: 400,
          message:
            `Your request was rejected by the safety system. If you believe this is an error, contact us at help.openai.com and include the request ID ${context.requestId}. safety_violations=[${
              categories.join(", ")
            }].`,
          type: "image_generation_user_error",
          param: null,
          code: "moderation_blocked",
          extra: { moderation_details: { categories } },
        },
        headers: {},
      };
    }
    case "unauthorized":
      return {
        error: invalidRequest(
          "Incorrect API key provided: sk-fake***. You can find your API key at https://platform.openai.com/account/api-keys.",
          { code: "invalid_api_key", status: 401 },
        ),
        headers: {},
      };
    case "org_verification":
      return {
        error: invalidRequest(
          `Your organization must be verified to use the model \`${model}\`. Please go to: https://platform.openai.com/settings/organization/general and click on Verify Organization. If you just verified, it can take up to 15 minutes for access to propagate.`,
          { status: 403 },
        ),
        headers: {},
      };
    case "billing":
      return {
        error: {
          status: 400,
          message: "Billing hard limit has been reached.",
          type: "billing_limit_user_error",
          param: null,
          code: "billing_hard_limit_reached",
        },
        headers: {},
      };
    case "server_error":
    case "stream_error":
      return {
        error: {
          status: 500,
          message:
            `The server had an error while processing your request. Sorry about that! You can retry your request, or contact us through our help center at help.openai.com if the error persists. (Please include the request ID ${context.requestId} in your message.)`,
          type: "server_error",
          param: null,
          code: null,
        },
        headers: {},
      };
    case "overloaded":
      return {
        error: {
          status: 503,
          message: "The engine is currently overloaded, please try again later.",
          type: "server_error",
          param: null,
          code: null,
        },
        headers: {},
      };
    default:
      return null;
  }
}
