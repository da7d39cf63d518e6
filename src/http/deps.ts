/**
 * What the HTTP app needs from the rest of the service, and the per-request variables its
 * middleware hands to the routes. Collaborators come in as parameters: tests pass an in-memory KV,
 * a fake ImageService and a fixed clock.
 *
 * @module
 */
import type { Context } from "hono";
import type { Config } from "../config.ts";
import type { ImageService } from "../core_types.ts";
import type { Principal } from "../core_types.ts";
import type { CleanupReport, ImageStats, UnknownFiles } from "../images/mod.ts";
import type { Limiter } from "../ratelimit/mod.ts";
import type { ServiceMetrics } from "../metrics.ts";
import type { ErrorStyle } from "./errors.ts";
import type { HttpOAuth } from "./oauth/wiring.ts";

/** What a cleanup run reports, in the predecessor's shape (the retention report minus reconcile). */
export type CleanupResults = Omit<CleanupReport, "reconcile">;

/** The predecessor's image statistics and cleanup, as `/admin/images/*` serve them. */
export interface RetentionApi {
  /** Catalog statistics (count, sizes, oldest and newest file, averages). */
  stats(): Promise<ImageStats>;
  /** Files in the images folder the store did not write (reported, never touched). */
  unknownFiles(): Promise<UnknownFiles>;
  /** Runs the retention policy now; with `dryRun` reports what would be deleted. */
  cleanup(options: { dryRun: boolean }): Promise<CleanupResults>;
}

/** A readiness check: resolves when healthy, throws (with a reason) when not. */
export type ReadinessCheck = () => Promise<void>;

/** Collaborators of {@link createApp}. */
export interface AppDeps {
  /** Resolved settings. */
  readonly config: Config;
  /** The core: the only way the app touches images. */
  readonly images: ImageService;
  /** KV for auth keys, limits and the URL-signing secret. */
  readonly kv: Deno.Kv;
  /** Metrics registry the app records into and serves. */
  readonly metrics: ServiceMetrics;
  /** Clock, epoch milliseconds (default `Date.now`). */
  readonly now?: () => number;
  /** Limits bound to `kv` (default: `createLimiter(kv, { limits: config, now })`). */
  readonly limiter?: Limiter;
  /** Statistics and cleanup for `/admin/images/*`. */
  readonly retention: RetentionApi;
  /** Extra readiness checks for `/ready`, by name (e.g. `store`: the image store is writable). */
  readonly readinessChecks?: Readonly<Record<string, ReadinessCheck>>;
  /**
   * Streamable-HTTP MCP handler for `/mcp`: receives JSON-RPC POSTs (the parsed body is in
   * `c.get("parsedBody")`, the raw body has been read), `Accept: text/event-stream` GETs and
   * DELETEs, after authentication (`c.get("principal")`) and the request limit.
   */
  readonly mcpHandler?: (c: Context<HttpEnv>) => Promise<Response>;
  /** Masks secrets in error text (default: masks the configured secrets and API-key shapes). */
  readonly redact?: (text: string) => string;
  /**
   * OAuth while it is active: access tokens accepted beside API keys, `WWW-Authenticate` naming
   * the resource metadata, the discovery documents and the built-in server's endpoints.
   */
  readonly oauth?: HttpOAuth | undefined;
}

/** Per-request variables set by the app's middleware. */
export interface HttpVariables {
  /** The request id (also in the `X-Request-Id` response header). */
  requestId: string;
  /** The caller, once authentication has run. */
  principal: Principal;
  /** How errors of this request are shaped. */
  errorStyle: ErrorStyle;
  /** The parsed JSON body of a JSON-RPC POST on `/mcp`. */
  parsedBody: unknown;
}

/** Connection information Deno.serve passes as the second handler argument. */
export interface HttpBindings {
  /** The peer's address (absent under `app.request()` unless a test passes it). */
  remoteAddr?: { hostname?: string; port?: number; transport?: string };
}

/** The Hono environment of the app. */
export interface HttpEnv {
  /** Per-request variables. */
  Variables: HttpVariables;
  /** Connection information. */
  Bindings: HttpBindings;
}
