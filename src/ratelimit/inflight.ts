/**
 * Concurrent generations per principal (`MAX_INFLIGHT_PER_KEY`). Each running generation holds a
 * lease in KV whose deadline is stored in the value, so a slot held by a crashed process frees
 * itself once its deadline passes. A live holder keeps its lease by renewing it: by default a
 * heartbeat timer does so every third of the lease, and is cleared on release.
 *
 * @module
 */
import { AppError } from "../errors.ts";
import { getLog } from "../log.ts";
import { kvGet } from "../kv/mod.ts";
import { updateValue } from "./cas.ts";
import { type InflightState, KEYS } from "./keys.ts";

/** Options of {@link acquireInflight}. */
export interface InflightOptions {
  /** Concurrent leases allowed per principal; 0 = unlimited. */
  max: number;
  /** Clock, epoch milliseconds. */
  now: () => number;
  /** How long a lease lives without renewal (default 60,000 ms). */
  leaseMs?: number;
  /** Renewal interval of the heartbeat timer; 0 turns it off (default `leaseMs / 3`). */
  heartbeatMs?: number;
  /** Retry hint given with a refusal (default 5 s). */
  retryAfterSeconds?: number;
}

/** A held concurrency slot. Release it (or `await using` it) when the generation ends. */
export interface InflightLease extends AsyncDisposable {
  /** Lease id, unique per acquisition. */
  readonly id: string;
  /** Frees the slot and stops the heartbeat; safe to call more than once. */
  release(): Promise<void>;
  /** Pushes the deadline `leaseMs` ahead; false when the lease was lost and no slot was free. */
  renew(): Promise<boolean>;
}

const DEFAULT_LEASE_MS = 60_000;

function live(state: InflightState | null, t: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [id, deadline] of Object.entries(state?.leases ?? {})) {
    if (deadline > t) out[id] = deadline;
  }
  return out;
}

class NoLease implements InflightLease {
  readonly id = "unlimited";
  release(): Promise<void> {
    return Promise.resolve();
  }
  renew(): Promise<boolean> {
    return Promise.resolve(true);
  }
  [Symbol.asyncDispose](): Promise<void> {
    return this.release();
  }
}

class KvLease implements InflightLease {
  readonly id: string;
  #kv: Deno.Kv;
  #key: Deno.KvKey;
  #max: number;
  #leaseMs: number;
  #now: () => number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #heartbeatMs: number;
  #pending: Promise<unknown> = Promise.resolve();
  #released = false;

  constructor(kv: Deno.Kv, key: Deno.KvKey, id: string, options: Required<InflightOptions>) {
    this.id = id;
    this.#kv = kv;
    this.#key = key;
    this.#max = options.max;
    this.#leaseMs = options.leaseMs;
    this.#now = options.now;
    this.#heartbeatMs = options.heartbeatMs;
    this.#schedule();
  }

  #schedule(): void {
    if (this.#heartbeatMs <= 0 || this.#released) return;
    const timer = setTimeout(() => {
      this.#timer = undefined;
      this.#pending = this.renew()
        .catch((error) => {
          getLog("ratelimit").warn("Cannot renew a concurrency lease: {error}", { error });
        })
        .finally(() => this.#schedule());
    }, this.#heartbeatMs);
    // A forgotten lease must not keep the process alive; its deadline frees the slot.
    Deno.unrefTimer(timer);
    this.#timer = timer;
  }

  renew(): Promise<boolean> {
    if (this.#released) return Promise.resolve(false);
    return updateValue<InflightState, boolean>(this.#kv, this.#key, (current) => {
      const t = this.#now();
      const leases = live(current, t);
      const mine = current?.leases[this.id];
      if (mine === undefined && Object.keys(leases).length >= this.#max) return { result: false };
      leases[this.id] = t + this.#leaseMs;
      return { result: true, write: { leases }, expireIn: this.#leaseMs + 60_000 };
    });
  }

  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#pending;
    await updateValue<InflightState, void>(this.#kv, this.#key, (current) => {
      if (current === null || !(this.id in current.leases)) return { result: undefined };
      const leases = live(current, this.#now());
      delete leases[this.id];
      return {
        result: undefined,
        write: Object.keys(leases).length === 0 ? null : { leases },
        expireIn: this.#leaseMs + 60_000,
      };
    });
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.release();
  }
}

/**
 * Takes one of `principal`'s concurrency slots, or refuses with `AppError("rate_limited")` when
 * `max` leases are live. With `max` 0 nothing is counted and the lease is a no-op.
 */
export async function acquireInflight(
  kv: Deno.Kv,
  principal: string,
  options: InflightOptions,
): Promise<InflightLease> {
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  const resolved: Required<InflightOptions> = {
    max: options.max,
    now: options.now,
    leaseMs,
    heartbeatMs: options.heartbeatMs ?? Math.floor(leaseMs / 3),
    retryAfterSeconds: options.retryAfterSeconds ?? 5,
  };
  if (!Number.isSafeInteger(resolved.max) || resolved.max < 0) {
    throw new RangeError(`Invalid concurrency limit: expected a non-negative integer`);
  }
  if (!(leaseMs > 0)) throw new RangeError(`Invalid lease length: expected > 0 ms`);
  if (resolved.max === 0) return new NoLease();
  const key = KEYS.inflight(principal);
  const id = crypto.randomUUID();
  const granted = await updateValue<InflightState, boolean>(kv, key, (current) => {
    const t = options.now();
    const leases = live(current, t);
    if (Object.keys(leases).length >= resolved.max) return { result: false };
    leases[id] = t + leaseMs;
    return { result: true, write: { leases }, expireIn: leaseMs + 60_000 };
  });
  if (!granted) {
    throw new AppError(
      "rate_limited",
      `Too many generations running for this key: ${resolved.max} at a time; ` +
        `wait for one to finish`,
      {
        retryAfterSeconds: resolved.retryAfterSeconds,
        details: { limit: resolved.max },
      },
    );
  }
  return new KvLease(kv, key, id, resolved);
}

/** Number of live leases `principal` holds now. */
export async function inflightCount(
  kv: Deno.Kv,
  principal: string,
  options: { now: () => number },
): Promise<number> {
  const entry = await kvGet<InflightState>(kv, KEYS.inflight(principal));
  return Object.keys(live(entry.value, options.now())).length;
}
