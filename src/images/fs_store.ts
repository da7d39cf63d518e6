/**
 * Image bytes as files in `OUTPUT_DIR`, a folder that may also hold other people's files. The
 * store owns only what it wrote: its final image files (`<id>.<ext>`, and the predecessor's
 * `image_<ms>.png` once adopted), each proven by a catalog record and a record file, and what it
 * keeps in its private folder (`folder.ts`). Nothing else in `OUTPUT_DIR` is ever deleted, moved or
 * rewritten, whatever its name or age: a name that merely looks like the store's is reported as
 * unknown and left alone. The write protocol lets start-up tell every state apart without guessing
 * by age:
 *
 * 1. bytes go to the private `tmp/.<id>.<ext>.tmp`, created with `createNew` (never overwriting)
 *    and held under an exclusive advisory lock while written and fsynced (the folder is fsynced
 *    too);
 * 2. the catalog record is committed — so a record exists only for durable bytes;
 * 3. the temporary file is renamed to `OUTPUT_DIR/<id>.<ext>` (thumbnails to the private
 *    `thumbs/`), then the lock is released, then the record file is written.
 *
 * Reconcile tries the lock of every temporary file: a file still locked belongs to a live writer
 * and is left alone; an unlocked one with a record is completed (renamed), without a record it is
 * deleted. A killed process releases its locks, so its leftovers are resolved on the next start.
 * Deleting commits the record's removal together with a tombstone, then removes the files — the
 * image only while it is still the file the record describes (size and SHA-256) — then the
 * tombstone; reconcile finishes tombstones a crash left behind.
 *
 * Earlier builds kept temporary files and thumbnails at the top level of `OUTPUT_DIR`: such a
 * thumbnail is still read (and removed with its image), and such a temporary file whose record
 * vouches for its exact bytes is still completed; any other is left alone.
 *
 * Every path is built from a name that passed the strict patterns of `ids.ts`.
 *
 * @module
 */

import { join } from "node:path";
import { AppError, ValidationError } from "../errors.ts";
import { getLog } from "../log.ts";
import { buildRecord, type Catalog, type CatalogRecord } from "./catalog.ts";
import { ensureStoreFolder, PRIVATE_DIR_NAME, type StoreFolder, storeFolder } from "./folder.ts";
import {
  classifyFileName,
  type ImageExt,
  imageFileName,
  isImageExt,
  isImageId,
  isStoreFileName,
  newImageId,
  sha256Hex,
  tempFileName,
  thumbFileName,
} from "./ids.ts";
import { KEYS } from "./kv_keys.ts";
import { kvCommit, kvGet, kvList } from "../kv/mod.ts";
import { RecordFiles } from "./record_files.ts";
import { DirSync } from "./dir_sync.ts";
import { StagedFile } from "./staged_file.ts";
import {
  emptyLeftoverReport,
  type ImageStore,
  type LeftoverOptions,
  type LeftoverReport,
  type OpenedImage,
  type SaveInput,
  type StagedImage,
  type StagedSaveInput,
  type StoredFile,
  type StoredImage,
  summarizeUnknown,
  type UnknownFiles,
} from "./store.ts";

/** Options of {@link FsImageStore}. */
export interface FsImageStoreOptions {
  /** The images folder, `OUTPUT_DIR` (created when missing). */
  dir: string;
  /** The catalog records are committed to. */
  catalog: Catalog;
  /**
   * Change nothing on disk (a dry run): reads work, reconcile only reports, and saving or
   * deleting is refused.
   */
  readOnly?: boolean;
}

/** A file deleted from the catalog whose bytes may still be on disk. */
interface Tombstone {
  fileName: string;
  thumbName: string | null;
  at: number;
  /** Size and SHA-256 of the image (absent in tombstones of earlier builds). */
  bytes?: number;
  sha256?: string;
  /** Size of the thumbnail the record named, or null when it named none. */
  thumbBytes?: number | null;
}

function tombstoneOf(record: CatalogRecord, at: number): Tombstone {
  return {
    fileName: record.fileName,
    thumbName: thumbFileName(record.id),
    at,
    bytes: record.bytes,
    sha256: record.sha256,
    thumbBytes: record.thumbnail?.bytes ?? null,
  };
}

/** A temporary file being written, held open under an exclusive lock. */
interface Staged {
  file: Deno.FsFile;
  tmpPath: string;
  finalPath: string;
}

function isNotFound(error: unknown): boolean {
  return error instanceof Deno.errors.NotFound;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let at = 0;
  while (at < bytes.length) at += await file.write(bytes.subarray(at));
}

async function exists(path: string): Promise<boolean> {
  try {
    return (await Deno.lstat(path)).isFile;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

async function removeIfExists(path: string): Promise<boolean> {
  try {
    await Deno.remove(path);
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

/**
 * True when `path` is a regular file of exactly `bytes` bytes whose SHA-256 is `sha256`: the
 * check that a file is still the one the store wrote before it is removed or moved.
 */
async function holdsExactly(path: string, bytes: number, sha256: string): Promise<boolean> {
  try {
    const info = await Deno.lstat(path);
    if (!info.isFile || info.size !== bytes) return false;
    return (await sha256Hex(await Deno.readFile(path))) === sha256;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

function checkSaveInput(input: SaveInput): void {
  if (!(input.bytes instanceof Uint8Array) || input.bytes.length === 0) {
    throw new ValidationError("bytes", "Invalid bytes: expected a non-empty Uint8Array");
  }
  if (!isImageExt(input.ext)) {
    throw new ValidationError("ext", `Invalid ext: ${JSON.stringify(input.ext)}`);
  }
  if (input.id !== undefined && !isImageId(input.id)) {
    throw new ValidationError("id", "Invalid id: expected a UUIDv7");
  }
  if (
    input.thumbnail !== undefined && input.thumbnail !== null &&
    (!(input.thumbnail instanceof Uint8Array) || input.thumbnail.length === 0)
  ) {
    throw new ValidationError("thumbnail", "Invalid thumbnail: expected a non-empty Uint8Array");
  }
}

/** Checks a reference (id or store file name) given to `delete`; throws before any I/O. */
export function checkImageRef(ref: unknown): asserts ref is string {
  if (!isImageId(ref) && !isStoreFileName(ref)) {
    throw new ValidationError(
      "id",
      `Invalid image id: ${JSON.stringify(String(ref).slice(0, 80))}`,
    );
  }
}

/** The file-system {@link ImageStore}. */
export class FsImageStore implements ImageStore {
  /** Which implementation. */
  readonly kind = "fs" as const;
  #folder: StoreFolder;
  #catalog: Catalog;
  #records: RecordFiles;
  #readOnly: boolean;
  #dirReady: Promise<void> | null = null;
  #log = getLog("images", "fs");
  #tmpSync: DirSync;
  #rootSync: DirSync;

  /** Creates a store over `options.dir`; does no I/O. */
  constructor(options: FsImageStoreOptions) {
    this.#folder = storeFolder(options.dir);
    this.#tmpSync = new DirSync(this.#folder.tmp);
    this.#rootSync = new DirSync(this.#folder.root);
    this.#catalog = options.catalog;
    this.#records = new RecordFiles(this.#folder.records);
    this.#readOnly = options.readOnly ?? false;
  }

  /** The catalog. */
  get catalog(): Catalog {
    return this.#catalog;
  }

  /** The images folder (absolute). */
  get dir(): string {
    return this.#folder.root;
  }

  /** The paths of the images folder and its private folder. */
  get folder(): StoreFolder {
    return this.#folder;
  }

  /** The record files (one per image, in the private folder). */
  get recordFiles(): RecordFiles {
    return this.#records;
  }

  /** True when this store changes nothing on disk (a dry run). */
  get readOnly(): boolean {
    return this.#readOnly;
  }

  /**
   * The path of a store file name: images and predecessor files in the folder, temporary files
   * and thumbnails in the private folder. Throws a `ValidationError` for any other name — so no
   * other path can ever be built.
   */
  pathOf(name: string): string {
    const kind = this.#checkName(name);
    if (kind === "temp") return join(this.#folder.tmp, name);
    if (kind === "thumb") return join(this.#folder.thumbs, name);
    return join(this.#folder.root, name);
  }

  /** The path of a store file name at the top level of the folder (where earlier builds wrote). */
  #topLevelPath(name: string): string {
    this.#checkName(name);
    return join(this.#folder.root, name);
  }

  #checkName(name: string): StoredFile["kind"] {
    if (!isStoreFileName(name) || name.includes("/") || name.includes("\\")) {
      throw new ValidationError(
        "fileName",
        `Invalid file name: ${JSON.stringify(String(name).slice(0, 80))}`,
      );
    }
    return classifyFileName(name).kind;
  }

  #refuseWrites(what: string): void {
    if (this.#readOnly) {
      throw new AppError("storage", `Cannot ${what}: the image store was opened read-only`);
    }
  }

  /** Creates the images folder and the store's private folder when missing. */
  ensureDir(): Promise<void> {
    if (this.#readOnly) return Promise.resolve();
    this.#dirReady ??= ensureStoreFolder(this.#folder).catch((error) => {
      this.#dirReady = null;
      throw error;
    });
    return this.#dirReady;
  }

  /**
   * {@inheritDoc ImageStore.probeWrite}
   * The probe is a uniquely named file in the store's private folder, never among the
   * images, so a reader of the folder (or a crash mid-probe) never meets it there.
   */
  async probeWrite(): Promise<void> {
    const path = join(this.#folder.private, `ready-probe-${crypto.randomUUID()}.tmp`);
    try {
      await ensureStoreFolder(this.#folder);
      await Deno.writeFile(path, new Uint8Array([1]), { createNew: true });
      await Deno.remove(path);
    } catch (error) {
      // The reason is shown on /ready, which anyone may call: the kind of failure, not the path.
      const code = (error as { code?: unknown }).code;
      const kind = typeof code === "string" ? code : (error as Error).name ?? "Error";
      throw new AppError("storage", `The images directory (OUTPUT_DIR) is not writable: ${kind}`, {
        cause: error,
      });
    }
  }

  /** Reads a store file by name (used by migration and adoption); null when it is missing. */
  async readNamedFile(name: string): Promise<Uint8Array | null> {
    try {
      return await Deno.readFile(this.pathOf(name));
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  /**
   * Commits `record` (whose bytes are already in the folder) and writes its record file — for
   * adoption, migration and rebuilds. Throws a `conflict` error when its id or file name is taken.
   */
  async insertRecord(record: CatalogRecord): Promise<CatalogRecord> {
    await this.#catalog.insert(record);
    await this.#writeRecordFile(record);
    return record;
  }

  async #writeRecordFile(record: CatalogRecord): Promise<void> {
    if (this.#readOnly) return;
    try {
      await this.ensureDir();
      await this.#records.write(record);
    } catch (error) {
      // The record is committed; reconcile writes a missing record file later.
      this.#log.warn("Record file of {id} not written: {error}", {
        id: record.id,
        error: message(error),
      });
    }
  }

  /** {@inheritDoc ImageStore.writeMissingRecordFile} */
  async writeMissingRecordFile(id: string): Promise<boolean> {
    if (this.#readOnly || await this.#records.has(id)) return false;
    const record = await this.#catalog.get(id);
    if (record === null) return false;
    await this.ensureDir();
    await this.#records.write(record);
    return true;
  }

  /** {@inheritDoc ImageStore.save} */
  async save(input: SaveInput): Promise<CatalogRecord> {
    checkSaveInput(input);
    this.#refuseWrites("save image");
    const now = this.#catalog.now();
    const id = input.id ?? newImageId(now);
    const fileName = imageFileName(id, input.ext);
    const thumbnail = input.thumbnail ?? null;
    const record = recordOf(input, {
      id,
      fileName,
      bytes: input.bytes.length,
      sha256: await sha256Hex(input.bytes),
      created: now,
      thumbnail: thumbnail
        ? { fileName: thumbFileName(id), mime: "image/webp", bytes: thumbnail.length }
        : null,
    });
    if (await this.#catalog.has(id)) {
      throw new AppError("conflict", `Cannot save image: id already taken: ${id}`);
    }
    await this.ensureDir();
    const staged: Staged[] = [];
    try {
      staged.push(await this.#stage(fileName, input.bytes));
      if (thumbnail) staged.push(await this.#stage(thumbFileName(id), thumbnail));
    } catch (error) {
      await this.#drop(staged);
      throw storageError(error);
    }
    return await this.#commit(staged, record);
  }

  /** {@inheritDoc ImageStore.stage} */
  async stage(id: string, ext: ImageExt): Promise<StagedImage> {
    if (!isImageId(id)) throw new ValidationError("id", "Invalid id: expected a UUIDv7");
    if (!isImageExt(ext)) throw new ValidationError("ext", `Invalid ext: ${JSON.stringify(ext)}`);
    this.#refuseWrites("save image");
    if (await this.#catalog.has(id)) {
      throw new AppError("conflict", `Cannot save image: id already taken: ${id}`);
    }
    const fileName = imageFileName(id, ext);
    // Failures here and while writing are the store's (a `storage` error), never the upstream's.
    const staged = await this.ensureDir().then(() => this.#create(fileName)).catch((error) => {
      throw storageError(error);
    });
    const writer = new StagedFile(staged.file);
    let state: "writing" | "saving" | "saved" | "discarded" = "writing";
    let written: Awaited<ReturnType<StagedFile["finish"]>> | null = null;
    const discard = async () => {
      if (state !== "writing") return;
      state = "discarded";
      writer.abandon();
      await this.#drop([staged]);
    };
    const finish = async () => {
      written ??= await writer.finish().catch(async (error) => {
        await discard();
        throw storageError(error);
      });
      return written;
    };
    return {
      space: (size) => writer.space(size),
      wrote: (length) =>
        writer.wrote(length).catch((error) => {
          throw storageError(error);
        }),
      finish,
      readAll: () => Deno.readFile(staged.tmpPath),
      save: async (input: StagedSaveInput) => {
        if (state !== "writing") throw new TypeError(`Cannot save image ${id}: it was ${state}`);
        const done = await finish();
        state = "saving";
        const record = recordOf(input, {
          id,
          fileName,
          bytes: done.size,
          sha256: done.sha256,
          created: this.#catalog.now(),
          thumbnail: null,
        });
        try {
          return await this.#commit([staged], record);
        } finally {
          state = "saved";
        }
      },
      discard,
    };
  }

  /** Removes and closes temporary files that will not be committed. */
  async #drop(staged: readonly Staged[]): Promise<void> {
    for (const s of staged) {
      await removeIfExists(s.tmpPath).catch(() => {});
      s.file.close();
    }
  }

  /**
   * Steps 2 and 3 of the write protocol for fsynced temporary files: the folder entry made
   * durable, the record committed, the files renamed, the record file written.
   */
  async #commit(staged: readonly Staged[], record: CatalogRecord): Promise<CatalogRecord> {
    try {
      await this.#tmpSync.sync();
      await this.#catalog.insert(record);
    } catch (error) {
      await this.#drop(staged);
      throw storageError(error);
    }
    try {
      for (const s of staged) await this.#finish(s);
      await this.#rootSync.sync();
    } catch (error) {
      // The image is saved (record committed, bytes durable): a read or reconcile completes the
      // rename, so the caller gets its record.
      this.#log.warn("Rename of a saved image deferred: {error}", { error: message(error) });
    } finally {
      for (const s of staged) s.file.close();
    }
    await this.#writeRecordFile(record);
    return record;
  }

  /** {@inheritDoc ImageStore.get} */
  get(ref: string): Promise<CatalogRecord | null> {
    return this.#catalog.resolve(ref);
  }

  /** {@inheritDoc ImageStore.read} */
  async read(ref: string): Promise<StoredImage | null> {
    const record = await this.#catalog.resolve(ref);
    if (record === null) return null;
    const bytes = await this.#readCompleting(record.fileName, record);
    if (bytes === null) return null;
    return { record, bytes, mime: record.mime, sha256: record.sha256, size: bytes.length };
  }

  /** {@inheritDoc ImageStore.open} */
  async open(ref: string): Promise<OpenedImage | null> {
    const record = await this.#catalog.resolve(ref);
    if (record === null) return null;
    const file = await this.#openCompleting(record.fileName, record);
    if (file === null) return null;
    try {
      const info = await file.stat();
      return {
        record,
        stream: file.readable,
        mime: record.mime,
        sha256: record.sha256,
        size: info.size,
      };
    } catch (error) {
      file.close();
      throw error;
    }
  }

  /** {@inheritDoc ImageStore.readThumbnail} */
  async readThumbnail(ref: string): Promise<Uint8Array | null> {
    const record = await this.#catalog.resolve(ref);
    if (record === null) return null;
    // Only a thumbnail the record names is complete under its temporary name.
    return await this.#readCompleting(thumbFileName(record.id), record.thumbnail ? record : null);
  }

  /** {@inheritDoc ImageStore.putThumbnail} */
  async putThumbnail(id: string, bytes: Uint8Array): Promise<CatalogRecord | null> {
    if (!isImageId(id)) throw new ValidationError("id", "Invalid id: expected a UUIDv7");
    if (!(bytes instanceof Uint8Array) || bytes.length === 0) {
      throw new ValidationError("thumbnail", "Invalid thumbnail: expected a non-empty Uint8Array");
    }
    if (!(await this.#catalog.has(id))) return null;
    if (this.#readOnly) return null; // a thumbnail made on the fly is served, just not kept
    await this.ensureDir();
    const name = thumbFileName(id);
    let staged: Staged | null = null;
    try {
      staged = await this.#stage(name, bytes);
      await this.#finish(staged);
    } catch (error) {
      if (staged) await removeIfExists(staged.tmpPath).catch(() => {});
      throw new AppError("storage", `Cannot save thumbnail: ${message(error)}`, { cause: error });
    } finally {
      staged?.file.close();
    }
    const updated = await this.#catalog.setThumbnail(id, {
      fileName: name,
      mime: "image/webp",
      bytes: bytes.length,
    });
    if (updated === null) await removeIfExists(this.pathOf(name));
    else await this.#writeRecordFile(updated);
    return updated;
  }

  /** {@inheritDoc ImageStore.has} */
  async has(ref: string): Promise<boolean> {
    const record = await this.#catalog.resolve(ref);
    return record !== null && await this.bytesExist(record);
  }

  /** {@inheritDoc ImageStore.delete} */
  async delete(ref: string): Promise<CatalogRecord | null> {
    checkImageRef(ref);
    this.#refuseWrites("delete image");
    const record = await this.#catalog.resolve(ref);
    if (record === null) return null;
    const at = this.#catalog.now();
    const removed = await this.#catalog.remove(record.id, {
      extend: (op, current) => op.set(KEYS.tombstone(current.id), tombstoneOf(current, at)),
    });
    if (removed === null) return null;
    await this.#removeFilesOf(removed.id, tombstoneOf(removed, at));
    return removed;
  }

  /** {@inheritDoc ImageStore.listFiles} */
  async *listFiles(): AsyncGenerator<StoredFile> {
    try {
      for await (const entry of Deno.readDir(this.#folder.root)) {
        if (entry.name === PRIVATE_DIR_NAME) continue;
        const named = classifyFileName(entry.name);
        if (named.kind === "unknown") {
          // A name the store never uses: what the listing says is all anyone needs (it is
          // reported, never touched), and skipping the stat keeps a folder of thousands of a
          // person's photos cheap to walk.
          yield {
            name: entry.name,
            kind: "unknown",
            id: null,
            size: 0,
            mtime: null,
            isFile: entry.isFile,
            isDirectory: entry.isDirectory,
          };
          continue;
        }
        let info: Deno.FileInfo;
        try {
          info = await Deno.lstat(join(this.#folder.root, entry.name));
        } catch (error) {
          if (isNotFound(error)) continue;
          throw error;
        }
        yield {
          name: entry.name,
          kind: named.kind,
          id: "id" in named ? named.id : null,
          size: info.size,
          mtime: info.mtime?.getTime() ?? null,
          isFile: info.isFile,
          isDirectory: info.isDirectory,
        };
      }
    } catch (error) {
      if (isNotFound(error)) return;
      throw error;
    }
  }

  /** {@inheritDoc ImageStore.bytesExist} */
  async bytesExist(record: CatalogRecord): Promise<boolean> {
    if (!isStoreFileName(record.fileName)) return false;
    // The temporary name first: a concurrent writer renames it to the final name, never back.
    if (classifyFileName(record.fileName).kind === "image") {
      const temp = tempFileName(record.fileName);
      if (await exists(this.pathOf(temp))) return true;
      if (await exists(this.#topLevelPath(temp))) return true;
    }
    return await exists(this.pathOf(record.fileName));
  }

  /** {@inheritDoc ImageStore.unknownFiles} */
  async unknownFiles(): Promise<UnknownFiles> {
    const names: string[] = [];
    for await (const file of this.listFiles()) {
      if (file.isDirectory || await this.#claims(file)) continue;
      if (file.isFile && classifyFileName(file.name).kind === "legacy") continue; // adopted at start
      names.push(file.name);
    }
    return summarizeUnknown(names);
  }

  /** True when a record claims this top-level file: the store wrote it (or adopted it). */
  async #claims(file: StoredFile): Promise<boolean> {
    const named = classifyFileName(file.name);
    switch (named.kind) {
      case "image":
        return (await this.#catalog.get(named.id))?.fileName === file.name;
      case "legacy":
        return (await this.#catalog.getByFileName(file.name)) !== null;
      case "thumb":
        // An earlier build's thumbnail: claimed when the record names one of that size.
        return (await this.#catalog.get(named.id))?.thumbnail?.bytes === file.size;
      case "temp": {
        const record = await this.#catalog.get(named.id);
        return record?.fileName === named.target && record.bytes === file.size;
      }
      case "unknown":
        return false;
    }
  }

  /** {@inheritDoc ImageStore.resolveLeftovers} */
  async resolveLeftovers(options: LeftoverOptions): Promise<LeftoverReport> {
    const report = emptyLeftoverReport();
    const dryRun = options.dryRun || this.#readOnly;
    const late = () => {
      if (performance.now() > options.deadline) report.truncated = true;
      return report.truncated;
    };
    for await (
      const entry of kvList<Tombstone>(this.#catalog.kv, { prefix: KEYS.tombstones() })
    ) {
      if (late()) return report;
      const id = entry.key[entry.key.length - 1] as string;
      report.tombstonesResolved.push(entry.value.fileName);
      if (dryRun) continue;
      try {
        await this.#removeFilesOf(id, entry.value);
      } catch (error) {
        report.errors.push({ file: String(entry.value.fileName), error: message(error) });
      }
    }
    for await (const name of this.#privateTempNames()) {
      if (late()) return report;
      try {
        await this.#resolveTemp(name, dryRun, report);
      } catch (error) {
        report.errors.push({ file: name, error: message(error) });
      }
    }
    for await (const file of this.listFiles()) {
      if (late()) return report;
      try {
        await this.#resolveTopLevel(file, dryRun, report);
      } catch (error) {
        report.errors.push({ file: file.name, error: message(error) });
      }
    }
    return report;
  }

  async *#privateTempNames(): AsyncGenerator<string> {
    try {
      for await (const entry of Deno.readDir(this.#folder.tmp)) {
        if (entry.isFile && classifyFileName(entry.name).kind === "temp") yield entry.name;
      }
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  /** Sorts a top-level file: the store's, the predecessor's not yet adopted, or unknown. */
  async #resolveTopLevel(file: StoredFile, dryRun: boolean, report: LeftoverReport) {
    if (file.isDirectory) return; // a folder of the user's: not a file, never ours
    const named = classifyFileName(file.name);
    if (named.kind === "legacy" && file.isFile) {
      if ((await this.#catalog.getByFileName(file.name)) === null) {
        report.legacyUnadopted.push(file.name);
      }
      return;
    }
    if (await this.#claims(file)) {
      if (named.kind === "temp" && file.isFile) {
        await this.#completeTopLevelTemp(file.name, named.id, named.target, dryRun, report);
      }
      return;
    }
    report.unknownFiles.push(file.name);
  }

  /**
   * An earlier build's committed write whose rename never happened: completed only when the final
   * name is free and the file holds exactly the recorded bytes (anything else is not ours to move).
   */
  async #completeTopLevelTemp(
    name: string,
    id: string,
    target: string,
    dryRun: boolean,
    report: LeftoverReport,
  ): Promise<void> {
    const record = await this.#catalog.get(id);
    const tmpPath = this.#topLevelPath(name);
    const finalPath = this.pathOf(target);
    if (record === null || await exists(finalPath)) {
      report.unknownFiles.push(name);
      return;
    }
    if (!(await holdsExactly(tmpPath, record.bytes, record.sha256))) {
      report.unknownFiles.push(name);
      return;
    }
    report.tempCompleted.push(name);
    if (!dryRun) await Deno.rename(tmpPath, finalPath);
  }

  /** A temporary file of the private folder: completed, removed, or left to its live writer. */
  async #resolveTemp(name: string, dryRun: boolean, report: LeftoverReport): Promise<void> {
    const named = classifyFileName(name);
    if (named.kind !== "temp") return;
    const tmpPath = this.pathOf(name);
    let file: Deno.FsFile;
    try {
      file = await Deno.open(tmpPath, { read: true });
    } catch (error) {
      if (isNotFound(error)) return; // finished or removed meanwhile
      throw error;
    }
    try {
      if (!(await file.tryLock(true))) {
        report.tempInUse.push(name);
        return;
      }
      // Still the same file under that name? (A writer may have renamed it meanwhile.)
      const [held, current] = [await file.stat(), await Deno.lstat(tmpPath).catch(() => null)];
      if (current === null || (held.ino !== null && current.ino !== held.ino)) return;
      const record = await this.#catalog.get(named.id);
      const claimed = record !== null &&
        (record.fileName === named.target || record.thumbnail?.fileName === named.target);
      if (claimed) {
        report.tempCompleted.push(name);
        if (!dryRun) await Deno.rename(tmpPath, this.pathOf(named.target));
      } else {
        report.tempDeleted.push(name);
        if (!dryRun) await removeIfExists(tmpPath);
      }
    } finally {
      file.close();
    }
  }

  async #removeFilesOf(id: string, tombstone: Tombstone): Promise<void> {
    const { fileName } = tombstone;
    if (!isStoreFileName(fileName)) {
      this.#log.error("Refusing to remove a file outside the store: {name}", { name: fileName });
    } else {
      const path = this.pathOf(fileName);
      const ours = tombstone.sha256 === undefined || tombstone.bytes === undefined ||
        await holdsExactly(path, tombstone.bytes, tombstone.sha256);
      if (ours) {
        await removeIfExists(path);
      } else if (await exists(path)) {
        this.#log.warn("Left {name} alone: it is no longer the file the store wrote", {
          name: fileName,
        });
      }
      if (classifyFileName(fileName).kind === "image") {
        await removeIfExists(this.pathOf(tempFileName(fileName)));
      }
    }
    const thumbName = thumbFileName(id);
    await removeIfExists(this.pathOf(thumbName));
    await removeIfExists(this.pathOf(tempFileName(thumbName)));
    // An earlier build kept thumbnails beside the images: removed when it is the one recorded.
    const oldThumb = this.#topLevelPath(thumbName);
    const thumbBytes = tombstone.thumbBytes;
    if (thumbBytes === undefined || (thumbBytes !== null && await sizeIs(oldThumb, thumbBytes))) {
      await removeIfExists(oldThumb);
    }
    await this.#records.remove(id);
    await kvCommit(this.#catalog.kv, (op) => op.delete(KEYS.tombstone(id)));
  }

  /** True when a tombstone of `id` is waiting for its files to be removed. */
  async hasTombstone(id: string): Promise<boolean> {
    return (await kvGet(this.#catalog.kv, KEYS.tombstone(id))).versionstamp !== null;
  }

  /** Creates, locks, writes and fsyncs the temporary file of `finalName`. */
  async #stage(finalName: string, bytes: Uint8Array): Promise<Staged> {
    const staged = await this.#create(finalName);
    try {
      await writeAll(staged.file, bytes);
      await staged.file.sync();
      return staged;
    } catch (error) {
      await this.#drop([staged]);
      throw error;
    }
  }

  /** Creates the temporary file of `finalName`, held open under an exclusive lock. */
  async #create(finalName: string): Promise<Staged> {
    const tmpPath = this.pathOf(tempFileName(finalName));
    const finalPath = this.pathOf(finalName);
    for (let attempt = 0; attempt < 3; attempt++) {
      let file: Deno.FsFile;
      try {
        file = await Deno.open(tmpPath, { write: true, createNew: true });
      } catch (error) {
        if (error instanceof Deno.errors.AlreadyExists) {
          throw new AppError("conflict", `Cannot save image: already being written: ${finalName}`);
        }
        throw error;
      }
      try {
        await file.lock(true);
        // Reconcile may have removed the file between its creation and our lock: start again.
        const [held, named] = [await file.stat(), await Deno.lstat(tmpPath).catch(() => null)];
        if (named === null || (held.ino !== null && named.ino !== held.ino)) {
          file.close();
          continue;
        }
        return { file, tmpPath, finalPath };
      } catch (error) {
        file.close();
        await removeIfExists(tmpPath).catch(() => {});
        throw error;
      }
    }
    throw new AppError("storage", `Cannot save image: temporary file kept vanishing: ${finalName}`);
  }

  /** Moves a committed temporary file to its final name (reconcile may have done it already). */
  async #finish(staged: Staged): Promise<void> {
    try {
      await Deno.rename(staged.tmpPath, staged.finalPath);
    } catch (error) {
      if (!isNotFound(error) || !(await exists(staged.finalPath))) throw error;
    }
  }

  /**
   * Opens a file (a thumbnail also where an earlier build kept it); when it is missing and
   * `record` vouches for it, completes the rename a writer has not done yet.
   */
  async #openCompleting(name: string, record: CatalogRecord | null): Promise<Deno.FsFile | null> {
    const path = this.pathOf(name);
    const kind = classifyFileName(name).kind;
    const places = kind === "thumb" ? [path, this.#topLevelPath(name)] : [path];
    for (let attempt = 0; attempt < 2; attempt++) {
      for (const place of places) {
        let file: Deno.FsFile;
        try {
          file = await Deno.open(place, { read: true });
        } catch (error) {
          if (!isNotFound(error)) throw error;
          continue;
        }
        if (await this.#isStoreFile(file, place, name, record)) return file;
        file.close();
        this.#log.warn("Not serving {name}: it is not the file the store wrote", { name });
        return null;
      }
      if (attempt > 0 || record === null || this.#readOnly) return null;
      if (kind !== "image" && kind !== "thumb") return null;
      try {
        await Deno.rename(this.pathOf(tempFileName(name)), path);
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    }
    return null;
  }

  /**
   * True when the opened `file` is a regular file reached without a symbolic link (the name's own
   * entry, not a link to a file elsewhere) and, where the record says, of the recorded size: a
   * file someone swapped in under the store's name (a link to a file outside the folder, a
   * folder, other bytes) is never served as the image.
   */
  async #isStoreFile(
    file: Deno.FsFile,
    path: string,
    name: string,
    record: CatalogRecord | null,
  ): Promise<boolean> {
    const [held, named] = [await file.stat(), await Deno.lstat(path).catch(() => null)];
    if (named === null || !named.isFile || !held.isFile) return false;
    if (held.ino !== null && named.ino !== null && held.ino !== named.ino) return false;
    if (held.dev !== null && named.dev !== null && held.dev !== named.dev) return false;
    const kind = classifyFileName(name).kind;
    if (record !== null && kind === "image" && held.size !== record.bytes) return false;
    if (
      record?.thumbnail && kind === "thumb" && path === this.#topLevelPath(name) &&
      held.size !== record.thumbnail.bytes
    ) return false;
    return true;
  }

  async #readCompleting(name: string, record: CatalogRecord | null): Promise<Uint8Array | null> {
    const file = await this.#openCompleting(name, record);
    if (file === null) return null;
    try {
      return new Uint8Array(await new Response(file.readable).arrayBuffer());
    } catch (error) {
      throw new AppError("storage", `Cannot read image: ${message(error)}`, { cause: error });
    }
  }
}

/** The record of an image being saved: `input`'s fields plus what the store determined. */
function recordOf(
  input: StagedSaveInput,
  stored: Omit<Parameters<typeof buildRecord>[1], "mime" | "width" | "height">,
): CatalogRecord {
  const { mime, width, height } = input;
  return buildRecord(input.record, { ...stored, mime, width, height });
}

/** Any failure while saving, as an `AppError` (a `storage` one unless it already is one). */
function storageError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  return new AppError("storage", `Cannot save image: ${message(error)}`, { cause: error });
}

async function sizeIs(path: string, bytes: number): Promise<boolean> {
  try {
    const info = await Deno.lstat(path);
    return info.isFile && info.size === bytes;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}
