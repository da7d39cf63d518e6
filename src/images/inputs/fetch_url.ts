/**
 * URL inputs behind the SSRF guard of `src/net/`: a URL is fetched only when its host is on the
 * allow-list (`EDIT_ALLOWED_URL_HOSTS`) and every address it resolves to is public; private,
 * loopback, link-local, unique-local, unspecified, multicast and reserved addresses are refused
 * even for a listed host. Redirects are followed by hand and each hop is checked again, the body
 * is read with a size cap, and one deadline covers the whole chain.
 *
 * DNS rebinding: for `http:` the connection is pinned to the checked address (the request goes in
 * absolute form, which RFC 9112 requires servers to accept). An `https:` input is not pinned, so a
 * host whose DNS answer changes between the check and the connect could still reach another
 * address; TLS then demands a valid certificate for the allowed hostname, which internal services
 * (and the plain-http metadata endpoints) do not present.
 *
 * @module
 */

import {
  guardedFetch,
  hostMatcher,
  NetRefusal,
  type PinnedClientFactory,
  type ResolveDns,
} from "../../net/mod.ts";
import { formatSize, refusal } from "./refusal.ts";

/** Options of {@link fetchImageUrl}. */
export interface FetchImageUrlOptions {
  /** Hostnames URLs may point at (`*.example.com` and `*` allowed). Empty: URL inputs are off. */
  allowedHosts: readonly string[];
  /** The transport. */
  fetch: typeof fetch;
  /** DNS lookup whose answers are checked. */
  resolveDns: ResolveDns;
  /** Pins `http:` connections to the checked address. */
  pinnedClient?: PinnedClientFactory;
  /** Largest body accepted, in bytes. */
  maxBytes: number;
  /** Deadline for the whole redirect chain and body, in milliseconds. */
  timeoutMs: number;
  /** Most redirects followed. */
  maxRedirects: number;
  /** Aborts the fetch; the abort reason is rethrown. */
  signal?: AbortSignal;
}

/** The body of a fetched image URL. */
export interface FetchedImage {
  /** The body. */
  bytes: Uint8Array;
  /** The last path segment of the final URL (may be empty). */
  name: string;
}

// Generic binary types are let through: the magic number decides, and some storage services
// serve every object that way. Every other declared type (HTML, JSON, GIF, SVG…) is refused.
const ACCEPTED_CONTENT_TYPES = new Set([
  "image/png",
  "image/jpeg",
  "image/jpg",
  "image/pjpeg",
  "image/webp",
  "application/octet-stream",
  "binary/octet-stream",
]);

function lastSegment(url: URL): string {
  const segment = url.pathname.split("/").pop() ?? "";
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/**
 * Fetches the image at `ref` (an http or https URL) under the SSRF guard and returns its body.
 * Every refusal is a `ValidationError` for `field`; an abort through `options.signal` rethrows
 * the signal's reason.
 */
export async function fetchImageUrl(
  ref: string,
  field: string,
  options: FetchImageUrlOptions,
): Promise<FetchedImage> {
  const fail = refusal(field, ref);
  if (options.allowedHosts.length === 0) {
    throw fail(
      "disabled",
      "URL inputs are disabled; set EDIT_ALLOWED_URL_HOSTS to the hosts images may be fetched from, or pass an image id or a file path",
    );
  }
  try {
    const answer = await guardedFetch(ref, {
      fetch: options.fetch,
      resolveDns: options.resolveDns,
      allowHost: hostMatcher(options.allowedHosts),
      hostNotAllowedHint: "set EDIT_ALLOWED_URL_HOSTS to allow it",
      ...(options.pinnedClient === undefined ? {} : { pinnedClient: options.pinnedClient }),
      maxBytes: options.maxBytes,
      timeoutMs: options.timeoutMs,
      maxRedirects: options.maxRedirects,
      headers: { accept: "image/png, image/jpeg, image/webp" },
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      checkResponse(response) {
        if (!response.ok) {
          throw fail(
            "http_status",
            `the server answered HTTP ${response.status}; the URL must serve the image itself`,
          );
        }
        const declared = (response.headers.get("content-type") ?? "").split(";")[0].trim()
          .toLowerCase();
        if (declared !== "" && !ACCEPTED_CONTENT_TYPES.has(declared)) {
          throw fail(
            "not_an_image",
            `it is served as "${declared.slice(0, 80)}", not as a PNG, JPEG or WebP image`,
          );
        }
      },
    });
    return { bytes: answer.body, name: lastSegment(answer.url) };
  } catch (error) {
    if (!(error instanceof NetRefusal)) throw error;
    const detail = error.reason === "too_large"
      ? `the image is larger than the ${formatSize(options.maxBytes)} limit for an edit input`
      : error.message;
    throw fail(error.reason, detail, error.details);
  }
}
