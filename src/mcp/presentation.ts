/**
 * How the server, its tools and its prompts look in a client: titles and icons as data, one
 * place for every registration (SDK 1.x takes titles for tools and prompts and icons for the
 * server only; SDK v2's `registerTool`/`registerPrompt` take `icons` too). Field names are
 * those of the 2025-11-25 and 2026-07-28 schemas: `title` (BaseMetadata) and
 * `icons: Icon[]` with `Icon { src, mimeType?, sizes?, theme? }`.
 *
 * The icons are data: URIs, so no client needs to fetch anything: a 48 px PNG (the type every
 * client that shows icons must support) and the same picture as SVG (`sizes: ["any"]`).
 *
 * @module
 */

/** An icon as the MCP schemas define it. */
export interface Icon {
  /** An http(s) URL or a data: URI. */
  readonly src: string;
  /** MIME type of the image. */
  readonly mimeType?: string;
  /** `WxH` sizes, or `any` for scalable images. */
  readonly sizes?: readonly string[];
  /** The background the icon is drawn for. */
  readonly theme?: "light" | "dark";
}

/** Display metadata of one tool or prompt. */
export interface Presentation {
  /** Human-readable name. */
  readonly title: string;
  /** Icons, largest choice last. */
  readonly icons: readonly Icon[];
}

const PICTURE_SVG = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 48 48">' +
  '<rect width="48" height="48" rx="10" fill="#4f46e5"/>' +
  '<circle cx="33" cy="15" r="5" fill="#fde68a"/>' +
  '<path d="M6 38l12-15 9 10 6-6 9 11z" fill="#fff"/></svg>';

/** The project's icon: a picture (a sun over hills) on an indigo tile. */
export const SERVER_ICONS: readonly Icon[] = Object.freeze([
  Object.freeze({
    src:
      "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAADAAAAAwCAYAAABXAvmHAAAAwUlEQVR42u3aSw5AQBCE4TqdrXu5J7cQViTIPJomXaY6ma38X0yQDCAzfTcuERasEyXcDIkaXgVhiU8iqAFs8RcENYA1fkcI0DJgnobDogGcw59ABPCOtyIEEIANoKeQXmT6lBBAgMvahhJwHipAaigApbFcJySgJszjruGt+FKY19bDm/GpMI+tdwvwZDy33i3Al0MPsCAQMd6CQNT4WgQix9cgED2+hNDntAAtn9L855BP58Q6rW/knwnav1ZyjSvTNWXeiU8GfwAAAABJRU5ErkJggg==",
    mimeType: "image/png",
    sizes: Object.freeze(["48x48"]),
  }),
  Object.freeze({
    src: `data:image/svg+xml;base64,${btoa(PICTURE_SVG)}`,
    mimeType: "image/svg+xml",
    sizes: Object.freeze(["any"]),
  }),
]);

/** An icon as the SDK's registrations take it (a mutable `sizes` list). */
export type IconEntry = Omit<Icon, "sizes"> & { sizes?: string[] };

/** Mutable copies of `icons`, the form the SDK's registrations and `serverInfo` take. */
export function iconList(icons: readonly Icon[] = SERVER_ICONS): IconEntry[] {
  return icons.map(({ sizes, ...icon }) => ({ ...icon, ...(sizes ? { sizes: [...sizes] } : {}) }));
}

function shown(title: string): Presentation {
  return Object.freeze({ title, icons: SERVER_ICONS });
}

/** Titles and icons of the tools, by tool name. */
export const TOOL_PRESENTATION = Object.freeze(
  {
    generate_image: shown("Generate image"),
    edit_image: shown("Edit image"),
    get_image: shown("Get image"),
    list_images: shown("List images"),
    delete_image: shown("Delete image"),
    list_models: shown("List models"),
  } satisfies Record<string, Presentation>,
);

/** Titles and icons of the prompts, by prompt name. */
export const PROMPT_PRESENTATION = Object.freeze(
  {
    app_icon: shown("App icon"),
    product_photo: shown("Product photo"),
    illustration: shown("Illustration"),
  } satisfies Record<string, Presentation>,
);
