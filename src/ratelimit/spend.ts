/**
 * The monthly spend ledger (`BUDGET_USD_PER_KEY_MONTH`) and usage report. Amounts are kept as
 * integer micro-dollars in `Deno.KvU64` sums, which never lose an update across processes. Months
 * are calendar months in UTC.
 *
 * A budget check and the spend it guards are not one transaction: requests already running when
 * the budget is reached may overshoot it by their own cost.
 *
 * @module
 */
import { AppError } from "../errors.ts";
import { kvCommit, kvGet, kvGetMany, kvList } from "../kv/mod.ts";
import { conflictPause } from "./cas.ts";
import { KEYS, type LedgerField, type ReservedState } from "./keys.ts";
import { systemClock } from "../clock.ts";

const MICROS = 1_000_000;

/** `YYYY-MM` of the UTC month containing `ms`. */
export function monthOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 7);
}

/** Start of the UTC month after the one containing `ms`, epoch milliseconds. */
export function nextMonthStart(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

function micros(usd: number): bigint {
  if (!Number.isFinite(usd) || usd < 0) {
    throw new RangeError(`Invalid amount: expected a non-negative number of dollars, got ${usd}`);
  }
  return BigInt(Math.round(usd * MICROS));
}

function dollars(value: bigint): number {
  return Number(value) / MICROS;
}

function formatUsd(usd: number): string {
  return `$${usd.toFixed(usd < 1 ? 4 : 2)}`;
}

/** Options of {@link recordSpend}. */
export interface RecordSpendOptions {
  /** Clock, epoch milliseconds (picks the month). */
  now: () => number;
  /** Images the spend bought (default 0). */
  images?: number;
}

/**
 * Adds `usd` (and `images`) to `principal`'s ledger for the current month and counts one
 * generation request.
 */
export async function recordSpend(
  kv: Deno.Kv,
  principal: string,
  usd: number,
  options: RecordSpendOptions,
): Promise<void> {
  const amount = micros(usd);
  const images = options.images ?? 0;
  if (!Number.isSafeInteger(images) || images < 0) {
    throw new RangeError(`Invalid image count: expected a non-negative integer, got ${images}`);
  }
  const month = monthOf(options.now());
  const result = await kvCommit(
    kv,
    (op) =>
      op.sum(KEYS.ledger(month, principal, "usd_micros"), amount)
        .sum(KEYS.ledger(month, principal, "images"), BigInt(images))
        .sum(KEYS.ledger(month, principal, "requests"), 1n),
  );
  if (!result.ok) throw new AppError("storage", "Cannot record spend: the KV commit failed");
}

/** Options of {@link checkBudget}. */
export interface BudgetOptions {
  /** Monthly budget in dollars; 0 = none. */
  budgetUsd: number;
  /** Clock, epoch milliseconds. */
  now: () => number;
  /** Estimated cost of the request about to run, refused when it would cross the budget. */
  pendingUsd?: number;
}

/** Where a principal stands against its monthly budget. */
export interface BudgetStatus {
  /** Spent this month, dollars. */
  readonly spentUsd: number;
  /** Set aside for requests still running, dollars. */
  readonly reservedUsd: number;
  /** The budget, dollars (0 = none). */
  readonly budgetUsd: number;
  /** Left this month after spend and reservations, dollars (infinite without a budget). */
  readonly remainingUsd: number;
  /** When the month (and the ledger) resets, ISO 8601 UTC. */
  readonly resetsAt: string;
}

const DEFAULT_RESERVATION_TTL_MS = 3_600_000;

function liveReservations(
  state: ReservedState | null,
  t: number,
): Record<string, { micros: number; deadline: number }> {
  const out: Record<string, { micros: number; deadline: number }> = {};
  for (const [id, item] of Object.entries(state?.items ?? {})) {
    if (item.deadline > t) out[id] = { ...item };
  }
  return out;
}

interface Standing {
  readonly spent: bigint;
  readonly reserved: bigint;
  readonly live: Record<string, { micros: number; deadline: number }>;
  readonly entries: Deno.KvEntryMaybe<unknown>[];
}

async function standing(kv: Deno.Kv, principal: string, t: number): Promise<Standing> {
  const entries = await kvGetMany<unknown>(kv, [
    KEYS.ledger(monthOf(t), principal, "usd_micros"),
    KEYS.reserved(principal),
  ]);
  const spent = (entries[0].value as Deno.KvU64 | null)?.value ?? 0n;
  const live = liveReservations(entries[1].value as ReservedState | null, t);
  const reserved = Object.values(live).reduce((sum, item) => sum + BigInt(item.micros), 0n);
  return { spent, reserved, live, entries };
}

function statusOf(budget: bigint, s: Pick<Standing, "spent" | "reserved">, t: number) {
  const remaining = budget - s.spent - s.reserved;
  return {
    spentUsd: dollars(s.spent),
    reservedUsd: dollars(s.reserved),
    budgetUsd: dollars(budget),
    remainingUsd: dollars(remaining > 0n ? remaining : 0n),
    resetsAt: new Date(nextMonthStart(t)).toISOString(),
  };
}

function budgetExceeded(status: BudgetStatus, pending: bigint, t: number): AppError {
  const running = status.reservedUsd > 0
    ? ` (${formatUsd(status.reservedUsd)} of it set aside for requests still running)`
    : "";
  return new AppError(
    "budget_exceeded",
    `Monthly budget exceeded for this key: spent ${
      formatUsd(status.spentUsd + status.reservedUsd)
    } ` +
      `of ${formatUsd(status.budgetUsd)}${running}, ${formatUsd(status.remainingUsd)} left` +
      (pending > 0n ? `; this request may cost up to ${formatUsd(dollars(pending))}` : "") +
      `; the budget resets on ${status.resetsAt}`,
    {
      retryAfterSeconds: Math.max(1, Math.ceil((nextMonthStart(t) - t) / 1000)),
      details: { ...status, ...(pending > 0n ? { requestUsd: dollars(pending) } : {}) },
    },
  );
}

function budgetMicros(budgetUsd: number): bigint {
  if (!Number.isFinite(budgetUsd) || budgetUsd < 0) {
    throw new RangeError(`Invalid budget: expected a non-negative number, got ${budgetUsd}`);
  }
  return micros(budgetUsd);
}

/**
 * Refuses with `AppError("budget_exceeded")` when `principal` has spent its monthly budget (or
 * would with `pendingUsd`), counting reservations of running requests; otherwise returns where
 * it stands.
 */
export async function checkBudget(
  kv: Deno.Kv,
  principal: string,
  options: BudgetOptions,
): Promise<BudgetStatus> {
  const limit = budgetMicros(options.budgetUsd);
  const t = options.now();
  if (limit === 0n) {
    return {
      spentUsd: 0,
      reservedUsd: 0,
      budgetUsd: 0,
      remainingUsd: Number.POSITIVE_INFINITY,
      resetsAt: new Date(nextMonthStart(t)).toISOString(),
    };
  }
  const now = await standing(kv, principal, t);
  const pending = micros(options.pendingUsd ?? 0);
  const status = statusOf(limit, now, t);
  if (now.spent + now.reserved >= limit || now.spent + now.reserved + pending > limit) {
    throw budgetExceeded(status, pending, t);
  }
  return status;
}

/** Options of {@link reserveSpend}. */
export interface ReserveSpendOptions {
  /** Monthly budget in dollars; 0 = none (nothing is reserved). */
  budgetUsd: number;
  /** Clock, epoch milliseconds. */
  now: () => number;
  /** How long an unsettled reservation counts (a process that died never settles); 1 h default. */
  ttlMs?: number;
}

/** Dollars set aside for one running request; settle it with {@link settleSpend}. */
export interface SpendReservation {
  /** Whose budget. */
  readonly principal: string;
  /** Reservation id; empty when nothing was set aside (no budget, or a free request). */
  readonly id: string;
  /** Dollars set aside. */
  readonly usd: number;
  /** Where the principal stood after the reservation. */
  readonly status: BudgetStatus;
}

/**
 * Sets `usd` (a request's worst-case price) aside from `principal`'s monthly budget, or refuses
 * with `AppError("budget_exceeded")` naming what is left. Spend and running reservations are
 * compared with the budget in one check-and-set, so concurrent requests cannot overshoot it.
 */
export async function reserveSpend(
  kv: Deno.Kv,
  principal: string,
  usd: number,
  options: ReserveSpendOptions,
): Promise<SpendReservation> {
  const limit = budgetMicros(options.budgetUsd);
  const want = micros(usd);
  const ttlMs = options.ttlMs ?? DEFAULT_RESERVATION_TTL_MS;
  if (limit === 0n) {
    return { principal, id: "", usd: 0, status: await checkBudget(kv, principal, options) };
  }
  for (let attempt = 0;; attempt++) {
    const t = options.now();
    const now = await standing(kv, principal, t);
    if (now.spent + now.reserved >= limit || now.spent + now.reserved + want > limit) {
      throw budgetExceeded(statusOf(limit, now, t), want, t);
    }
    if (want === 0n) return { principal, id: "", usd: 0, status: statusOf(limit, now, t) };
    const id = crypto.randomUUID();
    const items = { ...now.live, [id]: { micros: Number(want), deadline: t + ttlMs } };
    const result = await kvCommit(kv, (op) =>
      op.check(...now.entries)
        .set(KEYS.reserved(principal), { items } satisfies ReservedState, {
          expireIn: ttlMs + 60_000,
        }));
    if (result.ok) {
      const status = statusOf(limit, { spent: now.spent, reserved: now.reserved + want }, t);
      return { principal, id, usd: dollars(want), status };
    }
    await conflictPause(attempt);
  }
}

/**
 * Replaces `reservation` with what the request really cost: `usd` (and `images`) are added to the
 * ledger of the current month and one request is counted, in the same commit that drops the
 * reservation.
 */
export async function settleSpend(
  kv: Deno.Kv,
  reservation: SpendReservation,
  usd: number,
  options: RecordSpendOptions,
): Promise<void> {
  if (reservation.id === "") return await recordSpend(kv, reservation.principal, usd, options);
  await dropReservation(kv, reservation, options.now, (op, month) => {
    const images = options.images ?? 0;
    if (!Number.isSafeInteger(images) || images < 0) {
      throw new RangeError(`Invalid image count: expected a non-negative integer, got ${images}`);
    }
    op.sum(KEYS.ledger(month, reservation.principal, "usd_micros"), micros(usd))
      .sum(KEYS.ledger(month, reservation.principal, "images"), BigInt(images))
      .sum(KEYS.ledger(month, reservation.principal, "requests"), 1n);
  });
}

/** Gives `reservation` back unspent, for a request that never reached the upstream. */
export async function releaseSpend(
  kv: Deno.Kv,
  reservation: SpendReservation,
  options: { now: () => number },
): Promise<void> {
  if (reservation.id === "") return;
  await dropReservation(kv, reservation, options.now, () => {});
}

async function dropReservation(
  kv: Deno.Kv,
  reservation: SpendReservation,
  now: () => number,
  also: (op: Deno.AtomicOperation, month: string) => void,
): Promise<void> {
  const key = KEYS.reserved(reservation.principal);
  for (let attempt = 0;; attempt++) {
    const t = now();
    const entry = await kvGet<ReservedState>(kv, key);
    const live = liveReservations(entry.value, t);
    delete live[reservation.id];
    const latest = Math.max(0, ...Object.values(live).map((item) => item.deadline - t));
    const result = await kvCommit(kv, (op) => {
      op.check(entry);
      if (Object.keys(live).length === 0) op.delete(key);
      else op.set(key, { items: live } satisfies ReservedState, { expireIn: latest + 60_000 });
      also(op, monthOf(t));
    });
    if (result.ok) return;
    await conflictPause(attempt);
  }
}

/** One principal's usage in a month. */
export interface UsageRow {
  /** Principal id. */
  readonly principal: string;
  /** Images generated. */
  readonly images: number;
  /** Spend in dollars. */
  readonly spendUsd: number;
  /** Generation requests that reached the upstream. */
  readonly requests: number;
}

/** Usage of one month, per principal and in total. */
export interface UsageReport {
  /** `YYYY-MM`. */
  readonly month: string;
  /** One row per principal, highest spend first. */
  readonly rows: readonly UsageRow[];
  /** Sums over all rows. */
  readonly totals: Omit<UsageRow, "principal">;
}

/** Options of {@link usageReport}. */
export interface UsageReportOptions {
  /** Only this principal. */
  principal?: string;
  /** `YYYY-MM` (default: the current month by `now`). */
  month?: string;
  /** Clock, epoch milliseconds (default `Date.now`). */
  now?: () => number;
}

/** Per-principal images, spend and requests for a month. */
export async function usageReport(
  kv: Deno.Kv,
  options: UsageReportOptions = {},
): Promise<UsageReport> {
  const month = options.month ?? monthOf((options.now ?? systemClock)());
  if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(month)) {
    throw new RangeError(`Invalid month: expected YYYY-MM, got ${JSON.stringify(month)}`);
  }
  const prefix = options.principal === undefined
    ? KEYS.ledgerMonth(month)
    : KEYS.ledgerPrincipal(month, options.principal);
  const byPrincipal = new Map<string, Record<LedgerField, bigint>>();
  for await (const entry of kvList<Deno.KvU64>(kv, { prefix })) {
    const principal = String(entry.key[3]);
    const field = entry.key[4] as LedgerField;
    const row = byPrincipal.get(principal) ?? { usd_micros: 0n, images: 0n, requests: 0n };
    row[field] = entry.value.value;
    byPrincipal.set(principal, row);
  }
  const rows: UsageRow[] = [...byPrincipal].map(([principal, row]) => ({
    principal,
    images: Number(row.images),
    spendUsd: dollars(row.usd_micros),
    requests: Number(row.requests),
  })).sort((a, b) => b.spendUsd - a.spendUsd || a.principal.localeCompare(b.principal));
  const totals = rows.reduce(
    (sum, row) => ({
      images: sum.images + row.images,
      spendUsd: dollars(micros(sum.spendUsd) + micros(row.spendUsd)),
      requests: sum.requests + row.requests,
    }),
    { images: 0, spendUsd: 0, requests: 0 },
  );
  return { month, rows, totals };
}
