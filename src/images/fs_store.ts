/**
 * Image bytes as files in one directory. The write protocol lets start-up tell every state apart
 * without guessing by age:
 *
 * 1. bytes go to `.<id>.<ext>.tmp`, created with `createNew` (never overwriting) and held under an
 *    exclusive advisory lock while written and fsynced (the directory is fsynced too);
 * 2. the catalog record is committed — so a record exists only for durable bytes;
 * 3. the temporary file is renamed to `<id>.<ext>`, then the lock is released.
 *
 * Reconcile tries the lock of every temporary file: a file still locked belongs to a live writer
 * and is left alone; an unlocked one with a record is completed (renamed), without a record it is
 * deleted. A killed process releases its locks, so its leftovers are resolved on the next start.
 * Deleting commits the record's removal together with a tombstone, then removes the files, then
 * the tombstone; reconcile finishes tombstones a crash left behind.
 *
 * Every path is built from a name that passed the strict patterns of `ids.ts`.
 *
 * @module
 */

import { join, resolve } from "node:path";
import { AppError, ValidationError } from "../errors.ts";
import { getLog } from "../log.ts";
import { buildRecord, type Catalog, type CatalogRecord } from "./catalog.ts";
import {
  classifyFileName,
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
import { kvCommit, kvList } from "./kv_retry.ts";
import {
  emptyLeftoverReport,
  type ImageStore,
  type LeftoverOptions,
  type LeftoverReport,
  type OpenedImage,
  type SaveInput,
  type StoredFile,
  type StoredImage,
} from "./store.ts";

/** The store's hidden folder inside the images directory, for files that are not images. */
export const PRIVATE_DIR = ".openai-image-gen";

/** Options of {@link FsImageStore}. */
export interface FsImageStoreOptions {
  /** The images directory (created when missing). */
  dir: string;
  /** The catalog records are committed to. */
  catalog: Catalog;
}

/** A file deleted from the catalog whose bytes may still be on disk. */
interface Tombstone {
  fileName: string;
  thumbName: string | null;
  at: number;
}

/** A temporary file being written, held open under an exclusive lock. */
interface Staged {
  file: Deno.FsFile;
  tmpPath: string;
  finalPath: string;
}

const IS_WINDOWS = Deno.build.os === "windows";
/** Extensions an unknown file must have to be removed after the grace period. */
const REMOVABLE_UNKNOWN = /\.(png|jpe?g|webp|gif|tmp)$/i;

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
    return (await Deno.stat(path)).isFile;
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
  #dir: string;
  #catalog: Catalog;
  #dirReady: Promise<void> | null = null;
  #log = getLog("images", "fs");

  /** Creates a store over `options.dir`; does no I/O. */
  constructor(options: FsImageStoreOptions) {
    this.#dir = resolve(options.dir);
    this.#catalog = options.catalog;
  }

  /** The catalog. */
  get catalog(): Catalog {
    return this.#catalog;
  }

  /** The images directory (absolute). */
  get dir(): string {
    return this.#dir;
  }

  /**
   * The path of a store file name. Throws a `ValidationError` for any name that is not an image,
   * thumbnail, temporary or predecessor name — so no other path can ever be built.
   */
  pathOf(name: string): string {
    if (!isStoreFileName(name)) {
      throw new ValidationError(
        "fileName",
        `Invalid file name: ${JSON.stringify(String(name).slice(0, 80))}`,
      );
    }
    const path = join(this.#dir, name);
    if (resolve(path, "..") !== this.#dir) {
      throw new ValidationError("fileName", `Invalid file name: ${JSON.stringify(name)}`);
    }
    return path;
  }

  /** Creates the images directory when missing. */
  ensureDir(): Promise<void> {
    this.#dirReady ??= Deno.mkdir(this.#dir, { recursive: true }).catch((error) => {
      this.#dirReady = null;
      throw error;
    });
    return this.#dirReady;
  }

  /**
   * {@inheritDoc ImageStore.probeWrite}
   * The probe is a uniquely named file in the hidden {@link PRIVATE_DIR} folder, never among the
   * images, so a reader of the folder (or a crash mid-probe) never meets it there.
   */
  async probeWrite(): Promise<void> {
    const dir = join(this.#dir, PRIVATE_DIR);
    const path = join(dir, `ready-probe-${crypto.randomUUID()}.tmp`);
    try {
      await Deno.mkdir(dir, { recursive: true });
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

  /** {@inheritDoc ImageStore.save} */
  async save(input: SaveInput): Promise<CatalogRecord> {
    checkSaveInput(input);
    const now = this.#catalog.now();
    const id = input.id ?? newImageId(now);
    const fileName = imageFileName(id, input.ext);
    const thumbnail = input.thumbnail ?? null;
    const record = buildRecord(input.record, {
      id,
      fileName,
      mime: input.mime,
      width: input.width,
      height: input.height,
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
    let committed = false;
    try {
      staged.push(await this.#stage(fileName, input.bytes));
      if (thumbnail) staged.push(await this.#stage(thumbFileName(id), thumbnail));
      await this.#syncDir();
      await this.#catalog.insert(record);
      committed = true;
    } catch (error) {
      if (!committed) {
        for (const s of staged) await removeIfExists(s.tmpPath).catch(() => {});
      }
      if (error instanceof AppError) throw error;
      throw new AppError("storage", `Cannot save image: ${message(error)}`, { cause: error });
    } finally {
      if (!committed) { for (const s of staged) s.file.close(); }
    }
    try {
      for (const s of staged) await this.#finish(s);
      await this.#syncDir();
    } catch (error) {
      // The image is saved (record committed, bytes durable): a read or reconcile completes the
      // rename, so the caller gets its record.
      this.#log.warn("Rename of a saved image deferred: {error}", { error: message(error) });
    } finally {
      for (const s of staged) s.file.close();
    }
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
    const bytes = await this.#readCompleting(record.fileName, true);
    if (bytes === null) return null;
    return { record, bytes, mime: record.mime, sha256: record.sha256, size: bytes.length };
  }

  /** {@inheritDoc ImageStore.open} */
  async open(ref: string): Promise<OpenedImage | null> {
    const record = await this.#catalog.resolve(ref);
    if (record === null) return null;
    const file = await this.#openCompleting(record.fileName, true);
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
    return await this.#readCompleting(thumbFileName(record.id), record.thumbnail !== null);
  }

  /** {@inheritDoc ImageStore.putThumbnail} */
  async putThumbnail(id: string, bytes: Uint8Array): Promise<CatalogRecord | null> {
    if (!isImageId(id)) throw new ValidationError("id", "Invalid id: expected a UUIDv7");
    if (!(bytes instanceof Uint8Array) || bytes.length === 0) {
      throw new ValidationError("thumbnail", "Invalid thumbnail: expected a non-empty Uint8Array");
    }
    if (!(await this.#catalog.has(id))) return null;
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
    const record = await this.#catalog.resolve(ref);
    if (record === null) return null;
    const removed = await this.#catalog.remove(record.id, {
      extend: (op, current) => {
        const tombstone: Tombstone = {
          fileName: current.fileName,
          thumbName: thumbFileName(current.id),
          at: this.#catalog.now(),
        };
        op.set(KEYS.tombstone(current.id), tombstone);
      },
    });
    if (removed === null) return null;
    await this.#removeFilesOf(removed.id, {
      fileName: removed.fileName,
      thumbName: thumbFileName(removed.id),
      at: 0,
    });
    return removed;
  }

  /** {@inheritDoc ImageStore.listFiles} */
  async *listFiles(): AsyncGenerator<StoredFile> {
    let entries: AsyncIterable<Deno.DirEntry>;
    try {
      entries = Deno.readDir(this.#dir);
      for await (const entry of entries) {
        const named = classifyFileName(entry.name);
        let size = 0;
        let mtime: number | null = null;
        let isFile = entry.isFile;
        try {
          const info = await Deno.lstat(join(this.#dir, entry.name));
          size = info.size;
          mtime = info.mtime?.getTime() ?? null;
          isFile = info.isFile;
        } catch (error) {
          if (isNotFound(error)) continue;
          throw error;
        }
        yield {
          name: entry.name,
          kind: named.kind,
          id: "id" in named ? named.id : null,
          size,
          mtime,
          isFile,
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
      if (await exists(this.pathOf(tempFileName(record.fileName)))) return true;
    }
    return await exists(this.pathOf(record.fileName));
  }

  /** {@inheritDoc ImageStore.resolveLeftovers} */
  async resolveLeftovers(options: LeftoverOptions): Promise<LeftoverReport> {
    const report = emptyLeftoverReport();
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
      if (options.dryRun) continue;
      try {
        await this.#removeFilesOf(id, entry.value);
      } catch (error) {
        report.errors.push({ file: String(entry.value.fileName), error: message(error) });
      }
    }
    for await (const file of this.listFiles()) {
      if (late()) return report;
      try {
        await this.#resolveFile(file, options, report);
      } catch (error) {
        report.errors.push({ file: file.name, error: message(error) });
      }
    }
    return report;
  }

  async #resolveFile(
    file: StoredFile,
    options: LeftoverOptions,
    report: LeftoverReport,
  ): Promise<void> {
    const named = classifyFileName(file.name);
    if (!file.isFile && named.kind === "temp") {
      report.unknownFiles.push(file.name); // a directory or link: never ours to complete
      return;
    }
    switch (named.kind) {
      case "temp":
        await this.#resolveTemp(file.name, named.id, named.target, options, report);
        return;
      case "image": {
        const record = await this.#catalog.get(named.id);
        if (record?.fileName === file.name) return;
        break;
      }
      case "thumb":
        if (await this.#catalog.has(named.id)) return;
        break;
      case "legacy":
        if ((await this.#catalog.getByFileName(file.name)) === null) {
          report.legacyUnadopted.push(file.name);
        }
        return;
      case "unknown":
        break;
    }
    // Claimed by no record: report, and remove once older than the grace period — by mtime, the
    // only place age is used. Only image-like regular files: the directory may hold other things.
    report.unknownFiles.push(file.name);
    const old = file.mtime !== null && options.now - file.mtime > options.graceMs;
    if (!old || !file.isFile || !REMOVABLE_UNKNOWN.test(file.name) || options.dryRun) return;
    if (named.kind === "unknown") {
      // Not a store name, so `pathOf` refuses it; the name comes from the directory listing and
      // has no separator, so joining it stays inside the directory.
      if (file.name.includes("/") || file.name.includes("\\") || file.name.startsWith("..")) {
        return;
      }
      await removeIfExists(join(this.#dir, file.name));
    } else {
      await removeIfExists(this.pathOf(file.name));
    }
    report.unknownRemoved.push(file.name);
  }

  async #resolveTemp(
    name: string,
    id: string,
    target: string,
    options: LeftoverOptions,
    report: LeftoverReport,
  ): Promise<void> {
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
      const [held, named] = [await file.stat(), await Deno.lstat(tmpPath).catch(() => null)];
      if (named === null || (held.ino !== null && named.ino !== held.ino)) return;
      const record = await this.#catalog.get(id);
      const claimed = record !== null &&
        (record.fileName === target || record.thumbnail?.fileName === target);
      if (claimed) {
        report.tempCompleted.push(name);
        if (!options.dryRun) await Deno.rename(tmpPath, this.pathOf(target));
      } else {
        report.tempDeleted.push(name);
        if (!options.dryRun) await removeIfExists(tmpPath);
      }
    } finally {
      file.close();
    }
  }

  async #removeFilesOf(id: string, tombstone: Tombstone): Promise<void> {
    const names = [tombstone.fileName, tombstone.thumbName ?? thumbFileName(id)];
    for (const name of names) {
      if (!isStoreFileName(name)) {
        this.#log.error("Refusing to remove a file outside the store: {name}", { name });
        continue;
      }
      await removeIfExists(this.pathOf(name));
      if (classifyFileName(name).kind !== "legacy") {
        await removeIfExists(this.pathOf(tempFileName(name)));
      }
    }
    await kvCommit(this.#catalog.kv, (op) => op.delete(KEYS.tombstone(id)));
  }

  /** Creates, locks, writes and fsyncs the temporary file of `finalName`. */
  async #stage(finalName: string, bytes: Uint8Array): Promise<Staged> {
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
        await writeAll(file, bytes);
        await file.sync();
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

  async #syncDir(): Promise<void> {
    if (IS_WINDOWS) return; // directories cannot be opened for fsync there
    const dir = await Deno.open(this.#dir, { read: true });
    try {
      await dir.sync();
    } finally {
      dir.close();
    }
  }

  /**
   * Opens a file; when it is missing and `complete` says its record vouches for the temporary
   * file, completes the rename a writer has not done yet.
   */
  async #openCompleting(name: string, complete: boolean): Promise<Deno.FsFile | null> {
    const path = this.pathOf(name);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        return await Deno.open(path, { read: true });
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
      const kind = classifyFileName(name).kind;
      if (attempt > 0 || !complete || (kind !== "image" && kind !== "thumb")) return null;
      try {
        await Deno.rename(this.pathOf(tempFileName(name)), path);
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    }
    return null;
  }

  async #readCompleting(name: string, complete: boolean): Promise<Uint8Array | null> {
    const file = await this.#openCompleting(name, complete);
    if (file === null) return null;
    try {
      return new Uint8Array(await new Response(file.readable).arrayBuffer());
    } catch (error) {
      throw new AppError("storage", `Cannot read image: ${message(error)}`, { cause: error });
    }
  }
}
