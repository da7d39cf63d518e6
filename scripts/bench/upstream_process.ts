/**
 * Starts the bench's fast fake upstream (`scripts/bench/upstream.ts`) in its own process, with an
 * https file server for URL answers when asked (a throwaway self-signed certificate made with
 * `openssl`, which clients trust through `certFile`).
 *
 * @module
 */
import { join } from "node:path";
import type { UpstreamAddress, UpstreamStats } from "./upstream.ts";

const ENTRY = new URL("./upstream.ts", import.meta.url).pathname;
const CONFIG = new URL("../../deno.json", import.meta.url).pathname;

/** A running fake upstream. */
export interface UpstreamProcess extends AsyncDisposable {
  /** OpenAI base URL, e.g. `http://127.0.0.1:PORT/v1`. */
  readonly baseUrl: string;
  /** Bytes of the PNG and of its base64 text, by size, for the sizes made at start. */
  readonly images: UpstreamAddress["images"];
  /** PEM file of the https file server's certificate, when it has one. */
  readonly certFile: string | null;
  /** Process id. */
  readonly pid: number;
  /** Its counters. */
  stats(): Promise<UpstreamStats>;
}

/** Options of {@link startUpstream}. */
export interface UpstreamOptions {
  /** Delay before every generation answer, ms (default 0). */
  latencyMs?: number;
  /** Image sizes to encode before listening (default `["1024x1024"]`). */
  sizes?: string[];
  /** Serve `response_format: "url"` links over https (needs `openssl`). */
  tls?: boolean;
}

async function selfSignedCertificate(dir: string): Promise<{ cert: string; key: string }> {
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  const result = await new Deno.Command("openssl", {
    args: [
      ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"],
      ...["-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1"],
      ...["-addext", "subjectAltName=IP:127.0.0.1"],
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!result.success) {
    throw new Error(
      `Cannot make a certificate with openssl: ${new TextDecoder().decode(result.stderr)}`,
    );
  }
  return { cert, key };
}

/** Starts the upstream and waits until it listens. */
export async function startUpstream(options: UpstreamOptions = {}): Promise<UpstreamProcess> {
  const dir = await Deno.makeTempDir({ prefix: "bench-upstream-" });
  const tls = options.tls ? await selfSignedCertificate(dir) : null;
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      ...["run", "-P=fake", "--config", CONFIG, ENTRY],
      ...["--latency-ms", String(options.latencyMs ?? 0)],
      ...["--sizes", (options.sizes ?? ["1024x1024"]).join(",")],
      ...(tls ? ["--tls-cert", tls.cert, "--tls-key", tls.key] : []),
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  const errors = (async () => {
    let text = "";
    for (;;) {
      const { value, done } = await stderr.read();
      if (done) return text;
      text = (text + value).slice(-4000);
    }
  })();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!seen.includes("\n")) {
    const { value, done } = await lines.read();
    if (done) {
      await child.status;
      throw new Error(`The bench upstream did not start: ${await errors}`);
    }
    seen += value;
  }
  const address = JSON.parse(seen.slice(0, seen.indexOf("\n"))) as UpstreamAddress;
  const drain = (async () => {
    while (!(await lines.read()).done);
  })();
  return {
    baseUrl: address.baseUrl,
    images: address.images,
    certFile: tls?.cert ?? null,
    pid: child.pid,
    async stats() {
      const response = await fetch(new URL("/_stats", address.baseUrl));
      return await response.json() as UpstreamStats;
    },
    async [Symbol.asyncDispose]() {
      child.kill("SIGTERM");
      await child.status;
      await Promise.all([drain, errors]);
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}
