/**
 * Fetching a URL someone else named, behind an SSRF guard: only `http:` and `https:`, no user
 * name or password, no loopback names, every address the host is or resolves to public (private,
 * loopback, link-local, unique-local, unspecified, multicast and reserved addresses are refused),
 * redirects followed by hand with every hop checked again, the body read with a size cap, and one
 * deadline for the whole chain and body.
 *
 * DNS rebinding: an `http:` connection is pinned to the checked address through the injected
 * {@link PinnedClientFactory}; an `https:` connection with `pinHttps` goes through a one-use
 * loopback `CONNECT` tunnel to it (src/net/tunnel.ts), TLS verified for the hostname. Without a
 * pin, the system resolver fetch uses could answer differently from the checked lookup.
 *
 * @module
 */

import { joinBytes } from "../bytes.ts";
import { blockedAddress, isIpLiteral, normalizeHost } from "./addresses.ts";
import type { PinnedClientFactory, ResolveDns } from "./dns.ts";
import { openHttpsTunnel } from "./tunnel.ts";

/** Why the guard refused a URL, as {@link NetRefusal.reason}. */
export type NetProblem =
  | "unsupported"
  | "bad_reference"
  | "host_not_allowed"
  | "blocked_address"
  | "unresolved"
  | "too_many_redirects"
  | "http_status"
  | "fetch_failed"
  | "timeout"
  | "too_large";

/** A refusal of the guard: a machine-readable `reason`, a sentence saying why, and details. */
export class NetRefusal extends Error {
  /** Why, as one of {@link NetProblem}. */
  readonly reason: NetProblem;
  /** Machine-readable details (the host, the address). */
  readonly details: Record<string, unknown>;

  /** Creates a refusal; `message` is lower-case, to follow "Cannot use X: ". */
  constructor(reason: NetProblem, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = "NetRefusal";
    this.reason = reason;
    this.details = details;
  }
}

/** Options of {@link guardedFetch}. */
export interface GuardedFetchOptions {
  /** The transport (default: the global fetch). */
  fetch?: typeof fetch;
  /** DNS lookup whose answers are checked. */
  resolveDns: ResolveDns;
  /** Hosts requests may go to (default: any); the address rules apply to every host. */
  allowHost?: (host: string) => boolean;
  /** What a refused host's message tells the operator, e.g. `set X to allow it`. */
  hostNotAllowedHint?: string;
  /** Pins `http:` connections to the checked address. */
  pinnedClient?: PinnedClientFactory;
  /** Pins `https:` connections to the checked address through a loopback tunnel. */
  pinHttps?: boolean;
  /** PEM certificates trusted for `https:` besides the system roots. */
  caCerts?: readonly string[];
  /** Test-only: addresses let through although not public (e.g. `127.0.0.1`); never a setting. */
  allowAddress?: (address: string) => boolean;
  /** Largest body accepted, in bytes. */
  maxBytes: number;
  /** Deadline for the whole redirect chain and body, in milliseconds. */
  timeoutMs: number;
  /** Most redirects followed; 0 refuses any redirect. */
  maxRedirects: number;
  /** Request headers. */
  headers?: Record<string, string>;
  /** Checks the final response before its body is read; what it throws is rethrown as is. */
  checkResponse?: (response: Response, url: URL) => void;
  /** Aborts the fetch; the abort reason is rethrown. */
  signal?: AbortSignal;
}

/** The final answer of a guarded fetch, its body read. */
export interface GuardedResponse {
  /** The URL that answered (after redirects). */
  url: URL;
  /** The HTTP status. */
  status: number;
  /** The response headers. */
  headers: Headers;
  /** The body. */
  body: Uint8Array;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** Carries an error `checkResponse` threw past the network-failure handling. */
class CheckFailed {
  constructor(readonly error: unknown) {}
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

/**
 * Waits for `promise`, or rejects with the signal's reason as soon as `signal` aborts (for work
 * that may ignore the signal, such as an injected resolver, or that others share).
 */
export function untilAborted<T>(promise: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (signal === undefined) return promise;
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
 * Fetches `ref` (an http or https URL) under the SSRF guard and returns the final response with
 * its body. Every refusal is a {@link NetRefusal}; what `checkResponse` throws is rethrown as is;
 * an abort through `options.signal` rethrows the signal's reason.
 */
export async function guardedFetch(
  ref: string,
  options: GuardedFetchOptions,
): Promise<GuardedResponse> {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new DOMException("Guarded fetch timed out", "TimeoutError"));
  }, options.timeoutMs);
  const caller = options.signal;
  const onAbort = () => controller.abort(caller?.reason);
  caller?.addEventListener("abort", onAbort, { once: true });
  if (caller?.aborted) onAbort();
  try {
    return await follow(ref, options, controller.signal);
  } catch (error) {
    if (error instanceof CheckFailed) throw error.error;
    if (error instanceof NetRefusal) throw error;
    if (caller?.aborted) throw caller.reason;
    if (timedOut) {
      throw new NetRefusal("timeout", `no complete answer within ${options.timeoutMs / 1000} s`);
    }
    throw new NetRefusal("fetch_failed", `the request failed: ${failureDetail(error)}`);
  } finally {
    clearTimeout(timer);
    caller?.removeEventListener("abort", onAbort);
  }
}

/** The client one hop is fetched with, and how to release it. */
interface HopClient {
  client?: Deno.HttpClient;
  close(): Promise<void>;
}

function hopClient(url: URL, address: string, options: GuardedFetchOptions): HopClient {
  const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
  const wrap = (client: Deno.HttpClient | undefined): HopClient => ({
    ...(client === undefined ? {} : { client }),
    close: () => Promise.resolve(client?.close()),
  });
  if (url.protocol === "http:") return wrap(options.pinnedClient?.(address, port));
  const caCerts = options.caCerts ?? [];
  if (options.pinHttps) {
    const hostname = normalizeHost(url.hostname);
    const tunnel = openHttpsTunnel({ hostname, port, address }, caCerts);
    if (tunnel !== undefined) return { client: tunnel.client, close: () => tunnel.close() };
  }
  return wrap(caCerts.length > 0 ? Deno.createHttpClient({ caCerts: [...caCerts] }) : undefined);
}

async function follow(
  ref: string,
  options: GuardedFetchOptions,
  signal: AbortSignal,
): Promise<GuardedResponse> {
  const transport = options.fetch ?? ((input, init) => fetch(input, init));
  let url: URL;
  try {
    url = new URL(ref);
  } catch {
    throw new NetRefusal("bad_reference", "it is not a valid URL");
  }
  let redirected = false;
  for (let hop = 0;; hop++) {
    signal.throwIfAborted();
    const address = await checkTarget(url, redirected, options, signal);
    const connection = hopClient(url, address, options);
    try {
      const response = await transport(url.href, {
        redirect: "manual",
        signal,
        ...(options.headers === undefined ? {} : { headers: options.headers }),
        ...(connection.client === undefined ? {} : { client: connection.client }),
      });
      if (REDIRECT_STATUSES.has(response.status)) {
        await response.body?.cancel();
        url = nextHop(url, response, hop, options.maxRedirects);
        redirected = true;
        continue;
      }
      try {
        options.checkResponse?.(response, url);
      } catch (error) {
        await response.body?.cancel();
        throw new CheckFailed(error);
      }
      const tooLarge = () =>
        new NetRefusal(
          "too_large",
          `the body is larger than the ${options.maxBytes}-byte limit`,
          { maxBytes: options.maxBytes },
        );
      const length = Number(response.headers.get("content-length") ?? "NaN");
      if (Number.isFinite(length) && length > options.maxBytes) {
        await response.body?.cancel();
        throw tooLarge();
      }
      const body = await readCapped(response.body, options.maxBytes, tooLarge);
      return { url, status: response.status, headers: response.headers, body };
    } finally {
      await connection.close();
    }
  }
}

function nextHop(url: URL, response: Response, hop: number, maxRedirects: number): URL {
  const location = response.headers.get("location");
  if (location === null) {
    throw new NetRefusal("http_status", `it answered ${response.status} without a Location`);
  }
  if (maxRedirects === 0) {
    throw new NetRefusal(
      "too_many_redirects",
      `it redirects (HTTP ${response.status}) to ${
        JSON.stringify(location.slice(0, 200))
      }; redirects are not followed, the URL must answer itself`,
    );
  }
  if (hop >= maxRedirects) {
    throw new NetRefusal("too_many_redirects", `it redirects more than ${maxRedirects} times`);
  }
  try {
    return new URL(location, url);
  } catch {
    throw new NetRefusal("bad_reference", "it redirects to an invalid URL");
  }
}

/** Checks one hop's URL and returns the address to connect to. */
async function checkTarget(
  target: URL,
  viaRedirect: boolean,
  options: GuardedFetchOptions,
  signal: AbortSignal,
): Promise<string> {
  const subject = viaRedirect ? `it redirects to ${JSON.stringify(target.href)}, whose` : "URL";
  if (target.protocol !== "http:" && target.protocol !== "https:") {
    throw new NetRefusal(
      "unsupported",
      viaRedirect
        ? `it redirects to a ${target.protocol} URL; only http and https are followed`
        : "only http and https URLs are accepted",
    );
  }
  if (target.username !== "" || target.password !== "") {
    throw new NetRefusal("bad_reference", "URLs with a user name or password are refused");
  }
  const host = normalizeHost(target.hostname);
  const always = "which is always refused";
  const allowAddress = options.allowAddress ?? (() => false);
  if (host === "localhost" || host.endsWith(".localhost")) {
    throw new NetRefusal(
      "blocked_address",
      `${subject} host "${host}" is a loopback name, ${always}`,
    );
  }
  if (isIpLiteral(host)) {
    const blocked = blockedAddress(host);
    if (blocked !== null && !allowAddress(host)) {
      const note = blocked.note ? ` (${blocked.note})` : "";
      throw new NetRefusal(
        "blocked_address",
        `${subject} host "${host}" is ${blocked.phrase}${note}, ${always}`,
        { address: host },
      );
    }
  }
  if (options.allowHost !== undefined && !options.allowHost(host)) {
    const hint = options.hostNotAllowedHint ? `; ${options.hostNotAllowedHint}` : "";
    throw new NetRefusal(
      "host_not_allowed",
      `${subject} host "${host}" is not allowed${hint}`,
      { host },
    );
  }
  if (isIpLiteral(host)) return host;
  let addresses: string[];
  try {
    addresses = await untilAborted(options.resolveDns(host, signal), signal);
  } catch (error) {
    if (signal.aborted) throw error;
    throw new NetRefusal("unresolved", `${subject} host "${host}" cannot be resolved`);
  }
  if (addresses.length === 0) {
    throw new NetRefusal("unresolved", `${subject} host "${host}" has no address`);
  }
  for (const address of addresses) {
    const blocked = blockedAddress(address);
    if (blocked !== null && !allowAddress(address)) {
      throw new NetRefusal(
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
