/**
 * Resources: `image://{id}` (the full stored bytes) and `image://{id}/preview` (sized like tool
 * results), listed newest first, with id completion.
 *
 * @module
 */
import { encodeBase64 } from "../encoding.ts";
import { AppError } from "../errors.ts";
import type { ImageRecord } from "../core_types.ts";
import { callerOf, type McpContext } from "./context.ts";
import { type McpServer, ProtocolError, ResourceNotFoundError, ResourceTemplate } from "./sdk.ts";

/** JSON-RPC's error code for invalid parameters. */
const INVALID_PARAMS = -32602;

/** A resource that does not exist: `-32602` with `data: { uri }` in both eras (SDK v2). */
function notFound(uri: URL, id: string): ResourceNotFoundError {
  return new ResourceNotFoundError(uri.href, `Image not found: no image has id "${id}"`);
}

/**
 * Runs `work`, answering a refusal of the caller (another key's image, a bad id or cursor) as
 * `-32602` with `data: { ...data, kind }` instead of the SDK's internal error.
 */
async function refusalsAsInvalidParams<T>(
  work: () => Promise<T>,
  redact: (text: string) => string,
  data: Record<string, unknown>,
): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof AppError && (error.kind === "forbidden" || error.kind === "validation")) {
      throw new ProtocolError(INVALID_PARAMS, redact(error.message), { ...data, kind: error.kind });
    }
    throw error;
  }
}

/** Images per `resources/list` page (newest first; `nextCursor` leads to older ones). */
const LISTED_IMAGES = 50;

function idOf(variables: Record<string, string | string[]>): string {
  const value = variables.id;
  const raw = Array.isArray(value) ? value[0] : value;
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new ProtocolError(
      INVALID_PARAMS,
      `Invalid image URI: "${raw}" is not a valid id (percent-encoding)`,
    );
  }
}

function listing(record: ImageRecord, suffix = "") {
  return {
    uri: `image://${record.id}${suffix}`,
    name: suffix ? `${record.fileName} (preview)` : record.fileName,
    title: record.prompt ? record.prompt.slice(0, 80) : record.fileName,
    mimeType: suffix ? undefined : record.mime,
    size: suffix ? undefined : record.bytes,
  };
}

async function completeIds(ctx: McpContext, prefix: string): Promise<string[]> {
  const page = await ctx.images.list(callerOf(ctx), { limit: 100 });
  return page.items.map((r) => r.id).filter((id) => id.startsWith(prefix)).slice(0, 100);
}

/** Registers the image resources on `server`. */
export function registerImageResources(server: McpServer, ctx: McpContext): void {
  server.registerResource(
    "image",
    new ResourceTemplate("image://{id}", {
      list: async (extra) => {
        const page = await ctx.images.list(callerOf(ctx, extra), { limit: LISTED_IMAGES });
        return { resources: page.items.map((record) => listing(record)) };
      },
      complete: { id: (value) => completeIds(ctx, value) },
    }),
    {
      title: "Stored image",
      description: "The full-size stored image by id (as generated, before any preview resizing).",
    },
    async (uri, variables, extra) => {
      const id = idOf(variables);
      const found = await refusalsAsInvalidParams(
        () => ctx.images.read(id, callerOf(ctx, extra)),
        ctx.redact,
        { uri: uri.href },
      );
      if (!found) throw notFound(uri, id);
      return {
        contents: [{ uri: uri.href, mimeType: found.record.mime, blob: encodeBase64(found.bytes) }],
      };
    },
  );
  server.registerResource(
    "image-preview",
    new ResourceTemplate("image://{id}/preview", {
      list: undefined,
      complete: { id: (value) => completeIds(ctx, value) },
    }),
    {
      title: "Image preview",
      description:
        "A preview of a stored image sized to fit in a client's context (MCP_RESULT_MAX_BYTES).",
    },
    async (uri, variables, extra) => {
      const id = idOf(variables);
      const shaped = await refusalsAsInvalidParams(
        () =>
          ctx.images.view(id, callerOf(ctx, extra), {
            maxBytes: ctx.config.mcpResultMaxBytes,
            maxSide: ctx.config.mcpPreviewMaxSide,
          }),
        ctx.redact,
        { uri: uri.href },
      );
      if (!shaped) throw notFound(uri, id);
      return {
        contents: [{
          uri: uri.href,
          mimeType: shaped.view.mime,
          blob: encodeBase64(shaped.view.bytes),
        }],
      };
    },
  );
  // The SDK lists template resources without paging; answer `resources/list` with the catalog's
  // own cursor so every image can be reached, newest first.
  server.server.setRequestHandler("resources/list", async (request, extra) => {
    const cursor = request.params?.cursor;
    const page = await refusalsAsInvalidParams(
      () =>
        ctx.images.list(callerOf(ctx, extra), {
          limit: LISTED_IMAGES,
          ...(cursor ? { cursor } : {}),
        }),
      ctx.redact,
      { cursor },
    );
    return {
      resources: page.items.map((record) => listing(record)),
      ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}),
    };
  });
}
