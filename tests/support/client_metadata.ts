/**
 * A Client ID Metadata Document resolver for tests of the service: the real resolver, trusting a
 * {@link LocalTls} throwaway CA, with a DNS table naming 127.0.0.1 for the test hostname and —
 * only when asked — the test-only `allowAddress` for 127.0.0.1. Without it the private-address
 * refusal stays on, as in production.
 *
 * @module
 */
import { systemClock } from "../../src/clock.ts";
import {
  type ClientMetadataResolver,
  createClientMetadataResolver,
  DEFAULT_CLIENT_METADATA_CACHE_TTL_MS,
  DEFAULT_CLIENT_METADATA_MAX_BYTES,
  DEFAULT_CLIENT_METADATA_TIMEOUT_MS,
} from "../../src/oauth/mod.ts";
import type { LocalTls } from "./local_tls.ts";

/** Options of {@link testClientMetadataResolver}. */
export interface TestResolverOptions {
  /** Let the resolver fetch from 127.0.0.1 (the test server); false keeps the refusal on. */
  allowLoopback: boolean;
  /** Deadline in milliseconds (default: the service's default). */
  timeoutMs?: number;
}

/** The service's resolver for documents on `tls.hostname`, served from 127.0.0.1. */
export function testClientMetadataResolver(
  tls: LocalTls,
  options: TestResolverOptions,
): ClientMetadataResolver {
  return createClientMetadataResolver({
    resolveDns: (hostname) => Promise.resolve(hostname === tls.hostname ? ["127.0.0.1"] : []),
    caCerts: [tls.caCert],
    ...(options.allowLoopback ? { allowAddress: (address) => address === "127.0.0.1" } : {}),
    maxBytes: DEFAULT_CLIENT_METADATA_MAX_BYTES,
    timeoutMs: options.timeoutMs ?? DEFAULT_CLIENT_METADATA_TIMEOUT_MS,
    cacheTtlMs: DEFAULT_CLIENT_METADATA_CACHE_TTL_MS,
    now: systemClock,
  });
}
