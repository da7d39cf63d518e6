/**
 * The OpenAI-compatible API: `POST /v1/images/generations`, `POST /v1/images/edits` (multipart,
 * as the official SDKs send it), streaming as OpenAI's server-sent events, and a catalog in
 * OpenAI's list style (`GET /v1/images`, `GET|DELETE /v1/images/{id}`) plus `GET /v1/models`.
 * Pointing an OpenAI SDK's `baseURL` at `<service>/v1` is enough to use it.
 *
 * @module
 */
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type {
  GenerationJob,
  GenerationResult,
  ImageRecord,
  ProgressListener,
  UploadSlot,
} from "../../core_types.ts";
import { encodeBase64 } from "../../encoding.ts";
import { AppError, toAppError, ValidationError } from "../../errors.ts";
import { CheckedFields } from "../../generation/request_fields.ts";
import { coreInputOf, multipartRequestSchema } from "../../generation/request_schema.ts";
import { getLog } from "../../log.ts";
import type { HttpEnv } from "../deps.ts";
import { errorBody } from "../errors.ts";
import { type MultipartEntry, readMultipart } from "../multipart.ts";
import { requireAuth } from "../middleware/auth.ts";
import { requestLimit } from "../middleware/rate_limit.ts";
import { callerOf, imageUrl, type RouteContext } from "../route_context.ts";
import {
  IdParamSchema,
  OpenAIErrorSchema,
  V1DeletedSchema,
  V1EditBodySchema,
  V1GenerateBodySchema,
  V1ImageListSchema,
  V1ImageObjectSchema,
  V1ImagesResponseSchema,
  V1ListQuerySchema,
  V1ModelListSchema,
} from "../schemas.ts";
import { parseOrThrow } from "../validation.ts";
import { sseResponse } from "../sse.ts";

const log = getLog("http", "v1");

const MAX_EDIT_IMAGES = 16;
const HEARTBEAT_MS = 15_000;

const errorContent = { "application/json": { schema: OpenAIErrorSchema } };
const bearer = [{ bearerAuth: [] }];

const commonErrors = {
  400: { description: "Invalid request (`param` names the field)", content: errorContent },
  401: { description: "Missing or invalid API key", content: errorContent },
  403: { description: "The key lacks the needed role", content: errorContent },
  429: { description: "A limit was reached; see `Retry-After`", content: errorContent },
};

const generationErrors = {
  ...commonErrors,
  402: { description: "Monthly budget of the key spent", content: errorContent },
  413: { description: "Body too large", content: errorContent },
  502: { description: "The upstream API failed or is unavailable", content: errorContent },
  504: { description: "The upstream API timed out", content: errorContent },
};

/** Response header carrying each warning of a request (e.g. a retired model translated). */
export const WARNING_HEADER = "X-Warning";

const imagesResponseHeaders = {
  [WARNING_HEADER]: {
    description: "One per change made on the caller's behalf, e.g. a retired model translated to " +
      "the default model under LEGACY_MODELS=translate (OpenAI's response body has no field for it)",
    schema: { type: "string" as const },
  },
};

const imagesResponseContent = {
  "application/json": { schema: V1ImagesResponseSchema },
  "text/event-stream": {
    schema: z.string().openapi({
      description:
        "With `stream: true`: `image_generation.partial_image` / `image_edit.partial_image` " +
        "events, then one `…completed` event per image (OpenAI's event format)",
    }),
  },
};

const generationsRoute = createRoute({
  method: "post",
  path: "/v1/images/generations",
  tags: ["OpenAI-compatible"],
  summary: "Create images from a prompt (OpenAI's request and response)",
  security: bearer,
  request: {
    body: { required: true, content: { "application/json": { schema: V1GenerateBodySchema } } },
  },
  responses: {
    200: {
      description: "The images",
      headers: imagesResponseHeaders,
      content: imagesResponseContent,
    },
    ...generationErrors,
  },
});

const editsRoute = createRoute({
  method: "post",
  path: "/v1/images/edits",
  tags: ["OpenAI-compatible"],
  summary: "Edit or combine images (OpenAI's multipart request and response)",
  security: bearer,
  request: {
    body: { required: true, content: { "multipart/form-data": { schema: V1EditBodySchema } } },
  },
  responses: {
    200: {
      description: "The images",
      headers: imagesResponseHeaders,
      content: imagesResponseContent,
    },
    ...generationErrors,
  },
});

const listRoute = createRoute({
  method: "get",
  path: "/v1/images",
  tags: ["OpenAI-compatible"],
  summary: "List stored images, newest first (OpenAI list style)",
  security: bearer,
  request: { query: V1ListQuerySchema },
  responses: {
    200: { description: "A page", content: { "application/json": { schema: V1ImageListSchema } } },
    ...commonErrors,
  },
});

const getRoute = createRoute({
  method: "get",
  path: "/v1/images/{id}",
  tags: ["OpenAI-compatible"],
  summary: "Get a stored image's record",
  security: bearer,
  request: { params: IdParamSchema },
  responses: {
    200: {
      description: "The image",
      content: { "application/json": { schema: V1ImageObjectSchema } },
    },
    404: { description: "No such image", content: errorContent },
    ...commonErrors,
  },
});

const deleteRoute = createRoute({
  method: "delete",
  path: "/v1/images/{id}",
  tags: ["OpenAI-compatible"],
  summary: "Delete a stored image (its creator or an admin)",
  security: bearer,
  request: { params: IdParamSchema },
  responses: {
    200: { description: "Deleted", content: { "application/json": { schema: V1DeletedSchema } } },
    404: { description: "No such image", content: errorContent },
    ...commonErrors,
  },
});

const modelsRoute = createRoute({
  method: "get",
  path: "/v1/models",
  tags: ["OpenAI-compatible"],
  summary: "Image models the service knows",
  security: bearer,
  responses: {
    200: { description: "Models", content: { "application/json": { schema: V1ModelListSchema } } },
    ...commonErrors,
  },
});

function param(record: ImageRecord | undefined, ...names: string[]): string | undefined {
  for (const name of names) {
    const value = record?.parameters[name];
    if (typeof value === "string" && value !== "") return value;
  }
  return undefined;
}

function formatOf(record: ImageRecord | undefined): string | undefined {
  return param(record, "output_format", "format") ??
    (record ? record.mime.replace("image/", "") : undefined);
}

function sizeOf(record: ImageRecord | undefined): string | undefined {
  return param(record, "size") ?? (record ? `${record.width}x${record.height}` : undefined);
}

function usageOf(result: GenerationResult): z.infer<typeof V1ImagesResponseSchema>["usage"] {
  const u = result.usage;
  if (u === null) return undefined;
  return {
    input_tokens: u.input_tokens ?? 0,
    input_tokens_details: {
      text_tokens: u.input_tokens_details?.text_tokens ?? 0,
      image_tokens: u.input_tokens_details?.image_tokens ?? 0,
    },
    output_tokens: u.output_tokens ?? 0,
    total_tokens: u.total_tokens ?? (u.input_tokens ?? 0) + (u.output_tokens ?? 0),
  };
}

async function b64Of(
  ctx: RouteContext,
  c: Context<HttpEnv>,
  record: ImageRecord,
): Promise<string> {
  const read = await ctx.images.read(record.id, callerOf(c, "v1"));
  if (read === null) {
    throw new AppError("storage", `Cannot read image ${record.id}: it is not in the store`);
  }
  return encodeBase64(read.bytes);
}

async function imagesResponse(
  ctx: RouteContext,
  c: Context<HttpEnv>,
  result: GenerationResult,
  format: "url" | "b64_json",
): Promise<z.infer<typeof V1ImagesResponseSchema>> {
  const data = await Promise.all(result.images.map(async (record) => ({
    ...(format === "url"
      ? { url: await imageUrl(ctx, c, record) }
      : { b64_json: await b64Of(ctx, c, record) }),
    ...(record.revisedPrompt ? { revised_prompt: record.revisedPrompt } : {}),
  })));
  const first = result.images[0];
  const usage = usageOf(result);
  const outputFormat = formatOf(first);
  const size = sizeOf(first);
  const quality = param(first, "quality");
  const background = param(first, "background");
  return {
    created: Math.floor(ctx.now() / 1000),
    data,
    ...(usage === undefined ? {} : { usage }),
    ...(outputFormat === undefined ? {} : { output_format: outputFormat }),
    ...(size === undefined ? {} : { size }),
    ...(quality === undefined ? {} : { quality }),
    ...(background === undefined ? {} : { background }),
  };
}

/** Wakes a waiting stream writer when events arrive or the job settles. */
class Wakeup {
  #wake: (() => void) | undefined;

  notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /** Resolves true when notified, false after `ms`. */
  wait(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = undefined;
        resolve(false);
      }, ms);
      this.#wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
  }
}

interface StreamRequest {
  kind: "image_generation" | "image_edit";
  size?: string;
  quality?: string;
  background?: string;
  outputFormat?: string;
}

/** A progress listener queueing partial images, and the queue it fills. */
function partialCollector(wakeup: Wakeup): {
  listener: ProgressListener;
  take: () => { index: number; bytes: Uint8Array }[];
} {
  let queued: { index: number; bytes: Uint8Array }[] = [];
  return {
    listener: (event) => {
      if (event.partialImage === undefined) return;
      queued.push({ index: event.partialImage.index, bytes: event.partialImage.bytes });
      wakeup.notify();
    },
    take: () => {
      const out = queued;
      queued = [];
      return out;
    },
  };
}

function streamJob(
  ctx: RouteContext,
  c: Context<HttpEnv>,
  job: GenerationJob,
  request: StreamRequest,
  wakeup: Wakeup,
  take: () => { index: number; bytes: Uint8Array }[],
): Response {
  const base = (record?: ImageRecord) => ({
    created_at: Math.floor(ctx.now() / 1000),
    size: sizeOf(record) ?? request.size ?? "auto",
    quality: param(record, "quality") ?? request.quality ?? "auto",
    background: param(record, "background") ?? request.background ?? "auto",
    output_format: formatOf(record) ?? request.outputFormat ?? "png",
  });
  return sseResponse(c, async (send) => {
    let outcome: { ok: true; result: GenerationResult } | { ok: false; error: unknown } | undefined;
    job.done.then(
      (result) => (outcome = { ok: true, result }),
      (error) => (outcome = { ok: false, error }),
    ).finally(() => wakeup.notify());
    for (;;) {
      for (const partial of take()) {
        send(`${request.kind}.partial_image`, {
          type: `${request.kind}.partial_image`,
          b64_json: encodeBase64(partial.bytes),
          partial_image_index: partial.index,
          ...base(),
        });
      }
      if (outcome !== undefined) break;
      if (!(await wakeup.wait(HEARTBEAT_MS))) send(null, null);
    }
    if (!outcome.ok) {
      const { body } = errorBody(toAppError(outcome.error), {
        style: "openai",
        redact: ctx.redact,
      });
      send("error", { type: "error", ...body });
      return;
    }
    const usage = usageOf(outcome.result);
    for (const record of outcome.result.images) {
      send(`${request.kind}.completed`, {
        type: `${request.kind}.completed`,
        b64_json: await b64Of(ctx, c, record),
        ...base(record),
        ...(usage === undefined ? {} : { usage }),
      });
    }
  }, {
    onError: (error) => ({
      type: "error",
      ...errorBody(toAppError(error), { style: "openai", redact: ctx.redact }).body,
    }),
  });
}

/** The text fields of an edit, as multipart (or JSON) carries them. */
const EditFieldsSchema = multipartRequestSchema("v1", "edit");

const ImageRefSchema = z.union([z.string().min(1), z.object({ image_url: z.string().min(1) })]);

/** The input references of a JSON edit (multipart sends them as files). */
const EditJsonInputsSchema = z.object({
  images: z.array(ImageRefSchema).min(1).max(MAX_EDIT_IMAGES),
  mask: ImageRefSchema.optional(),
});

interface EditRequest {
  fields: Record<string, unknown>;
  images: string[];
  mask?: string;
}

function refOf(value: z.infer<typeof ImageRefSchema>): string {
  return typeof value === "string" ? value : value.image_url;
}

function isMultipart(c: Context<HttpEnv>): boolean {
  return (c.req.header("content-type") ?? "").toLowerCase().startsWith("multipart/form-data");
}

/** Reads an edit; uploaded files go into `upload`, and the request names them by reference. */
async function parseEdit(c: Context<HttpEnv>, upload?: UploadSlot): Promise<EditRequest> {
  const type = (c.req.header("content-type") ?? "").toLowerCase();
  if (type.startsWith("application/json")) {
    const body: unknown = await c.req.json();
    const fields = parseOrThrow(EditFieldsSchema, body);
    const { images, mask } = parseOrThrow(EditJsonInputsSchema, body);
    return {
      fields,
      images: images.map(refOf),
      ...(mask === undefined ? {} : { mask: refOf(mask) }),
    };
  }
  if (!type.startsWith("multipart/form-data") || upload === undefined) {
    throw new ValidationError(
      "body",
      "Invalid request body: send multipart/form-data (image[], mask, prompt, …) or JSON",
    );
  }
  let form: MultipartEntry[];
  try {
    // Streamed, not `formData()`: each file is held once, as the chunks the upstream call sends.
    form = await readMultipart(c.req.raw.body, c.req.header("content-type") ?? "");
  } catch (error) {
    throw new ValidationError("body", `Malformed multipart body: ${(error as Error).message}`);
  }
  const images: string[] = [];
  let mask: string | undefined;
  const fields: Record<string, string> = {};
  for (const [key, value] of form) {
    if (key === "image" || key === "image[]") {
      if (images.length >= MAX_EDIT_IMAGES) {
        throw new ValidationError("image", `Too many images: at most ${MAX_EDIT_IMAGES}`);
      }
      images.push(typeof value === "string" ? value : upload.add(value));
    } else if (key === "mask") {
      mask = typeof value === "string" ? value : upload.add(value);
    } else if (typeof value === "string") {
      fields[key] = value;
    }
  }
  if (images.length === 0) throw new ValidationError("image", "Missing required field: image");
  return {
    fields: parseOrThrow(EditFieldsSchema, fields),
    images,
    ...(mask === undefined ? {} : { mask }),
  };
}

async function runImages(
  ctx: RouteContext,
  c: Context<HttpEnv>,
  options: {
    kind: "image_generation" | "image_edit";
    /** The request as the door checked it. */
    fields: CheckedFields;
    /** The request as the core reads it. */
    input: Record<string, unknown>;
    /** The slot holding the request's uploads. */
    upload?: UploadSlot;
  },
): Promise<Response> {
  const { fields } = options;
  const stream = fields.flag("stream") ?? false;
  const wake = new Wakeup();
  const collector = partialCollector(wake);
  const operation = options.kind === "image_edit" ? "edit" : "generate";
  const job = await ctx.images[operation](options.input, {
    principal: c.get("principal"),
    door: "v1",
    signal: c.req.raw.signal,
    ...(options.upload === undefined ? {} : { upload: options.upload }),
    ...(stream
      ? { onProgress: collector.listener, partialImages: fields.integer("partial_images") ?? 0 }
      : {}),
  });
  const warned = reportWarnings(c, job.warnings);
  if (stream) {
    const size = fields.text("size");
    const quality = fields.text("quality");
    const background = fields.choice("background");
    const outputFormat = fields.choice("output_format");
    return warned(streamJob(
      ctx,
      c,
      job,
      {
        kind: options.kind,
        ...(size === undefined ? {} : { size }),
        ...(quality === undefined ? {} : { quality }),
        ...(background === undefined ? {} : { background }),
        ...(outputFormat === undefined ? {} : { outputFormat }),
      },
      wake,
      collector.take,
    ));
  }
  const result = await job.done;
  const format = fields.choice("response_format") ?? "b64_json";
  return warned(c.json(await imagesResponse(ctx, c, result, format), 200));
}

/**
 * Logs a request's warnings and returns what adds them to its response as {@link WARNING_HEADER}
 * headers: OpenAI's response shape has no place for them, and its SDKs ignore unknown headers.
 */
function reportWarnings(
  c: Context<HttpEnv>,
  warnings: readonly string[],
): (response: Response) => Response {
  for (const warning of warnings) {
    log.warning("A /v1 request was changed on the caller's behalf: {warning}", {
      path: c.req.path,
      principal: c.get("principal").id,
      warning,
    });
  }
  return (response) => {
    // Header values are Latin-1 without line breaks; the body's warnings would be UTF-8 text.
    for (const warning of warnings) {
      response.headers.append(WARNING_HEADER, warning.replace(/[^\x20-\x7e]/g, "?"));
    }
    return response;
  };
}

async function imageObject(
  ctx: RouteContext,
  c: Context<HttpEnv>,
  record: ImageRecord,
): Promise<z.infer<typeof V1ImageObjectSchema>> {
  return {
    id: record.id,
    object: "image",
    created: Math.floor(record.created / 1000),
    url: await imageUrl(ctx, c, record),
    thumbnail_url: await imageUrl(ctx, c, record, { thumb: true }),
    model: record.model,
    prompt: record.prompt,
    revised_prompt: record.revisedPrompt ?? null,
    size: `${record.width}x${record.height}`,
    width: record.width,
    height: record.height,
    mime_type: record.mime,
    bytes: record.bytes,
    sha256: record.sha256,
    quality: param(record, "quality") ?? null,
    background: param(record, "background") ?? null,
    cost_usd: record.costUsd,
  };
}

async function pageAfter(
  ctx: RouteContext,
  c: Context<HttpEnv>,
  options: { limit: number; after?: string; model?: string },
): Promise<{ items: readonly ImageRecord[]; hasMore: boolean }> {
  const { limit, model } = options;
  const base = model === undefined ? {} : { model };
  // One more than asked tells whether another page exists; the core pages after an id itself.
  const page = await ctx.images.list(callerOf(c, "v1"), {
    ...base,
    limit: Math.min(100, limit + 1),
    ...(options.after === undefined ? {} : { after: options.after }),
  });
  const hasMore = page.items.length > limit || (limit === 100 && page.nextCursor !== undefined);
  return { items: page.items.slice(0, limit), hasMore };
}

/** Registers the `/v1` routes (and their auth, limits and body limits) on `app`. */
export function registerV1Routes(app: OpenAPIHono<HttpEnv>, ctx: RouteContext): void {
  app.use(
    "/v1/*",
    async (c, next) => {
      c.set("errorStyle", "openai");
      await next();
    },
    requireAuth(ctx.auth, { role: "user", style: "bearer" }),
    requestLimit(ctx.requestLimit),
  );

  app.openapi(generationsRoute, (c) => {
    const body = c.req.valid("json");
    return runImages(ctx, c, {
      kind: "image_generation",
      fields: new CheckedFields(body),
      input: coreInputOf("v1", "generate", body),
    });
  });

  app.openAPIRegistry.registerPath(editsRoute);
  app.post("/v1/images/edits", async (c) => {
    // An upload waits for one of the caller's in-flight slots before its body is read, so the
    // requests over the limit are refused without reading (or buffering) what they send.
    await using upload = isMultipart(c)
      ? await ctx.images.reserveUpload(callerOf(c, "v1"))
      : undefined;
    const edit = await parseEdit(c, upload);
    const input = {
      ...coreInputOf("v1", "edit", edit.fields),
      images: edit.images,
      ...(edit.mask === undefined ? {} : { mask: edit.mask }),
    };
    return await runImages(ctx, c, {
      kind: "image_edit",
      fields: new CheckedFields(edit.fields),
      input,
      ...(upload === undefined ? {} : { upload }),
    });
  });

  app.openapi(listRoute, async (c) => {
    const query = c.req.valid("query");
    const limit = query.limit ?? 20;
    const { items, hasMore } = await pageAfter(ctx, c, {
      limit,
      ...(query.after === undefined ? {} : { after: query.after }),
      ...(query.model === undefined ? {} : { model: query.model }),
    });
    const data = await Promise.all(items.map((record) => imageObject(ctx, c, record)));
    return c.json({
      object: "list" as const,
      data,
      first_id: data[0]?.id ?? null,
      last_id: data.at(-1)?.id ?? null,
      has_more: hasMore,
    }, 200);
  });

  app.openapi(getRoute, async (c) => {
    const { id } = c.req.valid("param");
    const record = await ctx.images.get(id, callerOf(c, "v1"));
    if (record === null) throw new AppError("not_found", `No image with id ${JSON.stringify(id)}`);
    return c.json(await imageObject(ctx, c, record), 200);
  });

  app.openapi(deleteRoute, async (c) => {
    const { id } = c.req.valid("param");
    if (!(await ctx.images.delete(id, callerOf(c, "v1")))) {
      throw new AppError("not_found", `No image with id ${JSON.stringify(id)}`);
    }
    return c.json({ id, object: "image.deleted" as const, deleted: true as const }, 200);
  });

  app.openapi(modelsRoute, async (c) => {
    const models = await ctx.images.models();
    return c.json({
      object: "list" as const,
      data: models.map((m) => ({
        id: m.id,
        object: "model" as const,
        created: 0,
        owned_by: "openai",
        status: m.status,
        lifecycle: m.lifecycle,
      })),
    }, 200);
  });
}
