/**
 * Raw HTTP/1.1 over a fresh socket, for what a fetch client would normalise away or refuse to
 * send: malformed request lines, dot segments, a `Host` header of the test's choosing.
 *
 * @module
 */
import type { HttpServerProcess } from "./http_server.ts";

const encoder = new TextEncoder();

/** Sends `request` bytes on a fresh connection and returns everything the server answered. */
export async function raw(
  server: Pick<HttpServerProcess, "url">,
  request: Uint8Array | string,
): Promise<string> {
  const { port } = new URL(server.url);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(port) });
  try {
    const bytes = typeof request === "string" ? encoder.encode(request) : request;
    let written = 0;
    while (written < bytes.length) written += await conn.write(bytes.subarray(written));
    const chunks: Uint8Array[] = [];
    const buffer = new Uint8Array(64 * 1024);
    // A request announcing more body than it sends waits for it: give up after a while.
    const deadline = setTimeout(() => conn.close(), 2_000);
    try {
      for (;;) {
        const n = await conn.read(buffer).catch(() => null);
        if (n === null) break;
        chunks.push(buffer.slice(0, n));
        // One answer is enough: stop at the end of a Content-Length body (counted in bytes).
        const all = concat(chunks);
        const head = new TextDecoder("latin1").decode(all).indexOf("\r\n\r\n");
        if (head < 0) continue;
        const header = new TextDecoder().decode(all.subarray(0, head));
        const length = /content-length: *(\d+)/i.exec(header)?.[1];
        if (length !== undefined && all.length >= head + 4 + Number(length)) break;
      }
    } finally {
      clearTimeout(deadline);
    }
    return new TextDecoder().decode(concat(chunks));
  } finally {
    try {
      conn.close();
    } catch {
      // Closed by the deadline.
    }
  }
}

/** The bytes of `chunks`, one after another. */
export function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((sum, c) => sum + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** The status code of a raw answer, or 0 when the server closed without one. */
export function statusOf(answer: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0);
}
