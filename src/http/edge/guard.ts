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
import { formatBytes } from "../../format_bytes.ts";
import { bodyClassOf, type BodyLimit, bodyRules, mediaTypeOf } from "./body_rules.ts";
import { requestBaseUrl } from "../client_ip.ts";
import { hostRule, type OriginConfig, originRule, parseHostHeader } from "./origins.ts";

/** Settings the guard reads. */
export type EdgeConfig =
  & OriginConfig
  & Pick<Config, "maxBodyBytes" | "maxUploadBytes" | "trustProxy">;

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
const HOST_EXEMPT = new Set(["/health"]);
// OAuth endpoints that servers and single-page apps call cross-origin: they take no cookies and
// act on nothing but the credentials in the request, so a hostile page gains nothing by calling
// them (the consent form, `/oauth/authorize`, keeps the Origin rule and its form token).
const ORIGIN_EXEMPT = new Set(["/oauth/token", "/oauth/revoke", "/oauth/register"]);

function tooLarge(limit: BodyLimit): AppError {
  return new AppError(
    "payload_too_large",
    `Request body too large: this route takes at most ${
      formatBytes(limit.maxBytes, { exact: true })
    } (${limit.maxBytes} bytes; ${limit.setting})`,
    { details: { limitBytes: limit.maxBytes } },
  );
}

function hasBody(request: Request): boolean {
  const length = request.headers.get("content-length");
  if (length !== null) return length.trim() !== "0";
  return request.body !== null;
}

/**
 * The host name a request is addressed to, as each of its Host headers says: the request's own,
 * and behind a trusted proxy the forwarded one (the name the browser used, when the proxy
 * rewrites Host to its upstream address).
 */
function namedHosts(request: Request, url: URL, trustProxy: boolean): string[] {
  const names = [request.headers.get("host") ?? url.host];
  const forwarded = trustProxy ? request.headers.get("x-forwarded-host") : null;
  if (forwarded !== null) names.push(forwarded.split(",")[0].trim());
  return names;
}

/**
 * Reads what is left of an unread body and throws away its bytes; the counting stream in front of
 * it ends the read past the limit. Errors other than the limit are the client's and ignored.
 */
async function drain(body: ReadableStream<Uint8Array>): Promise<void> {
  try {
    for await (const _ of body) {
      // Discarded: only the count matters.
    }
  } catch {
    // The limit (recorded by the counter) or a broken connection: nothing to read either way.
  }
}

/** Middleware applying the edge rules of `config` (see the module documentation). */
export function edgeGuard(config: EdgeConfig): MiddlewareHandler {
  const hostAllowed = hostRule(config);
  const originAllowed = originRule(config);
  const rules = bodyRules(config);
  return async function edgeGuardMiddleware(c, next) {
    const request = c.req.raw;
    // Deno builds the URL from the Host header: one that names no host makes no URL.
    const url = URL.parse(request.url);
    if (url === null) {
      throw new ValidationError(
        "host",
        `Invalid Host header ${
          JSON.stringify((request.headers.get("host") ?? "").slice(0, 100))
        }: expected a host name or address with an optional port`,
      );
    }
    // The decoded path the router matches, so `/v1/images/%65dits` is judged as the edit route.
    const path = c.req.path;
    if (hostAllowed !== null && !HOST_EXEMPT.has(path)) {
      for (const header of namedHosts(request, url, config.trustProxy)) {
        const host = parseHostHeader(header);
        if (host === null || !hostAllowed(host.name)) {
          throw new AppError(
            "forbidden",
            `Host ${JSON.stringify(header.slice(0, 100))} is not allowed: requests must name ` +
              "this service (set PUBLIC_BASE_URL or MCP_ALLOWED_HOSTS to add a name)",
          );
        }
      }
    }
    if (SAFE_METHODS.has(request.method)) return await next();

    const origin = request.headers.get("origin");
    const site = request.headers.get("sec-fetch-site");
    if (ORIGIN_EXEMPT.has(path)) {
      // No Origin rule: see ORIGIN_EXEMPT.
    } else if (origin !== null) {
      // Behind a trusted proxy the page's origin is the forwarded scheme and host (validated
      // above), not the address the proxy called.
      const own = config.trustProxy
        ? new URL(requestBaseUrl(c, { trustProxy: true, publicBaseUrl: undefined })).origin
        : url.origin;
      if (!originAllowed(origin, own)) {
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
    const rule = rules[bodyClassOf(path)];
    const type = mediaTypeOf(request.headers.get("content-type") ?? undefined);
    if (type !== "" && !rule.accepts(type)) {
      throw new ValidationError(
        "content-type",
        `Unsupported Content-Type ${JSON.stringify(type.slice(0, 100))}: this route accepts ${
          rule.accepted.join(", ")
        }`,
      );
    }
    const limit = rule.limit(type);
    const declared = request.headers.get("content-length");
    if (declared !== null && Number(declared) > limit.maxBytes) throw tooLarge(limit);
    if (request.body === null) return await next();

    let seen = 0;
    let ended = false;
    let tripped: AppError | null = null;
    const counted = request.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          seen += chunk.byteLength;
          if (seen > limit.maxBytes) {
            tripped ??= tooLarge(limit);
            controller.error(tripped);
            return;
          }
          controller.enqueue(chunk);
        },
        flush() {
          ended = true;
        },
      }),
    );
    c.req.raw = new Request(request, { body: counted, duplex: "half" } as RequestInit);
    await next();
    // A body of undeclared length that the route did not read to its end (no such route, refused
    // before parsing, or only peeked at through a clone) may still be over the limit: the rest is
    // read to the limit and discarded, so the answer to an oversized body is 413 on every path,
    // and never more than the limit is read.
    const rest = c.req.raw.body;
    // A request refused for a limit before its body was read (an upload beyond its caller's
    // in-flight slots) is not read afterwards either: not reading it is what the refusal is for.
    if (c.res.status === 429) return;
    if (tripped === null && !ended && declared === null && rest !== null && !rest.locked) {
      await drain(rest);
    }
    // A route that read past the limit saw its body fail (often reported as malformed): the
    // answer is the limit, whatever the route made of it.
    if (tripped !== null) throw tripped;
  };
}
