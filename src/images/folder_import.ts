/**
 * Import of the records an earlier build kept in the configured KV (`DATA_DIR/kv.sqlite3`) into
 * the image folder's own catalog. Such records name no folder, so a record is imported only when
 * its bytes are in this folder (same name, size and SHA-256); every other record is left where it
 * is, for the folder it belongs to. The source is only read. Idempotent and safe in several
 * processes at once (each insert checks that the id and file name are free); once a run finished
 * without problems, a marker in the folder's catalog saves the next starts the scan.
 *
 * @module
 */

import { AppError } from "../errors.ts";
import type { Catalog } from "./catalog.ts";
import type { FsImageStore } from "./fs_store.ts";
import { sha256Hex } from "./ids.ts";
import { KEYS } from "./kv_keys.ts";
import { kvCommit, kvGet } from "../kv/mod.ts";

/** Options of {@link importFolderRecords}. */
export interface ImportOptions {
  /** Names the source KV (its path or URL), so each source is imported once. */
  sourceId: string;
  /** `performance.now()` value after which to stop (the rest is imported next start). */
  deadline?: number;
}

/** What an import did. */
export interface ImportReport {
  /** True when an earlier run had finished the import from this source. */
  alreadyDone: boolean;
  /** File names imported by this run. */
  imported: string[];
  /** Records already in the folder's catalog. */
  alreadyCatalogued: number;
  /** Records left in the source: their bytes are not in this folder. */
  leftInSource: number;
  /** Problems met (the import goes on after each and is tried again next start). */
  errors: { file: string; error: string }[];
  /** True when the deadline stopped the work early. */
  truncated: boolean;
}

/** Imports this folder's records from `source` into the store's catalog; see the module docs. */
export async function importFolderRecords(
  store: FsImageStore,
  source: Catalog,
  options: ImportOptions,
): Promise<ImportReport> {
  const report: ImportReport = {
    alreadyDone: false,
    imported: [],
    alreadyCatalogued: 0,
    leftInSource: 0,
    errors: [],
    truncated: false,
  };
  const marker = KEYS.importedFrom(options.sourceId);
  const catalog = store.catalog;
  if ((await kvGet(catalog.kv, marker)).versionstamp !== null) {
    report.alreadyDone = true;
    return report;
  }
  for await (const { record: stored, folder } of source.scanRecords()) {
    if (options.deadline !== undefined && performance.now() > options.deadline) {
      report.truncated = true;
      break;
    }
    try {
      if (folder !== null && folder !== store.dir) {
        report.leftInSource++;
        continue;
      }
      if (await catalog.has(stored.id)) {
        report.alreadyCatalogued++;
        continue;
      }
      const bytes = await store.readNamedFile(stored.fileName);
      if (
        bytes === null || bytes.length !== stored.bytes ||
        (await sha256Hex(bytes)) !== stored.sha256
      ) {
        report.leftInSource++;
        continue;
      }
      const record = await source.get(stored.id); // with its long texts put back together
      if (record === null) continue; // deleted meanwhile
      await store.insertRecord(record);
      report.imported.push(record.fileName);
    } catch (error) {
      if (error instanceof AppError && error.kind === "conflict") {
        report.alreadyCatalogued++; // another process imported (or adopted) it first
        continue;
      }
      report.errors.push({
        file: stored.fileName,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }
  if (!report.truncated && report.errors.length === 0) {
    await kvCommit(catalog.kv, (op) => op.set(marker, { at: catalog.now() }));
  }
  return report;
}
