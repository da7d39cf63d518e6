/**
 * Turns images and errors into tool results real clients accept: per image a preview the model can
 * see (all previews together within `MCP_RESULT_MAX_BYTES`), a `resource_link` to the full file and
 * a short text; failures as `isError` results with a message a person can act on.
 *
 * @module
 */
import { join } from "node:path";
import { pathToFileURL as toFileUrl } from "node:url";
import { encodeBase64 } from "../encoding.ts";
import { formatBytes } from "../format_bytes.ts";
import type { Config } from "../config.ts";
import { type AppError, toAppError } from "../errors.ts";
import type { Caller, GenerationJob, ImageRecord, ImageService, ImageView } from "../core_types.ts";

/** The core as result shaping needs it: previews of images, read as `caller`. */
export interface ImageViewer {
  /** The core. */
  readonly images: Pick<ImageService, "view">;
  /** Who the previews are made for. */
  readonly caller: Caller;
}
import type { CallToolResult, ContentBlock } from "./sdk.ts";

/** Settings that shape results. */
export type ResultConfig =
  & Pick<
    Config,
    | "mcpResultMaxBytes"
    | "mcpPreviewMaxSide"
    | "mcpStructuredContent"
    | "publicBaseUrl"
    | "imagesPublic"
    | "imageStore"
    | "outputDir"
  >
  & FileLinkOption;

/**
 * Gives the URL a client may open for `file` (an image's file name, or a pending image's id), or
 * undefined when there is none to give.
 */
export type ImageLinker = (file: string) => Promise<string | undefined>;

/** How results link images: `file://` paths (local clients only) and HTTP URLs. */
export interface FileLinkOption {
  /** Whether results may name the server's files (`file://`); false for remote clients. Default true. */
  readonly fileLinks?: boolean;
  /**
   * The HTTP URL of an image, signed when images are not public. Default: under `publicBaseUrl`
   * when images are public, none otherwise (an unsigned link would only be refused).
   */
  readonly imageLink?: ImageLinker;
}

type LinkConfig = Pick<Config, "publicBaseUrl" | "imagesPublic"> & FileLinkOption;

/** Who is asking, as far as result shaping cares. */
export interface ClientTraits {
  /** `clientInfo.name` from `initialize`. */
  name?: string;
}

/**
 * Whether to attach `structuredContent`. Claude Code drops image blocks when a result carries it,
 * and Claude Desktop reads `content` anyway, so `auto` leaves it out for Claude clients and adds it
 * for others (ChatGPT reads only `structuredContent`).
 */
export function wantsStructuredContent(
  mode: Config["mcpStructuredContent"],
  client: ClientTraits,
): boolean {
  if (mode === "always") return true;
  if (mode === "never") return false;
  return !/claude/i.test(client.name ?? "");
}

function formatUsd(usd: number | null | undefined): string {
  if (usd === null || usd === undefined) return "unknown";
  return `$${usd < 0.01 ? usd.toFixed(4) : usd.toFixed(3)}`;
}

/** The HTTP URL of `file` (a file name or a pending image's id), or undefined when there is none. */
export function imageHttpUrl(config: LinkConfig, file: string): Promise<string | undefined> {
  if (config.imageLink) return config.imageLink(file);
  const open = config.publicBaseUrl !== undefined && config.imagesPublic;
  return Promise.resolve(open ? `${config.publicBaseUrl}/images/${file}` : undefined);
}

/** The `file://` URI of a stored image when images live in a local directory. */
export function imageFileUri(
  config: Pick<Config, "imageStore" | "outputDir"> & FileLinkOption,
  record: ImageRecord,
): string | undefined {
  if (config.fileLinks === false || config.imageStore !== "fs" || !record.fileName) {
    return undefined;
  }
  return toFileUrl(join(config.outputDir, record.fileName)).href;
}

/** Machine-readable description of one image (structured content and JSON answers). */
export async function describeImage(
  config: LinkConfig & Pick<Config, "imageStore" | "outputDir">,
  record: ImageRecord,
): Promise<Record<string, unknown>> {
  return {
    id: record.id,
    uri: `image://${record.id}`,
    file_uri: imageFileUri(config, record),
    url: await imageHttpUrl(config, record.fileName),
    mime_type: record.mime,
    width: record.width,
    height: record.height,
    bytes: record.bytes,
    model: record.model,
    prompt: record.prompt,
    revised_prompt: record.revisedPrompt ?? undefined,
    cost_usd: record.costUsd,
    created: new Date(record.created).toISOString(),
  };
}

async function summaryText(
  config: ResultConfig,
  record: ImageRecord,
  view: ImageView | undefined,
  position: string,
): Promise<string> {
  const params = record.parameters;
  const lines = [
    `${position}: id ${record.id}`,
    `Model: ${record.model ?? "unknown"} · ${record.width}x${record.height} · ${
      params.quality ?? "?"
    } · ${record.mime.replace("image/", "")} · ${formatBytes(record.bytes)} · cost ${
      formatUsd(record.costUsd)
    }`,
  ];
  const fileUri = imageFileUri(config, record);
  if (fileUri) lines.push(`Saved: ${fileUri}`);
  const url = await imageHttpUrl(config, record.fileName);
  if (url) lines.push(`URL: ${url}`);
  lines.push(`Full image: image://${record.id} (read it as a resource, or call get_image)`);
  if (view?.reencoded) {
    lines.push(
      `Preview shown: ${view.width}x${view.height} ${view.mime.replace("image/", "")}, ${
        formatBytes(view.bytes.length)
      } (the full image is larger than a tool result may carry)`,
    );
  }
  if (record.revisedPrompt) lines.push(`Revised prompt: ${record.revisedPrompt}`);
  return lines.join("\n");
}

/** Content blocks for stored images: preview image + resource link + text, within the budget. */
export async function imageBlocks(
  viewer: ImageViewer,
  config: ResultConfig,
  records: readonly ImageRecord[],
): Promise<ContentBlock[]> {
  const content: ContentBlock[] = [];
  const budget = Math.floor(config.mcpResultMaxBytes / Math.max(1, records.length));
  for (const [index, record] of records.entries()) {
    const shaped = await viewer.images.view(record.id, viewer.caller, {
      maxBytes: budget,
      maxSide: config.mcpPreviewMaxSide,
    });
    const position = records.length > 1 ? `Image ${index + 1} of ${records.length}` : "Image";
    if (shaped) {
      content.push({
        type: "image",
        data: encodeBase64(shaped.view.bytes),
        mimeType: shaped.view.mime,
      });
    }
    content.push({
      type: "resource_link",
      uri: `image://${record.id}`,
      name: record.fileName,
      title: record.prompt ? record.prompt.slice(0, 80) : record.fileName,
      mimeType: record.mime,
      size: record.bytes,
    } as ContentBlock);
    content.push({
      type: "text",
      text: await summaryText(config, record, shaped?.view, position),
    });
  }
  return content;
}

/** The result of a finished generation. */
export async function generationResult(
  viewer: ImageViewer,
  config: ResultConfig,
  client: ClientTraits,
  result: {
    jobId: string;
    images: readonly ImageRecord[];
    warnings: readonly string[];
    cost: { usd: number | null; reason?: string; estimated?: boolean };
  },
): Promise<CallToolResult> {
  const content = await imageBlocks(viewer, config, result.images);
  const notes: string[] = [];
  if (result.images.length > 1) notes.push(`Total cost: ${formatUsd(result.cost.usd)}`);
  if (result.cost.usd === null && result.cost.reason) notes.push(`Cost: ${result.cost.reason}`);
  if (result.cost.usd !== null && result.cost.estimated) {
    notes.push(
      `Cost is an estimate: ${result.cost.reason ?? "the model's prices are not confirmed"}`,
    );
  }
  for (const warning of result.warnings) notes.push(`Warning: ${warning}`);
  if (notes.length > 0) content.push({ type: "text", text: notes.join("\n") });
  const answer: CallToolResult = { content };
  if (wantsStructuredContent(config.mcpStructuredContent, client)) {
    answer.structuredContent = {
      status: "succeeded",
      job_id: result.jobId,
      images: await Promise.all(result.images.map((record) => describeImage(config, record))),
      cost_usd: result.cost.usd,
      ...(result.cost.estimated ? { cost_estimated: true } : {}),
      warnings: result.warnings,
    };
  }
  return answer;
}

/** The answer for a job still running when the client's patience runs out. */
export async function pendingResult(
  config: ResultConfig,
  client: ClientTraits,
  job: GenerationJob,
  waitedSeconds: number,
): Promise<CallToolResult> {
  const ids = job.imageIds;
  const text = [
    `Still generating after ${
      Math.round(waitedSeconds)
    } s (${job.model}), so this answer returns ` +
    `before the image is ready. The generation continues and the image will be stored when it ` +
    `arrives — nothing is lost.`,
    `Pending image id${ids.length > 1 ? "s" : ""}: ${ids.join(", ")}`,
    `Call get_image with id "${ids[0]}" (it waits for the image) in about 30 seconds to see it.`,
  ];
  const url = await imageHttpUrl(config, ids[0]);
  if (url) text.push(`When ready it will also be at ${url}`);
  for (const warning of job.warnings) text.push(`Warning: ${warning}`);
  const answer: CallToolResult = {
    content: [
      { type: "text", text: text.join("\n") },
      ...ids.map((id) => ({
        type: "resource_link" as const,
        uri: `image://${id}`,
        name: id,
        description: "Pending image: available once the generation finishes",
      })),
    ],
  };
  if (wantsStructuredContent(config.mcpStructuredContent, client)) {
    answer.structuredContent = { status: "pending", job_id: job.id, image_ids: ids };
  }
  return answer;
}

/** An `isError` result for any failure, with the message and what to do about it. */
export function errorResult(error: unknown, redact: (text: string) => string): CallToolResult {
  const appError: AppError = toAppError(error);
  const lines = [redact(appError.message)];
  // The message itself says where the key goes for this process (stdio client or service).
  if (appError.kind === "missing_api_key") lines.push("See MCP_SETUP.md");
  if (appError.field) lines.push(`Field: ${appError.field}`);
  if (appError.retryAfterSeconds !== undefined) {
    lines.push(`Retry after: ${Math.ceil(appError.retryAfterSeconds)} s`);
  }
  const accepted = appError.details?.accepted;
  if (Array.isArray(accepted) && accepted.length > 0) {
    lines.push(`Accepted: ${accepted.join(", ")}`);
  }
  return {
    isError: true,
    content: [{ type: "text", text: `Error (${appError.kind}): ${lines.join("\n")}` }],
  };
}
