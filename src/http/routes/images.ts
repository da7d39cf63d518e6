/**
 * Image files: `GET|HEAD /images/{file}` and thumbnails at `/images/{file}/thumb`. File names are
 * `<id>.<ext>` or the predecessor's `image_<ms>.png`; a bare id works too. A name that is not one
 * of these shapes is refused before anything is looked up, so no request can reach outside the
 * store. Responses are immutable: a strong ETag (the SHA-256), a year of caching, and 304 for
 * `If-None-Match`. With `IMAGES_PUBLIC=false` a valid signature (`?exp=&sig=`) or a valid bearer
 * token is needed. These reads are not counted by the request limiter.
 *
 * @module
 */
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { AppError } from "../../errors.ts";
import type { Caller, ImageRecord } from "../../core_types.ts";
import { classifyFileName, imagePath, isImageId } from "../../images/mod.ts";
import { optionalPrincipal } from "../middleware/auth.ts";
import { mayReadFiles } from "../../core/policy.ts";
import type { HttpEnv } from "../deps.ts";
import type { RouteContext } from "../route_context.ts";
import { RestErrorSchema } from "../schemas.ts";

const IMMUTABLE = "public, max-age=31536000, immutable";

const FileParam = z.object({
  file: z.string().openapi({
    param: { name: "file", in: "path" },
    description: "`<id>.<ext>`, the predecessor's `image_<ms>.png`, or a bare image id",
    example: "0192f0c4-5a1e-7c3b-9d2e-3f4a5b6c7d8e.png",
  }),
});

const SignatureQuery = z.object({
  exp: z.string().optional().openapi({ description: "Expiry of a signed URL (unix seconds)" }),
  sig: z.string().optional().openapi({ description: "Signature of a signed URL" }),
});

const imageResponses = {
  200: {
    description: "The image bytes",
    content: {
      "image/png": { schema: z.string().openapi({ format: "binary" }) },
      "image/jpeg": { schema: z.string().openapi({ format: "binary" }) },
      "image/webp": { schema: z.string().openapi({ format: "binary" }) },
    },
  },
  304: { description: "Not modified (`If-None-Match` matched the ETag)" },
  401: {
    description: "`IMAGES_PUBLIC=false` and neither a signature nor a token was given",
    content: { "application/json": { schema: RestErrorSchema } },
  },
  403: {
    description: "The signature is invalid or has expired",
    content: { "application/json": { schema: RestErrorSchema } },
  },
  404: {
    description: "No such image",
    content: { "application/json": { schema: RestErrorSchema } },
  },
};

const getImageRoute = createRoute({
  method: "get",
  path: "/images/{file}",
  tags: ["Images"],
  summary: "Get an image file",
  request: { params: FileParam, query: SignatureQuery },
  responses: imageResponses,
});

const getThumbnailRoute = createRoute({
  method: "get",
  path: "/images/{file}/thumb",
  tags: ["Images"],
  summary: "Get a 256 px WebP thumbnail of an image",
  request: { params: FileParam, query: SignatureQuery },
  responses: {
    ...imageResponses,
    200: {
      description: "The thumbnail",
      content: { "image/webp": { schema: z.string().openapi({ format: "binary" }) } },
    },
  },
});

function notFound(file: string): AppError {
  return new AppError("not_found", `Image not found: ${JSON.stringify(file.slice(0, 100))}`);
}

/**
 * What to look a file name up by, or null when the name is not an image name: the id inside
 * `<id>.<ext>`, a bare id, or — for the predecessor's `image_<ms>.png` — the name itself, which
 * `ImageService.get` resolves through the catalog's file-name index.
 */
export function imageIdOfFile(file: string): string | null {
  if (isImageId(file)) return file;
  const kind = classifyFileName(file);
  if (kind.kind === "image") return kind.id;
  if (kind.kind === "legacy") return file;
  return null;
}

/** File URLs are governed by IMAGES_PUBLIC, signed links and keys (checked by `checkAccess`). */
const FILE_READER: Caller = { principal: null, door: "http", via: "file_url" };

async function findRecord(ctx: RouteContext, file: string): Promise<ImageRecord> {
  const id = imageIdOfFile(file);
  if (id === null) throw notFound(file);
  const record = await ctx.images.get(id, FILE_READER);
  if (record !== null && (record.fileName === file || record.id === file)) return record;
  if (record === null && isImageId(file)) {
    const found = await ctx.images.lookup(file, FILE_READER, { waitMs: 0 });
    if (found.status === "pending") {
      throw new AppError("not_found", `Image ${file} is still being generated: try again shortly`, {
        retryAfterSeconds: 5,
      });
    }
  }
  throw notFound(file);
}

async function checkAccess(ctx: RouteContext, c: Context<HttpEnv>, path: string): Promise<void> {
  if (ctx.config.imagesPublic) return;
  const exp = c.req.query("exp");
  const sig = c.req.query("sig");
  if (exp !== undefined || sig !== undefined) {
    const verdict = await ctx.signer.verify(path, exp, sig);
    if (verdict === "valid") return;
    if (c.req.header("authorization") === undefined) {
      throw new AppError(
        "forbidden",
        verdict === "expired"
          ? "This image link has expired: ask the service for a new one"
          : "This image link is not valid: its signature does not match",
      );
    }
  }
  const principal = await optionalPrincipal(c, ctx.auth);
  if (principal !== null && mayReadFiles(principal)) return;
  throw new AppError(
    c.req.header("authorization") === undefined ? "unauthorized" : "forbidden",
    "Images are not public here: use a signed image URL or send a valid bearer token",
  );
}

function etagMatches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === "*") return true;
  return header.split(",").some((part) => part.trim().replace(/^W\//, "") === etag);
}

function cacheControl(ctx: RouteContext): string {
  return ctx.config.imagesPublic ? IMMUTABLE : `private, max-age=${ctx.config.imageUrlTtlSeconds}`;
}

function answer(
  c: Context<HttpEnv>,
  options: { bytes: Uint8Array | null; mime: string; etag: string; cache: string; name: string },
): Response {
  const headers = new Headers({
    "ETag": options.etag,
    "Cache-Control": options.cache,
  });
  if (etagMatches(c.req.header("if-none-match"), options.etag)) {
    return new Response(null, { status: 304, headers });
  }
  headers.set("Content-Type", options.mime);
  headers.set("Content-Disposition", `inline; filename="${options.name}"`);
  if (options.bytes !== null) headers.set("Content-Length", String(options.bytes.length));
  return new Response(options.bytes as Uint8Array<ArrayBuffer> | null, { status: 200, headers });
}

/** Registers the image file routes on `app`. */
export function registerImageRoutes(app: OpenAPIHono<HttpEnv>, ctx: RouteContext): void {
  app.openapi(getImageRoute, async (c) => {
    const file = c.req.param("file");
    // Refuse malformed names before any lookup (and before the signature check, which is
    // cheap but pointless for a name that cannot exist).
    if (imageIdOfFile(file) === null) throw notFound(file);
    await checkAccess(ctx, c, imagePath(file));
    const record = await findRecord(ctx, file);
    const etag = `"${record.sha256}"`;
    if (etagMatches(c.req.header("if-none-match"), etag)) {
      return answer(c, {
        bytes: null,
        mime: record.mime,
        etag,
        cache: cacheControl(ctx),
        name: "",
      });
    }
    const read = await ctx.images.read(record.id, FILE_READER);
    if (read === null) throw notFound(file);
    return answer(c, {
      bytes: read.bytes,
      mime: read.record.mime,
      etag,
      cache: cacheControl(ctx),
      name: read.record.fileName,
    });
  });

  app.openapi(getThumbnailRoute, async (c) => {
    const file = c.req.param("file");
    if (imageIdOfFile(file) === null) throw notFound(file);
    await checkAccess(ctx, c, imagePath(file, true));
    const record = await findRecord(ctx, file);
    // The thumbnail is derived deterministically from the image, so the image's hash names it.
    const etag = `"${record.sha256}.thumb"`;
    if (etagMatches(c.req.header("if-none-match"), etag)) {
      return answer(c, {
        bytes: null,
        mime: "image/webp",
        etag,
        cache: cacheControl(ctx),
        name: "",
      });
    }
    const thumb = await ctx.images.thumbnail(record.id, FILE_READER);
    if (thumb === null) throw notFound(file);
    const base = record.fileName.replace(/\.[a-z]+$/, "");
    return answer(c, {
      bytes: thumb.view.bytes,
      mime: thumb.view.mime,
      etag,
      cache: cacheControl(ctx),
      name: `${base}.thumb.webp`,
    });
  });
}
