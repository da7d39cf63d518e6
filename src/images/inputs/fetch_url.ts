/**
 * URL inputs behind an SSRF guard. A URL is fetched only when its host is on the allow-list
 * (`EDIT_ALLOWED_URL_HOSTS`) and every address it resolves to is public; private, loopback,
 * link-local, unique-local, unspecified, multicast and reserved addresses are refused even for a
 * listed host. Redirects are followed by hand and each hop is checked again, the body is read
 * with a size cap, and one deadline covers the whole chain.
 *
 * DNS rebinding: for `http:` the connection is pinned to the checked address (a Deno HTTP client
 * whose TCP transport goes to that address while the URL keeps the hostname, so the request is
 * sent in absolute form, which RFC 9112 requires servers to accept). Deno's fetch cannot pin an
 * `https:` connection, so there a host whose DNS answer changes between the check and the connect
 * could still reach another address; TLS then demands a valid certificate for the allowed
 * hostname, which internal services (and the plain-http metadata endpoints) do not present.
 * `Deno.resolveDns` asks the configured DNS servers and does not read `/etc/hosts`, which the
 * system resolver used by fetch does; for `http:` pinning makes the checked answer the one used.
 *
 * @module
 */

import { joinBytes } from "../../bytes.ts";
import { AppError } from "../../errors.ts";
import { blockedAddress, hostMatcher, isIpLiteral, normalizeHost } from "./addresses.ts";
import { formatSize, refusal } from "./refusal.ts";

/** Looks up the IPv4 and IPv6 addresses of a hostname. */
export type ResolveDns = (hostname: string, signal?: AbortSignal) => Promise<string[]>;

/** Makes an HTTP client whose connections all go to `address`:`port`, or `undefined` to not pin. */
export type PinnedClientFactory = (address: string, port: number) => Deno.HttpClient | undefined;

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

/** Looks up A and AAAA records with `Deno.resolveDns`; a name with neither gives `[]`. */
export async function resolveWithDeno(hostname: string, signal?: AbortSignal): Promise<string[]> {
  const answers = await Promise.allSettled([
    Deno.resolveDns(hostname, "A", { signal }),
    Deno.resolveDns(hostname, "AAAA", { signal }),
  ]);
  const addresses: string[] = [];
  let failure: unknown;
  for (const answer of answers) {
    if (answer.status === "fulfilled") addresses.push(...answer.value);
    else if (!(answer.reason instanceof Deno.errors.NotFound)) failure = answer.reason;
  }
  if (addresses.length === 0 && failure !== undefined) throw failure;
  return addresses;
}

/** Makes a Deno HTTP client whose TCP connections go to `address`:`port` whatever the URL host. */
export function pinnedDenoClient(address: string, port: number): Deno.HttpClient | undefined {
  if (typeof Deno.createHttpClient !== "function") return undefined;
  const hostname = address.includes(":") ? `[${address}]` : address;
  return Deno.createHttpClient({ proxy: { transport: "tcp", hostname, port } });
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

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

async function readCapped(
  body: ReadableStream<Uint8Array> | null,
  maxBytes: number,
  tooLarge: () => Error,
): Promise<Uint8Array> {
  if (body === null) return new Uint8Array(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > maxBytes) throw tooLarge();
      chunks.push(value);
    }
  } catch (error) {
    await reader.cancel().catch(() => {});
    throw error;
  } finally {
    reader.releaseLock();
  }
  return joinBytes(chunks, total);
}

// An injected resolver may ignore the signal; the deadline must still hold.
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

function failureDetail(error: unknown): string {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  const text = cause instanceof Error ? cause.message : String(cause);
  return text.split("\n")[0].slice(0, 200);
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
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new DOMException("Edit input URL timed out", "TimeoutError"));
  }, options.timeoutMs);
  const caller = options.signal;
  const onAbort = () => controller.abort(caller?.reason);
  caller?.addEventListener("abort", onAbort, { once: true });
  if (caller?.aborted) onAbort();
  try {
    return await follow(ref, field, options, controller.signal);
  } catch (error) {
    if (error instanceof AppError) throw error;
    if (caller?.aborted) throw caller.reason;
    if (timedOut) {
      throw fail("timeout", `no complete answer within ${options.timeoutMs / 1000} s`);
    }
    throw fail("fetch_failed", `the request failed: ${failureDetail(error)}`);
  } finally {
    clearTimeout(timer);
    caller?.removeEventListener("abort", onAbort);
  }
}

async function follow(
  ref: string,
  field: string,
  options: FetchImageUrlOptions,
  signal: AbortSignal,
): Promise<FetchedImage> {
  const fail = refusal(field, ref);
  const allowed = hostMatcher(options.allowedHosts);
  let url: URL;
  try {
    url = new URL(ref);
  } catch {
    throw fail("bad_reference", "it is not a valid URL");
  }
  let redirected = false;
  for (let hop = 0;; hop++) {
    signal.throwIfAborted();
    const address = await checkTarget(url, redirected);
    const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
    const client = url.protocol === "http:" ? options.pinnedClient?.(address, port) : undefined;
    try {
      const response = await options.fetch(url.href, {
        redirect: "manual",
        signal,
        headers: { accept: "image/png, image/jpeg, image/webp" },
        ...(client === undefined ? {} : { client }),
      });
      if (REDIRECT_STATUSES.has(response.status)) {
        await response.body?.cancel();
        const location = response.headers.get("location");
        if (location === null) {
          throw fail("http_status", `it answered ${response.status} without a Location`);
        }
        if (hop >= options.maxRedirects) {
          throw fail("too_many_redirects", `it redirects more than ${options.maxRedirects} times`);
        }
        try {
          url = new URL(location, url);
        } catch {
          throw fail("bad_reference", "it redirects to an invalid URL");
        }
        redirected = true;
        continue;
      }
      if (!response.ok) {
        await response.body?.cancel();
        throw fail(
          "http_status",
          `the server answered HTTP ${response.status}; the URL must serve the image itself`,
        );
      }
      const declared = (response.headers.get("content-type") ?? "").split(";")[0].trim()
        .toLowerCase();
      if (declared !== "" && !ACCEPTED_CONTENT_TYPES.has(declared)) {
        await response.body?.cancel();
        throw fail(
          "not_an_image",
          `it is served as "${declared.slice(0, 80)}", not as a PNG, JPEG or WebP image`,
        );
      }
      const tooLarge = () =>
        fail(
          "too_large",
          `the image is larger than the ${formatSize(options.maxBytes)} limit for an edit input`,
        );
      const length = Number(response.headers.get("content-length") ?? "NaN");
      if (Number.isFinite(length) && length > options.maxBytes) {
        await response.body?.cancel();
        throw tooLarge();
      }
      const bytes = await readCapped(response.body, options.maxBytes, tooLarge);
      return { bytes, name: lastSegment(url) };
    } finally {
      client?.close();
    }
  }

  async function checkTarget(target: URL, viaRedirect: boolean): Promise<string> {
    const subject = viaRedirect ? `it redirects to ${JSON.stringify(target.href)}, whose` : "URL";
    if (target.protocol !== "http:" && target.protocol !== "https:") {
      throw fail(
        "unsupported",
        viaRedirect
          ? `it redirects to a ${target.protocol} URL; only http and https are followed`
          : "only http and https URLs are accepted",
      );
    }
    if (target.username !== "" || target.password !== "") {
      throw fail("bad_reference", "URLs with a user name or password are refused");
    }
    const host = normalizeHost(target.hostname);
    const always = "which is always refused";
    if (host === "localhost" || host.endsWith(".localhost")) {
      throw fail("blocked_address", `${subject} host "${host}" is a loopback name, ${always}`);
    }
    if (isIpLiteral(host)) {
      const blocked = blockedAddress(host);
      if (blocked !== null) {
        const note = blocked.note ? ` (${blocked.note})` : "";
        throw fail(
          "blocked_address",
          `${subject} host "${host}" is ${blocked.phrase}${note}, ${always}`,
          { address: host },
        );
      }
    }
    if (!allowed(host)) {
      throw fail(
        "host_not_allowed",
        `${subject} host "${host}" is not allowed; set EDIT_ALLOWED_URL_HOSTS to allow it`,
        { host },
      );
    }
    if (isIpLiteral(host)) return host;
    let addresses: string[];
    try {
      addresses = await untilAborted(options.resolveDns(host, signal), signal);
    } catch (error) {
      if (signal.aborted) throw error;
      throw fail("unresolved", `${subject} host "${host}" cannot be resolved`);
    }
    if (addresses.length === 0) {
      throw fail("unresolved", `${subject} host "${host}" has no address`);
    }
    for (const address of addresses) {
      const blocked = blockedAddress(address);
      if (blocked !== null) {
        throw fail(
          "blocked_address",
          `${subject} host "${host}" resolves to ${blocked.phrase} (${address}${
            blocked.note ? `, ${blocked.note}` : ""
          }), ${always}`,
          { host, address },
        );
      }
    }
    return addresses[0];
  }
}
