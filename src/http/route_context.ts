/**
 * What every route module receives: the app's collaborators with defaults filled in, plus the
 * pieces built once per app (URL signer, auth and limit contexts).
 *
 * @module
 */
import type { Context } from "hono";
import type { Config } from "../config.ts";
import type { Caller, Door, ImageRecord, ImageService } from "../core_types.ts";
import type { Limiter } from "../ratelimit/mod.ts";
import type { ServiceMetrics } from "../metrics.ts";
import { requestBaseUrl } from "./client_ip.ts";
import type { AppDeps, HttpEnv, ReadinessCheck, RetentionApi } from "./deps.ts";
import type { AuthContext } from "./middleware/auth.ts";
import type { RequestLimitContext } from "./middleware/rate_limit.ts";
import { imagePath, readableImageUrl, type UrlSigner } from "../images/mod.ts";

/** The resolved collaborators shared by the route modules. */
export interface RouteContext {
  /** Resolved settings. */
  readonly config: Config;
  /** The core. */
  readonly images: ImageService;
  /** KV for keys, limits and secrets. */
  readonly kv: Deno.Kv;
  /** Metrics. */
  readonly metrics: ServiceMetrics;
  /** Clock, epoch milliseconds. */
  readonly now: () => number;
  /** Limits. */
  readonly limiter: Limiter;
  /** Masks secrets in text. */
  readonly redact: (text: string) => string;
  /** Signs image URLs when images are not public. */
  readonly signer: UrlSigner;
  /** Authentication settings and KV. */
  readonly auth: AuthContext;
  /** Request-limit collaborators. */
  readonly requestLimit: RequestLimitContext;
  /** Statistics and cleanup. */
  readonly retention: RetentionApi;
  /** Extra readiness checks. */
  readonly readinessChecks: Readonly<Record<string, ReadinessCheck>>;
  /** The MCP-over-HTTP handler, when mounted. */
  readonly mcpHandler: AppDeps["mcpHandler"];
}

/** The authenticated caller of a request, as the core takes it. */
export function callerOf(c: Context<HttpEnv>, door: Door): Caller {
  return { principal: c.get("principal"), door };
}

/**
 * The absolute URL of `record`'s file (or thumbnail) as the client reached the service; signed
 * and expiring when `IMAGES_PUBLIC=false`.
 */
export async function imageUrl(
  ctx: RouteContext,
  c: Context<HttpEnv>,
  record: Pick<ImageRecord, "fileName">,
  options: { thumb?: boolean } = {},
): Promise<string> {
  return await readableImageUrl(ctx.signer, {
    base: requestBaseUrl(c, ctx.config),
    path: imagePath(record.fileName, options.thumb ?? false),
    imagesPublic: ctx.config.imagesPublic,
  });
}
