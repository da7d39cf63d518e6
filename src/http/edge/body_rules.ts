/**
 * What body each route may receive: its media types and its size limit. Routes fall in three
 * classes — JSON APIs, small HTML forms (the gallery), and uploads (edits with images) — and a
 * route not listed as a form or an upload is a JSON API. Every body may be `MAX_BODY_BYTES` long,
 * except a multipart body on an upload route: `MAX_UPLOAD_BYTES`.
 *
 * @module
 */
import type { Config } from "../../config.ts";

/** The body classes of routes. */
export type BodyClass = "json" | "form" | "upload";

/** A size limit and the setting that raises it (named in the 413). */
export interface BodyLimit {
  /** Largest body in bytes. */
  readonly maxBytes: number;
  /** The setting. */
  readonly setting: "MAX_BODY_BYTES" | "MAX_UPLOAD_BYTES";
}

/** What a class accepts. */
export interface BodyRule {
  /** The class. */
  readonly kind: BodyClass;
  /** Accepted media types, as shown in errors. */
  readonly accepted: readonly string[];
  /** True when `mediaType` (lower case, without parameters) is accepted. */
  accepts(mediaType: string): boolean;
  /** The limit of a body of `mediaType` (lower case, without parameters; "" when unlabelled). */
  limit(mediaType: string): BodyLimit;
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
  /^\/connected-apps\/[^/]+\/revoke$/,
  // OAuth (RFC 6749): the consent form, and the token and revocation endpoints' form bodies.
  /^\/oauth\/(?:authorize|token|revoke)$/,
];
const UPLOAD_PATHS = [/^\/v1\/images\/edits$/, /^\/gallery\/[^/]+\/edit$/];

/** The body rules of every class for `config`'s limits. */
export function bodyRules(
  config: Pick<Config, "maxBodyBytes" | "maxUploadBytes">,
): Record<BodyClass, BodyRule> {
  const body: BodyLimit = { maxBytes: config.maxBodyBytes, setting: "MAX_BODY_BYTES" };
  const upload: BodyLimit = { maxBytes: config.maxUploadBytes, setting: "MAX_UPLOAD_BYTES" };
  return {
    json: {
      kind: "json",
      accepted: ["application/json"],
      accepts: isJson,
      limit: () => body,
    },
    form: {
      kind: "form",
      accepted: FORM_TYPES,
      accepts: (type) => FORM_TYPES.includes(type),
      limit: () => body,
    },
    upload: {
      kind: "upload",
      accepted: ["multipart/form-data", "application/json", "application/x-www-form-urlencoded"],
      accepts: (type) => FORM_TYPES.includes(type) || isJson(type),
      // Only files need the large limit; a JSON edit names its images (ids, URLs, small data).
      limit: (type) => type === "multipart/form-data" ? upload : body,
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
