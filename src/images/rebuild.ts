/**
 * Rebuild of a lost or new catalog from the folder's record files: a record file whose image has
 * no record is inserted again when the file it names holds exactly the recorded bytes (size and
 * SHA-256). Nothing is ever deleted because a record is missing: a record file whose image is gone
 * is stale and removed (it is the store's own, in its private folder), one whose image differs is
 * reported and kept. Idempotent and safe in several processes at once (each insert checks that the
 * id and file name are free); a tombstone means a delete is under way, so its record file is left
 * to that delete.
 *
 * @module
 */

import { AppError } from "../errors.ts";
import type { FsImageStore } from "./fs_store.ts";
import { classifyFileName, sha256Hex } from "./ids.ts";

/** Options of {@link rebuildFromRecordFiles}. */
export interface RebuildOptions {
  /** `performance.now()` value after which to stop (the rest is rebuilt next start). */
  deadline?: number;
}

/** What a rebuild did. */
export interface RebuildReport {
  /** File names whose records were rebuilt by this run. */
  rebuilt: string[];
  /** Record files whose image is gone, removed (or that would be, read-only). */
  staleRemoved: string[];
  /** Record files whose named file is not the recorded image: kept, and the file left alone. */
  mismatched: string[];
  /** Problems met (the rebuild goes on after each). */
  errors: { file: string; error: string }[];
  /** True when the deadline stopped the work early. */
  truncated: boolean;
}

/** Rebuilds missing records from the record files of `store`'s folder; see the module docs. */
export async function rebuildFromRecordFiles(
  store: FsImageStore,
  options: RebuildOptions = {},
): Promise<RebuildReport> {
  const report: RebuildReport = {
    rebuilt: [],
    staleRemoved: [],
    mismatched: [],
    errors: [],
    truncated: false,
  };
  const catalog = store.catalog;
  for await (const id of store.recordFiles.ids()) {
    if (options.deadline !== undefined && performance.now() > options.deadline) {
      report.truncated = true;
      break;
    }
    try {
      if (await catalog.has(id) || await store.hasTombstone(id)) continue;
      const record = await store.recordFiles.read(id);
      if (record === null) continue;
      // The store names an image after its record (`<id>.<ext>`): a record file naming another
      // id's file is not one it wrote, and must not make a file of that name the store's.
      const named = classifyFileName(record.fileName);
      if (named.kind === "image" && named.id !== record.id) {
        report.mismatched.push(record.fileName);
        continue;
      }
      const bytes = await store.readNamedFile(record.fileName);
      if (bytes === null) {
        // Look again: the record may have been deleted (and its record file with it) meanwhile.
        if (await catalog.has(id) || await store.hasTombstone(id)) continue;
        report.staleRemoved.push(record.fileName);
        if (!store.readOnly) await store.recordFiles.remove(id);
        continue;
      }
      if (bytes.length !== record.bytes || (await sha256Hex(bytes)) !== record.sha256) {
        report.mismatched.push(record.fileName);
        continue;
      }
      try {
        await catalog.insert(record);
        report.rebuilt.push(record.fileName);
      } catch (error) {
        if (!(error instanceof AppError && error.kind === "conflict")) throw error;
        // Inserted meanwhile by another process — or the file belongs to another record (an
        // adoption under a new id), which makes this record file stale.
        if (!(await catalog.has(id))) {
          report.staleRemoved.push(record.fileName);
          if (!store.readOnly) await store.recordFiles.remove(id);
        }
      }
    } catch (error) {
      report.errors.push({
        file: id,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }
  return report;
}
