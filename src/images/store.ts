/**
 * The image store: bytes plus their catalog record, written so that an image is either fully
 * stored and catalogued or not visible at all. Two implementations share this interface: files
 * in a directory (`fs_store.ts`, the default) and chunked blobs in Deno KV (`kv_store.ts`, for hosts
 * whose disk is ephemeral). `open_store.ts` creates the configured one and runs its start-up
 * work; this module is only the contract both implementations fulfil.
 *
 * @module
 */

import type { Catalog, CatalogRecord, RecordFields } from "./catalog.ts";
import type { ImageExt } from "./ids.ts";

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

/** What a staged image holds once written (see {@link StagedImage}). */
export interface WrittenImage {
  /** Size in bytes. */
  size: number;
  /** SHA-256, hex, computed as the bytes were written. */
  sha256: string;
  /** The first bytes (at most 64 KiB), for header checks. */
  head: Uint8Array;
  /** The last bytes (at most 16), for completeness checks. */
  tail: Uint8Array;
}

/** What {@link StagedImage.save} takes: {@link SaveInput} less what staging fixed. */
export type StagedSaveInput = Pick<SaveInput, "mime" | "width" | "height" | "record">;

/**
 * An image whose bytes are written to the store as they arrive (from {@link ImageStore.stage}),
 * invisible until saved: `space`/`wrote` take the bytes in order, `finish` makes them durable,
 * `save` commits the record, and `discard` removes them when the image is not kept.
 */
export interface StagedImage {
  /** A buffer of at least `size` bytes for the next bytes. */
  space(size: number): Uint8Array;
  /** Writes the first `length` bytes of the last `space`; awaited before the next call. */
  wrote(length: number): Promise<void>;
  /** Ends the writing: the bytes are durable when it resolves. */
  finish(): Promise<WrittenImage>;
  /** Reads back every byte written (for checks the head and tail cannot settle). */
  readAll(): Promise<Uint8Array>;
  /** Commits the catalog record and gives the file its final name, as {@link ImageStore.save}. */
  save(input: StagedSaveInput): Promise<CatalogRecord>;
  /** Removes the bytes of an image that was not saved; does nothing once it is. */
  discard(): Promise<void>;
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
  /**
   * Starts an image under the reserved id `id` whose bytes arrive in pieces (written straight to
   * where they are kept, never held whole); absent in stores that keep bytes elsewhere. Throws a
   * `conflict` error when the id is taken.
   */
  stage?(id: string, ext: ImageExt): Promise<StagedImage>;
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
