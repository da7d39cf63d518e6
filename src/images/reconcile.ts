/**
 * Reconcile: brings bytes and catalog back into agreement after a crash, at start-up (within a
 * time budget) and with each cleanup. The write protocol's leftovers are resolved by their state
 * (the store's part), records whose bytes are gone from the folder they name are dropped and
 * counted, and files no record claims are reported — never removed, whatever their name or age: the
 * images folder may hold other people's files. Safe to run in several processes at once: every
 * removal is a checked atomic operation, so nothing is counted twice.
 *
 * In a catalog shared by several folders (an explicit `KV_PATH`/`KV_URL`), a record of another
 * folder is neither checked nor dropped here, and a record written before records named their
 * folder is claimed by the folder its bytes are found in, and otherwise left alone.
 *
 * @module
 */

import type { CatalogRecord, ScannedRecord } from "./catalog.ts";
import type { ImageStore, LeftoverReport } from "./store.ts";

/** Options of {@link reconcile}. */
export interface ReconcileOptions {
  /** Current time, epoch milliseconds (default: the catalog's clock). */
  now?: number;
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
  /** Records of other folders (a shared catalog), neither checked nor dropped. */
  recordsElsewhere: number;
  /** Record files written for records that had none. */
  recordFilesWritten: number;
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
  const leftovers = await store.resolveLeftovers({ now, dryRun, deadline });
  const report: ReconcileReport = {
    ...leftovers,
    recordsChecked: 0,
    recordsDropped: [],
    recordsElsewhere: 0,
    recordFilesWritten: 0,
    durationMs: 0,
  };
  if (!report.truncated) {
    for await (const scanned of store.catalog.scanRecords()) {
      if (performance.now() > deadline) {
        report.truncated = true;
        break;
      }
      try {
        await checkRecord(store, scanned, dryRun, report);
      } catch (error) {
        report.errors.push({
          file: scanned.record.fileName,
          error: error instanceof Error ? error.message : String(error),
        });
      }
    }
  }
  report.durationMs = Math.round(performance.now() - started);
  return report;
}

async function checkRecord(
  store: ImageStore,
  { record, versionstamp, folder }: ScannedRecord,
  dryRun: boolean,
  report: ReconcileReport,
): Promise<void> {
  const own = store.catalog.folder;
  if (folder !== null && folder !== own) {
    report.recordsElsewhere++;
    return;
  }
  report.recordsChecked++;
  const present = await store.bytesExist(record);
  if (own !== null && folder === null) {
    // Written before records named their folder: this folder's only if its bytes are here.
    if (!present) {
      report.recordsElsewhere++;
      return;
    }
    if (!dryRun) await store.catalog.claimForFolder(record.id, versionstamp);
  }
  if (present) {
    if (!dryRun && await store.writeMissingRecordFile(record.id)) report.recordFilesWritten++;
    return;
  }
  if (dryRun) {
    report.recordsDropped.push(record.fileName);
  } else if (await dropRecord(store, record)) {
    report.recordsDropped.push(record.fileName);
  }
}

/** Removes a record whose bytes are gone; true when this call removed it. */
async function dropRecord(store: ImageStore, record: CatalogRecord): Promise<boolean> {
  // Look again: a writer may have just finished (bytes appear, never disappear, while a record
  // exists — only a delete removes them, and it removes the record first).
  if (await store.bytesExist(record)) return false;
  return (await store.delete(record.id)) !== null;
}
