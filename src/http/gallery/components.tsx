/**
 * Pieces shared by several gallery pages: an image card, an error alert, a notice.
 *
 * @module
 */
import type { FC } from "hono/jsx";
import type { ImageRecord } from "../../core_types.ts";
import { describeError, fitWithin, formatAge, formatTime, formatUsd } from "./format.ts";

/** An image with the URLs the page shows it by. */
export interface ShownImage {
  /** The catalog record. */
  readonly record: ImageRecord;
  /** URL of the 256 px thumbnail. */
  readonly thumbUrl: string;
}

/** Alt text of an image: its prompt (shortened), or its file name when it has none. */
export function altText(record: ImageRecord, max = 300): string {
  const prompt = record.prompt.trim().replace(/\s+/g, " ");
  if (prompt === "") return `Image ${record.fileName || record.id}`;
  return prompt.length > max ? `${prompt.slice(0, max - 1)}…` : prompt;
}

/** One card of the grid: thumbnail (the link), prompt, model, size, cost and age. */
export const ImageCard: FC<{ image: ShownImage; now: number }> = ({ image, now }) => {
  const { record } = image;
  const thumb = fitWithin(record.width, record.height);
  return (
    <li class="card">
      <a class="thumb" href={`/gallery/${record.id}`}>
        <img
          src={image.thumbUrl}
          alt={altText(record)}
          width={thumb.width}
          height={thumb.height}
          loading="lazy"
          decoding="async"
        />
      </a>
      <div class="body">
        <p class="prompt" aria-hidden="true">{record.prompt || "No prompt recorded"}</p>
        <p class="meta">
          <span class="chip" title={record.model}>{record.model}</span>
        </p>
        <p class="facts">
          <span>{`${record.width} × ${record.height}`}</span>
          {record.costUsd === null ? null : <span title="Cost">{formatUsd(record.costUsd)}</span>}
          <time
            datetime={new Date(record.created).toISOString()}
            title={formatTime(record.created)}
          >
            {formatAge(record.created, now)}
          </time>
        </p>
      </div>
    </li>
  );
};

/** A failure shown to a person. */
export interface ShownError {
  /** Error kind. */
  readonly kind: string;
  /** The server's message. */
  readonly message: string;
  /** Seconds until a retry may succeed. */
  readonly retryAfterSeconds?: number | undefined;
}

/** An error alert: title and advice by kind, then the server's own message. */
export const ErrorAlert: FC<{ error: ShownError }> = ({ error }) => {
  const described = describeError(error.kind, { retryAfterSeconds: error.retryAfterSeconds });
  return (
    <div class="alert" role="alert" data-error-kind={error.kind}>
      <strong>{described.title}</strong>
      <p>{described.hint}</p>
      <p class="detail-text">{error.message}</p>
    </div>
  );
};

/** Why a form was refused, above the form; nothing without a message. */
export const FormAlert: FC<{ message?: string | undefined }> = ({ message }) =>
  message
    ? (
      <div class="alert" role="alert">
        <p>{message}</p>
      </div>
    )
    : null;

/** The field a person types an API key (or the service's access token) into. */
export const KeyField: FC<{ required: boolean; hint: string }> = ({ required, hint }) => (
  <div class="field">
    <label for="key">API key or access token</label>
    <input
      type="password"
      id="key"
      name="key"
      required={required}
      autocomplete="current-password"
      spellcheck={false}
      aria-describedby="key-hint"
    />
    <p class="hint" id="key-hint">{hint}</p>
  </div>
);

/** A success notice. */
export const Notice: FC<{ text: string }> = ({ text }) => (
  <div class="alert success" role="status">
    <p>{text}</p>
  </div>
);
