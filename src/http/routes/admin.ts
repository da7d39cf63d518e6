/**
 * Admin endpoints (role `admin`): the predecessor's `/admin/metrics`, `/admin/images/stats` and
 * `/admin/images/cleanup`, plus API keys (`/admin/keys`) and per-key usage (`/admin/usage`).
 * Status codes follow the predecessor: 401 for a missing or malformed token, 403 for a wrong one
 * and for a key without the admin role.
 *
 * @module
 */
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { createApiKey, listApiKeys, revokeApiKey } from "../../auth/mod.ts";
import type { HttpEnv } from "../deps.ts";
import { requireAuth } from "../middleware/auth.ts";
import { requestLimit } from "../middleware/rate_limit.ts";
import type { RouteContext } from "../route_context.ts";
import { parseJson, parseOrThrow } from "../validation.ts";
import {
  CleanupBodySchema,
  CleanupResponseSchema,
  CreatedKeySchema,
  CreateKeyBodySchema,
  IdParamSchema,
  ImageStatsResponseSchema,
  KeyListSchema,
  MetricsJsonSchema,
  RestErrorSchema,
  RevokedKeySchema,
  UsageResponseSchema,
} from "../schemas.ts";

const errorContent = { "application/json": { schema: RestErrorSchema } };
const bearer = [{ bearerAuth: [] }];
const adminErrors = {
  401: { description: "Missing or malformed token", content: errorContent },
  403: { description: "Wrong token, or a key without the admin role", content: errorContent },
  429: { description: "Request limit reached", content: errorContent },
};

function json<S extends z.ZodType>(schema: S, description: string) {
  return { description, content: { "application/json": { schema } } };
}

const metricsRoute = createRoute({
  method: "get",
  path: "/admin/metrics",
  tags: ["Admin"],
  summary: "Metrics as JSON (counters, gauges, histograms with percentiles)",
  security: bearer,
  responses: { 200: json(MetricsJsonSchema, "Metrics"), ...adminErrors },
});

const statsRoute = createRoute({
  method: "get",
  path: "/admin/images/stats",
  tags: ["Admin"],
  summary: "Image store statistics and the cleanup policy",
  security: bearer,
  responses: { 200: json(ImageStatsResponseSchema, "Statistics"), ...adminErrors },
});

const cleanupRoute = createRoute({
  method: "post",
  path: "/admin/images/cleanup",
  tags: ["Admin"],
  summary: "Run the retention policy now (or a dry run)",
  security: bearer,
  request: {
    body: { required: false, content: { "application/json": { schema: CleanupBodySchema } } },
  },
  responses: {
    200: json(CleanupResponseSchema, "What was (or would be) deleted"),
    400: { description: "Invalid body", content: errorContent },
    ...adminErrors,
  },
});

const createKeyRoute = createRoute({
  method: "post",
  path: "/admin/keys",
  tags: ["Admin"],
  summary: "Create an API key (the key is shown once)",
  security: bearer,
  request: {
    body: { required: true, content: { "application/json": { schema: CreateKeyBodySchema } } },
  },
  responses: {
    201: json(CreatedKeySchema, "Created"),
    400: { description: "Invalid name or role", content: errorContent },
    ...adminErrors,
  },
});

const listKeysRoute = createRoute({
  method: "get",
  path: "/admin/keys",
  tags: ["Admin"],
  summary: "List API keys (never the secrets)",
  security: bearer,
  request: {
    query: z.object({
      include_revoked: z.enum(["true", "false"]).optional().openapi({
        description: "Also list revoked keys",
      }),
    }),
  },
  responses: { 200: json(KeyListSchema, "Keys"), ...adminErrors },
});

const revokeKeyRoute = createRoute({
  method: "delete",
  path: "/admin/keys/{id}",
  tags: ["Admin"],
  summary: "Revoke an API key (refused from the next request on)",
  security: bearer,
  request: { params: IdParamSchema },
  responses: {
    200: json(RevokedKeySchema, "Revoked"),
    404: { description: "No such key", content: errorContent },
    ...adminErrors,
  },
});

const usageRoute = createRoute({
  method: "get",
  path: "/admin/usage",
  tags: ["Admin"],
  summary: "Images, spend and requests per key for a month",
  security: bearer,
  request: {
    query: z.object({
      month: z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/).optional().openapi({
        description: "`YYYY-MM` (default: this month, UTC)",
      }),
      principal: z.string().optional().openapi({ description: "Only this key id" }),
    }),
  },
  responses: {
    200: json(UsageResponseSchema, "Usage"),
    400: { description: "Invalid month", content: errorContent },
    ...adminErrors,
  },
});

/** Registers the admin routes (and their auth and limits) on `app`. */
export function registerAdminRoutes(app: OpenAPIHono<HttpEnv>, ctx: RouteContext): void {
  app.use(
    "/admin/*",
    requireAuth(ctx.auth, { role: "admin", style: "rest" }),
    requestLimit(ctx.requestLimit),
  );

  app.openapi(metricsRoute, async (c) => {
    const snapshot = await ctx.metrics.metricsJson();
    return c.json({
      timestamp: snapshot.timestamp,
      uptime: snapshot.uptime,
      counters: snapshot.counters.map((s) => ({ ...s, labels: { ...s.labels } })),
      gauges: snapshot.gauges.map((s) => ({ ...s, labels: { ...s.labels } })),
      histograms: snapshot.histograms.map((h) => ({ ...h, labels: { ...h.labels } })),
    }, 200);
  });

  app.openapi(statsRoute, async (c) => {
    const [stats, unknownFiles] = await Promise.all([
      ctx.retention.stats(),
      ctx.retention.unknownFiles(),
    ]);
    const config = ctx.config;
    return c.json({
      success: true as const,
      stats,
      cleanup: {
        enabled: config.cleanupEnabled,
        retentionDays: config.retentionDays,
        maxFiles: config.maxImageCount ?? null,
        maxBytes: config.maxImageBytes ?? null,
        intervalHours: config.cleanupIntervalHours,
      },
      unknownFiles,
    }, 200);
  });

  app.openAPIRegistry.registerPath(cleanupRoute);
  app.post("/admin/images/cleanup", async (c) => {
    // Like the predecessor, an empty body (with or without a JSON content type) means defaults.
    const text = await c.req.text();
    const body = parseOrThrow(CleanupBodySchema, text.trim() === "" ? {} : parseJson(text));
    const report = await ctx.retention.cleanup({ dryRun: body.dryRun ?? false });
    return c.json({
      success: true as const,
      results: {
        filesScanned: report.filesScanned,
        filesDeleted: report.filesDeleted,
        spaceFreed: report.spaceFreed,
        errors: report.errors,
        deletedFiles: report.deletedFiles,
        adoptedKept: report.adoptedKept,
      },
      dryRun: report.dryRun,
      unknownFiles: report.unknownFiles,
    }, 200);
  });

  app.openapi(createKeyRoute, async (c) => {
    const body = c.req.valid("json");
    const created = await createApiKey(ctx.kv, {
      name: body.name,
      role: body.role ?? "user",
      now: ctx.now,
    });
    c.header("Cache-Control", "no-store");
    return c.json({ success: true as const, key: created.key, record: created.record }, 201);
  });

  app.openapi(listKeysRoute, async (c) => {
    const query = c.req.valid("query");
    const keys = await listApiKeys(ctx.kv, { includeRevoked: query.include_revoked === "true" });
    return c.json({ success: true as const, keys }, 200);
  });

  app.openapi(revokeKeyRoute, async (c) => {
    const { id } = c.req.valid("param");
    const key = await revokeApiKey(ctx.kv, id, { now: ctx.now });
    return c.json({ success: true as const, key }, 200);
  });

  app.openapi(usageRoute, async (c) => {
    const query = c.req.valid("query");
    const report = await ctx.limiter.usageReport({
      ...(query.month === undefined ? {} : { month: query.month }),
      ...(query.principal === undefined ? {} : { principal: query.principal }),
    });
    const names = new Map(
      (await listApiKeys(ctx.kv, { includeRevoked: true })).map((k) => [k.id, k.name]),
    );
    names.set("token", "MCP_AUTH_TOKEN");
    return c.json({
      success: true as const,
      month: report.month,
      rows: report.rows.map((row) => ({ ...row, name: names.get(row.principal) ?? null })),
      totals: report.totals,
    }, 200);
  });
}
