/**
 * The generate form. Its choices come from the model registry: the page renders those of the
 * selected model (so it works without JavaScript), and carries every model's choices as JSON
 * data for the script to swap them when another model is picked.
 *
 * @module
 */
import type { FC } from "hono/jsx";
import { raw } from "hono/html";
import { ErrorAlert, type ShownError } from "./components.tsx";
import { type Frame, Layout } from "./layout.tsx";
import { formLabel } from "./form_request.ts";
import type { Choice, ModelChoices } from "./model_options.ts";

/** Values of the form, as submitted (to show them again after a failure). */
export interface GenerateValues {
  /** Prompt. */
  prompt?: string;
  /** Model id. */
  model?: string;
  /** Listed size. */
  size?: string;
  /** Free-form size. */
  size_custom?: string;
  /** Quality. */
  quality?: string;
  /** Output format. */
  output_format?: string;
  /** Background. */
  background?: string;
  /** Number of images. */
  n?: string;
  /** Partial images. */
  partial_images?: string;
}

/** What the generate page shows. */
export interface GeneratePageProps {
  /** Shared frame. */
  readonly frame: Frame;
  /** Every model's choices. */
  readonly models: readonly ModelChoices[];
  /** The model selected at first. */
  readonly defaultModel: string;
  /** Values to show again. */
  readonly values: GenerateValues;
  /** A failure to show. */
  readonly error?: ShownError | undefined;
  /** Images per hour per person (0: unlimited). */
  readonly hourlyLimit: number;
}

const Select: FC<{
  id: string;
  label: string;
  choices: readonly Choice[];
  selected: string;
  hidden?: boolean;
  hint?: string;
  widePhone?: boolean;
}> = (props) => (
  <div
    class={props.widePhone ? "field wide-phone" : "field"}
    data-field={props.id}
    hidden={props.hidden}
  >
    <label for={props.id}>{props.label}</label>
    <select
      id={props.id}
      name={props.id}
      disabled={props.hidden}
      aria-describedby={props.hint ? `${props.id}-hint` : undefined}
    >
      {props.choices.map(([value, label]) => (
        <option value={value} selected={value === props.selected}>{label}</option>
      ))}
    </select>
    {props.hint ? <p class="hint" id={`${props.id}-hint`}>{props.hint}</p> : null}
  </div>
);

function counting(from: number, to: number, zeroLabel?: string): Choice[] {
  const out: Choice[] = [];
  for (let i = from; i <= to; i++) {
    out.push([String(i), i === 0 && zeroLabel ? zeroLabel : String(i)]);
  }
  return out;
}

function pick(choices: readonly Choice[], wanted: string | undefined, fallback: string): string {
  if (wanted !== undefined && choices.some(([value]) => value === wanted)) return wanted;
  return choices.some(([value]) => value === fallback) ? fallback : (choices[0]?.[0] ?? "");
}

/** JSON for an inline data block: `<` escaped so the text can never close the script element. */
function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c").replace(
    /\u2028|\u2029/g,
    (c) => c === "\u2028" ? "\\u2028" : "\\u2029",
  );
}

/** The generate page. */
export const GeneratePage: FC<GeneratePageProps> = (props) => {
  const { values } = props;
  const model = props.models.find((m) => m.id === values.model) ??
    props.models.find((m) => m.id === props.defaultModel) ?? props.models[0];
  return (
    <Layout title="Generate" frame={props.frame} current="generate">
      <div class="page-head">
        <div>
          <h1>Generate an image</h1>
          <p>Describe what you want to see. The options follow what the chosen model accepts.</p>
        </div>
      </div>
      {props.error ? <ErrorAlert error={props.error} /> : null}
      {model === undefined
        ? <p>No image model is available. An administrator needs to check the model settings.</p>
        : (
          <div class="layout-form">
            <form class="panel" method="post" action="/generate" data-generate-form>
              <input type="hidden" name="_csrf" value={props.frame.csrf} />
              <div class="form-grid">
                <div class="field wide">
                  <label for="prompt">{formLabel("prompt")}</label>
                  <textarea
                    id="prompt"
                    name="prompt"
                    required
                    rows={4}
                    maxlength={32000}
                    placeholder="A lighthouse on a rocky coast at dusk, warm light, oil painting"
                  >
                    {values.prompt ?? ""}
                  </textarea>
                </div>
                <Select
                  id="model"
                  label={formLabel("model")}
                  choices={props.models.map((m) => [m.id, m.label] as const)}
                  selected={model.id}
                  widePhone
                />
                <Select
                  id="size"
                  label={formLabel("size")}
                  choices={model.sizes}
                  selected={pick(model.sizes, values.size, model.defaultSize)}
                  widePhone
                />
                <Select
                  id="quality"
                  label={formLabel("quality")}
                  choices={model.qualities}
                  selected={pick(model.qualities, values.quality, model.defaultQuality)}
                />
                <Select
                  id="output_format"
                  label={formLabel("output_format")}
                  choices={model.formats}
                  selected={pick(model.formats, values.output_format, "png")}
                  hidden={model.formats.length === 0}
                />
                <Select
                  id="background"
                  label={formLabel("background")}
                  choices={model.backgrounds}
                  selected={pick(model.backgrounds, values.background, "auto")}
                  hidden={model.backgrounds.length === 0}
                />
                <Select
                  id="n"
                  label={formLabel("n")}
                  choices={counting(1, model.maxImages)}
                  selected={pick(counting(1, model.maxImages), values.n, "1")}
                />
                <Select
                  id="partial_images"
                  label={formLabel("partial_images")}
                  choices={counting(0, model.maxPartialImages, "None")}
                  selected={pick(
                    counting(0, model.maxPartialImages, "None"),
                    values.partial_images,
                    "0",
                  )}
                  hidden={model.maxPartialImages === 0}
                  hint="Shown while waiting; each costs extra output tokens."
                />
                <div class="field span-2" data-field="size_custom" hidden={!model.customSize}>
                  <label for="size_custom">Custom size (optional)</label>
                  <input
                    type="text"
                    id="size_custom"
                    name="size_custom"
                    value={values.size_custom ?? ""}
                    placeholder="e.g. 1920x1088"
                    pattern="\d{2,5}x\d{2,5}"
                    inputmode="text"
                    autocomplete="off"
                    spellcheck={false}
                    disabled={!model.customSize}
                    aria-describedby="size-hint"
                  />
                  <p class="hint" id="size-hint" data-size-hint>{model.sizeHint}</p>
                </div>
              </div>
              <div class="form-actions">
                <button class="button primary" type="submit">Generate</button>
                <p class="hint">New images are added to the shared gallery.</p>
              </div>
            </form>
            <aside class="panel tips" aria-labelledby="tips-heading">
              <h2 id="tips-heading">Tips</h2>
              <ul>
                <li>Name the subject, the setting, the style and the light.</li>
                <li>Low quality is fastest and cheapest; high quality can take a few minutes.</li>
                <li>Transparent backgrounds need PNG or WebP.</li>
                {props.hourlyLimit > 0
                  ? <li>{`You can make up to ${props.hourlyLimit} images per hour.`}</li>
                  : null}
              </ul>
            </aside>
          </div>
        )}
      <script type="application/json" id="model-choices">{raw(jsonForScript(props.models))}</script>
    </Layout>
  );
};
