/**
 * Reconcile: brings bytes and catalog back into agreement after a crash, at start-up (within a
 * time budget) and with each cleanup. The write protocol's leftovers are resolved by their state
 * (the store's part), records whose bytes are gone are dropped and counted, and files no record
 * claims are reported (and removed after a grace period by the store). Safe to run in several
 * processes at once: every removal is a checked atomic operation, so nothing is counted twice.
 *
 * @module
 */

import type { CatalogRecord } from "./catalog.ts";
import type { ImageStore, LeftoverReport } from "./store.ts";

/** Default grace period of unknown files: one hour. */
export const UNKNOWN_FILE_GRACE_MS = 60 * 60_000;

/** Options of {@link reconcile}. */
export interface ReconcileOptions {
  /** Current time, epoch milliseconds (default: the catalog's clock). */
  now?: number;
  /** Age after which unknown files are removed (default {@link UNKNOWN_FILE_GRACE_MS}). */
  graceMs?: number;
  /** Report only; change nothing. */
  dryRun?: boolean;
  /** Time budget in milliseconds (default 10,000); what is left waits for the next run. */
  budgetMs?: number;
}

/** What reconcile found and did. */
export interface ReconcileReport extends LeftoverReport {
  /** Records checked for bytes. */
  recordsChecked: number;
  /** Records dropped because their bytes are gone (file names). */
  recordsDropped: string[];
  /** Wall time taken, milliseconds. */
  durationMs: number;
}

/** Runs reconcile over `store`; see the module documentation. */
export async function reconcile(
  store: ImageStore,
  options: ReconcileOptions = {},
): Promise<ReconcileReport> {
  const started = performance.now();
  const deadline = started + (options.budgetMs ?? 10_000);
  const now = options.now ?? store.catalog.now();
  const dryRun = options.dryRun ?? false;
  const leftovers = await store.resolveLeftovers({
    now,
    graceMs: options.graceMs ?? UNKNOWN_FILE_GRACE_MS,
    dryRun,
    deadline,
  });
  const report: ReconcileReport = {
    ...leftovers,
    recordsChecked: 0,
    recordsDropped: [],
    durationMs: 0,
  };
  if (!report.truncated) {
    for await (const { record } of store.catalog.scanRecords()) {
      if (performance.now() > deadline) {
        report.truncated = true;
        break;
      }
      report.recordsChecked++;
      try {
        if (await store.bytesExist(record)) continue;
        if (dryRun) {
          report.recordsDropped.push(record.fileName);
        } else if (await dropRecord(store, record)) {
          report.recordsDropped.push(record.fileName);
        }
      } catch (error) {
        report.errors.push({
          file: record.fileName,
          error: error instanceof Error ? error.message : String(error),
        });
      }
    }
  }
  report.durationMs = Math.round(performance.now() - started);
  return report;
}

/** Removes a record whose bytes are gone; true when this call removed it. */
async function dropRecord(store: ImageStore, record: CatalogRecord): Promise<boolean> {
  // Look again: a writer may have just finished (bytes appear, never disappear, while a record
  // exists — only a delete removes them, and it removes the record first).
  if (await store.bytesExist(record)) return false;
  return (await store.delete(record.id)) !== null;
}
