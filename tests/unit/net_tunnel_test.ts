/**
 * The https pin of the SSRF guard: a one-use loopback CONNECT proxy that dials the checked address
 * for one hostname and port. Its client reaches a TLS server the system resolver cannot find;
 * anyone else connecting to the proxy (no token, another token, another host) is turned away.
 */

import assert from "node:assert/strict";
import { openHttpsTunnel } from "../../src/net/tunnel.ts";
import { makeLocalTls, serveLocalTls } from "../support/local_tls.ts";

const TLS = await makeLocalTls();

async function ask(port: number, head: string): Promise<string> {
  using conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(new TextEncoder().encode(head));
  const buffer = new Uint8Array(256);
  const n = await conn.read(buffer);
  return new TextDecoder().decode(buffer.subarray(0, n ?? 0)).split("\r\n")[0];
}

Deno.test("the tunnel's client reaches the checked address with TLS verified for the hostname", async () => {
  await using server = serveLocalTls(TLS, () => new Response("pinned"));
  const tunnel = openHttpsTunnel(
    { hostname: TLS.hostname, port: server.port, address: "127.0.0.1" },
    [TLS.caCert],
  );
  assert.ok(tunnel, "Deno can listen on loopback here");
  try {
    const response = await fetch(`${server.origin}/`, { client: tunnel.client });
    assert.equal(await response.text(), "pinned");
  } finally {
    await tunnel.close();
  }
});

Deno.test("the tunnel's proxy turns away requests without its token or for another host", async () => {
  await using server = serveLocalTls(TLS, () => new Response("pinned"));
  const tunnel = openHttpsTunnel({
    hostname: TLS.hostname,
    port: server.port,
    address: "127.0.0.1",
  });
  assert.ok(tunnel);
  try {
    const target = `${TLS.hostname}:${server.port}`;
    const forged = `Proxy-Authorization: Basic ${btoa("guess:")}\r\n`;
    assert.equal(
      await ask(tunnel.proxyPort, `CONNECT ${target} HTTP/1.1\r\n\r\n`),
      "HTTP/1.1 403 Forbidden",
    );
    assert.equal(
      await ask(tunnel.proxyPort, `CONNECT ${target} HTTP/1.1\r\n${forged}\r\n`),
      "HTTP/1.1 403 Forbidden",
    );
    assert.equal(
      await ask(tunnel.proxyPort, `CONNECT 127.0.0.1:22 HTTP/1.1\r\n${forged}\r\n`),
      "HTTP/1.1 403 Forbidden",
    );
  } finally {
    await tunnel.close();
  }
});
