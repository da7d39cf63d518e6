/**
 * Image storage: the store (files or KV blobs), the KV catalog with jobs, retention, reconcile,
 * adoption of the predecessor's folder and layout migration; the codec (importing it loads no
 * engine); edit inputs (ids, paths, URLs through the SSRF guard of `src/net/`, uploads); signed
 * image links. The public module of `src/images/`.
 *
 * @module
 */

export {
  classifyFileName,
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
export {
  Catalog,
  type CatalogCounters,
  type CatalogRecord,
  type Door,
  DOORS,
  type FileSummary,
  formatBytesExact,
  formatDuration,
  type ImageStats,
  type JobRecord,
  type JobState,
  type JobUpdate,
  type KnownJob,
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
  type StagedImage,
  type StagedSaveInput,
  type StoredFile,
  type StoredImage,
  type UnknownFiles,
  type WrittenImage,
} from "./store.ts";
export {
  createImageStore,
  type ImageStoreConfig,
  type ImageStoreDeps,
  prepareImageStore,
  type PrepareOptions,
  type StartupReport,
} from "./open_store.ts";
export { checkImageRef, FsImageStore } from "./fs_store.ts";
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
export {
  type Codec,
  type CodecOptions,
  createCodec,
  sniffImage,
  verifyImage,
  verifyImageParts,
} from "./codec.ts";
export {
  catalogIdOfRef,
  createInputResolver,
  DEFAULT_MAX_INPUT_BYTES,
  type InputResolver,
  type InputResolverOptions,
  type UploadedFile,
} from "./inputs.ts";
export { folderCatalogPath } from "./folder.ts";
export { scratchCopy } from "./scratch.ts";
export { imagePath, readableImageUrl, UrlSigner, type UrlSignerOptions } from "./urls.ts";
