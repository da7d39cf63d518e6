/**
 * The gallery: a filter form (prompt search, model), a responsive grid of cards newest first,
 * and cursor links to older pages.
 *
 * @module
 */
import type { FC } from "hono/jsx";
import { ErrorAlert, ImageCard, Notice, type ShownError, type ShownImage } from "./components.tsx";
import { type Frame, Layout } from "./layout.tsx";

/** What the gallery page shows. */
export interface GalleryPageProps {
  /** Shared frame. */
  readonly frame: Frame;
  /** Images of this page. */
  readonly images: readonly ShownImage[];
  /** The search text. */
  readonly query: string;
  /** The model filter ("" for all). */
  readonly model: string;
  /** Models to filter by. */
  readonly models: readonly string[];
  /** Whether this is a later page (a cursor was given). */
  readonly paged: boolean;
  /** Link to the next (older) page, if any. */
  readonly nextHref?: string | undefined;
  /** A notice to show (e.g. after a delete). */
  readonly notice?: string | undefined;
  /** A failure to show instead of images. */
  readonly error?: ShownError | undefined;
  /** Whether the viewer may generate. */
  readonly canGenerate: boolean;
  /** The clock, for ages. */
  readonly now: number;
}

function modelOption(id: string, selected: string) {
  return <option value={id} selected={id === selected}>{id}</option>;
}

/** The gallery URL for a search text and model filter. */
export function filterHref(query: string, model: string): string {
  const params = new URLSearchParams();
  if (query) params.set("q", query);
  if (model) params.set("model", model);
  const text = params.toString();
  return text ? `/?${text}` : "/";
}

const Empty: FC<{ filtered: boolean; canGenerate: boolean }> = (props) =>
  props.filtered
    ? (
      <div class="empty">
        <h2>No images match</h2>
        <p>Nothing in the gallery matches these filters. Try other words or all models.</p>
        <a class="button" href="/">Clear filters</a>
      </div>
    )
    : (
      <div class="empty">
        <h2>No images yet</h2>
        <p>
          Images generated here, through the API or from an MCP client appear in this gallery,
          newest first.
        </p>
        {props.canGenerate
          ? <a class="button primary" href="/generate">Generate the first image</a>
          : null}
      </div>
    );

/** The gallery page. */
export const GalleryPage: FC<GalleryPageProps> = (props) => {
  const filtered = props.query !== "" || props.model !== "";
  return (
    <Layout title="Gallery" frame={props.frame} current="gallery">
      <div class="page-head compact">
        <div>
          <h1>Gallery</h1>
          <p>Every image the service has made, newest first.</p>
        </div>
        {props.canGenerate ? <a class="button primary" href="/generate">New image</a> : null}
      </div>
      {props.notice ? <Notice text={props.notice} /> : null}
      <form class="filters" method="get" action="/" role="search" aria-label="Filter images">
        <div class="field search">
          <label for="q">Search prompts</label>
          <input
            type="search"
            id="q"
            name="q"
            value={props.query}
            maxlength={200}
            placeholder="e.g. lighthouse at dusk"
          />
        </div>
        <div class="field model">
          <label for="filter-model">Model</label>
          <select id="filter-model" name="model">
            <option value="" selected={props.model === ""}>All models</option>
            {props.models.map((id) => modelOption(id, props.model))}
          </select>
        </div>
        <div class="buttons">
          <button class="button" type="submit">Apply filters</button>
          {filtered ? <a class="button quiet" href="/">Clear</a> : null}
        </div>
      </form>
      {props.error ? <ErrorAlert error={props.error} /> : null}
      {filtered && props.images.length > 0
        ? (
          <p class="result-note" role="status">
            {`${props.images.length}${props.nextHref ? "+" : ""} image${
              props.images.length === 1 ? "" : "s"
            } match`}
          </p>
        )
        : null}
      {props.images.length > 0
        ? (
          <ul class="grid" aria-label="Images">
            {
              // deno-lint-ignore jsx-key -- rendered once on the server: no reconciliation needs keys
              props.images.map((image) => <ImageCard image={image} now={props.now} />)
            }
          </ul>
        )
        : props.error
        ? null
        : <Empty filtered={filtered} canGenerate={props.canGenerate} />}
      {props.paged || props.nextHref
        ? (
          <nav class="pager" aria-label="Pages">
            {props.paged
              ? <a class="button" href={filterHref(props.query, props.model)}>Newest images</a>
              : null}
            {props.nextHref
              ? <a class="button next" rel="next" href={props.nextHref}>Older images</a>
              : null}
          </nav>
        )
        : null}
    </Layout>
  );
};
