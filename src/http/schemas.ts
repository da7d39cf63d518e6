/**
 * Request and response schemas of the HTTP API. They validate requests (types and ranges; the
 * per-model rules live in the shared generation schema behind the ImageService) and are the
 * source of the OpenAPI document, so the documentation cannot drift from the code.
 *
 * @module
 */
import { z } from "@hono/zod-openapi";
import { doorRequestSchema } from "../generation/vocabulary.ts";

// ---------------------------------------------------------------------------------------------
// Errors

/** The REST error body (predecessor shape plus a machine-readable kind). */
export const RestErrorSchema = z.object({
  success: z.literal(false),
  error: z.string().openapi({ description: "What went wrong and what to do about it" }),
  code: z.string().openapi({ description: "Error kind, e.g. `validation`, `rate_limited`" }),
  field: z.string().optional().openapi({ description: "The request field at fault" }),
  retryAfter: z.number().int().optional().openapi({
    description: "Seconds to wait before retrying (429, 503)",
  }),
  details: z.record(z.string(), z.unknown()).optional(),
  requestId: z.string().optional(),
}).openapi("RestError");

/** OpenAI's error body, used on `/v1`. */
export const OpenAIErrorSchema = z.object({
  error: z.object({
    message: z.string(),
    type: z.string(),
    param: z.string().nullable(),
    code: z.string().nullable(),
  }),
}).openapi("OpenAIError");

// ---------------------------------------------------------------------------------------------
// The predecessor's REST API

/** Body of `POST /mcp` (REST generation): the `rest` door's projection of the request fields. */
export const LegacyGenerateBodySchema = doorRequestSchema("rest", "generate").openapi(
  "LegacyGenerateRequest",
);

/** One generated image in the predecessor's shape. */
export const LegacyImageSchema = z.object({
  id: z.string().openapi({ description: "Image id" }),
  url: z.string().nullable().openapi({ description: "URL of the image on this service" }),
  revised_prompt: z.string().nullable(),
  filePath: z.string().nullable().openapi({
    description: "Path of the saved file relative to OUTPUT_DIR (null when images are kept in " +
      "KV); the server's absolute paths are never sent over HTTP",
  }),
  imageUrl: z.string().nullable().openapi({ description: "`<base>/images/<file>`" }),
  b64_json: z.string().optional().openapi({ description: "With `response_format: b64_json`" }),
}).openapi("LegacyImage");

/** Answer of `POST /mcp`. */
export const LegacyGenerateResponseSchema = z.object({
  success: z.literal(true),
  data: LegacyImageSchema.extend({
    images: z.array(LegacyImageSchema).openapi({ description: "Every image, first included" }),
  }),
  warnings: z.array(z.string()).optional(),
}).openapi("LegacyGenerateResponse");

/** Answer of `GET /mcp` (REST): the tool description. */
export const ToolDescriptionSchema = z.object({
  name: z.string(),
  description: z.string(),
  parameters: z.record(z.string(), z.unknown()).openapi({
    description: "JSON Schema of the `POST /mcp` body",
  }),
}).openapi("ToolDescription");

/** Answer of `GET /health`. */
export const HealthSchema = z.object({
  status: z.literal("ok"),
  version: z.string(),
}).openapi("Health");

/** Answer of `GET /ready`. */
export const ReadySchema = z.object({
  status: z.enum(["ready", "not_ready"]),
  checks: z.record(z.string(), z.string()).openapi({
    description: "`ok`, or `failed: <reason>`, per check",
  }),
  failed: z.array(z.string()),
}).openapi("Ready");

// ---------------------------------------------------------------------------------------------
// Admin

const FileSummarySchema = z.object({
  name: z.string(),
  id: z.string(),
  created: z.string(),
  size: z.number(),
  age: z.number(),
});

/** Files in the images folder the service did not write: reported, never touched. */
export const UnknownFilesSchema = z.object({
  count: z.number().int(),
  names: z.array(z.string()).openapi({ description: "The first 100 names, sorted" }),
}).openapi("UnknownFiles", {
  description: "Files in the images folder the service did not write; it never touches them",
});

/** Answer of `GET /admin/images/stats`. */
export const ImageStatsResponseSchema = z.object({
  success: z.literal(true),
  stats: z.object({
    count: z.number().int(),
    totalSize: z.number(),
    totalSizeFormatted: z.string(),
    oldestFile: FileSummarySchema.nullable(),
    newestFile: FileSummarySchema.nullable(),
    averageAge: z.number(),
    averageAgeFormatted: z.string(),
    averageSize: z.number(),
    averageSizeFormatted: z.string(),
  }),
  cleanup: z.object({
    enabled: z.boolean(),
    retentionDays: z.number(),
    maxFiles: z.number().int().nullable(),
    maxBytes: z.number().int().nullable(),
    intervalHours: z.number(),
  }),
  unknownFiles: UnknownFilesSchema,
}).openapi("ImageStatsResponse");

/** Body of `POST /admin/images/cleanup`. */
export const CleanupBodySchema = z.object({
  dryRun: z.boolean().optional().openapi({
    description: "Report what would be deleted without deleting (default false)",
  }),
}).openapi("CleanupRequest");

/** Answer of `POST /admin/images/cleanup`. */
export const CleanupResponseSchema = z.object({
  success: z.literal(true),
  results: z.object({
    filesScanned: z.number().int(),
    filesDeleted: z.number().int(),
    spaceFreed: z.number(),
    errors: z.array(z.object({ file: z.string(), error: z.string() })),
    deletedFiles: z.array(z.string()),
    adoptedKept: z.number().int().openapi({
      description: "Images adopted from the predecessor kept because IMAGE_CLEANUP_ENABLED is off",
    }),
  }),
  dryRun: z.boolean(),
  unknownFiles: UnknownFilesSchema,
}).openapi("CleanupResponse");

/** An API key as listed (never the secret). */
export const ApiKeySchema = z.object({
  id: z.string(),
  name: z.string(),
  role: z.enum(["admin", "user"]),
  prefix: z.string().openapi({ description: "First characters of the key, for recognition" }),
  createdAt: z.number().openapi({ description: "Epoch milliseconds" }),
  lastUsedAt: z.number().nullable(),
  revokedAt: z.number().nullable(),
}).openapi("ApiKey");

/** Body of `POST /admin/keys`. */
export const CreateKeyBodySchema = z.object({
  name: z.string().min(1).max(100),
  role: z.enum(["admin", "user"]).optional().openapi({ description: "Default `user`" }),
}).openapi("CreateKeyRequest");

/** Answer of `POST /admin/keys`: the only time the key is shown. */
export const CreatedKeySchema = z.object({
  success: z.literal(true),
  key: z.string().openapi({ description: "The secret; shown once, store it now" }),
  record: ApiKeySchema,
}).openapi("CreatedKey");

/** Answer of `GET /admin/keys`. */
export const KeyListSchema = z.object({
  success: z.literal(true),
  keys: z.array(ApiKeySchema),
}).openapi("KeyList");

/** Answer of `DELETE /admin/keys/{id}`. */
export const RevokedKeySchema = z.object({
  success: z.literal(true),
  key: ApiKeySchema,
}).openapi("RevokedKey");

/** Answer of `GET /admin/usage`. */
export const UsageResponseSchema = z.object({
  success: z.literal(true),
  month: z.string(),
  rows: z.array(z.object({
    principal: z.string(),
    name: z.string().nullable(),
    images: z.number().int(),
    spendUsd: z.number(),
    requests: z.number().int(),
  })),
  totals: z.object({ images: z.number().int(), spendUsd: z.number(), requests: z.number().int() }),
}).openapi("UsageResponse");

/** Answer of `GET /admin/metrics`. */
export const MetricsJsonSchema = z.object({
  timestamp: z.string(),
  uptime: z.number(),
  counters: z.array(z.object({
    name: z.string(),
    labels: z.record(z.string(), z.union([z.string(), z.number()])),
    value: z.number(),
  })),
  gauges: z.array(z.object({
    name: z.string(),
    labels: z.record(z.string(), z.union([z.string(), z.number()])),
    value: z.number(),
  })),
  histograms: z.array(z.object({
    name: z.string(),
    labels: z.record(z.string(), z.string()),
    count: z.number(),
    sum: z.number(),
    min: z.number(),
    max: z.number(),
    avg: z.number(),
    p50: z.number(),
    p95: z.number(),
    p99: z.number(),
  })),
}).openapi("MetricsJson");

// ---------------------------------------------------------------------------------------------
// OpenAI-compatible API

/** Body of `POST /v1/images/generations`: the `v1` door's projection of the request fields. */
export const V1GenerateBodySchema = doorRequestSchema("v1", "generate").openapi(
  "ImageGenerateRequest",
);

/** The input files of `POST /v1/images/edits`, as multipart file fields. */
const V1EditFilesSchema = z.object({
  image: z.union([
    z.string().openapi({ format: "binary" }),
    z.array(z.string().openapi({ format: "binary" })),
  ]).openapi({
    description: "1–16 PNG, JPEG or WebP images, as repeated `image[]` (or `image`) fields",
  }),
  mask: z.string().optional().openapi({
    format: "binary",
    description: "PNG mask; transparent pixels mark the area to change",
  }),
});

/**
 * Multipart body of `POST /v1/images/edits` (documentation; parsed by the route): the input files,
 * then the `v1` door's projection of the edit request fields.
 */
export const V1EditBodySchema = V1EditFilesSchema.extend(doorRequestSchema("v1", "edit").shape)
  .openapi("ImageEditRequest");

/** Token usage in OpenAI's shape. */
export const V1UsageSchema = z.object({
  input_tokens: z.number().int(),
  input_tokens_details: z.object({
    text_tokens: z.number().int(),
    image_tokens: z.number().int(),
  }),
  output_tokens: z.number().int(),
  total_tokens: z.number().int(),
}).openapi("ImageUsage");

/** Answer of `POST /v1/images/generations` and `/edits`. */
export const V1ImagesResponseSchema = z.object({
  created: z.number().int(),
  data: z.array(z.object({
    b64_json: z.string().optional(),
    url: z.string().optional(),
    revised_prompt: z.string().optional(),
  })),
  usage: V1UsageSchema.optional(),
  output_format: z.string().optional(),
  size: z.string().optional(),
  quality: z.string().optional(),
  background: z.string().optional(),
}).openapi("ImagesResponse");

/** A stored image in the catalog API. */
export const V1ImageObjectSchema = z.object({
  id: z.string(),
  object: z.literal("image"),
  created: z.number().int().openapi({ description: "Unix seconds" }),
  url: z.string(),
  thumbnail_url: z.string(),
  model: z.string().nullable(),
  prompt: z.string().nullable(),
  revised_prompt: z.string().nullable(),
  size: z.string(),
  width: z.number().int(),
  height: z.number().int(),
  mime_type: z.string(),
  bytes: z.number().int(),
  sha256: z.string(),
  quality: z.string().nullable(),
  background: z.string().nullable(),
  cost_usd: z.number().nullable(),
}).openapi("Image");

/** Answer of `GET /v1/images`. */
export const V1ImageListSchema = z.object({
  object: z.literal("list"),
  data: z.array(V1ImageObjectSchema),
  first_id: z.string().nullable(),
  last_id: z.string().nullable(),
  has_more: z.boolean(),
}).openapi("ImageList");

/** Query of `GET /v1/images`. */
export const V1ListQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).optional().openapi({
    description: "Page size, 1–100 (default 20)",
  }),
  after: z.string().optional().openapi({
    description: "Id of the last image of the previous page",
  }),
  model: z.string().optional(),
});

/** Answer of `DELETE /v1/images/{id}`. */
export const V1DeletedSchema = z.object({
  id: z.string(),
  object: z.literal("image.deleted"),
  deleted: z.literal(true),
}).openapi("ImageDeleted");

/** Answer of `GET /v1/models`. */
export const V1ModelListSchema = z.object({
  object: z.literal("list"),
  data: z.array(z.object({
    id: z.string(),
    object: z.literal("model"),
    created: z.number().int(),
    owned_by: z.string(),
    status: z.string(),
    lifecycle: z.string(),
  })),
}).openapi("ModelList");

/** Path parameter `id`. */
export const IdParamSchema = z.object({
  id: z.string().min(1).max(100).openapi({ param: { name: "id", in: "path" } }),
});
