/**
 * Local TLS for tests: a throwaway certificate authority and a server certificate it signs for a
 * test hostname (`client.example.test` by default), made at test time with `@peculiar/x509` over
 * WebCrypto (ECDSA P-256), and an HTTPS server on 127.0.0.1 that presents it. Hand
 * {@link LocalTls.caCert} to the code under test as an extra trusted root and point its resolver
 * at 127.0.0.1. The certificates are valid from 2020 to 2080 (fixed dates), so the suite passes
 * with the machine clock moved a year either way.
 *
 * @module
 */

import "reflect-metadata"; // @peculiar/x509's dependency injection needs it loaded first.
import * as x509 from "@peculiar/x509";

/** The default test hostname: `.test` is reserved and never resolves on the Internet. */
export const TEST_TLS_HOSTNAME = "client.example.test";

const NOT_BEFORE = new Date(Date.UTC(2020, 0, 1));
const NOT_AFTER = new Date(Date.UTC(2080, 0, 1));
const ALGORITHM = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;

/** A throwaway CA and a server certificate and key it signed, all PEM. */
export interface LocalTls {
  /** The CA certificate: trust it (e.g. `Deno.createHttpClient({ caCerts })`). */
  caCert: string;
  /** The server certificate for {@link LocalTls.hostname}. */
  cert: string;
  /** The server's private key (PKCS #8). */
  key: string;
  /** The hostname the server certificate is for. */
  hostname: string;
}

/** Makes a fresh CA and a server certificate for `hostname`, valid 2020–2080. */
export async function makeLocalTls(hostname: string = TEST_TLS_HOSTNAME): Promise<LocalTls> {
  x509.cryptoProvider.set(crypto);
  const caKeys = await crypto.subtle.generateKey(ALGORITHM, true, ["sign", "verify"]);
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: "01",
    name: "CN=Throwaway test CA",
    notBefore: NOT_BEFORE,
    notAfter: NOT_AFTER,
    keys: caKeys,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const serverKeys = await crypto.subtle.generateKey(ALGORITHM, true, ["sign", "verify"]);
  const server = await x509.X509CertificateGenerator.create({
    serialNumber: "02",
    subject: `CN=${hostname}`,
    issuer: ca.subject,
    notBefore: NOT_BEFORE,
    notAfter: NOT_AFTER,
    signingKey: caKeys.privateKey,
    publicKey: serverKeys.publicKey,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.SubjectAlternativeNameExtension([{ type: "dns", value: hostname }]),
      new x509.BasicConstraintsExtension(false),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const pkcs8 = await crypto.subtle.exportKey("pkcs8", serverKeys.privateKey);
  return {
    caCert: ca.toString("pem"),
    cert: server.toString("pem"),
    key: x509.PemConverter.encode(pkcs8, "PRIVATE KEY"),
    hostname,
  };
}

/** An HTTPS server on 127.0.0.1 presenting a {@link LocalTls} certificate. */
export interface LocalTlsServer extends AsyncDisposable {
  /** The certificates it presents. */
  tls: LocalTls;
  /** Its port on 127.0.0.1. */
  port: number;
  /** `https://{hostname}:{port}`: the origin URLs on it start with. */
  origin: string;
  /** Stops the server. */
  shutdown(): Promise<void>;
}

/** Serves `handler` over HTTPS on 127.0.0.1 with a certificate for `tls.hostname`. */
export function serveLocalTls(
  tls: LocalTls,
  handler: (request: Request) => Response | Promise<Response>,
): LocalTlsServer {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, cert: tls.cert, key: tls.key, onListen() {} },
    handler,
  );
  const port = server.addr.port;
  const shutdown = () => server.shutdown();
  return {
    tls,
    port,
    origin: `https://${tls.hostname}:${port}`,
    shutdown,
    [Symbol.asyncDispose]: shutdown,
  };
}
