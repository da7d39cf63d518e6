/**
 * Request ids: a well-formed `X-Request-Id` from the client (or a proxy) is kept, anything else is
 * replaced by a fresh UUID. The id is echoed in the response, handed to routes as
 * `c.get("requestId")`, and attached to every log record made while the request runs.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { getLog, withLogContext } from "../../log.ts";
import type { HttpEnv } from "../deps.ts";

/** Header carrying the request id both ways. */
export const REQUEST_ID_HEADER = "X-Request-Id";

const WELL_FORMED = /^[A-Za-z0-9._:@+=-]{1,128}$/;

/** True when `value` may be used as a request id as sent. */
export function isWellFormedRequestId(value: string | undefined): value is string {
  return value !== undefined && WELL_FORMED.test(value);
}

/** Options of {@link requestId}. */
export interface RequestIdOptions {
  /** Makes a new id (default `crypto.randomUUID`). */
  generate?: () => string;
}

/** Middleware assigning the request id and the log context of each request. */
export function requestId(options: RequestIdOptions = {}): MiddlewareHandler<HttpEnv> {
  const generate = options.generate ?? (() => crypto.randomUUID());
  const log = getLog("http");
  return async function requestIdMiddleware(c, next) {
    const given = c.req.header(REQUEST_ID_HEADER);
    const id = isWellFormedRequestId(given) ? given : generate();
    c.set("requestId", id);
    const started = performance.now();
    await withLogContext({ requestId: id }, async () => {
      await next();
      c.header(REQUEST_ID_HEADER, id);
      log.debug("{method} {path} {status} in {ms} ms", {
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms: Math.round(performance.now() - started),
      });
    });
  };
}
