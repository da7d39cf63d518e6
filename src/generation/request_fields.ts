/**
 * Every field of an image request, defined once: its JSON type, description, accepted values,
 * which operations take it and which doors offer it (and under which CLI flag or form label).
 * The core's schema, the MCP tool inputs, the OpenAPI bodies, the `/v1` multipart fields, the CLI
 * flags and the gallery form are projections of this table (see request_schema.ts); the per-model
 * rules (sizes, qualities, formats, partials) stay data in the model registry.
 *
 * @module
 */

/** The two operations of the Images API. */
export type Operation = "generate" | "edit";

/**
 * A door of the service: `mcp` (the MCP tools), `rest` (the predecessor's `POST /mcp`), `v1` (the
 * OpenAI-compatible API), `cli` (the command line) and `form` (the gallery's generate page).
 */
export type Door = "mcp" | "rest" | "v1" | "cli" | "form";

/**
 * What a door does with a field: `core` passes it to the ImageService, `door` reads it itself
 * (how to answer, whether to stream) and never passes it on.
 */
export type FieldRole = "core" | "door";

/** How a field is written on the command line. */
export interface CliFlag {
  /** Long name, without the dashes. */
  readonly flag: string;
  /** One-letter alias (the predecessor's `-m`, `-s`, `-q`). */
  readonly short?: string;
  /** Placeholder of the value in help texts, e.g. `WxH`; absent for a switch. */
  readonly placeholder?: string;
  /** A switch that sets the (boolean) field to false, like `--no-save`. */
  readonly negates?: true;
  /** Words the CLI accepts for a value, e.g. `jpg` for `jpeg`. */
  readonly aliases?: Readonly<Record<string, string>>;
  /** Help text, when it differs from the field's description. */
  readonly help?: string;
}

interface FieldBase {
  /** What the field means: one text for MCP clients, OpenAPI readers and `--help`. */
  readonly description: string;
  /** What is accepted, in words (error messages end with it). */
  readonly accepted: string;
  /** Operations that take the field. */
  readonly operations: readonly Operation[];
  /** Doors that offer it and what they do with it. */
  readonly doors: Readonly<Partial<Record<Door, FieldRole>>>;
  /** Whether a request must carry it. */
  readonly required?: true;
  /** An example value for the OpenAPI document. */
  readonly example?: string;
  /** Flag of the `cli` door. */
  readonly cli?: CliFlag;
  /** Label on the gallery's generate form. */
  readonly label?: string;
  /** What differs at a door (its default, say), added to the description there. */
  readonly notes?: Readonly<Partial<Record<Door, string>>>;
  /** False for a field only doors read (the core refuses to see it). */
  readonly core?: false;
}

/** Free text; `tidy` says how the core cleans it before checking it. */
export interface TextField extends FieldBase {
  /** The field's JSON type. */
  readonly type: "text";
  /** `lower`: case and spaces do not matter; `size`: also `×`, `*` and inner spaces. */
  readonly tidy?: "lower" | "size";
}

/** One of a fixed set of words. */
export interface ChoiceField extends FieldBase {
  /** The field's JSON type. */
  readonly type: "choice";
  /** The accepted words. */
  readonly values: readonly string[];
  /**
   * True when case and surrounding spaces do not matter: the doors then take any text and the
   * core answers a wrong word with the nearest valid one; otherwise the doors check the words.
   */
  readonly caseless?: true;
}

/** A whole number in a range. */
export interface IntegerField extends FieldBase {
  /** The field's JSON type. */
  readonly type: "integer";
  /** Smallest accepted value. */
  readonly min: number;
  /** Largest accepted value. */
  readonly max: number;
}

/** A number (fractions allowed) from a minimum up. */
export interface NumberField extends FieldBase {
  /** The field's JSON type. */
  readonly type: "number";
  /** Smallest accepted value. */
  readonly min: number;
}

/** True or false. */
export interface BooleanField extends FieldBase {
  /** The field's JSON type. */
  readonly type: "boolean";
}

/** A list of image references. */
export interface ReferencesField extends FieldBase {
  /** The field's JSON type. */
  readonly type: "references";
  /** Fewest references. */
  readonly min: number;
  /** Most references. */
  readonly max: number;
  /** Another name the core takes for a single reference (`image` for `images`). */
  readonly singular: string;
}

/** One field of a request. */
export type FieldSpec =
  | TextField
  | ChoiceField
  | IntegerField
  | NumberField
  | BooleanField
  | ReferencesField;

/** Offered by every door and passed to the core. */
const EVERY_DOOR = { mcp: "core", rest: "core", v1: "core", cli: "core", form: "core" } as const;
/** Offered by every door but the gallery form (which keeps its choices few). */
const ALL_BUT_FORM = { mcp: "core", rest: "core", v1: "core", cli: "core" } as const;

/** A choice whose words do not depend on case; what it accepts is its words. */
function caselessChoice<const V extends readonly string[]>(values: V) {
  return { type: "choice", values, caseless: true, accepted: values.join(", ") } as const;
}

const BOTH: readonly Operation[] = ["generate", "edit"];
const GENERATE: readonly Operation[] = ["generate"];
const EDIT: readonly Operation[] = ["edit"];

const IMAGE_REFERENCE = "an image id, an image:// URI, a file path inside the server's allowed " +
  "folders (EDIT_ALLOWED_ROOTS; Windows paths and file:// URIs work), an http(s) URL from " +
  "EDIT_ALLOWED_URL_HOSTS, or a small data: URL";

/** The fields of a generation or edit request, in the order doors list them. */
export const REQUEST_FIELDS = {
  prompt: {
    type: "text",
    required: true,
    description:
      "What to draw (or, for an edit, what to change), in detail: subject, composition, style, " +
      "lighting, text to render. Up to 32,000 characters for GPT image models, counted in " +
      "UTF-16 code units; no NUL characters or unpaired surrogates.",
    accepted: "a non-empty text",
    example: "A watercolor fox in a snowy forest",
    operations: BOTH,
    doors: EVERY_DOOR,
    cli: { flag: "prompt", short: "p", placeholder: "TEXT", help: "What to change (required)" },
    label: "Prompt",
  },
  images: {
    type: "references",
    required: true,
    min: 1,
    max: 16,
    singular: "image",
    description: `1 to 16 input images. Each: ${IMAGE_REFERENCE}. Files uploaded to a chat are ` +
      "not visible to this server.",
    accepted: "1 to 16 image references (file paths, URLs or image ids)",
    operations: EDIT,
    doors: { mcp: "core" },
  },
  mask: {
    type: "text",
    description: "Optional PNG mask with the same size as the first image; fully transparent " +
      "pixels mark what to change. Same reference forms as images.",
    accepted: "an image reference",
    operations: EDIT,
    doors: { mcp: "core", cli: "core" },
    cli: {
      flag: "mask",
      placeholder: "FILE",
      help: "PNG whose fully transparent pixels mark the area to change",
    },
  },
  markup: {
    type: "text",
    description: "Reference to a transparent PNG overlay guiding the edit (gpt-image-2.5 and " +
      "later, not with mask)",
    accepted: "an image reference",
    operations: EDIT,
    doors: {},
  },
  input_fidelity: {
    ...caselessChoice(["high", "low"]),
    description: "high | low: how closely to keep faces and details of the inputs (1.x models " +
      "only; omitted for gpt-image-2).",
    operations: EDIT,
    doors: { mcp: "core", v1: "core" },
  },
  model: {
    type: "text",
    description: "Model id or alias (see list_models or GET /v1/models). Default: the server's " +
      "DEFAULT_MODEL. Retired DALL·E and gpt-image-1 names are handled per LEGACY_MODELS " +
      "(translated to the default model unless configured otherwise).",
    accepted: "a model id",
    example: "gpt-image-2",
    operations: BOTH,
    doors: EVERY_DOOR,
    cli: {
      flag: "model",
      short: "m",
      placeholder: "MODEL",
      help: "Model id or alias (default: DEFAULT_MODEL)",
    },
    label: "Model",
  },
  size: {
    type: "text",
    tidy: "size",
    description: 'WIDTHxHEIGHT such as "1024x1024", "1536x1024" (landscape), "1024x1536" ' +
      '(portrait), or "auto". gpt-image-2 and later: both sides divisible by 16, aspect 1:3 ' +
      "to 3:1, up to 3840x2160.",
    accepted: "WxH or auto",
    example: "1024x1024",
    operations: BOTH,
    doors: EVERY_DOOR,
    cli: {
      flag: "size",
      short: "s",
      placeholder: "WxH",
      help: "Size, e.g. 1024x1024, 1536x1024, or auto",
    },
    label: "Size",
  },
  quality: {
    type: "text",
    tidy: "lower",
    description: "low | medium | high | auto (some models add xhigh, max); default " +
      "DEFAULT_QUALITY. Higher is slower: high can take minutes. The predecessor's standard " +
      "and hd are translated.",
    accepted: "a quality of the model",
    operations: BOTH,
    doors: EVERY_DOOR,
    cli: {
      flag: "quality",
      short: "q",
      placeholder: "Q",
      help: "low, medium, high or auto (default: DEFAULT_QUALITY)",
    },
    label: "Quality",
  },
  n: {
    type: "integer",
    min: 1,
    max: 10,
    description: "How many images, 1–10 (default 1; models may allow fewer).",
    accepted: "an integer from 1 to 10",
    operations: BOTH,
    doors: EVERY_DOOR,
    cli: { flag: "n", short: "n", placeholder: "N", help: "Number of images, 1-10 (default 1)" },
    label: "Images",
  },
  background: {
    ...caselessChoice(["transparent", "opaque", "auto"]),
    description: "transparent | opaque | auto. Transparent needs png or webp output.",
    operations: BOTH,
    doors: EVERY_DOOR,
    cli: {
      flag: "background",
      placeholder: "B",
      help: "transparent, opaque or auto (transparent needs png or webp)",
    },
    label: "Background",
  },
  output_format: {
    ...caselessChoice(["png", "jpeg", "webp"]),
    description: "png (default) | jpeg | webp",
    operations: BOTH,
    doors: EVERY_DOOR,
    cli: {
      flag: "format",
      placeholder: "F",
      aliases: { jpg: "jpeg" },
      help: "Output format: png, jpeg or webp (default png)",
    },
    label: "Format",
  },
  output_compression: {
    type: "integer",
    min: 0,
    max: 100,
    description: "0–100, for jpeg and webp output only.",
    accepted: "an integer from 0 to 100",
    operations: BOTH,
    doors: ALL_BUT_FORM,
    cli: { flag: "compression", placeholder: "0-100", help: "Compression for jpeg and webp" },
  },
  moderation: {
    ...caselessChoice(["low", "auto"]),
    description: "auto (default) | low: content moderation level.",
    operations: GENERATE,
    doors: ALL_BUT_FORM,
    cli: { flag: "moderation", placeholder: "M", help: "low or auto" },
  },
  style: {
    ...caselessChoice(["vivid", "natural"]),
    description: "Legacy DALL·E 3 option (vivid | natural); current models drop it with a " +
      "warning. Describe the style in the prompt instead.",
    operations: GENERATE,
    doors: ALL_BUT_FORM,
    cli: { flag: "style", placeholder: "S", help: "vivid or natural (dall-e-3 only)" },
  },
  partial_images: {
    type: "integer",
    min: 0,
    max: 3,
    description: "Partial previews to stream (0–3) while the image is drawn; each costs extra " +
      "output tokens.",
    accepted: "an integer from 0 to 3",
    operations: BOTH,
    doors: { v1: "door", cli: "core", form: "core" },
    cli: {
      flag: "partial-images",
      placeholder: "N",
      help: "Stream N partial previews (0-3); each costs extra output tokens",
    },
    label: "Partial previews",
  },
  save: {
    type: "boolean",
    description: "Keep the images in the server's store (default true). With false the image " +
      "is shown once and not kept.",
    accepted: "true or false",
    operations: BOTH,
    doors: { mcp: "core", rest: "core", cli: "core" },
    notes: { rest: "All n images are saved." },
    cli: {
      flag: "no-save",
      negates: true,
      help: "Do not keep the image in the store; write it to --output, or to ./<id>.<ext>",
    },
  },
  response_format: {
    type: "choice",
    values: ["url", "b64_json"],
    description: "How images come back: `url` (a link to this service) or `b64_json` " +
      "(the image bytes). Never sent to GPT image models, which always return image data.",
    accepted: "url, b64_json",
    operations: BOTH,
    doors: { rest: "door", v1: "door" },
    notes: {
      rest: "Default `url`; `b64_json` adds the image bytes to the links.",
      v1: "Default `b64_json`, as OpenAI's API answers.",
    },
  },
  stream: {
    type: "boolean",
    core: false,
    description: "Answer with server-sent events: `image_generation.partial_image` (or " +
      "`image_edit.partial_image`) events, then one `…completed` event per image",
    accepted: "true or false",
    operations: BOTH,
    doors: { v1: "door" },
  },
  confirm_price_usd: {
    type: "number",
    min: 0,
    core: false,
    description: "The most you accept to pay for this call, in US dollars. Only needed when " +
      "the server asks to confirm prices (MCP_CONFIRM_ABOVE_USD) and the client cannot show " +
      "a confirmation form: the error result names the price; call again with the same " +
      "arguments plus this field once the user agreed. Never sent to OpenAI.",
    accepted: "a number of US dollars, 0 or more",
    operations: BOTH,
    doors: { mcp: "door" },
  },
  user: {
    type: "text",
    description: "Deprecated end-user id; use safety_identifier",
    accepted: "a string",
    operations: BOTH,
    doors: { v1: "door" },
  },
  safety_identifier: {
    type: "text",
    description: "Stable hashed id of the end user, for OpenAI's abuse monitoring",
    accepted: "a string",
    operations: BOTH,
    doors: {},
  },
} as const satisfies Record<string, FieldSpec>;

/** Name of a request field. */
export type FieldName = keyof typeof REQUEST_FIELDS;

/** Every field name, in table order. */
export const FIELD_NAMES: readonly FieldName[] = Object.freeze(
  Object.keys(REQUEST_FIELDS).filter(isFieldName),
);

/** The spec of `name`. */
export function fieldSpec(name: FieldName): FieldSpec {
  return REQUEST_FIELDS[name];
}

/** True when `key` names a request field. */
export function isFieldName(key: string): key is FieldName {
  return Object.hasOwn(REQUEST_FIELDS, key);
}

/**
 * Names of the fields `door` offers for `operation`, in table order; with `role`, only those the
 * door passes to the core (`core`) or reads itself (`door`).
 */
export function doorFields(
  door: Door,
  operation: Operation,
  role?: FieldRole,
): FieldName[] {
  return FIELD_NAMES.filter((name) => {
    const spec = fieldSpec(name);
    const given = spec.doors[door];
    return given !== undefined && (role === undefined || given === role) &&
      spec.operations.includes(operation);
  });
}

/** Names of the fields the core accepts for `operation`, in table order. */
export function coreFields(operation: Operation): FieldName[] {
  return FIELD_NAMES.filter((name) => {
    const spec = fieldSpec(name);
    return spec.core !== false && spec.operations.includes(operation);
  });
}

type Fields = typeof REQUEST_FIELDS;

/** Names of the fields whose JSON type is `T`. */
export type FieldsOfType<T extends FieldSpec["type"]> = {
  [K in FieldName]: Fields[K]["type"] extends T ? K : never;
}[FieldName];

/** The words choice field `N` accepts. */
export type ChoiceOf<N extends FieldsOfType<"choice">> = Fields[N]["values"][number];

/**
 * A request a schema of this table accepted, read field by field with each field's own type: the
 * schemas are built from the table at run time, so these guards give their values types back.
 */
export class CheckedFields {
  readonly #data: ReadonlyMap<string, unknown>;

  /** Wraps the output of a request schema. */
  constructor(data: Readonly<Record<string, unknown>>) {
    this.#data = new Map(Object.entries(data));
  }

  /** A text field, if given. */
  text(name: FieldsOfType<"text">): string | undefined {
    const value = this.#data.get(name);
    return typeof value === "string" ? value : undefined;
  }

  /** An integer field, if given. */
  integer(name: FieldsOfType<"integer">): number | undefined {
    const value = this.#data.get(name);
    return typeof value === "number" ? value : undefined;
  }

  /** A boolean field, if given. */
  flag(name: FieldsOfType<"boolean">): boolean | undefined {
    const value = this.#data.get(name);
    return typeof value === "boolean" ? value : undefined;
  }

  /** A list of references, if given. */
  references(name: FieldsOfType<"references">): readonly string[] | undefined {
    const value = this.#data.get(name);
    return Array.isArray(value) ? value.filter((item) => typeof item === "string") : undefined;
  }

  /** A choice field's word, if given. */
  choice<N extends FieldsOfType<"choice">>(name: N): ChoiceOf<N> | undefined {
    const value = this.#data.get(name);
    const values: readonly ChoiceOf<N>[] = REQUEST_FIELDS[name].values;
    return values.find((word) => word === value);
  }
}
