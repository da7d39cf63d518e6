/**
 * The global upstream budget (`UPSTREAM_IMAGES_PER_MINUTE`), shared by every process opening the
 * same KV. Requests queue in FIFO order: each takes a numbered ticket, and only the ticket at the
 * head of the queue (`serving`) may be admitted, when the current one-minute window still has room
 * for its images. A waiter that gives up (timeout, cancel) deletes its ticket; one that died leaves
 * a ticket whose stored deadline passes. Either way the next waiter skips it, so the queue never
 * stalls for longer than one queue timeout. Waiting is bounded polling with backoff.
 *
 * Upstream slots are not refunded when the call fails: the request reached the upstream and
 * counted against its limits there too.
 *
 * @module
 */
import { sleep } from "../clock.ts";
import { AppError } from "../errors.ts";
import { kvCommit, kvGet } from "../kv/mod.ts";
import { conflictPause } from "./cas.ts";
import { KEYS, type TicketState, type UpstreamState } from "./keys.ts";

const MINUTE_MS = 60_000;
// A dead waiter's ticket is skipped this long after its own give-up time.
const TICKET_GRACE_MS = 1_000;
const EMPTY: UpstreamState = { next: 0, serving: 0, windowStart: 0, used: 0 };

/** Options of {@link waitForUpstreamBudget}. */
export interface UpstreamBudgetOptions {
  /** Images per minute for all processes together; 0 = unlimited. */
  perMinute: number;
  /** Longest wait in the queue before refusing with 429 (`UPSTREAM_QUEUE_TIMEOUT_MS`). */
  timeoutMs: number;
  /** Clock, epoch milliseconds. */
  now: () => number;
  /** Cancels the wait; the ticket is given up. */
  signal?: AbortSignal;
  /** Longest pause between two looks at the queue (default 100 ms). */
  maxPollMs?: number;
}

/** An admission: the ticket that got through and how long it waited (for a metric). */
export interface UpstreamGrant {
  /** Ticket number (-1 when the budget is off). */
  readonly ticket: number;
  /** Time spent in the queue, in milliseconds of the injected clock. */
  readonly waitedMs: number;
}

/** What the queue looks like now. */
export interface UpstreamQueueStatus {
  /** Tickets handed out and neither admitted nor skipped yet. */
  readonly waiting: number;
  /** Images admitted in the current window. */
  readonly used: number;
  /** Milliseconds until the current window ends (0 when it has ended). */
  readonly windowRemainingMs: number;
}

async function takeTicket(
  kv: Deno.Kv,
  n: number,
  deadline: number,
): Promise<number> {
  for (let attempt = 0;; attempt++) {
    const entry = await kvGet<UpstreamState>(kv, KEYS.upstreamState);
    const state = entry.value ?? EMPTY;
    const ticket = state.next;
    const record: TicketState = { n, deadline: deadline + TICKET_GRACE_MS };
    const result = await kvCommit(kv, (op) =>
      op.check(entry)
        .set(KEYS.upstreamState, { ...state, next: ticket + 1 })
        .set(KEYS.upstreamTicket(ticket), record));
    if (result.ok) return ticket;
    await conflictPause(attempt);
  }
}

/** Removes a ticket that will not be admitted; advances the head past it when it is the head. */
async function giveUp(kv: Deno.Kv, ticket: number): Promise<void> {
  for (let attempt = 0;; attempt++) {
    const entry = await kvGet<UpstreamState>(kv, KEYS.upstreamState);
    const state = entry.value ?? EMPTY;
    const result = await kvCommit(kv, (op) => {
      op.check(entry).delete(KEYS.upstreamTicket(ticket));
      if (state.serving === ticket) {
        op.set(KEYS.upstreamState, { ...state, serving: ticket + 1 });
      }
    });
    if (result.ok) return;
    await conflictPause(attempt);
  }
}

type Step =
  | { kind: "admitted" }
  | { kind: "wait"; ms: number; windowRemainingMs: number }
  | { kind: "skipped" }
  | { kind: "again" };

async function step(
  kv: Deno.Kv,
  ticket: number,
  n: number,
  perMinute: number,
  t: number,
): Promise<Step> {
  const entry = await kvGet<UpstreamState>(kv, KEYS.upstreamState);
  const state = entry.value ?? EMPTY;
  if (state.serving > ticket) return { kind: "skipped" };
  if (state.serving === ticket) {
    const rolled = t >= state.windowStart + MINUTE_MS;
    const windowStart = rolled ? t : state.windowStart;
    const used = rolled ? 0 : state.used;
    // A request larger than the whole budget gets an empty window to itself.
    if (used + n <= perMinute || used === 0) {
      const result = await kvCommit(kv, (op) =>
        op.check(entry)
          .set(KEYS.upstreamState, {
            ...state,
            serving: ticket + 1,
            windowStart,
            used: used + n,
          })
          .delete(KEYS.upstreamTicket(ticket)));
      return result.ok ? { kind: "admitted" } : { kind: "again" };
    }
    const windowRemainingMs = windowStart + MINUTE_MS - t;
    return { kind: "wait", ms: windowRemainingMs, windowRemainingMs };
  }
  // Someone is ahead: skip the head if its waiter gave up or died.
  const head = await kvGet<TicketState>(kv, KEYS.upstreamTicket(state.serving));
  if (head.value === null || head.value.deadline <= t) {
    await kvCommit(kv, (op) =>
      op.check(entry, head)
        .set(KEYS.upstreamState, { ...state, serving: state.serving + 1 })
        .delete(KEYS.upstreamTicket(state.serving)));
    return { kind: "again" };
  }
  const windowRemainingMs = Math.max(0, state.windowStart + MINUTE_MS - t);
  return { kind: "wait", ms: Number.POSITIVE_INFINITY, windowRemainingMs };
}

function cancelled(signal: AbortSignal): AppError {
  return new AppError(
    "cancelled",
    "The request was cancelled while waiting for the upstream budget",
    { cause: signal.reason },
  );
}

/**
 * Waits in FIFO order until the global budget has room for `n` images and takes them. Refuses
 * with `AppError("rate_limited")` after `timeoutMs`, and with `AppError("cancelled")` when
 * `signal` aborts; either way the ticket is given up so the queue moves on.
 */
export async function waitForUpstreamBudget(
  kv: Deno.Kv,
  n: number,
  options: UpstreamBudgetOptions,
): Promise<UpstreamGrant> {
  const { perMinute, timeoutMs, now, signal } = options;
  if (!Number.isSafeInteger(perMinute) || perMinute < 0) {
    throw new RangeError("Invalid upstream budget: expected a non-negative integer");
  }
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new RangeError(`Invalid image count: expected a positive integer, got ${n}`);
  }
  if (perMinute === 0) return { ticket: -1, waitedMs: 0 };
  const maxPollMs = options.maxPollMs ?? 100;
  const enqueuedAt = now();
  const deadline = enqueuedAt + Math.max(0, timeoutMs);
  if (signal?.aborted) throw cancelled(signal);
  const ticket = await takeTicket(kv, n, deadline);
  let pollMs = 2;
  let windowRemainingMs = 0;
  for (let attempt = 0;; attempt++) {
    if (signal?.aborted) {
      await giveUp(kv, ticket);
      throw cancelled(signal);
    }
    const t = now();
    const outcome = await step(kv, ticket, n, perMinute, t);
    if (outcome.kind === "admitted") return { ticket, waitedMs: Math.max(0, t - enqueuedAt) };
    if (outcome.kind === "again") {
      await conflictPause(attempt);
      continue;
    }
    const waitedMs = Math.max(0, t - enqueuedAt);
    if (outcome.kind === "skipped" || t >= deadline) {
      if (outcome.kind !== "skipped") await giveUp(kv, ticket);
      const retryAfterSeconds = Math.max(
        1,
        Math.ceil((outcome.kind === "wait" ? outcome.windowRemainingMs : windowRemainingMs) / 1000),
      );
      throw new AppError(
        "rate_limited",
        `Upstream image budget exhausted: waited ${Math.round(waitedMs / 1000)} s in the queue ` +
          `for ${perMinute} images per minute; try again in ${retryAfterSeconds} s`,
        { retryAfterSeconds, details: { waitedMs, perMinute } },
      );
    }
    windowRemainingMs = outcome.windowRemainingMs;
    await sleep(Math.min(outcome.ms, pollMs, deadline - t), signal);
    pollMs = Math.min(maxPollMs, pollMs * 2);
  }
}

/** A snapshot of the upstream queue, for status pages and tests. */
export async function upstreamQueueStatus(
  kv: Deno.Kv,
  options: { now: () => number },
): Promise<UpstreamQueueStatus> {
  const state = (await kvGet<UpstreamState>(kv, KEYS.upstreamState)).value ?? EMPTY;
  const remaining = state.windowStart + MINUTE_MS - options.now();
  return {
    waiting: state.next - state.serving,
    used: remaining > 0 ? state.used : 0,
    windowRemainingMs: Math.max(0, remaining),
  };
}
