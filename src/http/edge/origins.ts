/**
 * Which Host and Origin headers may reach the service. Pure functions of the settings, shared by
 * the edge guard (every route) and anything else that must judge a browser's request.
 *
 * - Host: on a loopback bind, loopback names plus `PUBLIC_BASE_URL`'s host and `MCP_ALLOWED_HOSTS`;
 *   on any other bind, only when hosts are configured (then those plus the bind address). This is
 *   what stops DNS rebinding: a page on `rebind.attacker.example` that resolves to 127.0.0.1 still
 *   sends its own name as Host.
 * - Origin: exact scheme, host and port. The service's own origin, `PUBLIC_BASE_URL`,
 *   `MCP_ALLOWED_ORIGINS` and `CORS_ORIGINS` (`*` allows any), and — on a loopback bind — pages
 *   served from a loopback name (a local MCP inspector). `null` and malformed origins never pass.
 *
 * @module
 */
import { type Config, isLoopbackHost } from "../../config.ts";

/** Settings the host and origin rules read. */
export type OriginConfig = Pick<
  Config,
  "host" | "publicBaseUrl" | "mcpAllowedHosts" | "mcpAllowedOrigins" | "corsOrigins"
>;

const UNSPECIFIED = new Set(["0.0.0.0", "::", "[::]", ""]);

/**
 * A Host header's lower-case name (IPv6 in brackets) and port; null when it is not a host name in
 * its canonical spelling (`2130706433` and `0x7f.1` are 127.0.0.1 to a URL parser, but no client
 * names a host that way).
 */
export function parseHostHeader(header: string): { name: string; port: string } | null {
  if (header === "" || /[\s/\\?#@]/.test(header)) return null;
  try {
    const url = new URL(`http://${header}`);
    const name = header.toLowerCase().replace(/:\d*$/, "");
    return url.hostname === name ? { name, port: url.port } : null;
  } catch {
    return null;
  }
}

/** The host name of a configured entry (`example.com`, `example.com:8443` or a URL). */
function entryName(entry: string): string | null {
  return parseHostHeader(entry.replace(/^[a-z][a-z0-9+.-]*:\/\//i, "").replace(/\/.*$/, ""))
    ?.name ?? null;
}

/**
 * The rule for Host headers, or null when every host is accepted (a non-loopback bind with no
 * host configured: the operator's proxy decides).
 */
export function hostRule(config: OriginConfig): ((name: string) => boolean) | null {
  const names = new Set<string>();
  for (const entry of config.mcpAllowedHosts ?? []) {
    const name = entryName(entry);
    if (name !== null) names.add(name);
  }
  if (config.publicBaseUrl) names.add(new URL(config.publicBaseUrl).hostname);
  if (isLoopbackHost(config.host)) return (name) => isLoopbackHost(name) || names.has(name);
  if (names.size === 0) return null;
  const bind = entryName(config.host);
  if (bind !== null && !UNSPECIFIED.has(config.host)) names.add(bind);
  return (name) => names.has(name);
}

/** The origin of `value` (`scheme://host[:port]`), or null for `null`, opaque or malformed ones. */
export function parseOrigin(value: string): URL | null {
  if (value === "null") return null;
  try {
    const url = new URL(value);
    if (url.protocol !== "http:" && url.protocol !== "https:") return null;
    if (url.origin !== value.replace(/\/$/, "").toLowerCase() && url.origin !== value) return null;
    return url;
  } catch {
    return null;
  }
}

/**
 * The rule for Origin headers: `(origin, ownOrigin)` is true when a page at `origin` may send
 * requests that change something; `ownOrigin` is the origin the request was addressed to.
 */
export function originRule(config: OriginConfig): (origin: string, ownOrigin: string) => boolean {
  const listed = [...(config.mcpAllowedOrigins ?? []), ...(config.corsOrigins ?? [])];
  const any = listed.includes("*");
  const exact = new Set(
    listed.filter((o) => o !== "*").map((o) => parseOrigin(o)?.origin).filter((o) => o),
  );
  if (config.publicBaseUrl) exact.add(new URL(config.publicBaseUrl).origin);
  const loopbackBind = isLoopbackHost(config.host);
  return (origin, ownOrigin) => {
    const parsed = parseOrigin(origin);
    if (parsed === null) return false;
    if (any || exact.has(parsed.origin) || parsed.origin === ownOrigin) return true;
    return loopbackBind && isLoopbackHost(parsed.hostname);
  };
}
