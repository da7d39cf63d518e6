/**
 * One image: the full picture, its prompt and revised prompt, every parameter, usage and cost,
 * download and copy-link, an edit form that starts an edit with this image as input, and (for
 * admins) delete behind a confirmation.
 *
 * @module
 */
import type { FC } from "hono/jsx";
import type { ImageRecord } from "../../core_types.ts";
import { altText, ErrorAlert, Notice, type ShownError } from "./components.tsx";
import { formatAge, formatBytes, formatTime, formatUsd } from "./format.ts";
import { type Frame, Layout } from "./layout.tsx";

/** What the detail page shows. */
export interface DetailPageProps {
  /** Shared frame. */
  readonly frame: Frame;
  /** The image. */
  readonly record: ImageRecord;
  /** URL of the full image (as used by the page). */
  readonly fullUrl: string;
  /** Absolute URL of the full image, for sharing. */
  readonly shareUrl: string;
  /** Whether the viewer may start an edit. */
  readonly canEdit: boolean;
  /** Whether the viewer may delete. */
  readonly canDelete: boolean;
  /** Whether the image's model can edit (else the default model is used). */
  readonly editModel: string | null;
  /** The edit prompt to show again after a failure. */
  readonly editPrompt?: string | undefined;
  /** A failure of the edit form. */
  readonly error?: ShownError | undefined;
  /** A notice. */
  readonly notice?: string | undefined;
  /** The clock. */
  readonly now: number;
}

const PARAMETER_LABELS: Record<string, string> = {
  size: "Requested size",
  quality: "Quality",
  output_format: "Format",
  background: "Background",
  n: "Images in request",
  output_compression: "Compression",
  moderation: "Moderation",
  translated_from: "Requested model",
  operation: "Operation",
  style: "Style",
};

const DOOR_LABELS: Record<string, string> = {
  mcp: "MCP",
  http: "Web page or REST API",
  v1: "OpenAI-compatible API",
  cli: "Command line",
  adopted: "Adopted from an earlier version",
};

function showValue(value: unknown): string {
  if (value === null || value === undefined) return "—";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return JSON.stringify(value);
}

function tokenCount(value: unknown): string | null {
  return typeof value === "number" && Number.isFinite(value) ? value.toLocaleString("en-US") : null;
}

/** Usage as words: `1,200 in (text 50, image 1,150) · 4,160 out · 5,360 total`. */
export function describeUsage(usage: Record<string, unknown> | null): string | null {
  if (usage === null) return null;
  const parts: string[] = [];
  const input = tokenCount(usage.input_tokens);
  if (input !== null) {
    const details = usage.input_tokens_details as Record<string, unknown> | undefined;
    const text = tokenCount(details?.text_tokens);
    const image = tokenCount(details?.image_tokens);
    const split = [text === null ? null : `text ${text}`, image === null ? null : `image ${image}`]
      .filter((part) => part !== null);
    parts.push(`${input} in${split.length ? ` (${split.join(", ")})` : ""}`);
  }
  const output = tokenCount(usage.output_tokens);
  if (output !== null) parts.push(`${output} out`);
  const total = tokenCount(usage.total_tokens);
  if (total !== null) parts.push(`${total} total`);
  return parts.length ? parts.join(" · ") : null;
}

/** The detail page. */
export const DetailPage: FC<DetailPageProps> = (props) => {
  const { record } = props;
  const format = record.mime.replace("image/", "").toUpperCase();
  const usage = describeUsage(record.usage);
  const actualSize = `${record.width}x${record.height}`;
  const parameters = Object.entries(record.parameters ?? {}).filter(([key, value]) =>
    value !== undefined && value !== null && value !== "" &&
    !(key === "size" && value === actualSize)
  );
  return (
    <Layout title="Image details" frame={props.frame}>
      <p class="crumbs">
        <a href="/">← Back to the gallery</a>
      </p>
      <div class="page-head">
        <div>
          <h1>Image details</h1>
          <p>
            Created{" "}
            <time
              datetime={new Date(record.created).toISOString()}
              title={formatTime(record.created)}
            >
              {formatAge(record.created, props.now)}
            </time>{" "}
            with {record.model}
          </p>
        </div>
        <div class="actions">
          <a class="button primary" href={props.fullUrl} download={record.fileName || undefined}>
            Download
          </a>
          <a class="button" href={props.fullUrl}>Open full size</a>
        </div>
      </div>
      {props.notice ? <Notice text={props.notice} /> : null}
      {props.error ? <ErrorAlert error={props.error} /> : null}
      <div class="detail">
        <figure class="viewer">
          <div class="frame">
            <img
              src={props.fullUrl}
              alt={altText(record, 1000)}
              width={record.width}
              height={record.height}
            />
          </div>
          <figcaption>
            {record.width} × {record.height} · {format} · {formatBytes(record.bytes)}
          </figcaption>
        </figure>
        <div>
          <section class="panel" aria-labelledby="prompt-heading">
            <h2 id="prompt-heading">Prompt</h2>
            <p class="prompt-text">{record.prompt || "No prompt was recorded for this image."}</p>
            {record.revisedPrompt
              ? (
                <div class="revised">
                  <h3>Revised by the model</h3>
                  <p>{record.revisedPrompt}</p>
                </div>
              )
              : null}
          </section>
          <section class="panel" aria-labelledby="details-heading">
            <h2 id="details-heading">Details</h2>
            <dl class="props">
              <dt>Model</dt>
              <dd>{record.model}</dd>
              <dt>Size</dt>
              <dd>{record.width} × {record.height}</dd>
              {parameters.map(([key, value]) => (
                <>
                  <dt>{PARAMETER_LABELS[key] ?? key}</dt>
                  <dd>{showValue(value)}</dd>
                </>
              ))}
              <dt>Cost</dt>
              <dd>
                {record.costUsd === null ? "Not known for this model" : formatUsd(record.costUsd)}
              </dd>
              <dt>Tokens</dt>
              <dd>{usage ?? "—"}</dd>
              <dt>Created</dt>
              <dd>{formatTime(record.created)}</dd>
              <dt>Created by</dt>
              <dd>{record.creator ?? "—"}</dd>
              <dt>Made through</dt>
              <dd>{DOOR_LABELS[record.door] ?? record.door}</dd>
              <dt>File</dt>
              <dd class="mono">{record.fileName || "—"}</dd>
              <dt>File size</dt>
              <dd>{formatBytes(record.bytes)}</dd>
              <dt>Image id</dt>
              <dd class="mono">{record.id}</dd>
            </dl>
          </section>
          <section class="panel" aria-labelledby="share-heading">
            <h2 id="share-heading">Share</h2>
            <div class="field">
              <label for="share-link">Image link</label>
              <div class="copy-row">
                <input
                  type="text"
                  id="share-link"
                  value={props.shareUrl}
                  readonly
                  spellcheck={false}
                />
                <button class="button" type="button" data-copy-target="share-link" hidden>
                  Copy link
                </button>
              </div>
              <p class="status" role="status" data-copy-status></p>
            </div>
          </section>
          <section class="panel" aria-labelledby="edit-heading">
            <h2 id="edit-heading">Edit this image</h2>
            {props.canEdit
              ? (
                <form class="stack" method="post" action={`/gallery/${record.id}/edit`}>
                  <input type="hidden" name="_csrf" value={props.frame.csrf} />
                  <div class="field">
                    <label for="edit-prompt">What should change?</label>
                    <textarea
                      id="edit-prompt"
                      name="prompt"
                      required
                      rows={3}
                      placeholder="e.g. make it night time, keep everything else"
                    >
                      {props.editPrompt ?? ""}
                    </textarea>
                    <p class="hint">
                      {props.editModel
                        ? `The edit uses ${props.editModel} with this image as input.`
                        : "The edit uses the default model with this image as input."}
                    </p>
                  </div>
                  <div>
                    <button class="button primary" type="submit">Start edit</button>
                  </div>
                </form>
              )
              : (
                <p class="hint">
                  <a href={`/login?next=/gallery/${record.id}`}>Sign in</a> to edit images.
                </p>
              )}
          </section>
          {props.canDelete
            ? (
              <section class="panel" aria-labelledby="delete-heading">
                <h2 id="delete-heading" class="visually-hidden">Delete</h2>
                <details class="danger-zone">
                  <summary>Delete this image…</summary>
                  <p>
                    The image and its thumbnail are removed for everyone. Links to it stop working.
                    This cannot be undone.
                  </p>
                  <form method="post" action={`/gallery/${record.id}/delete`}>
                    <input type="hidden" name="_csrf" value={props.frame.csrf} />
                    <button class="button danger" type="submit">Delete permanently</button>
                  </form>
                </details>
              </section>
            )
            : null}
        </div>
      </div>
    </Layout>
  );
};
