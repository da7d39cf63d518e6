/**
 * The image store: bytes plus their catalog record, written so that an image is either fully
 * stored and catalogued or not visible at all. Two implementations share this interface: files
 * in a directory (`fs_store.ts`, the default) and chunked blobs in Deno KV (`kv_store.ts`, for hosts
 * whose disk is ephemeral). {@link createImageStore} picks one from the configuration and
 * {@link prepareImageStore} runs the start-up work (layout migration, import of the records an
 * earlier build kept in the configured KV, rebuild from record files, adoption of the
 * predecessor's files, reconcile).
 *
 * @module
 */

import { resolve } from "node:path";
import type { Config } from "../config.ts";
import { adoptPredecessorFiles, type AdoptReport } from "./adopt.ts";
import { Catalog, type CatalogRecord, type RecordFields } from "./catalog.ts";
import { FsImageStore } from "./fs_store.ts";
import { importFolderRecords, type ImportReport } from "./folder_import.ts";
import type { ImageExt } from "./ids.ts";
import { KvImageStore } from "./kv_store.ts";
import { migrateCatalog, type MigrationReport } from "./migrate.ts";
import { rebuildFromRecordFiles, type RebuildReport } from "./rebuild.ts";
import { reconcile, type ReconcileReport } from "./reconcile.ts";

/** What {@link ImageStore.save} takes. */
export interface SaveInput {
  /** The image bytes. */
  bytes: Uint8Array;
  /** MIME type of the bytes (`image/png`). */
  mime: string;
  /** File extension (`png`). */
  ext: ImageExt;
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** Descriptive catalog fields (prompt, model, door, …). */
  record: RecordFields;
  /** A 256 px WebP thumbnail made by the caller, stored beside the image. */
  thumbnail?: Uint8Array | null;
  /** A pre-assigned id (a pending image's id, reserved by a job); default: a new one. */
  id?: string;
}

/** An image read whole. */
export interface StoredImage {
  /** Its catalog record. */
  record: CatalogRecord;
  /** The bytes. */
  bytes: Uint8Array;
  /** MIME type. */
  mime: string;
  /** SHA-256 recorded at save time. */
  sha256: string;
  /** Size in bytes. */
  size: number;
}

/** An image opened as a stream (for HTTP responses): the caller must consume or cancel it. */
export interface OpenedImage {
  /** Its catalog record. */
  record: CatalogRecord;
  /** The bytes. */
  stream: ReadableStream<Uint8Array>;
  /** MIME type. */
  mime: string;
  /** SHA-256 recorded at save time. */
  sha256: string;
  /** Size in bytes. */
  size: number;
}

/** What a stored object is, judged by its name and the store's bookkeeping. */
export type StoredFileKind = "image" | "thumb" | "temp" | "legacy" | "unknown";

/** One object found in the store's space (a file, or a KV blob). */
export interface StoredFile {
  /** Name (file name, or the image's file name for KV blobs). */
  name: string;
  /** What it is by its name. */
  kind: StoredFileKind;
  /** The image id the name carries, if any. */
  id: string | null;
  /** Size in bytes (0 when unknown). */
  size: number;
  /** Last modification, epoch milliseconds, when known. */
  mtime: number | null;
  /** True for regular files and KV blobs (false for directories, links, …). */
  isFile: boolean;
  /** True for directories. */
  isDirectory?: boolean;
}

/** How many unknown file names a report lists (the count covers them all). */
export const UNKNOWN_NAMES_SHOWN = 100;

/** Files in the images folder the store did not write: reported, never touched. */
export interface UnknownFiles {
  /** How many there are. */
  count: number;
  /** Their names, sorted, at most {@link UNKNOWN_NAMES_SHOWN}. */
  names: string[];
}

/** Sums up a list of unknown file names as {@link UnknownFiles}. */
export function summarizeUnknown(names: readonly string[]): UnknownFiles {
  return { count: names.length, names: [...names].sort().slice(0, UNKNOWN_NAMES_SHOWN) };
}

/** Options of the store-specific part of reconcile. */
export interface LeftoverOptions {
  /** Current time, epoch milliseconds. */
  now: number;
  /** Report only; change nothing. */
  dryRun: boolean;
  /** `performance.now()` value after which to stop early. */
  deadline: number;
}

/** What the store-specific part of reconcile found and did. */
export interface LeftoverReport {
  /** Temporary files/blobs of committed records, moved to their final names. */
  tempCompleted: string[];
  /** Temporary files/blobs without a record (interrupted writes), removed. */
  tempDeleted: string[];
  /** Temporary files/blobs a live writer still holds, left alone. */
  tempInUse: string[];
  /** Files of deleted records (tombstones) removed. */
  tombstonesResolved: string[];
  /** Files no record claims (neither the store's nor predecessor files): left alone. */
  unknownFiles: string[];
  /** Predecessor files not (yet) adopted. */
  legacyUnadopted: string[];
  /** Problems met (reconcile goes on after each). */
  errors: { file: string; error: string }[];
  /** True when the deadline stopped the work early. */
  truncated: boolean;
}

/** Makes an empty {@link LeftoverReport}. */
export function emptyLeftoverReport(): LeftoverReport {
  return {
    tempCompleted: [],
    tempDeleted: [],
    tempInUse: [],
    tombstonesResolved: [],
    unknownFiles: [],
    legacyUnadopted: [],
    errors: [],
    truncated: false,
  };
}

/** Image bytes with their catalog: the one way images are written, read and deleted. */
export interface ImageStore {
  /** Which implementation. */
  readonly kind: "fs" | "kv";
  /** The catalog the store commits records to. */
  readonly catalog: Catalog;
  /**
   * Stores bytes (and thumbnail) and commits the catalog record, in an order that never leaves a
   * record without durable bytes. Returns the committed record.
   */
  save(input: SaveInput): Promise<CatalogRecord>;
  /** The record of an image by id or file name, or null (also for malformed names). */
  get(ref: string): Promise<CatalogRecord | null>;
  /** Reads an image whole, by id or file name; null when there is none. */
  read(ref: string): Promise<StoredImage | null>;
  /** Opens an image as a stream, by id or file name; null when there is none. */
  open(ref: string): Promise<OpenedImage | null>;
  /** The thumbnail bytes of an image (id or file name), or null when it has none. */
  readThumbnail(ref: string): Promise<Uint8Array | null>;
  /** Stores a lazily made thumbnail; returns the updated record, or null when the image is gone. */
  putThumbnail(id: string, bytes: Uint8Array): Promise<CatalogRecord | null>;
  /** True when the image has a record and bytes. */
  has(ref: string): Promise<boolean>;
  /**
   * Deletes an image by id or file name: the record (indexes, counters) first in one atomic
   * operation, then the bytes. Returns the removed record, or null when there was none. Throws a
   * `ValidationError` for a malformed reference, before touching anything.
   */
  delete(ref: string): Promise<CatalogRecord | null>;
  /** Everything in the store's space, for reconcile. */
  listFiles(): AsyncIterable<StoredFile>;
  /** True when the bytes of `record` exist (possibly still under the temporary name). */
  bytesExist(record: CatalogRecord): Promise<boolean>;
  /** Resolves the write protocol's leftovers by state (the store-specific part of reconcile). */
  resolveLeftovers(options: LeftoverOptions): Promise<LeftoverReport>;
  /** The files in the store's space it did not write (none for KV blobs). */
  unknownFiles(): Promise<UnknownFiles>;
  /**
   * Writes the record file of image `id` when it has none (fs store: the proof a lost catalog is
   * rebuilt from). True when one was written; KV blobs need none.
   */
  writeMissingRecordFile(id: string): Promise<boolean>;
  /** Writes and removes a probe where images go; throws (with the reason) when it cannot. */
  probeWrite(): Promise<void>;
}

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
