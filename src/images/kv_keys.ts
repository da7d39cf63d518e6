/**
 * The KV key layout of the image subsystem, written down in one place. Everything the catalog,
 * the stores, jobs and retention keep in Deno KV lives under the keys below; nothing else builds
 * keys of its own. The layout has a version ({@link SCHEMA_VERSION}) stored at
 * {@link KEYS.schemaVersion}; `migrate.ts` brings older layouts up to date at start-up.
 *
 * Layout version 2 (current):
 * ```
 * ["images", "meta", "schema"]                        → number (layout version)
 * ["images", "meta", "imported", source]              → { at } (records of an earlier build's
 *                                                       catalog in `source` imported)
 * ["images", "rec", id]                               → StoredRecord (one per image)
 * ["images", "by_time", created, id]                  → id
 * ["images", "by_creator", creator, created, id]      → id
 * ["images", "by_model", model, created, id]         → id
 * ["images", "by_file", fileName]                     → id (also the predecessor's names)
 * ["images", "text", id, field, n]                    → string (part of a long text)
 * ["images", "counter", "count" | "bytes" | "created_sum"] → Deno.KvU64
 * ["images", "tombstone", id]                         → { fileName, thumbName, at } (fs delete)
 * ["images", "blob", "manifest", id]                  → BlobManifest (kv store)
 * ["images", "blob", "pending", id]                   → BlobPending (kv store write / delete)
 * ["images", "blob", "chunk", id, "image" | "thumb", n] → Uint8Array (≤ 60,000 bytes)
 * ["images", "cleanup", "last_run"]                   → { at, by }
 * ["images", "job", jobId]                            → JobRecord
 * ["images", "job_by_image", imageId]                 → jobId
 * ["images", "probe", token]                          → true (a readiness write probe, seconds)
 * ```
 *
 * Layout version 1 (an early build: one record per file name, no indexes, no counters):
 * ```
 * ["image", fileName] → V1Record
 * ```
 *
 * @module
 */

/** The layout version this code reads and writes. */
export const SCHEMA_VERSION = 2;

/** Fields of a record whose text may be long enough to be kept in parts. */
export type TextField = "prompt" | "revisedPrompt";

/** Counters kept beside the catalog, updated in the same atomic operation as a record. */
export type CounterName = "count" | "bytes" | "created_sum";

/** Which bytes a KV blob chunk belongs to. */
export type BlobPart = "image" | "thumb";

const ROOT = "images";

/** Key builders of layout version {@link SCHEMA_VERSION}. */
export const KEYS = Object.freeze({
  /** Where the layout version is stored. */
  schemaVersion: (): Deno.KvKey => [ROOT, "meta", "schema"],
  /** Marker: the records of an earlier build's catalog in `source` were imported. */
  importedFrom: (source: string): Deno.KvKey => [ROOT, "meta", "imported", source],
  /** One image record. */
  record: (id: string): Deno.KvKey => [ROOT, "rec", id],
  /** Prefix of all image records. */
  records: (): Deno.KvKey => [ROOT, "rec"],
  /** Time index entry. */
  byTime: (created: number, id: string): Deno.KvKey => [ROOT, "by_time", created, id],
  /** Prefix of the time index. */
  byTimePrefix: (): Deno.KvKey => [ROOT, "by_time"],
  /** Creator index entry. */
  byCreator: (creator: string, created: number, id: string): Deno.KvKey => [
    ROOT,
    "by_creator",
    creator,
    created,
    id,
  ],
  /** Prefix of one creator's index entries. */
  byCreatorPrefix: (creator: string): Deno.KvKey => [ROOT, "by_creator", creator],
  /** Model index entry. */
  byModel: (model: string, created: number, id: string): Deno.KvKey => [
    ROOT,
    "by_model",
    model,
    created,
    id,
  ],
  /** Prefix of one model's index entries. */
  byModelPrefix: (model: string): Deno.KvKey => [ROOT, "by_model", model],
  /** File name index entry. */
  byFile: (fileName: string): Deno.KvKey => [ROOT, "by_file", fileName],
  /** One part of a long text field. */
  text: (id: string, field: TextField, n: number): Deno.KvKey => [ROOT, "text", id, field, n],
  /** A counter. */
  counter: (name: CounterName): Deno.KvKey => [ROOT, "counter", name],
  /** A deleted image whose files may still need removing. */
  tombstone: (id: string): Deno.KvKey => [ROOT, "tombstone", id],
  /** Prefix of all tombstones. */
  tombstones: (): Deno.KvKey => [ROOT, "tombstone"],
  /** Manifest of a KV blob (its presence makes the blob visible). */
  blobManifest: (id: string): Deno.KvKey => [ROOT, "blob", "manifest", id],
  /** Prefix of all manifests. */
  blobManifests: (): Deno.KvKey => [ROOT, "blob", "manifest"],
  /** Marker of a KV blob being written or deleted (its chunks may be orphans). */
  blobPending: (id: string): Deno.KvKey => [ROOT, "blob", "pending", id],
  /** Prefix of all pending markers. */
  blobPendingPrefix: (): Deno.KvKey => [ROOT, "blob", "pending"],
  /** One chunk of a KV blob. */
  blobChunk: (id: string, part: BlobPart, n: number): Deno.KvKey => [
    ROOT,
    "blob",
    "chunk",
    id,
    part,
    n,
  ],
  /** Prefix of every chunk of one KV blob. */
  blobChunks: (id: string): Deno.KvKey => [ROOT, "blob", "chunk", id],
  /** A readiness write probe of the KV store, removed right after it is written. */
  probe: (token: string): Deno.KvKey => [ROOT, "probe", token],
  /** Last retention run, claimed atomically by one process per interval. */
  cleanupLastRun: (): Deno.KvKey => [ROOT, "cleanup", "last_run"],
  /** One generation job. */
  job: (jobId: string): Deno.KvKey => [ROOT, "job", jobId],
  /** The job that will produce a pending image. */
  jobByImage: (imageId: string): Deno.KvKey => [ROOT, "job_by_image", imageId],
  /** A request to cancel a running job, seen by whichever instance runs it. */
  jobCancel: (jobId: string): Deno.KvKey => [ROOT, "job_cancel", jobId],
});

/** Key builders of layout version 1, used only by the migration. */
export const V1_KEYS = Object.freeze({
  /** One record of layout 1, keyed by file name. */
  record: (fileName: string): Deno.KvKey => ["image", fileName],
  /** Prefix of all layout-1 records. */
  records: (): Deno.KvKey => ["image"],
});

/** A record of layout version 1. */
export interface V1Record {
  /** File name in the images directory. */
  filename: string;
  /** The prompt. */
  prompt: string;
  /** The revised prompt, when the model returned one. */
  revised_prompt?: string;
  /** Model id. */
  model: string;
  /** `WIDTHxHEIGHT`. */
  size: string;
  /** Bytes of the file. */
  bytes: number;
  /** ISO 8601 creation time. */
  createdAt: string;
  /** Where the request came from. */
  source?: "mcp" | "http" | "cli";
}
