/**
 * Who is on the other end of a request, and under which base URL the service was reached. With
 * `TRUST_PROXY=true` the proxy's `X-Forwarded-For`, `-Proto` and `-Host` headers decide; without it
 * they are ignored, since any client could send them.
 *
 * @module
 */
import type { Context } from "hono";
import type { Config } from "../config.ts";
import { parseIp } from "../net/mod.ts";

/** Settings that decide how a request is read. */
export type ProxySettings = Pick<Config, "trustProxy" | "publicBaseUrl">;

function normalizeAddress(raw: string): string | null {
  let text = raw.trim();
  if (text.startsWith("[")) {
    // `[::1]:1234` or `[::1]`
    const end = text.indexOf("]");
    if (end < 0) return null;
    text = text.slice(1, end);
  } else if (/^\d{1,3}(\.\d{1,3}){3}:\d+$/.test(text)) {
    text = text.slice(0, text.lastIndexOf(":"));
  }
  const zone = text.indexOf("%");
  if (zone >= 0) text = text.slice(0, zone);
  if (parseIp(text) === null) return null;
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(text);
  return (mapped ? mapped[1] : text).toLowerCase();
}

function peerAddress(c: Context): string | null {
  const env = c.env as { remoteAddr?: { hostname?: unknown } } | undefined;
  const hostname = env?.remoteAddr?.hostname;
  return typeof hostname === "string" ? normalizeAddress(hostname) : null;
}

/**
 * The client's IP address. Behind a trusted proxy it is the last address of `X-Forwarded-For`
 * (the one the proxy in front of the service appended; earlier entries are whatever the client
 * claimed). `unknown` when no address is available (e.g. in `app.request()` tests).
 */
export function clientIp(c: Context, settings: Pick<Config, "trustProxy">): string {
  if (settings.trustProxy) {
    const forwarded = c.req.header("x-forwarded-for");
    if (forwarded) {
      const parts = forwarded.split(",");
      for (let i = parts.length - 1; i >= 0; i--) {
        const address = normalizeAddress(parts[i]);
        if (address !== null) return address;
      }
    }
  }
  return peerAddress(c) ?? "unknown";
}

const HOST =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})?)*\.?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

function firstValue(header: string | undefined): string | undefined {
  const value = header?.split(",")[0]?.trim();
  return value === "" ? undefined : value;
}

/**
 * The base URL of the service as the client reached it, without a trailing slash:
 * `PUBLIC_BASE_URL` when set, else the request's scheme and host (the forwarded ones behind a
 * trusted proxy). Malformed forwarded values are ignored.
 */
export function requestBaseUrl(c: Context, settings: ProxySettings): string {
  if (settings.publicBaseUrl) return settings.publicBaseUrl.replace(/\/+$/, "");
  const url = new URL(c.req.url);
  let protocol = url.protocol.replace(/:$/, "");
  let host = url.host;
  if (settings.trustProxy) {
    const proto = firstValue(c.req.header("x-forwarded-proto"))?.toLowerCase();
    if (proto === "http" || proto === "https") protocol = proto;
    const forwardedHost = firstValue(c.req.header("x-forwarded-host"));
    if (forwardedHost && HOST.test(forwardedHost)) host = forwardedHost;
  }
  return `${protocol}://${host}`;
}
