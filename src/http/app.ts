/**
 * The HTTP service as one Hono app built by {@link createApp}: request ids, the edge guard (hosts,
 * origins, media types, body limits — before auth and parsing), security headers,
 * CORS, metrics, then the route families — the predecessor's REST API, the OpenAI-compatible
 * `/v1`, image files, admin — and the OpenAPI document with Swagger UI. Errors of every route
 * become responses in one `onError`. Tests drive it with `app.request()`; `src/main_http.ts`
 * serves `app.fetch`.
 *
 * @module
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { createLimiter } from "../ratelimit/mod.ts";
import { createRedactor } from "../log.ts";
import type { AppDeps, HttpEnv } from "./deps.ts";
import { createErrorHandler, errorStyleForRequest, notFoundHandler } from "./errors.ts";
import { edgeGuard } from "./edge/guard.ts";
import { cors } from "./middleware/cors.ts";
import { requireAuth } from "./middleware/auth.ts";
import { httpMetrics } from "./middleware/metrics.ts";
import { requestId } from "./middleware/request_id.ts";
import { securityHeaders } from "./middleware/security_headers.ts";
import { openApiDocument, registerDocsRoutes, registerSecuritySchemes } from "./openapi.ts";
import type { RouteContext } from "./route_context.ts";
import { registerAdminRoutes } from "./routes/admin.ts";
import { registerOAuthRoutes } from "./oauth/routes.ts";
import { registerImageRoutes } from "./routes/images.ts";
import { registerLegacyRoutes } from "./routes/legacy.ts";
import { registerV1Routes } from "./routes/v1.ts";
import { UrlSigner } from "../images/mod.ts";
import { validationErrorOf } from "./validation.ts";
import { systemClock } from "../clock.ts";

export type {
  AppDeps,
  CleanupResults,
  HttpBindings,
  HttpEnv,
  HttpVariables,
  ReadinessCheck,
  RetentionApi,
} from "./deps.ts";

/** The app type {@link createApp} returns. */
export type HttpApp = OpenAPIHono<HttpEnv>;

/** Builds the HTTP app over `deps`. Nothing is read or opened until a request arrives. */
export function createApp(deps: AppDeps): HttpApp {
  const { config } = deps;
  const now = deps.now ?? systemClock;
  const limiter = deps.limiter ?? createLimiter(deps.kv, { limits: config, now });
  const redact = deps.redact ??
    createRedactor([
      config.openaiApiKey,
      config.azureApiKey,
      config.mcpAuthToken,
      config.kvAccessToken,
    ]);
  const ctx: RouteContext = {
    config,
    images: deps.images,
    kv: deps.kv,
    metrics: deps.metrics,
    now,
    limiter,
    redact,
    signer: new UrlSigner(deps.kv, { now, ttlSeconds: config.imageUrlTtlSeconds }),
    auth: { config, kv: deps.kv, now, verifyAccessToken: deps.oauth?.verifyAccessToken },
    requestLimit: { limiter, metrics: deps.metrics },
    retention: deps.retention,
    readinessChecks: deps.readinessChecks ?? {},
    mcpHandler: deps.mcpHandler,
  };

  const app = new OpenAPIHono<HttpEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        throw validationErrorOf(result.error, result.target === "json" ? "body" : result.target);
      }
    },
  });
  app.onError(createErrorHandler({ redact, resourceMetadata: deps.oauth?.resourceMetadataUrl }));
  app.notFound(notFoundHandler(redact));

  app.use(
    "*",
    requestId(),
    edgeGuard(config),
    securityHeaders({ keepRouteHeaders: true }),
    cors(config.corsOrigins),
    httpMetrics(deps.metrics),
    async function errorStyleMiddleware(c, next) {
      c.set("errorStyle", errorStyleForRequest(c.req.path, c.req.header("accept")));
      await next();
    },
  );

  registerSecuritySchemes(app);
  if (!config.metricsPublic) {
    // The Prometheus text includes spend per key: like /admin/metrics, admins only once auth is
    // on (a no-op while it is off); METRICS_PUBLIC opens it for a scraper on a private network.
    app.use("/metrics", requireAuth(ctx.auth, { role: "admin", style: "rest" }));
  }
  registerLegacyRoutes(app, ctx);
  registerV1Routes(app, ctx);
  registerImageRoutes(app, ctx);
  registerAdminRoutes(app, ctx);
  if (deps.oauth !== undefined) registerOAuthRoutes(app, ctx, deps.oauth);
  registerDocsRoutes(app, () => openApiDocument(app));
  return app;
}
