/**
 * The edge guard: the first thing every request meets, before authentication and before any body
 * is parsed. It refuses
 *
 * - a Host that is not the service's own (DNS rebinding) — every route but `/health`;
 * - a request that changes something (any method but GET, HEAD, OPTIONS) from a page whose Origin
 *   is not allowed, or that a browser marks as cross-site without saying from where;
 * - a body of a media type its route does not take — so a JSON API never accepts the
 *   `text/plain`, form or multipart bodies a cross-site page can send without a CORS preflight;
 * - a body over its route's limit, by its declared length or, for chunked and unlabelled bodies,
 *   while it streams in: at most the limit is ever read.
 *
 * Whether auth is on does not matter: a keyless local instance is exactly what a hostile page
 * would try to drive.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import type { Config } from "../../config.ts";
import { AppError, ValidationError } from "../../errors.ts";
import { formatBytes } from "../../images/catalog.ts";
import { bodyClassOf, type BodyRule, bodyRules, mediaTypeOf } from "./body_rules.ts";
import { hostRule, type OriginConfig, originRule, parseHostHeader } from "./origins.ts";

/** Settings the guard reads. */
export type EdgeConfig = OriginConfig & Pick<Config, "maxBodyBytes" | "maxUploadBytes">;

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
const HOST_EXEMPT = new Set(["/health"]);

function tooLarge(rule: BodyRule): AppError {
  return new AppError(
    "payload_too_large",
    `Request body too large: this route takes at most ${
      formatBytes(rule.maxBytes)
    } (${rule.maxBytes} bytes; ${rule.setting})`,
    { details: { limitBytes: rule.maxBytes } },
  );
}

function hasBody(request: Request): boolean {
  const length = request.headers.get("content-length");
  if (length !== null) return length.trim() !== "0";
  return request.body !== null;
}

/** Middleware applying the edge rules of `config` (see the module documentation). */
export function edgeGuard(config: EdgeConfig): MiddlewareHandler {
  const hostAllowed = hostRule(config);
  const originAllowed = originRule(config);
  const rules = bodyRules(config);
  return async function edgeGuardMiddleware(c, next) {
    const request = c.req.raw;
    const url = new URL(request.url);
    if (hostAllowed !== null && !HOST_EXEMPT.has(url.pathname)) {
      const header = request.headers.get("host") ?? url.host;
      const host = parseHostHeader(header);
      if (host === null || !hostAllowed(host.name)) {
        throw new AppError(
          "forbidden",
          `Host ${JSON.stringify(header.slice(0, 100))} is not allowed: requests must name this ` +
            "service (set PUBLIC_BASE_URL or MCP_ALLOWED_HOSTS to add a name)",
        );
      }
    }
    if (SAFE_METHODS.has(request.method)) return await next();

    const origin = request.headers.get("origin");
    const site = request.headers.get("sec-fetch-site");
    if (origin !== null) {
      if (!originAllowed(origin, url.origin)) {
        throw new AppError(
          "forbidden",
          `Origin ${JSON.stringify(origin.slice(0, 100))} is not allowed: pages of other sites ` +
            "may not call this service (list trusted origins in MCP_ALLOWED_ORIGINS or CORS_ORIGINS)",
        );
      }
    } else if (site === "cross-site" || site === "same-site") {
      throw new AppError(
        "forbidden",
        `Cross-site request refused: the browser marked it ${site} and sent no Origin`,
      );
    }

    if (!hasBody(request)) return await next();
    const rule = rules[bodyClassOf(url.pathname)];
    const type = mediaTypeOf(request.headers.get("content-type") ?? undefined);
    if (type !== "" && !rule.accepts(type)) {
      throw new ValidationError(
        "content-type",
        `Unsupported Content-Type ${JSON.stringify(type.slice(0, 100))}: this route accepts ${
          rule.accepted.join(", ")
        }`,
      );
    }
    const declared = request.headers.get("content-length");
    if (declared !== null && Number(declared) > rule.maxBytes) throw tooLarge(rule);
    if (request.body === null) return await next();

    let seen = 0;
    let tripped: AppError | null = null;
    const counted = request.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          seen += chunk.byteLength;
          if (seen > rule.maxBytes) {
            tripped ??= tooLarge(rule);
            controller.error(tripped);
            return;
          }
          controller.enqueue(chunk);
        },
      }),
    );
    c.req.raw = new Request(request, { body: counted, duplex: "half" } as RequestInit);
    await next();
    // A route that read past the limit saw its body fail (often reported as malformed): the
    // answer is the limit, whatever the route made of it.
    if (tripped !== null) throw tripped;
  };
}
