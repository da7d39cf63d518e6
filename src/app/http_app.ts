/**
 * The composition root of the HTTP service: {@link createHttpApp} builds the whole app — edge
 * guard, REST, `/v1`, images, admin, docs, the `/mcp` endpoint and the gallery — over the running
 * core. `src/http_door.ts` serves it and every test that needs the whole app builds it here, so
 * they cannot drift apart. `src/app/` is the only place that imports both the HTTP door
 * (`src/http/`) and the MCP server (`src/mcp/`).
 *
 * @module
 */
import { type Clock, systemClock } from "../clock.ts";
import {
  builtInOAuth,
  createApp,
  createConsentFlow,
  createGalleryApp,
  externalOAuth,
  type HttpApp,
  readyProbeKey,
} from "../http/mod.ts";
import type { ClientMetadataResolver } from "../oauth/mod.ts";
import { probeKvWrite } from "../kv/mod.ts";
import { imagePath, readableImageUrl, runCleanup, UrlSigner } from "../images/mod.ts";
import type { LoggingHandle } from "../log.ts";
import type { Services } from "../services.ts";
import { createMcpEndpoint } from "./mcp_endpoint.ts";

/** Options of {@link createHttpApp}. */
export interface HttpAppOptions {
  /** Logging handle: log forwarding to MCP clients and the redactor of error text. */
  logging?: Pick<LoggingHandle, "addListener" | "redact">;
  /** Clock, epoch milliseconds (default: the system clock); the one the services were built with. */
  now?: Clock;
  /** Resolves OAuth Client ID Metadata Document URLs (tests: a resolver that trusts a local CA). */
  resolveClientMetadata?: ClientMetadataResolver;
}

/** The whole HTTP app plus what outlives a request: the stateful MCP sessions. */
export interface ComposedHttpApp extends AsyncDisposable {
  /** The app; serve `app.fetch` or drive it with `app.request()`. */
  readonly app: HttpApp;
  /** Stateful MCP sessions open in this process (idle ones are closed first). */
  openMcpSessions(): Promise<number>;
  /** Waits until the ends of MCP tasks started here are recorded (before the KV closes). */
  drainMcpTasks(): Promise<void>;
}

/** Builds the whole HTTP app over `services`; dispose it to end open MCP sessions. */
export function createHttpApp(services: Services, options: HttpAppOptions = {}): ComposedHttpApp {
  const { config, images, kv, store, metrics, limiter } = services;
  const { logging } = options;
  // One clock for every part of the door: links signed by one part are checked by another.
  const now = options.now ?? systemClock;
  const mcp = createMcpEndpoint({
    config,
    images,
    kv,
    registry: services.registry,
    ...(logging ? { logging } : {}),
    now,
  });
  // OAUTH_ISSUER names an external authorization server; else the service is its own.
  const oauth = externalOAuth(config, { now }) ?? builtInOAuth(config, {
    kv,
    now,
    resolveClientMetadata: options.resolveClientMetadata,
  });
  const retentionLimits = {
    retentionDays: config.retentionDays,
    maxCount: config.maxImageCount,
    maxBytes: config.maxImageBytes,
    // Files adopted from the predecessor are deleted by a policy only while cleanup is enabled.
    deleteAdopted: config.cleanupEnabled,
  };
  const app = createApp({
    config,
    images,
    kv,
    metrics,
    limiter,
    now,
    retention: {
      stats: () => store.catalog.stats(),
      unknownFiles: () => store.unknownFiles(),
      cleanup: ({ dryRun }) => runCleanup({ store }, { ...retentionLimits, dryRun }),
    },
    readinessChecks: {
      catalog: () => probeKvWrite(store.catalog.kv, readyProbeKey()),
      store: () => store.probeWrite(),
    },
    mcpHandler: (c) => mcp.handle(c),
    ...(logging ? { redact: logging.redact } : {}),
    oauth,
  });
  // The gallery is a sub-app on `/`; page URLs of images are relative, signed when not public.
  const signer = new UrlSigner(kv, { now, ttlSeconds: config.imageUrlTtlSeconds });
  app.route(
    "/",
    createGalleryApp({
      config,
      images,
      registry: services.registry,
      kv,
      ...(logging ? { redact: logging.redact } : {}),
      now,
      oauthConsent: oauth?.authorizationServer
        ? createConsentFlow(oauth, { kv, now, authToken: config.mcpAuthToken })
        : undefined,
      imageUrl: (record, kind) =>
        readableImageUrl(signer, {
          base: "",
          path: imagePath(record.fileName, kind === "thumb"),
          imagesPublic: config.imagesPublic,
        }),
    }),
  );
  return {
    app,
    openMcpSessions: () => mcp.openSessions(),
    drainMcpTasks: () => mcp.drainTasks(),
    [Symbol.asyncDispose]: () => mcp[Symbol.asyncDispose](),
  };
}
