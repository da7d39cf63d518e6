/**
 * Domain errors shared by every door. Each door maps an {@link AppError} to its own answer
 * (MCP `isError` result, HTTP status + body, CLI exit code) through {@link errorKindInfo}.
 *
 * @module
 */

/** Every failure a caller can act on, by kind. */
export type ErrorKind =
  | "validation"
  | "not_found"
  | "unauthorized"
  | "forbidden"
  | "conflict"
  | "rate_limited"
  | "budget_exceeded"
  | "payload_too_large"
  | "moderation_blocked"
  | "upstream_auth"
  | "upstream_verification_required"
  | "model_not_found"
  | "upstream_invalid_request"
  | "upstream_rate_limited"
  | "upstream_quota"
  | "upstream_unavailable"
  | "upstream_timeout"
  | "missing_api_key"
  | "cancelled"
  | "storage"
  | "internal";

/** How a kind is presented: HTTP status, CLI exit code and whether retrying may help. */
export interface ErrorKindInfo {
  /** HTTP status code a REST or /v1 door answers with. */
  readonly status: number;
  /** Process exit code the CLI uses. */
  readonly exitCode: number;
  /** Whether the same request may succeed later without changes. */
  readonly retryable: boolean;
}

const KIND_INFO: Record<ErrorKind, ErrorKindInfo> = {
  validation: { status: 400, exitCode: 2, retryable: false },
  not_found: { status: 404, exitCode: 4, retryable: false },
  unauthorized: { status: 401, exitCode: 5, retryable: false },
  forbidden: { status: 403, exitCode: 5, retryable: false },
  conflict: { status: 409, exitCode: 1, retryable: true },
  rate_limited: { status: 429, exitCode: 6, retryable: true },
  budget_exceeded: { status: 402, exitCode: 6, retryable: false },
  payload_too_large: { status: 413, exitCode: 2, retryable: false },
  moderation_blocked: { status: 400, exitCode: 7, retryable: false },
  upstream_auth: { status: 502, exitCode: 5, retryable: false },
  upstream_verification_required: { status: 502, exitCode: 5, retryable: false },
  model_not_found: { status: 400, exitCode: 2, retryable: false },
  upstream_invalid_request: { status: 400, exitCode: 2, retryable: false },
  upstream_rate_limited: { status: 429, exitCode: 6, retryable: true },
  upstream_quota: { status: 402, exitCode: 6, retryable: false },
  upstream_unavailable: { status: 502, exitCode: 8, retryable: true },
  upstream_timeout: { status: 504, exitCode: 8, retryable: true },
  missing_api_key: { status: 503, exitCode: 5, retryable: false },
  cancelled: { status: 499, exitCode: 130, retryable: true },
  storage: { status: 500, exitCode: 9, retryable: true },
  internal: { status: 500, exitCode: 1, retryable: true },
};

/** Returns status, exit code and retryability of an error kind. */
export function errorKindInfo(kind: ErrorKind): ErrorKindInfo {
  return KIND_INFO[kind];
}

/** All error kinds, for documentation and exhaustive tests. */
export const ERROR_KINDS: readonly ErrorKind[] = Object.freeze(
  Object.keys(KIND_INFO) as ErrorKind[],
);

/** Options of {@link AppError}. */
export interface AppErrorOptions {
  /** The request field at fault, when one is (e.g. `size`, `image[0]`). */
  field?: string;
  /** Seconds after which a retry may succeed (rate limits). */
  retryAfterSeconds?: number;
  /** Extra machine-readable detail (accepted values, moderation categories, …). */
  details?: Record<string, unknown>;
  /** The underlying error. Never shown to callers. */
  cause?: unknown;
}

/** A failure with a kind every door knows how to present, and a message a person can act on. */
export class AppError extends Error {
  /** What went wrong, as one of {@link ErrorKind}. */
  readonly kind: ErrorKind;
  /** The request field at fault, if any. */
  readonly field?: string;
  /** Seconds until a retry may succeed, if known. */
  readonly retryAfterSeconds?: number;
  /** Extra machine-readable detail. */
  readonly details?: Record<string, unknown>;

  /** Creates an error of `kind` with a sentence-case message without a trailing period. */
  constructor(kind: ErrorKind, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "AppError";
    this.kind = kind;
    if (options.field !== undefined) this.field = options.field;
    if (options.retryAfterSeconds !== undefined) {
      this.retryAfterSeconds = options.retryAfterSeconds;
    }
    if (options.details !== undefined) this.details = options.details;
  }

  /** HTTP status for this error. */
  get status(): number {
    return KIND_INFO[this.kind].status;
  }

  /** A JSON-safe view for responses: never includes the cause. */
  toJSON(): Record<string, unknown> {
    return {
      kind: this.kind,
      message: this.message,
      ...(this.field === undefined ? {} : { field: this.field }),
      ...(this.retryAfterSeconds === undefined
        ? {}
        : { retryAfterSeconds: this.retryAfterSeconds }),
      ...(this.details === undefined ? {} : { details: this.details }),
    };
  }
}

/** A bad request field: names the field, the bad value and what is accepted. */
export class ValidationError extends AppError {
  /** Creates a validation error for `field`. */
  constructor(field: string, message: string, details?: Record<string, unknown>) {
    super("validation", message, { field, ...(details ? { details } : {}) });
    this.name = "ValidationError";
  }
}

/** Wraps anything thrown into an {@link AppError}; unknown errors become `internal`. */
export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  if (error instanceof DOMException && error.name === "AbortError") {
    return new AppError("cancelled", "The request was cancelled", { cause: error });
  }
  return new AppError("internal", "Internal error: see the server log for details", {
    cause: error,
  });
}

/** True when `error` is an {@link AppError} of one of `kinds`. */
export function isErrorKind(error: unknown, ...kinds: ErrorKind[]): error is AppError {
  return error instanceof AppError && kinds.includes(error.kind);
}
