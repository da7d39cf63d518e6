/**
 * What body each route may receive: its media types and its size limit. Routes fall in three
 * classes — JSON APIs, small HTML forms (the gallery), and uploads (edits with images) — and a
 * route not listed as a form or an upload is a JSON API. The limits are the settings
 * `MAX_BODY_BYTES` and `MAX_UPLOAD_BYTES`.
 *
 * @module
 */
import type { Config } from "../../config.ts";

/** The body classes of routes. */
export type BodyClass = "json" | "form" | "upload";

/** What a class accepts. */
export interface BodyRule {
  /** The class. */
  readonly kind: BodyClass;
  /** Largest body in bytes. */
  readonly maxBytes: number;
  /** The setting that raises the limit (named in the 413). */
  readonly setting: "MAX_BODY_BYTES" | "MAX_UPLOAD_BYTES";
  /** Accepted media types, as shown in errors. */
  readonly accepted: readonly string[];
  /** True when `mediaType` (lower case, without parameters) is accepted. */
  accepts(mediaType: string): boolean;
}

const FORM_TYPES = ["application/x-www-form-urlencoded", "multipart/form-data"];
const isJson = (type: string) =>
  type === "application/json" || /^application\/[\w.+-]+\+json$/.test(type);

const FORM_PATHS = [
  /^\/generate$/,
  /^\/login$/,
  /^\/logout$/,
  /^\/gallery\/[^/]+\/delete$/,
  /^\/jobs\/[^/]+\/cancel$/,
];
const UPLOAD_PATHS = [/^\/v1\/images\/edits$/, /^\/gallery\/[^/]+\/edit$/];

/** The body rules of every class for `config`'s limits. */
export function bodyRules(
  config: Pick<Config, "maxBodyBytes" | "maxUploadBytes">,
): Record<BodyClass, BodyRule> {
  return {
    json: {
      kind: "json",
      maxBytes: config.maxBodyBytes,
      setting: "MAX_BODY_BYTES",
      accepted: ["application/json"],
      accepts: isJson,
    },
    form: {
      kind: "form",
      maxBytes: config.maxBodyBytes,
      setting: "MAX_BODY_BYTES",
      accepted: FORM_TYPES,
      accepts: (type) => FORM_TYPES.includes(type),
    },
    upload: {
      kind: "upload",
      maxBytes: config.maxUploadBytes,
      setting: "MAX_UPLOAD_BYTES",
      accepted: ["multipart/form-data", "application/json", "application/x-www-form-urlencoded"],
      accepts: (type) => FORM_TYPES.includes(type) || isJson(type),
    },
  };
}

/** The body class of a request to `path`. */
export function bodyClassOf(path: string): BodyClass {
  if (UPLOAD_PATHS.some((p) => p.test(path))) return "upload";
  if (FORM_PATHS.some((p) => p.test(path))) return "form";
  return "json";
}

/** The media type of a Content-Type header: lower case, without parameters ("" when absent). */
export function mediaTypeOf(header: string | undefined): string {
  return (header ?? "").split(";")[0].trim().toLowerCase();
}
