/**
 * The KV key layout of the limiter, written down in one place. Every limit lives in Deno KV so
 * that all processes opening the same KV share it; nothing is kept in process memory. Deadlines
 * are stored inside values: `expireIn` is only a clean-up hint here, never relied on.
 *
 * ```
 * ["ratelimit", "requests", principal]        → WindowState (REQUEST_RATE_LIMIT)
 * ["ratelimit", "generations", principal]     → WindowState (IMAGE_GENERATION_RATE_LIMIT, images)
 * ["ratelimit", "auth_failures", address]     → WindowState (AUTH_FAILURE_LIMIT, failed credentials)
 * ["ratelimit", "registrations", address]     → WindowState (OAUTH_DCR_LIMIT, OAuth client registrations)
 * ["ratelimit", "authorize", address]         → WindowState (OAuth authorization requests per hour)
 * ["ratelimit", "inflight", principal]        → InflightState (MAX_INFLIGHT_PER_KEY leases)
 * ["ratelimit", "upstream", "state"]          → UpstreamState (UPSTREAM_IMAGES_PER_MINUTE queue)
 * ["ratelimit", "upstream", "ticket", ticket] → TicketState (one per waiting request)
 * ["ratelimit", "ledger", month, principal, "usd_micros" | "images" | "requests"] → Deno.KvU64
 * ["ratelimit", "reserved", principal]        → ReservedState (worst-case prices of running requests)
 * ```
 *
 * @module
 */

/** A fixed window counter: `count` units used in the window that ends at `resetAt` (epoch ms). */
export interface WindowState {
  /** Units consumed in the current window. */
  readonly count: number;
  /** End of the current window, epoch milliseconds. */
  readonly resetAt: number;
}

/** Concurrency leases of one principal: lease id → deadline (epoch ms). */
export interface InflightState {
  /** Live and not yet pruned leases. */
  readonly leases: Readonly<Record<string, number>>;
}

/** The global upstream budget: a FIFO ticket queue plus the current per-minute window. */
export interface UpstreamState {
  /** The next ticket number to hand out. */
  readonly next: number;
  /** The ticket at the head of the queue (the only one that may be admitted). */
  readonly serving: number;
  /** Start of the current one-minute window, epoch milliseconds. */
  readonly windowStart: number;
  /** Images admitted in the current window. */
  readonly used: number;
}

/** A waiting ticket: how many images it needs and when its waiter gives up for sure. */
export interface TicketState {
  /** Images the request needs. */
  readonly n: number;
  /** After this time (epoch ms) the ticket counts as abandoned and is skipped. */
  readonly deadline: number;
}

/** Budget reservations of one principal: reservation id → worst-case micro-dollars and deadline. */
export interface ReservedState {
  /** Live and not yet pruned reservations. */
  readonly items: Readonly<Record<string, { readonly micros: number; readonly deadline: number }>>;
}

/** Fields of the monthly usage ledger. */
export type LedgerField = "usd_micros" | "images" | "requests";

/** Key builders; the only place limiter keys are made. */
export const KEYS = {
  requests: (principal: string): Deno.KvKey => ["ratelimit", "requests", principal],
  generations: (principal: string): Deno.KvKey => ["ratelimit", "generations", principal],
  authFailures: (address: string): Deno.KvKey => ["ratelimit", "auth_failures", address],
  registrations: (address: string): Deno.KvKey => ["ratelimit", "registrations", address],
  authorizationRequests: (address: string): Deno.KvKey => ["ratelimit", "authorize", address],
  inflight: (principal: string): Deno.KvKey => ["ratelimit", "inflight", principal],
  upstreamState: ["ratelimit", "upstream", "state"] as Deno.KvKey,
  upstreamTicket: (ticket: number): Deno.KvKey => ["ratelimit", "upstream", "ticket", ticket],
  reserved: (principal: string): Deno.KvKey => ["ratelimit", "reserved", principal],
  ledgerMonth: (month: string): Deno.KvKey => ["ratelimit", "ledger", month],
  ledgerPrincipal: (month: string, principal: string): Deno.KvKey => [
    "ratelimit",
    "ledger",
    month,
    principal,
  ],
  ledger: (month: string, principal: string, field: LedgerField): Deno.KvKey => [
    "ratelimit",
    "ledger",
    month,
    principal,
    field,
  ],
} as const;
