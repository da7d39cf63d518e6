/**
 * Edit inputs: turns the image references a caller gives to `edit_image`, the CLI `edit` command
 * and the HTTP edit routes into bytes, safely. Accepted, in this order of recognition:
 *
 * 1. an image id (a UUID, or a predecessor file name like `image_1700000000000.png`) and
 *    `image://{id}` / `image://{id}/preview` resource URIs, looked up in the catalog;
 * 2. `file://` URIs and paths (POSIX, Windows, relative to the first allowed folder), read only
 *    when their real path lies inside `EDIT_ALLOWED_ROOTS`;
 * 3. `http(s)` URLs on `EDIT_ALLOWED_URL_HOSTS`, behind an SSRF guard;
 * 4. small `data:image/…;base64,…` URLs;
 * 5. files a door received in an upload ({@link InputResolver.fromUpload}), kept as the chunks
 *    they arrived in: never joined, copied into a string or a second buffer.
 *
 * Base64 is the least practical input for a model (it must emit the whole blob), so the limit
 * on data URLs is small and the other forms are preferred. The type of every input is decided by
 * its magic number, never by a file extension or declared type.
 *
 * @module
 */

import { AppError, ValidationError } from "../errors.ts";
import {
  type PinnedClientFactory,
  pinnedDenoClient,
  type ResolveDns,
  resolveWithDeno,
} from "../net/mod.ts";
import { fetchImageUrl } from "./inputs/fetch_url.ts";
import { hostPathOs, looksLikeFileRef, type PathOs, readFileInRoots } from "./inputs/paths.ts";
import { describeRef, formatSize, refusal, type Refuse } from "./inputs/refusal.ts";
import {
  describeUnacceptedKind,
  fileNameFor,
  type InputMime,
  isInputMime,
  sniffKind,
} from "./inputs/sniff.ts";

export {
  type BlockedAddress,
  blockedAddress,
  hostMatcher,
  type PinnedClientFactory,
  type ResolveDns,
} from "../net/mod.ts";
export { isInsideRoot, type LocalPath, type PathOs, toLocalPath } from "./inputs/paths.ts";
export type { InputProblem } from "./inputs/refusal.ts";
export type { InputMime } from "./inputs/sniff.ts";

/** Where an input came from: catalog id, `image://` URI, file (path or `file://`), URL or data URL. */
export type InputSource = "id" | "uri" | "path" | "url" | "data";

/** A file a door received in a request body, as the chunks it arrived in. */
export interface UploadedFile {
  /** The file name the client sent (may be empty). */
  readonly name: string;
  /** The content type the client sent (may be empty; the bytes decide). */
  readonly type: string;
  /** Total bytes. */
  readonly size: number;
  /** The bytes, in order. */
  readonly chunks: readonly Uint8Array[];
}

/** An uploaded edit input, checked like any other but kept as the chunks it arrived in. */
export interface UploadedInput {
  /** The uploaded bytes, as received. */
  bytes: UploadedFile;
  /** The type the bytes' magic number shows. */
  mime: InputMime;
  /** A safe upload file name whose extension matches `mime`. */
  filename: string;
  /** Always `upload`. */
  source: "upload";
}

/** An edit input turned into bytes. */
export interface ResolvedInput {
  /** The image bytes. */
  bytes: Uint8Array;
  /** The type the bytes' magic number shows. */
  mime: InputMime;
  /** A safe upload file name whose extension matches `mime`. */
  filename: string;
  /** What kind of reference it was. */
  source: InputSource;
  /** The catalog id, for `id` and `uri` inputs. */
  imageId?: string;
}

/** What the catalog returns for an image id. */
export interface LoadedImage {
  /** The stored bytes. */
  bytes: Uint8Array;
  /** The stored MIME type (the bytes are sniffed anyway). */
  mime: string;
  /** The stored file name, if any. */
  file?: string;
}

/** Options of {@link createInputResolver}. */
export interface InputResolverOptions {
  /** Absolute folders file inputs must lie in (`EDIT_ALLOWED_ROOTS`); empty: files are off. */
  allowedRoots: readonly string[];
  /** Hosts URL inputs may point at (`EDIT_ALLOWED_URL_HOSTS`; `*.example.com`, `*`); none: off. */
  allowedUrlHosts?: readonly string[];
  /** Catalog lookup by image id (also for `image://{id}`); `null` when there is no such image. */
  loadImage: (id: string) => Promise<LoadedImage | null>;
  /** The transport for URL inputs. Default: the global `fetch`. */
  fetch?: typeof fetch;
  /** DNS lookup whose answers the SSRF guard checks. Default: `Deno.resolveDns`, A and AAAA. */
  resolveDns?: ResolveDns;
  /**
   * Makes the client that pins an `http:` connection to the checked address. Default: a Deno
   * HTTP client with a TCP transport to that address; tests route it to a loopback server.
   */
  pinnedClient?: PinnedClientFactory;
  /** Largest input in bytes. Default: 50 MB, OpenAI's limit for an edit image. */
  maxBytes?: number;
  /** Largest decoded data URL in bytes. Default: 4 MB. */
  maxDataUrlBytes?: number;
  /** Path rules to apply. Default: the OS Deno runs on. */
  os?: PathOs;
  /** Deadline for fetching a URL input, redirects included, in milliseconds. Default: 20 s. */
  timeoutMs?: number;
  /** Most redirects a URL input may take. Default: 3. */
  maxRedirects?: number;
  /**
   * Whether refusals may name the server's folders: true for local callers (stdio, CLI), false
   * where callers are remote (HTTP). Default true.
   */
  showServerPaths?: boolean;
}

/** Resolves edit-input references into bytes. */
export interface InputResolver {
  /**
   * Turns `ref` into bytes. `field` (e.g. `images[0]`, `mask`) names the request field in
   * errors. Throws a `ValidationError` for any refused reference, an `AppError` of kind
   * `not_found` for an unknown image id, and the abort reason when `signal` aborts.
   */
  resolve(ref: string, field: string, signal?: AbortSignal): Promise<ResolvedInput>;
  /**
   * Checks an uploaded file (`field` names it in errors) under the same size and type rules;
   * throws a `ValidationError` for a refused one.
   */
  fromUpload(file: UploadedFile, field: string): UploadedInput;
}

/** Bytes enough for {@link sniffKind} to tell every accepted type and text apart. */
const SNIFF_BYTES = 512;

/** Default largest input: 50 MB, the limit OpenAI sets for an edit image. */
export const DEFAULT_MAX_INPUT_BYTES = 50 * 1024 * 1024;
/** Default largest decoded data URL: 4 MB. */
export const DEFAULT_MAX_DATA_URL_BYTES = 4 * 1024 * 1024;
/** Default deadline for a URL input, in milliseconds. */
export const DEFAULT_URL_TIMEOUT_MS = 20_000;
/** Default most redirects a URL input may take. */
export const DEFAULT_MAX_REDIRECTS = 3;

const ACCEPTED =
  "pass an image id, an image:// URI, a file path inside the allowed folders, an http(s) URL from an allowed host, or a data:image/png;base64 URL";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const LEGACY_NAME = /^image_\d{1,15}\.png$/;
const URI_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const DATA_URL_MIMES = new Set(["image/png", "image/jpeg", "image/jpg", "image/webp"]);

/**
 * The catalog id an edit input reference names (a bare id, a predecessor file name, or an
 * `image://` URI), or null when it names something else (a file, URL or data URL) or is malformed.
 */
export function catalogIdOfRef(ref: string): string | null {
  const text = ref.trim();
  if (UUID.test(text)) return text.toLowerCase();
  if (LEGACY_NAME.test(text)) return text;
  const match = /^image:\/\/([^/?#]+)(?:\/preview)?\/?$/i.exec(text);
  const id = match?.[1] ?? "";
  if (!URI_ID.test(id) || id.includes("..")) return null;
  return UUID.test(id) ? id.toLowerCase() : id;
}

/** The first `size` bytes of `chunks` (fewer when they hold fewer). */
function headOf(chunks: readonly Uint8Array[], size: number): Uint8Array {
  const head = new Uint8Array(size);
  let filled = 0;
  for (const chunk of chunks) {
    if (filled >= size) break;
    const part = chunk.subarray(0, size - filled);
    head.set(part, filled);
    filled += part.length;
  }
  return head.subarray(0, filled);
}

function baseName(file: string): string {
  return file.split(/[\\/]/).pop() ?? "";
}

/** Builds the resolver that turns edit-input references into image bytes under `options`' limits. */
export function createInputResolver(options: InputResolverOptions): InputResolver {
  const roots = Object.freeze([...options.allowedRoots]);
  const hosts = Object.freeze([...(options.allowedUrlHosts ?? [])]);
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_INPUT_BYTES;
  const maxDataBytes = Math.min(options.maxDataUrlBytes ?? DEFAULT_MAX_DATA_URL_BYTES, maxBytes);
  const os = options.os ?? hostPathOs();
  const fetchImpl = options.fetch ?? ((input, init) => fetch(input, init));
  const resolveDns = options.resolveDns ?? resolveWithDeno;
  const pinnedClient = options.pinnedClient ?? pinnedDenoClient;
  const timeoutMs = options.timeoutMs ?? DEFAULT_URL_TIMEOUT_MS;
  const maxRedirects = options.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  const showServerPaths = options.showServerPaths ?? true;

  /** The input type of `head` (the first bytes of `size`), or the refusal. */
  function check(fail: Refuse, head: Uint8Array, size: number): InputMime {
    if (size > maxBytes) {
      throw fail("too_large", `it is larger than the ${formatSize(maxBytes)} limit`);
    }
    const kind = sniffKind(head);
    if (!isInputMime(kind)) throw fail("not_an_image", describeUnacceptedKind(kind));
    return kind;
  }

  function finish(
    fail: Refuse,
    bytes: Uint8Array,
    name: string,
    source: InputSource,
    imageId?: string,
  ): ResolvedInput {
    const kind = check(fail, bytes, bytes.length);
    return {
      bytes,
      mime: kind,
      filename: fileNameFor(name, kind),
      source,
      ...(imageId === undefined ? {} : { imageId }),
    };
  }

  async function fromCatalog(
    ref: string,
    field: string,
    id: string,
    source: "id" | "uri",
    signal?: AbortSignal,
  ): Promise<ResolvedInput> {
    const fail = refusal(field, ref);
    const loaded = await options.loadImage(id);
    signal?.throwIfAborted();
    if (loaded !== null) {
      return finish(fail, loaded.bytes, baseName(loaded.file ?? "") || id, source, id);
    }
    if (source === "id" && LEGACY_NAME.test(id) && roots.length > 0) {
      // A predecessor file not (yet) adopted by the catalog may still sit in the output folder.
      try {
        const file = await readFileInRoots(id, field, {
          roots,
          os,
          maxBytes,
          signal,
          showServerPaths,
        });
        return finish(fail, file.bytes, file.name, "path");
      } catch (error) {
        if (!(error instanceof ValidationError) || error.details?.reason !== "missing") throw error;
      }
    }
    throw new AppError(
      "not_found",
      `Cannot use ${describeRef(ref)} as an edit input: no image with id "${id}" exists`,
      { field, details: { reason: "missing", id } },
    );
  }

  function fromData(ref: string, fail: Refuse): ResolvedInput {
    const match = /^data:([^,]*),(.*)$/is.exec(ref);
    if (match === null) throw fail("bad_reference", "it is not a valid data URL");
    const params = match[1].split(";").map((p) => p.trim().toLowerCase());
    const mime = params[0];
    if (!DATA_URL_MIMES.has(mime)) {
      throw fail(
        "not_an_image",
        `its type "${mime.slice(0, 60)}" is not image/png, image/jpeg or image/webp`,
      );
    }
    if (!params.includes("base64")) {
      throw fail("bad_reference", "only base64 data URLs are accepted (data:image/png;base64,…)");
    }
    const payload = match[2].replace(/\s+/g, "");
    const padding = payload.endsWith("==") ? 2 : payload.endsWith("=") ? 1 : 0;
    if (Math.floor(payload.length / 4) * 3 - padding > maxDataBytes) {
      throw fail(
        "too_large",
        `a data URL may hold at most ${
          formatSize(maxDataBytes)
        }; pass a file path, an image id or a URL for larger images`,
      );
    }
    let bytes: Uint8Array;
    try {
      bytes = Uint8Array.fromBase64(payload);
    } catch {
      throw fail("bad_reference", "its base64 payload is not valid base64");
    }
    return finish(fail, bytes, "image", "data");
  }

  async function resolve(ref: string, field: string, signal?: AbortSignal) {
    signal?.throwIfAborted();
    const text = ref.trim();
    const fail = refusal(field, text);
    if (text === "") throw fail("empty", `the reference is empty; ${ACCEPTED}`);
    const catalogId = catalogIdOfRef(text);
    if (catalogId !== null) {
      const source = /^image:/i.test(text) ? "uri" : "id";
      return await fromCatalog(text, field, catalogId, source, signal);
    }
    if (/^image:/i.test(text)) {
      throw fail(
        "bad_reference",
        "it is not an image URI; use image://{id} or image://{id}/preview",
      );
    }
    if (/^data:/i.test(text)) return fromData(text, fail);
    if (/^https?:/i.test(text)) {
      const fetched = await fetchImageUrl(text, field, {
        allowedHosts: hosts,
        fetch: fetchImpl,
        resolveDns,
        pinnedClient,
        maxBytes,
        timeoutMs,
        maxRedirects,
        signal,
      });
      return finish(fail, fetched.bytes, fetched.name, "url");
    }
    if (looksLikeFileRef(text)) {
      const file = await readFileInRoots(text, field, {
        roots,
        os,
        maxBytes,
        signal,
        showServerPaths,
      });
      return finish(fail, file.bytes, file.name, "path");
    }
    const scheme = text.slice(0, text.indexOf(":") + 1).toLowerCase().slice(0, 20);
    throw fail("unsupported", `the "${scheme}" scheme is not supported; ${ACCEPTED}`);
  }

  function fromUpload(file: UploadedFile, field: string): UploadedInput {
    const fail = refusal(field, file.name || "upload");
    if (file.size === 0) throw fail("empty", "the file is empty");
    const mime = check(fail, headOf(file.chunks, SNIFF_BYTES), file.size);
    return {
      bytes: file,
      mime,
      filename: fileNameFor(file.name || "image", mime),
      source: "upload",
    };
  }

  return { resolve, fromUpload };
}
