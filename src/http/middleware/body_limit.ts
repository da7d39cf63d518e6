/**
 * Request body limits: `MAX_BODY_BYTES` for JSON (and anything else), `MAX_UPLOAD_BYTES` for
 * multipart uploads. A body over the limit is refused with 413 before it is parsed — by its
 * declared `Content-Length`, or while it streams in when no length is declared.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { bodyLimit as honoBodyLimit } from "hono/body-limit";
import { AppError } from "../../errors.ts";
import { formatBytes } from "../../mcp/results.ts";

/** Options of {@link bodyLimit}. */
export interface BodyLimitOptions {
  /** Largest JSON (or other non-multipart) body, in bytes. */
  maxBodyBytes: number;
  /** Largest `multipart/form-data` body, in bytes. */
  maxUploadBytes: number;
}

function tooLarge(limit: number, what: string): never {
  throw new AppError(
    "payload_too_large",
    `Request body too large: ${what} may be at most ${formatBytes(limit)} (${limit} bytes)`,
    { details: { limitBytes: limit } },
  );
}

/** Middleware enforcing the body limits by content type. */
export function bodyLimit(options: BodyLimitOptions): MiddlewareHandler {
  const json = honoBodyLimit({
    maxSize: options.maxBodyBytes,
    onError: () => tooLarge(options.maxBodyBytes, "a JSON body (MAX_BODY_BYTES)"),
  });
  const multipart = honoBodyLimit({
    maxSize: options.maxUploadBytes,
    onError: () => tooLarge(options.maxUploadBytes, "an upload (MAX_UPLOAD_BYTES)"),
  });
  return function bodyLimitMiddleware(c, next) {
    const type = c.req.header("content-type")?.toLowerCase() ?? "";
    return (type.startsWith("multipart/form-data") ? multipart : json)(c, next);
  };
}
