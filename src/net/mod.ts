/**
 * Outgoing requests to URLs someone else named: the SSRF guard (public addresses only, redirects
 * checked hop by hop, pinned connections, a size cap and one deadline), the address rules and host
 * allow-lists it applies, and DNS lookups. The public module of `src/net/`.
 *
 * @module
 */

export {
  type BlockedAddress,
  blockedAddress,
  hostMatcher,
  isIpLiteral,
  normalizeHost,
  parseIp,
} from "./addresses.ts";
export {
  type PinnedClientFactory,
  pinnedDenoClient,
  type ResolveDns,
  resolveWithDeno,
} from "./dns.ts";
export {
  guardedFetch,
  type GuardedFetchOptions,
  type GuardedResponse,
  type NetProblem,
  NetRefusal,
  untilAborted,
} from "./guarded_fetch.ts";
