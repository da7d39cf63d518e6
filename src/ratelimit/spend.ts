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
import { kvCommit, kvGet, kvList } from "../images/kv_retry.ts";
import { KEYS, type LedgerField } from "./keys.ts";
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
  /** The budget, dollars (0 = none). */
  readonly budgetUsd: number;
  /** Left this month, dollars (infinite without a budget). */
  readonly remainingUsd: number;
  /** When the month (and the ledger) resets, ISO 8601 UTC. */
  readonly resetsAt: string;
}

/**
 * Refuses with `AppError("budget_exceeded")` when `principal` has spent its monthly budget (or
 * would with `pendingUsd`); otherwise returns where it stands.
 */
export async function checkBudget(
  kv: Deno.Kv,
  principal: string,
  options: BudgetOptions,
): Promise<BudgetStatus> {
  const { budgetUsd, now } = options;
  if (!Number.isFinite(budgetUsd) || budgetUsd < 0) {
    throw new RangeError(`Invalid budget: expected a non-negative number, got ${budgetUsd}`);
  }
  const t = now();
  const resetAt = nextMonthStart(t);
  const resetsAt = new Date(resetAt).toISOString();
  if (budgetUsd === 0) {
    return { spentUsd: 0, budgetUsd: 0, remainingUsd: Number.POSITIVE_INFINITY, resetsAt };
  }
  const entry = await kvGet<Deno.KvU64>(kv, KEYS.ledger(monthOf(t), principal, "usd_micros"));
  const spent = entry.value?.value ?? 0n;
  const spentUsd = dollars(spent);
  const pending = micros(options.pendingUsd ?? 0);
  const limit = micros(budgetUsd);
  if (spent >= limit || spent + pending > limit) {
    throw new AppError(
      "budget_exceeded",
      `Monthly budget exceeded for this key: spent ${formatUsd(spentUsd)} of ` +
        `${formatUsd(budgetUsd)}` +
        (pending > 0n ? `, this request needs about ${formatUsd(dollars(pending))}` : "") +
        `; the budget resets on ${resetsAt}`,
      {
        retryAfterSeconds: Math.max(1, Math.ceil((resetAt - t) / 1000)),
        details: { spentUsd, budgetUsd, resetsAt },
      },
    );
  }
  return { spentUsd, budgetUsd, remainingUsd: dollars(limit - spent), resetsAt };
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
