/**
 * Pins an `https:` connection to a checked address. Deno's fetch cannot send TLS over a plain TCP
 * transport, but it does tunnel `https:` through an HTTP proxy with `CONNECT`: so the guard opens a
 * one-use proxy on loopback that accepts only the expected `CONNECT host:port` with a random token
 * and dials the checked address, whatever DNS says now. TLS stays end to end: the certificate is
 * verified for the URL's hostname, against the system roots plus any `caCerts`.
 *
 * @module
 */

/** An HTTP client pinned to one address for one `https:` origin; close it when the body is read. */
export interface PinnedTunnel {
  /** The client to fetch with. */
  readonly client: Deno.HttpClient;
  /** The loopback port of the one-use proxy (it admits only this tunnel's client). */
  readonly proxyPort: number;
  /** Closes the client, the proxy and every connection it holds. */
  close(): Promise<void>;
}

/** Where a tunnel goes: the URL's hostname and port, and the checked address to dial instead. */
export interface TunnelTarget {
  /** The URL's hostname (what TLS verifies and `CONNECT` names). */
  hostname: string;
  /** The URL's port. */
  port: number;
  /** The checked address the connection goes to. */
  address: string;
}

const MAX_HEAD_BYTES = 8192;
const encoder = new TextEncoder();

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length;) at += await conn.write(bytes.subarray(at));
}

/** Reads a proxy request's head; returns it and any bytes after it, or `null` on a bad head. */
async function readHead(conn: Deno.Conn): Promise<{ head: string; rest: Uint8Array } | null> {
  const buffer = new Uint8Array(MAX_HEAD_BYTES);
  let filled = 0;
  while (filled < buffer.length) {
    const n = await conn.read(buffer.subarray(filled));
    if (n === null) return null;
    filled += n;
    const text = new TextDecoder().decode(buffer.subarray(0, filled));
    const end = text.indexOf("\r\n\r\n");
    if (end !== -1) {
      const headBytes = encoder.encode(text.slice(0, end + 4)).length;
      return { head: text.slice(0, end), rest: buffer.slice(headBytes, filled) };
    }
  }
  return null;
}

function closeQuietly(resource: { close(): void }): void {
  try {
    resource.close();
  } catch {
    // Already closed.
  }
}

/**
 * Opens a pinned tunnel to `target` (with `caCerts` trusted besides the system roots), or returns
 * `undefined` where this runtime cannot listen on loopback (then the caller fetches unpinned).
 */
export function openHttpsTunnel(
  target: TunnelTarget,
  caCerts: readonly string[] = [],
): PinnedTunnel | undefined {
  if (typeof Deno.createHttpClient !== "function") return undefined;
  let listener: Deno.TcpListener;
  try {
    listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  } catch {
    return undefined;
  }
  const token = crypto.randomUUID();
  const host = target.hostname.includes(":") ? `[${target.hostname}]` : target.hostname;
  const requestLine = `CONNECT ${host}:${target.port} HTTP/1.1`;
  const authorization = `basic ${btoa(`${token}:`)}`.toLowerCase();
  const open = new Set<Deno.Conn>();
  const work = new Set<Promise<unknown>>();

  function accepted(head: string): boolean {
    const [line, ...headers] = head.split("\r\n");
    return line === requestLine && headers.some((h) => {
      const colon = h.indexOf(":");
      return h.slice(0, colon).trim().toLowerCase() === "proxy-authorization" &&
        h.slice(colon + 1).trim().toLowerCase() === authorization;
    });
  }

  async function relay(conn: Deno.Conn): Promise<void> {
    try {
      const request = await readHead(conn);
      if (request === null || !accepted(request.head)) {
        await writeAll(conn, encoder.encode("HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n"));
        return;
      }
      const upstream = await Deno.connect({ hostname: target.address, port: target.port });
      open.add(upstream);
      await writeAll(conn, encoder.encode("HTTP/1.1 200 Connection established\r\n\r\n"));
      if (request.rest.length > 0) await writeAll(upstream, request.rest);
      await Promise.allSettled([
        conn.readable.pipeTo(upstream.writable),
        upstream.readable.pipeTo(conn.writable),
      ]);
    } catch {
      // The fetch sees the failure as a broken connection.
    } finally {
      closeQuietly(conn);
    }
  }

  const accepting = (async () => {
    try {
      for await (const conn of listener) {
        open.add(conn);
        const job = relay(conn);
        work.add(job);
      }
    } catch {
      // The listener was closed.
    }
  })();

  const client = Deno.createHttpClient({
    caCerts: [...caCerts],
    proxy: {
      transport: "http",
      url: `http://127.0.0.1:${listener.addr.port}`,
      basicAuth: { username: token, password: "" },
    },
  });

  return {
    client,
    proxyPort: listener.addr.port,
    async close() {
      client.close();
      closeQuietly(listener);
      for (const conn of open) closeQuietly(conn);
      await accepting;
      await Promise.allSettled(work);
    },
  };
}
