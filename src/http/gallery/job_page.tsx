/**
 * A generation's page: while running, elapsed time, stage and partial images (live through
 * server-sent events with JavaScript, by refreshing every two seconds without); then the
 * finished images, or what went wrong and what to do about it.
 *
 * @module
 */
import type { FC } from "hono/jsx";
import { altText, ErrorAlert, type ShownError, type ShownImage } from "./components.tsx";
import { fitWithin, formatSeconds } from "./format.ts";
import { type Frame, Layout } from "./layout.tsx";

/** The state of a job as the page shows it. */
export type JobView =
  | {
    readonly state: "running";
    readonly elapsedSeconds: number;
    readonly stageLabel: string;
    readonly partials: readonly { index: number; dataUrl: string }[];
  }
  | { readonly state: "succeeded"; readonly images: readonly ShownImage[] }
  | { readonly state: "failed"; readonly error: ShownError };

/** What the job page shows. */
export interface JobPageProps {
  /** Shared frame. */
  readonly frame: Frame;
  /** Job id. */
  readonly jobId: string;
  /** The prompt, when known. */
  readonly prompt?: string | undefined;
  /** Model, when known. */
  readonly model?: string | undefined;
  /** Images asked for. */
  readonly count: number;
  /** The state. */
  readonly view: JobView;
  /** Whether the viewer may cancel. */
  readonly canCancel: boolean;
}

/** Seconds between refreshes of a running job's page without JavaScript. */
export const REFRESH_SECONDS = 2;

/** The job page. */
export const JobPage: FC<JobPageProps> = (props) => {
  const { view } = props;
  const what = `${props.count} image${props.count === 1 ? "" : "s"}${
    props.model ? ` with ${props.model}` : ""
  }`;
  if (view.state === "running") {
    return (
      <Layout
        title="Generating"
        frame={props.frame}
        head={
          <noscript>
            <meta http-equiv="refresh" content={String(REFRESH_SECONDS)} />
          </noscript>
        }
      >
        <div class="job-wrap">
          <p class="crumbs">
            <a href="/">← Back to the gallery</a>
          </p>
          <section
            class="panel job"
            aria-labelledby="job-heading"
            data-job-events={`/jobs/${props.jobId}/events`}
            data-job-state="running"
          >
            <div class="progress-head">
              <span class="spinner" aria-hidden="true"></span>
              <h1 id="job-heading">Generating…</h1>
              <span class="elapsed" data-elapsed title="Time elapsed">
                {formatSeconds(view.elapsedSeconds)}
              </span>
            </div>
            <div class="bar" aria-hidden="true"></div>
            <p role="status">
              <span data-stage>{view.stageLabel}</span> · {what}
            </p>
            {props.prompt ? <p class="prompt-text">{props.prompt}</p> : null}
            <ol
              class="partials"
              data-partials
              aria-label="Partial previews"
              hidden={view.partials.length === 0}
            >
              {view.partials.map((partial) => (
                <li>
                  <img
                    src={partial.dataUrl}
                    alt={`Partial preview ${partial.index + 1}`}
                    data-index={String(partial.index)}
                  />
                </li>
              ))}
            </ol>
            <noscript>
              <p class="hint">
                {`This page refreshes every ${REFRESH_SECONDS} seconds until the image is ready.`}
              </p>
            </noscript>
            {props.canCancel
              ? (
                <form class="form-actions" method="post" action={`/jobs/${props.jobId}/cancel`}>
                  <input type="hidden" name="_csrf" value={props.frame.csrf} />
                  <button class="button small" type="submit">Cancel</button>
                  <p class="hint">
                    You can leave this page: the image is still added to the gallery.
                  </p>
                </form>
              )
              : null}
          </section>
        </div>
      </Layout>
    );
  }
  if (view.state === "failed") {
    return (
      <Layout title="Generation failed" frame={props.frame}>
        <div class="job-wrap">
          <p class="crumbs">
            <a href="/">← Back to the gallery</a>
          </p>
          <section class="panel job" aria-labelledby="job-heading" data-job-state="failed">
            <h1 id="job-heading">The image could not be made</h1>
            {props.prompt ? <p class="prompt-text">{props.prompt}</p> : null}
            <ErrorAlert error={view.error} />
            <div class="actions">
              <a class="button primary" href="/generate">Try again</a>
              <a class="button" href="/">Back to the gallery</a>
            </div>
          </section>
        </div>
      </Layout>
    );
  }
  return (
    <Layout title="Image ready" frame={props.frame}>
      <div class="job-wrap">
        <p class="crumbs">
          <a href="/">← Back to the gallery</a>
        </p>
        <section class="panel job" aria-labelledby="job-heading" data-job-state="succeeded">
          <h1 id="job-heading">
            {view.images.length === 1 ? "Your image is ready" : "Your images are ready"}
          </h1>
          {props.prompt ? <p class="prompt-text">{props.prompt}</p> : null}
          <ul class="results" aria-label="New images">
            {view.images.map((image) => {
              const size = fitWithin(image.record.width, image.record.height);
              return (
                <li>
                  <a href={`/gallery/${image.record.id}`}>
                    <img
                      src={image.thumbUrl}
                      alt={altText(image.record)}
                      width={size.width}
                      height={size.height}
                    />
                  </a>
                </li>
              );
            })}
          </ul>
          <div class="form-actions">
            <a class="button primary" href="/">See it in the gallery</a>
            <a class="button" href="/generate">Generate another</a>
          </div>
        </section>
      </div>
    </Layout>
  );
};
