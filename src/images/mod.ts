/**
 * Image storage: the store (files or KV blobs), the KV catalog with jobs, retention, reconcile,
 * adoption of the predecessor's folder and layout migration. The public module of `src/images/`
 * (the codec has its own, `codec.ts`).
 *
 * @module
 */

export {
  type ImageExt,
  imageFileName,
  imageIdTime,
  isImageId,
  isJobId,
  isStoreFileName,
  newImageId,
  newJobId,
  sha256Hex,
  thumbFileName,
} from "./ids.ts";
export { KEYS, SCHEMA_VERSION } from "./kv_keys.ts";
export { isKvLockedError, withKvRetry } from "./kv_retry.ts";
export {
  Catalog,
  type CatalogCounters,
  type CatalogRecord,
  type Door,
  DOORS,
  type FileSummary,
  formatBytesExact,
  type ImageStats,
  type JobRecord,
  type JobState,
  type JobUpdate,
  type ListOptions,
  type ListPage,
  type NewJob,
  type RecordFields,
  type ThumbnailInfo,
} from "./catalog.ts";
export {
  type ImageStore,
  type OpenedImage,
  type SaveInput,
  type StoredFile,
  type StoredImage,
} from "./store.ts";
export {
  createImageStore,
  type ImageStoreConfig,
  type ImageStoreDeps,
  prepareImageStore,
  type PrepareOptions,
  type StartupReport,
} from "./open_store.ts";
export { FsImageStore } from "./fs_store.ts";
export { KvImageStore } from "./kv_store.ts";
export { reconcile, type ReconcileOptions, type ReconcileReport } from "./reconcile.ts";
export { adoptPredecessorFiles, type AdoptReport } from "./adopt.ts";
export { migrateCatalog, type MigrationReport } from "./migrate.ts";
export {
  claimCleanupRun,
  type CleanupDeps,
  type CleanupOptions,
  type CleanupReport,
  type CleanupSettings,
  type CleanupTick,
  createCleanupHandler,
  lastCleanupRun,
  registerCleanupCron,
  runCleanup,
  startCleanupTimer,
} from "./retention.ts";
