/**
 * The one place where failures become HTTP responses. Every route throws an {@link AppError} (or
 * anything else, which becomes `internal`); the app's `onError` picks the status from the error
 * kind and shapes the body for the route family: the predecessor's `{ success: false, error }`
 * on REST routes, OpenAI's `{ error: { message, type, param, code } }` on `/v1`, a JSON-RPC
 * error object for MCP traffic on `/mcp`, and RFC 6749's `{ error, error_description }` on the
 * OAuth token, revocation and registration endpoints.
 *
 * @module
 */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { AppError, type ErrorKind, errorKindInfo, toAppError, ValidationError } from "../errors.ts";
import { getLog } from "../log.ts";
import { DEFAULT_SCOPES, formatScopes } from "../oauth/mod.ts";

/** How a route family shapes its errors. */
export type ErrorStyle = "rest" | "openai" | "jsonrpc" | "oauth";

// The OAuth back-channel endpoints answer every error as RFC 6749 §5.2 JSON.
const OAUTH_PATHS = new Set(["/oauth/token", "/oauth/revoke", "/oauth/register"]);

/** The realm named in `WWW-Authenticate` challenges. */
export const AUTH_REALM = "openai-image-generation";

const log = getLog("http");

/**
 * The error style of a request before its body is read: `/v1` answers as OpenAI does, `/mcp` as
 * JSON-RPC when the client accepts an event stream (every MCP client does), anything else as REST.
 */
export function errorStyleForRequest(path: string, accept: string | undefined): ErrorStyle {
  if (path === "/v1" || path.startsWith("/v1/")) return "openai";
  if (OAUTH_PATHS.has(path)) return "oauth";
  if (path === "/mcp" && (accept ?? "").toLowerCase().includes("text/event-stream")) {
    return "jsonrpc";
  }
  return "rest";
}

/** Turns anything thrown while handling a request into an {@link AppError}. */
export function toHttpAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  if (error instanceof HTTPException) {
    if (error.status === 413) {
      return new AppError("payload_too_large", "Request body too large", { cause: error });
    }
    if (error.status === 400) {
      // Hono's validators throw this for a body that is not valid JSON.
      return new ValidationError("body", `Malformed request body: ${error.message}`);
    }
    if (error.status === 401) return new AppError("unauthorized", error.message, { cause: error });
    if (error.status === 403) return new AppError("forbidden", error.message, { cause: error });
    if (error.status === 404) return new AppError("not_found", error.message, { cause: error });
    if (error.status === 415) {
      // @hono/zod-openapi refuses a JSON route's body sent with another media type.
      return new ValidationError(
        "body",
        "Unsupported Content-Type: send the body as JSON with Content-Type: application/json",
      );
    }
  }
  if (error instanceof SyntaxError) return new MalformedJsonError(error);
  return toAppError(error);
}

const OPENAI_TYPES: Partial<Record<ErrorKind, string>> = {
  unauthorized: "invalid_request_error",
  forbidden: "permission_error",
  not_found: "invalid_request_error",
  rate_limited: "rate_limit_error",
  upstream_rate_limited: "rate_limit_error",
  budget_exceeded: "insufficient_quota",
  upstream_quota: "insufficient_quota",
  moderation_blocked: "image_generation_user_error",
};

const OPENAI_CODES: Partial<Record<ErrorKind, string>> = {
  validation: "invalid_value",
  unauthorized: "invalid_api_key",
  rate_limited: "rate_limit_exceeded",
  upstream_rate_limited: "rate_limit_exceeded",
  payload_too_large: "payload_too_large",
  moderation_blocked: "moderation_blocked",
};

function openAiType(kind: ErrorKind, status: number): string {
  return OPENAI_TYPES[kind] ?? (status >= 500 ? "server_error" : "invalid_request_error");
}

/** A request body that is not JSON at all: on `/mcp` JSON-RPC's parse error (-32700). */
export class MalformedJsonError extends ValidationError {
  /** Wraps the parser's `error`. */
  constructor(error: Error) {
    super("body", `Malformed JSON in request body: ${error.message}`);
  }
}

// JSON-RPC codes: -32700 parse error, -32600 invalid request, -32001 auth (as MCP servers commonly
// use), -32603 internal.
function jsonRpcCode(error: AppError): number {
  const kind = error.kind;
  if (error instanceof MalformedJsonError) return -32700;
  if (kind === "validation" || kind === "payload_too_large") return -32600;
  if (kind === "unauthorized" || kind === "forbidden") return -32001;
  if (kind === "rate_limited") return -32029;
  return -32603;
}

/** Options of {@link errorResponse}. */
export interface ErrorResponseOptions {
  /** Body shape. */
  style: ErrorStyle;
  /** Masks secrets in messages. */
  redact?: (text: string) => string;
  /** The request id, echoed in REST bodies. */
  requestId?: string;
  /**
   * The protected resource metadata URL (RFC 9728) named in `WWW-Authenticate` challenges while
   * OAuth is active, so that an OAuth client finds where to sign in.
   */
  resourceMetadata?: string | undefined;
}

/** The status and body for `error` in `style`. */
export function errorBody(
  error: AppError,
  options: ErrorResponseOptions,
): { status: number; body: Record<string, unknown> } {
  const status = errorKindInfo(error.kind).status;
  const message = (options.redact ?? ((t: string) => t))(error.message);
  if (options.style === "openai") {
    return {
      status,
      body: {
        error: {
          message,
          type: openAiType(error.kind, status),
          param: error.field ?? null,
          code: OPENAI_CODES[error.kind] ?? error.kind,
        },
      },
    };
  }
  if (options.style === "oauth") {
    const error = status >= 500
      ? "server_error"
      : status === 429
      ? "temporarily_unavailable"
      : "invalid_request";
    return { status, body: { error, error_description: message } };
  }
  if (options.style === "jsonrpc") {
    return {
      status,
      body: {
        jsonrpc: "2.0",
        error: { code: jsonRpcCode(error), message, data: { kind: error.kind } },
        id: null,
      },
    };
  }
  const details = publicDetails(error);
  return {
    status,
    body: {
      success: false,
      error: message,
      code: error.kind,
      ...(error.field === undefined ? {} : { field: error.field }),
      ...(error.retryAfterSeconds === undefined
        ? {}
        : { retryAfter: Math.max(1, Math.ceil(error.retryAfterSeconds)) }),
      ...(details === undefined ? {} : { details }),
      ...(options.requestId === undefined ? {} : { requestId: options.requestId }),
    },
  };
}

/** The response for `error` in `style`: status from the kind, `Retry-After`, auth challenge. */
export function errorResponse(
  c: Context,
  error: AppError,
  options: ErrorResponseOptions,
): Response {
  const { status, body } = errorBody(error, options);
  if (error.retryAfterSeconds !== undefined) {
    c.header("Retry-After", String(Math.max(1, Math.ceil(error.retryAfterSeconds))));
  }
  const challenge = bearerChallenge(error, status, options.resourceMetadata);
  if (challenge !== null) c.header("WWW-Authenticate", challenge);
  c.header("Cache-Control", "no-store");
  // Hono's status type only lists codes it knows; 499 (client closed) is sent as is.
  return c.json(body, status as 400);
}

/**
 * The `WWW-Authenticate` challenge of an error (RFC 6750 §3): every 401, and a 403 for an access
 * token without the scope the operation needs; with `resource_metadata` (RFC 9728 §5.1) when
 * OAuth is active.
 */
function bearerChallenge(
  error: AppError,
  status: number,
  resourceMetadata: string | undefined,
): string | null {
  const authError = error.details?.authError;
  const insufficient = status === 403 && authError === "insufficient_scope";
  if (status !== 401 && !insufficient) return null;
  const params = [`realm="${AUTH_REALM}"`];
  if (authError === "invalid_token" || insufficient) params.push(`error="${authError}"`);
  const scope = error.details?.scope;
  if (insufficient && typeof scope === "string") params.push(`scope="${scope}"`);
  if (resourceMetadata !== undefined) {
    // The scopes a client should ask for (MCP: the challenge's scope comes first): all but admin.
    if (!insufficient) params.push(`scope="${formatScopes(DEFAULT_SCOPES)}"`);
    params.push(`resource_metadata="${resourceMetadata}"`);
  }
  return `Bearer ${params.join(", ")}`;
}

function publicDetails(error: AppError): Record<string, unknown> | undefined {
  if (error.details === undefined || error.kind === "internal") return undefined;
  const { authError: _authError, ...rest } = error.details;
  return Object.keys(rest).length === 0 ? undefined : rest;
}

/** Options of {@link createErrorHandler}. */
export interface ErrorHandlerOptions {
  /** Masks secrets in messages and logs. */
  redact: (text: string) => string;
  /** The resource metadata URL for `WWW-Authenticate` while OAuth is active. */
  resourceMetadata?: string | undefined;
}

/** The app's `onError`: logs server-side failures and answers in the request's error style. */
export function createErrorHandler(
  options: ErrorHandlerOptions,
): (error: Error, c: Context) => Response {
  return (error, c) => {
    const appError = toHttpAppError(error);
    const style: ErrorStyle = c.get("errorStyle") ??
      errorStyleForRequest(c.req.path, c.req.header("accept"));
    const requestId: string | undefined = c.get("requestId");
    const status = errorKindInfo(appError.kind).status;
    if (status >= 500) {
      const cause = appError.kind === "internal" ? (appError.cause ?? error) : undefined;
      log.error("{method} {path} failed ({kind}): {message}", {
        method: c.req.method,
        path: c.req.path,
        kind: appError.kind,
        message: options.redact(appError.message),
        ...(cause === undefined ? {} : { error: options.redact(String(errorText(cause))) }),
      });
    } else {
      log.debug("{method} {path} refused ({kind}): {message}", {
        method: c.req.method,
        path: c.req.path,
        kind: appError.kind,
        message: options.redact(appError.message),
      });
    }
    return errorResponse(c, appError, {
      style,
      redact: options.redact,
      requestId,
      resourceMetadata: options.resourceMetadata,
    });
  };
}

function errorText(cause: unknown): string {
  if (cause instanceof Error) return cause.stack ?? `${cause.name}: ${cause.message}`;
  return String(cause);
}

/** The app's `notFound`: a JSON 404 in the request's error style. */
export function notFoundHandler(
  redact: (text: string) => string,
): (c: Context) => Response {
  return (c) =>
    errorResponse(
      c,
      new AppError("not_found", `Not found: no route for ${c.req.method} ${c.req.path}`),
      {
        style: c.get("errorStyle") ?? errorStyleForRequest(c.req.path, c.req.header("accept")),
        redact,
        requestId: c.get("requestId"),
      },
    );
}
