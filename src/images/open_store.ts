/**
 * Opening the configured image store: {@link createImageStore} picks files (`fs_store.ts`) or KV
 * blobs (`kv_store.ts`) from the configuration, and {@link prepareImageStore} runs the start-up
 * work (layout migration, import of the records an earlier build kept in the configured KV,
 * rebuild from record files, adoption of the predecessor's files, reconcile). Kept apart from the
 * store contract (`store.ts`) so that the implementations depend on the contract and nothing
 * depends back on them.
 *
 * @module
 */

import { resolve } from "node:path";
import type { Config } from "../config.ts";
import { adoptPredecessorFiles, type AdoptReport } from "./adopt.ts";
import { Catalog } from "./catalog.ts";
import { FsImageStore } from "./fs_store.ts";
import { importFolderRecords, type ImportReport } from "./folder_import.ts";
import { KvImageStore } from "./kv_store.ts";
import { migrateCatalog, type MigrationReport } from "./migrate.ts";
import { rebuildFromRecordFiles, type RebuildReport } from "./rebuild.ts";
import { reconcile, type ReconcileReport } from "./reconcile.ts";
import type { ImageStore } from "./store.ts";

/** Settings {@link createImageStore} reads. */
export type ImageStoreConfig = Pick<Config, "imageStore" | "outputDir">;

/** Collaborators of {@link createImageStore}. */
export interface ImageStoreDeps {
  /** The KV database of the catalog (owned by the caller). */
  kv: Deno.Kv;
  /** The KV database of job states (default: `kv`). */
  jobsKv?: Deno.Kv;
  /**
   * True when the catalog's KV is shared by several image folders (an explicit
   * `KV_PATH`/`KV_URL`): records then name the folder their bytes were written to.
   */
  sharedCatalog?: boolean;
  /** Change nothing on disk (a dry run); see {@link FsImageStore}. */
  readOnly?: boolean;
  /** Clock, epoch milliseconds. */
  now?: () => number;
}

/** Creates the configured store (`IMAGE_STORE`: `fs` or `kv`). Does no I/O. */
export function createImageStore(config: ImageStoreConfig, deps: ImageStoreDeps): ImageStore {
  const fs = config.imageStore !== "kv";
  const catalog = new Catalog(deps.kv, {
    now: deps.now,
    jobsKv: deps.jobsKv,
    folder: fs && deps.sharedCatalog ? resolve(config.outputDir) : null,
  });
  if (!fs) return new KvImageStore({ catalog });
  return new FsImageStore({ dir: config.outputDir, catalog, readOnly: deps.readOnly });
}

/** Options of {@link prepareImageStore}. */
export interface PrepareOptions {
  /** Time budget of the whole start-up work in milliseconds (default 10,000). */
  budgetMs?: number;
  /**
   * The catalog an earlier build kept in the configured KV, when the store's catalog is now
   * another (the folder's own): its records of this folder are imported. `id` names that KV.
   */
  earlierCatalog?: { catalog: Catalog; id: string };
}

/** What start-up did. */
export interface StartupReport {
  /** Layout migration. */
  migration: MigrationReport;
  /** Records imported from the configured KV (fs store with a folder catalog only). */
  imported: ImportReport | null;
  /** Records rebuilt from record files (fs store only). */
  rebuilt: RebuildReport | null;
  /** Predecessor files adopted (fs store only). */
  adoption: AdoptReport | null;
  /** Reconcile. */
  reconcile: ReconcileReport;
}

/**
 * Start-up work, in order: migrate an older catalog layout; for the fs store, import this folder's
 * records from the catalog an earlier build kept in the configured KV, rebuild records from the
 * folder's record files and adopt the predecessor's files; then reconcile. All within the time
 * budget (what is left is done by the next start or cleanup). A read-only store changes nothing on
 * disk: its catalog should then be a scratch copy (see `scratch.ts`).
 */
export async function prepareImageStore(
  store: ImageStore,
  options: PrepareOptions = {},
): Promise<StartupReport> {
  const deadline = performance.now() + (options.budgetMs ?? 10_000);
  const fs = store instanceof FsImageStore ? store : null;
  const readFile = fs ? (name: string) => fs.readNamedFile(name) : undefined;
  const earlier = fs ? options.earlierCatalog : undefined;
  if (earlier && !fs?.readOnly) await migrateCatalog(earlier.catalog, { readFile });
  const migration = await migrateCatalog(store.catalog, { readFile });
  if (fs) await fs.ensureDir();
  const imported = fs && earlier
    ? await importFolderRecords(fs, earlier.catalog, { sourceId: earlier.id, deadline })
    : null;
  const rebuilt = fs ? await rebuildFromRecordFiles(fs, { deadline }) : null;
  const adoption = fs ? await adoptPredecessorFiles(fs, { deadline }) : null;
  const report = await reconcile(store, {
    budgetMs: Math.max(1_000, deadline - performance.now()),
    dryRun: fs?.readOnly ?? false,
  });
  return { migration, imported, rebuilt, adoption, reconcile: report };
}
