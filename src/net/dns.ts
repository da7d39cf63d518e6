/**
 * Name lookups and pinned connections for the SSRF guard: the DNS answer that was checked is the
 * one a connection goes to. `Deno.resolveDns` asks the configured DNS servers and does not read
 * `/etc/hosts`, which the system resolver used by fetch does; pinning makes the checked answer the
 * one used.
 *
 * @module
 */

/** Looks up the IPv4 and IPv6 addresses of a hostname. */
export type ResolveDns = (hostname: string, signal?: AbortSignal) => Promise<string[]>;

/** Makes an HTTP client whose connections all go to `address`:`port`, or `undefined` to not pin. */
export type PinnedClientFactory = (address: string, port: number) => Deno.HttpClient | undefined;

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

/**
 * Makes a Deno HTTP client whose TCP connections go to `address`:`port` whatever the URL host, for
 * `http:` URLs: the request goes out in absolute form, which RFC 9112 requires servers to accept.
 */
export function pinnedDenoClient(address: string, port: number): Deno.HttpClient | undefined {
  if (typeof Deno.createHttpClient !== "function") return undefined;
  const hostname = address.includes(":") ? `[${address}]` : address;
  return Deno.createHttpClient({ proxy: { transport: "tcp", hostname, port } });
}
