/**
 * The predecessor's REST API, same requests and answers: `GET /health`, `GET /mcp` (the tool
 * description), `POST /mcp` (generate), `GET /metrics` — plus `GET /ready`. `/mcp` is shared
 * with MCP over HTTP: a JSON-RPC body (`"jsonrpc": "2.0"`), an `Accept: text/event-stream` GET
 * and a DELETE go to the mounted MCP handler; everything else is the REST API.
 *
 * Fixed defects of the predecessor: upstream failures get real status codes, all n images are
 * saved (`save` defaults to true), and authentication runs before any limit.
 *
 * @module
 */
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { ImageRecord } from "../../core_types.ts";
import { AppError } from "../../errors.ts";
import { MalformedJsonError } from "../errors.ts";
import { CheckedFields, coreInputOf } from "../../generation/vocabulary.ts";
import { probeKvWrite } from "../../kv/mod.ts";
import { encodeBase64 } from "../../encoding.ts";
import { VERSION } from "../../version.ts";
import type { HttpEnv } from "../deps.ts";
import { resolvePrincipal } from "../middleware/auth.ts";
import { applyHeaders, checkRequestLimit } from "../middleware/rate_limit.ts";
import { callerOf, imageUrl, type RouteContext } from "../route_context.ts";
import {
  HealthSchema,
  LegacyGenerateBodySchema,
  LegacyGenerateResponseSchema,
  ReadySchema,
  RestErrorSchema,
  ToolDescriptionSchema,
} from "../schemas.ts";
import { parseOrThrow } from "../validation.ts";

const READY_TIMEOUT_MS = 5000;

const errorContent = { "application/json": { schema: RestErrorSchema } };
const bearer = [{ bearerAuth: [] }];

const healthRoute = createRoute({
  method: "get",
  path: "/health",
  tags: ["Service"],
  summary: "Liveness",
  responses: {
    200: {
      description: "The service is up",
      content: { "application/json": { schema: HealthSchema } },
    },
  },
});

const readyRoute = createRoute({
  method: "get",
  path: "/ready",
  tags: ["Service"],
  summary: "Readiness: KV, catalog and image store accept a probe write; OpenAI key set",
  responses: {
    200: { description: "Ready", content: { "application/json": { schema: ReadySchema } } },
    503: {
      description: "Not ready; `failed` names the checks that failed",
      content: { "application/json": { schema: ReadySchema } },
    },
  },
});

const metricsRoute = createRoute({
  method: "get",
  path: "/metrics",
  tags: ["Service"],
  summary: "Prometheus metrics",
  description: "Needs an admin key once auth is on, unless `METRICS_PUBLIC=true`.",
  security: bearer,
  responses: {
    200: {
      description: "Prometheus text exposition",
      content: { "text/plain": { schema: z.string() } },
    },
    401: { description: "Missing or malformed token", content: errorContent },
    403: { description: "Wrong token, or a key without the admin role", content: errorContent },
  },
});

const toolRoute = createRoute({
  method: "get",
  path: "/mcp",
  tags: ["REST (predecessor)"],
  summary: "Describe the generate_image tool (REST); MCP clients open an SSE stream here",
  description: "Without `Accept: text/event-stream` this answers the tool description of the " +
    "predecessor. With it (and MCP over HTTP enabled) it is the Streamable HTTP GET stream.",
  security: bearer,
  responses: {
    200: {
      description: "Tool description",
      content: { "application/json": { schema: ToolDescriptionSchema } },
    },
    401: { description: "Missing or malformed token", content: errorContent },
    403: { description: "Wrong token", content: errorContent },
  },
});

const generateRoute = createRoute({
  method: "post",
  path: "/mcp",
  tags: ["REST (predecessor)"],
  summary: "Generate images (REST); MCP clients send JSON-RPC here",
  description: 'A body with `"jsonrpc": "2.0"` is MCP Streamable HTTP traffic; any other ' +
    "body is the predecessor's generation request. All n images are saved.",
  security: bearer,
  request: {
    body: {
      required: true,
      content: { "application/json": { schema: LegacyGenerateBodySchema } },
    },
  },
  responses: {
    200: {
      description: "Generated and saved",
      content: { "application/json": { schema: LegacyGenerateResponseSchema } },
    },
    400: {
      description: "Invalid input (`field` names it) or blocked by moderation",
      content: errorContent,
    },
    401: { description: "Missing or malformed token", content: errorContent },
    403: { description: "Wrong token", content: errorContent },
    413: { description: "Body larger than MAX_BODY_BYTES", content: errorContent },
    429: {
      description: "A limit was reached (requests, images per hour, concurrency, upstream); " +
        "see `Retry-After`",
      content: errorContent,
    },
    502: { description: "The upstream API failed", content: errorContent },
    504: { description: "The upstream API timed out", content: errorContent },
  },
});

/** Text of the tool description answered by `GET /mcp`. */
export const TOOL_DESCRIPTION =
  "Generate images from a text prompt with OpenAI's image models. POST the parameters to /mcp; " +
  "the answer links every saved image.";

let parametersSchema: Record<string, unknown> | undefined;

/** The JSON Schema of the `POST /mcp` body, as `GET /mcp` describes it. */
export function generateParametersSchema(): Record<string, unknown> {
  parametersSchema ??= z.toJSONSchema(LegacyGenerateBodySchema, { io: "input" }) as Record<
    string,
    unknown
  >;
  return parametersSchema;
}

/** True when `body` is a JSON-RPC message or batch (`"jsonrpc": "2.0"`). */
export function isJsonRpcBody(body: unknown): boolean {
  const isMessage = (value: unknown) =>
    value !== null && typeof value === "object" && !Array.isArray(value) &&
    (value as Record<string, unknown>).jsonrpc === "2.0";
  if (Array.isArray(body)) return body.length > 0 && body.some(isMessage);
  return isMessage(body);
}

function wantsEventStream(c: Context): boolean {
  return (c.req.header("accept") ?? "").toLowerCase().includes("text/event-stream");
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** A KV key of its own for one readiness write probe (instances never contend for it). */
export function readyProbeKey(): Deno.KvKey {
  return ["http", "ready_probe", crypto.randomUUID()];
}

async function readiness(ctx: RouteContext): Promise<z.infer<typeof ReadySchema>> {
  const checks: Record<string, () => Promise<void>> = {
    // A commit, not a read: a read-only database file or mount answers reads but not writes.
    kv: () => probeKvWrite(ctx.kv, readyProbeKey()),
    ...ctx.readinessChecks,
    openai_api_key: () => {
      const c = ctx.config;
      if (c.openaiApiKey || (c.azureEndpoint && c.azureApiKey)) return Promise.resolve();
      return Promise.reject(new Error("OPENAI_API_KEY is not set"));
    },
  };
  const outcomes = await Promise.all(
    Object.entries(checks).map(async ([name, check]) => {
      try {
        await withTimeout(check(), READY_TIMEOUT_MS, name);
        return [name, "ok"] as const;
      } catch (error) {
        const reason = ctx.redact(error instanceof Error ? error.message : String(error));
        return [name, `failed: ${reason}`] as const;
      }
    }),
  );
  const failed = outcomes.filter(([, result]) => result !== "ok").map(([name]) => name);
  return {
    status: failed.length === 0 ? "ready" : "not_ready",
    checks: Object.fromEntries(outcomes),
    failed,
  };
}

/** One image in the predecessor's shape. */
async function legacyImage(
  ctx: RouteContext,
  c: Context<HttpEnv>,
  record: ImageRecord,
  options: { saved: boolean; b64: boolean },
): Promise<z.infer<typeof LegacyGenerateResponseSchema>["data"]["images"][number]> {
  const url = options.saved ? await imageUrl(ctx, c, record) : null;
  // HTTP callers are remote: the server's own disk layout is none of their business, so the
  // path is relative to OUTPUT_DIR (a file name today).
  const onDisk = options.saved && ctx.config.imageStore === "fs" && record.fileName !== "";
  const item: z.infer<typeof LegacyGenerateResponseSchema>["data"]["images"][number] = {
    id: record.id,
    url,
    revised_prompt: record.revisedPrompt ?? null,
    filePath: onDisk ? record.fileName : null,
    imageUrl: url,
  };
  if (options.b64) {
    const read = await ctx.images.read(record.id, callerOf(c, "http"));
    if (read !== null) item.b64_json = encodeBase64(read.bytes);
  }
  return item;
}

async function restGenerate(
  ctx: RouteContext,
  c: Context<HttpEnv>,
  body: unknown,
): Promise<Response> {
  const parsed = parseOrThrow(LegacyGenerateBodySchema, body);
  const fields = new CheckedFields(parsed);
  const save = fields.flag("save") ?? true;
  const input = { ...coreInputOf("rest", "generate", parsed), save };
  const job = await ctx.images.generate(input, {
    principal: c.get("principal"),
    door: "http",
    signal: c.req.raw.signal,
  });
  const result = await job.done;
  if (result.images.length === 0) {
    throw new AppError("upstream_unavailable", "The upstream API returned no image");
  }
  const images = await Promise.all(result.images.map((record) =>
    legacyImage(ctx, c, record, {
      saved: save,
      b64: fields.choice("response_format") === "b64_json" || !save,
    })
  ));
  return c.json({
    success: true as const,
    data: { ...images[0], images },
    ...(result.warnings.length > 0 ? { warnings: [...result.warnings] } : {}),
  }, 200);
}

/** Registers the predecessor's REST routes and the `/mcp` dispatch on `app`. */
export function registerLegacyRoutes(app: OpenAPIHono<HttpEnv>, ctx: RouteContext): void {
  app.openapi(healthRoute, (c) => c.json({ status: "ok" as const, version: VERSION }, 200));

  app.openapi(readyRoute, async (c) => {
    const report = await readiness(ctx);
    c.header("Cache-Control", "no-store");
    return c.json(report, report.status === "ready" ? 200 : 503);
  });

  app.openapi(metricsRoute, async (c) => {
    const text = await ctx.metrics.metricsText();
    return c.text(text, 200, { "Content-Type": ctx.metrics.contentType });
  });

  app.openAPIRegistry.registerPath(toolRoute);
  app.openAPIRegistry.registerPath(generateRoute);

  /** Authenticates in `style`, applies the request limit, then runs `handle`. */
  async function guarded(
    c: Context<HttpEnv>,
    mcp: boolean,
    handle: () => Promise<Response>,
  ): Promise<Response> {
    if (mcp) c.set("errorStyle", "jsonrpc");
    const principal = await resolvePrincipal(c, ctx.auth, {
      role: "user",
      style: mcp ? "bearer" : "rest",
    });
    c.set("principal", principal);
    const headers = await checkRequestLimit(c, ctx.requestLimit, principal);
    const response = await handle();
    c.res = response;
    applyHeaders(c, headers);
    return c.res;
  }

  app.get("/mcp", (c) => {
    if (wantsEventStream(c) && ctx.mcpHandler !== undefined) {
      return guarded(c, true, () => ctx.mcpHandler!(c));
    }
    return guarded(c, false, () =>
      Promise.resolve(c.json({
        name: "generate_image",
        description: TOOL_DESCRIPTION,
        parameters: generateParametersSchema(),
      }, 200)));
  });

  app.post("/mcp", async (c) => {
    const text = await c.req.text();
    let body: unknown;
    let parseError: SyntaxError | undefined;
    try {
      body = JSON.parse(text);
    } catch (error) {
      parseError = error as SyntaxError;
    }
    const mcp = parseError === undefined ? isJsonRpcBody(body) : wantsEventStream(c);
    return await guarded(c, mcp, () => {
      if (parseError !== undefined) {
        throw new MalformedJsonError(parseError);
      }
      if (mcp) {
        if (ctx.mcpHandler === undefined) {
          throw new AppError("not_found", "MCP over HTTP is not enabled on this server");
        }
        c.set("parsedBody", body);
        return ctx.mcpHandler(c);
      }
      return restGenerate(ctx, c, body);
    });
  });

  app.delete("/mcp", (c) => {
    if (ctx.mcpHandler === undefined) {
      c.set("errorStyle", "jsonrpc");
      throw new AppError("not_found", "MCP over HTTP is not enabled on this server");
    }
    return guarded(c, true, () => ctx.mcpHandler!(c));
  });
}
