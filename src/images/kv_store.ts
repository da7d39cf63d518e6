/**
 * Image bytes as chunked blobs in Deno KV, for hosts whose disk is ephemeral (Deno Deploy). A
 * value holds at most 64 KiB and an atomic operation at most 800 KiB, so an image is cut into
 * 60,000-byte chunks written ten per atomic operation. The write protocol:
 *
 * 1. a pending marker with a deadline is set (the id must be free);
 * 2. the chunks are written, ten per atomic operation;
 * 3. one atomic operation checks the marker is still ours, deletes it and sets the manifest
 *    together with the catalog record — only then is the image visible.
 *
 * A write that never reaches step 3 leaves chunks under a marker and no manifest: invisible, and
 * collected by reconcile once the marker's deadline has passed (a deadline in the value, not KV's
 * lazy `expireIn`). Deleting removes record and manifest and sets a `deleting` marker in one
 * atomic operation, then removes the chunks and the marker.
 *
 * @module
 */

import { AppError, ValidationError } from "../errors.ts";
import { buildRecord, type Catalog, type CatalogRecord } from "./catalog.ts";
import { checkImageRef } from "./fs_store.ts";
import {
  imageFileName,
  isImageExt,
  isImageId,
  newImageId,
  sha256Hex,
  thumbFileName,
} from "./ids.ts";
import { type BlobPart, KEYS } from "./kv_keys.ts";
import { kvCommit, kvGet, kvGetMany, kvList, probeKvWrite } from "../kv/mod.ts";
import {
  emptyLeftoverReport,
  type ImageStore,
  type LeftoverOptions,
  type LeftoverReport,
  type OpenedImage,
  type SaveInput,
  type StoredFile,
  type StoredImage,
  type UnknownFiles,
} from "./store.ts";

/** Bytes per chunk: under the 64 KiB value limit with room to spare. */
export const CHUNK_BYTES = 60_000;
/** Chunks per atomic operation: 600,000 bytes, under the 800 KiB limit. */
export const CHUNKS_PER_ATOMIC = 10;
/** How long a writer may take before its chunks count as abandoned. */
export const PENDING_LEASE_MS = 10 * 60_000;

/** Describes a committed blob; its presence is what makes the blob visible. */
export interface BlobManifest {
  /** File name the image is served under. */
  fileName: string;
  /** MIME type. */
  mime: string;
  /** Size in bytes. */
  size: number;
  /** Number of image chunks. */
  chunks: number;
  /** SHA-256 of the bytes. */
  sha256: string;
  /** The thumbnail, when stored. */
  thumb: { size: number; chunks: number } | null;
}

/** Marks chunks that may be orphans: a write in progress, or a delete to finish. */
export interface BlobPending {
  /** Why the chunks exist without (or are losing) their manifest. */
  reason: "writing" | "deleting";
  /** Epoch milliseconds after which an unfinished write is abandoned. */
  deadline: number;
  /** Number of image chunks to remove. */
  chunks: number;
}

/** Options of {@link KvImageStore}. */
export interface KvImageStoreOptions {
  /** The catalog (its KV database holds the blobs too). */
  catalog: Catalog;
  /** Lease of a write in milliseconds (default {@link PENDING_LEASE_MS}). */
  leaseMs?: number;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function chunkCount(size: number): number {
  return Math.ceil(size / CHUNK_BYTES);
}

/** The KV-blob {@link ImageStore}. */
export class KvImageStore implements ImageStore {
  /** Which implementation. */
  readonly kind = "kv" as const;
  #catalog: Catalog;
  #kv: Deno.Kv;
  #leaseMs: number;

  /** Creates a store over the catalog's KV database. */
  constructor(options: KvImageStoreOptions) {
    this.#catalog = options.catalog;
    this.#kv = options.catalog.kv;
    this.#leaseMs = options.leaseMs ?? PENDING_LEASE_MS;
  }

  /** The catalog. */
  get catalog(): Catalog {
    return this.#catalog;
  }

  /** {@inheritDoc ImageStore.probeWrite} */
  probeWrite(): Promise<void> {
    return probeKvWrite(this.#kv, KEYS.probe(crypto.randomUUID()));
  }

  /** {@inheritDoc ImageStore.save} */
  async save(input: SaveInput): Promise<CatalogRecord> {
    if (!(input.bytes instanceof Uint8Array) || input.bytes.length === 0) {
      throw new ValidationError("bytes", "Invalid bytes: expected a non-empty Uint8Array");
    }
    if (!isImageExt(input.ext)) {
      throw new ValidationError("ext", `Invalid ext: ${JSON.stringify(input.ext)}`);
    }
    if (input.id !== undefined && !isImageId(input.id)) {
      throw new ValidationError("id", "Invalid id: expected a UUIDv7");
    }
    const thumbnail = input.thumbnail ?? null;
    if (thumbnail !== null && (!(thumbnail instanceof Uint8Array) || thumbnail.length === 0)) {
      throw new ValidationError("thumbnail", "Invalid thumbnail: expected a non-empty Uint8Array");
    }
    const now = this.#catalog.now();
    const id = input.id ?? newImageId(now);
    const sha256 = await sha256Hex(input.bytes);
    const record = buildRecord(input.record, {
      id,
      fileName: imageFileName(id, input.ext),
      mime: input.mime,
      width: input.width,
      height: input.height,
      bytes: input.bytes.length,
      sha256,
      created: now,
      thumbnail: thumbnail
        ? { fileName: thumbFileName(id), mime: "image/webp", bytes: thumbnail.length }
        : null,
    });
    const manifest: BlobManifest = {
      fileName: record.fileName,
      mime: record.mime,
      size: input.bytes.length,
      chunks: chunkCount(input.bytes.length),
      sha256,
      thumb: thumbnail ? { size: thumbnail.length, chunks: chunkCount(thumbnail.length) } : null,
    };
    const pending = await this.beginWrite(id, manifest.chunks);
    try {
      await this.writeChunks(id, "image", input.bytes);
      if (thumbnail) await this.writeChunks(id, "thumb", thumbnail);
      await this.#catalog.insert(record, {
        extend: (op) => {
          op.check({ key: KEYS.blobPending(id), versionstamp: pending })
            .check({ key: KEYS.blobManifest(id), versionstamp: null })
            .delete(KEYS.blobPending(id))
            .set(KEYS.blobManifest(id), manifest);
        },
      });
      return record;
    } catch (error) {
      await this.#abandon(id, pending, manifest.chunks).catch(() => {});
      if (error instanceof AppError) throw error;
      throw new AppError("storage", `Cannot save image: ${message(error)}`, { cause: error });
    }
  }

  /**
   * Step 1 of the write protocol: claims `id` with a pending marker (exported for tests that
   * simulate an interrupted write). Returns the marker's versionstamp. Throws a `conflict` error
   * when the id is taken.
   */
  async beginWrite(id: string, chunks: number): Promise<string> {
    const marker: BlobPending = {
      reason: "writing",
      deadline: this.#catalog.now() + this.#leaseMs,
      chunks,
    };
    const result = await kvCommit(
      this.#kv,
      (op) =>
        op.check({ key: KEYS.blobPending(id), versionstamp: null })
          .check({ key: KEYS.blobManifest(id), versionstamp: null })
          .check({ key: KEYS.record(id), versionstamp: null })
          .set(KEYS.blobPending(id), marker),
    );
    if (!result.ok) throw new AppError("conflict", `Cannot save image: id already taken: ${id}`);
    return result.versionstamp;
  }

  /** Step 2 of the write protocol: writes chunks, {@link CHUNKS_PER_ATOMIC} per atomic operation. */
  async writeChunks(id: string, part: BlobPart, bytes: Uint8Array): Promise<void> {
    const count = chunkCount(bytes.length);
    for (let first = 0; first < count; first += CHUNKS_PER_ATOMIC) {
      const last = Math.min(count, first + CHUNKS_PER_ATOMIC);
      const result = await kvCommit(this.#kv, (op) => {
        for (let n = first; n < last; n++) {
          op.set(
            KEYS.blobChunk(id, part, n),
            bytes.subarray(n * CHUNK_BYTES, Math.min(bytes.length, (n + 1) * CHUNK_BYTES)),
          );
        }
      });
      if (!result.ok) throw new AppError("storage", `Cannot save image: chunk write refused`);
    }
  }

  /** {@inheritDoc ImageStore.get} */
  get(ref: string): Promise<CatalogRecord | null> {
    return this.#catalog.resolve(ref);
  }

  /** {@inheritDoc ImageStore.read} */
  async read(ref: string): Promise<StoredImage | null> {
    const record = await this.#catalog.resolve(ref);
    if (record === null) return null;
    const manifest = (await kvGet<BlobManifest>(this.#kv, KEYS.blobManifest(record.id))).value;
    if (manifest === null) return null;
    const bytes = await this.#readPart(record.id, "image", manifest.size, manifest.chunks);
    return { record, bytes, mime: manifest.mime, sha256: manifest.sha256, size: bytes.length };
  }

  /** {@inheritDoc ImageStore.open} */
  async open(ref: string): Promise<OpenedImage | null> {
    const record = await this.#catalog.resolve(ref);
    if (record === null) return null;
    const manifest = (await kvGet<BlobManifest>(this.#kv, KEYS.blobManifest(record.id))).value;
    if (manifest === null) return null;
    const kv = this.#kv;
    const id = record.id;
    let next = 0;
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (next >= manifest.chunks) {
          controller.close();
          return;
        }
        const last = Math.min(manifest.chunks, next + CHUNKS_PER_ATOMIC);
        const keys: Deno.KvKey[] = [];
        for (let n = next; n < last; n++) keys.push(KEYS.blobChunk(id, "image", n));
        const entries = await kvGetMany<Uint8Array>(kv, keys);
        for (const entry of entries) {
          if (entry.value === null) {
            controller.error(new AppError("storage", `Cannot read image: chunk missing: ${id}`));
            return;
          }
          controller.enqueue(entry.value);
        }
        next = last;
      },
    });
    return { record, stream, mime: manifest.mime, sha256: manifest.sha256, size: manifest.size };
  }

  /** {@inheritDoc ImageStore.readThumbnail} */
  async readThumbnail(ref: string): Promise<Uint8Array | null> {
    const record = await this.#catalog.resolve(ref);
    if (record === null) return null;
    const manifest = (await kvGet<BlobManifest>(this.#kv, KEYS.blobManifest(record.id))).value;
    if (manifest?.thumb == null) return null;
    return await this.#readPart(record.id, "thumb", manifest.thumb.size, manifest.thumb.chunks);
  }

  /** {@inheritDoc ImageStore.putThumbnail} */
  async putThumbnail(id: string, bytes: Uint8Array): Promise<CatalogRecord | null> {
    if (!isImageId(id)) throw new ValidationError("id", "Invalid id: expected a UUIDv7");
    if (!(bytes instanceof Uint8Array) || bytes.length === 0) {
      throw new ValidationError("thumbnail", "Invalid thumbnail: expected a non-empty Uint8Array");
    }
    for (;;) {
      const entry = await kvGet<BlobManifest>(this.#kv, KEYS.blobManifest(id));
      const manifest = entry.value;
      if (manifest === null) return null;
      // Thumbnails are made once: an existing one is kept, so no reader sees chunks change.
      if (manifest.thumb !== null) return await this.#catalog.get(id);
      await this.writeChunks(id, "thumb", bytes);
      const next: BlobManifest = {
        ...manifest,
        thumb: { size: bytes.length, chunks: chunkCount(bytes.length) },
      };
      const result = await kvCommit(
        this.#kv,
        (op) =>
          op.check({ key: KEYS.blobManifest(id), versionstamp: entry.versionstamp })
            .set(KEYS.blobManifest(id), next),
      );
      if (result.ok) {
        return await this.#catalog.setThumbnail(id, {
          fileName: thumbFileName(id),
          mime: "image/webp",
          bytes: bytes.length,
        });
      }
      if ((await kvGet(this.#kv, KEYS.blobManifest(id))).versionstamp === null) {
        await this.#deleteChunks(id, 0); // the image was deleted meanwhile
        return null;
      }
    }
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
    const manifest = (await kvGet<BlobManifest>(this.#kv, KEYS.blobManifest(record.id))).value;
    const marker: BlobPending = {
      reason: "deleting",
      deadline: 0,
      chunks: manifest?.chunks ?? chunkCount(record.bytes),
    };
    const removed = await this.#catalog.remove(record.id, {
      extend: (op, current) => {
        op.delete(KEYS.blobManifest(current.id)).set(KEYS.blobPending(current.id), marker);
      },
    });
    if (removed === null) return null;
    await this.#finishDelete(removed.id, marker.chunks);
    return removed;
  }

  /** {@inheritDoc ImageStore.listFiles} */
  async *listFiles(): AsyncGenerator<StoredFile> {
    for await (
      const entry of kvList<BlobManifest>(this.#kv, { prefix: KEYS.blobManifests() })
    ) {
      const id = entry.key[entry.key.length - 1] as string;
      yield {
        name: entry.value.fileName,
        kind: "image",
        id,
        size: entry.value.size,
        mtime: null,
        isFile: true,
      };
    }
    for await (const entry of kvList<BlobPending>(this.#kv, { prefix: KEYS.blobPendingPrefix() })) {
      const id = entry.key[entry.key.length - 1] as string;
      yield { name: id, kind: "temp", id, size: 0, mtime: null, isFile: true };
    }
  }

  /** {@inheritDoc ImageStore.bytesExist} */
  async bytesExist(record: CatalogRecord): Promise<boolean> {
    return (await kvGet(this.#kv, KEYS.blobManifest(record.id))).versionstamp !== null;
  }

  /** {@inheritDoc ImageStore.unknownFiles} */
  unknownFiles(): Promise<UnknownFiles> {
    // Blobs are written only by this store, under its own keys: nothing in its space is foreign.
    return Promise.resolve({ count: 0, names: [] });
  }

  /** {@inheritDoc ImageStore.writeMissingRecordFile} */
  writeMissingRecordFile(_id: string): Promise<boolean> {
    // The catalog lives beside the blobs in one KV: there is no folder to rebuild it from.
    return Promise.resolve(false);
  }

  /** {@inheritDoc ImageStore.resolveLeftovers} */
  async resolveLeftovers(options: LeftoverOptions): Promise<LeftoverReport> {
    const report = emptyLeftoverReport();
    for await (const entry of kvList<BlobPending>(this.#kv, { prefix: KEYS.blobPendingPrefix() })) {
      if (performance.now() > options.deadline) {
        report.truncated = true;
        break;
      }
      const id = entry.key[entry.key.length - 1] as string;
      const marker = entry.value;
      try {
        if (marker.reason === "writing" && marker.deadline > options.now) {
          report.tempInUse.push(id);
          continue;
        }
        report.tempDeleted.push(id);
        if (options.dryRun) continue;
        if (marker.reason === "writing") {
          // Take the marker first: the writer's final commit checks it, so it can no longer
          // make these chunks visible.
          const taken = await kvCommit(
            this.#kv,
            (op) =>
              op.check({ key: entry.key, versionstamp: entry.versionstamp }).delete(entry.key),
          );
          if (!taken.ok) {
            report.tempDeleted.pop();
            continue;
          }
          if ((await kvGet(this.#kv, KEYS.blobManifest(id))).versionstamp !== null) continue;
          await this.#deleteChunks(id, marker.chunks);
        } else {
          await this.#finishDelete(id, marker.chunks);
        }
      } catch (error) {
        report.errors.push({ file: id, error: message(error) });
      }
    }
    return report;
  }

  async #readPart(id: string, part: BlobPart, size: number, chunks: number): Promise<Uint8Array> {
    const keys = Array.from({ length: chunks }, (_, n) => KEYS.blobChunk(id, part, n));
    const entries = await kvGetMany<Uint8Array>(this.#kv, keys);
    const out = new Uint8Array(size);
    let at = 0;
    for (const entry of entries) {
      if (entry.value === null || at + entry.value.length > size) {
        throw new AppError("storage", `Cannot read image: chunk missing or too long: ${id}`);
      }
      out.set(entry.value, at);
      at += entry.value.length;
    }
    if (at !== size) throw new AppError("storage", `Cannot read image: size mismatch: ${id}`);
    return out;
  }

  /** Deletes image chunks `0..chunks-1` and every thumbnail chunk of `id`. */
  async #deleteChunks(id: string, chunks: number): Promise<void> {
    const keys: Deno.KvKey[] = [];
    for (let n = 0; n < chunks; n++) keys.push(KEYS.blobChunk(id, "image", n));
    for await (const entry of kvList(this.#kv, { prefix: [...KEYS.blobChunks(id), "thumb"] })) {
      keys.push(entry.key);
    }
    for (let i = 0; i < keys.length; i += 100) {
      const batch = keys.slice(i, i + 100);
      await kvCommit(this.#kv, (op) => {
        for (const key of batch) op.delete(key);
      });
    }
  }

  async #finishDelete(id: string, chunks: number): Promise<void> {
    await this.#deleteChunks(id, chunks);
    await kvCommit(this.#kv, (op) => op.delete(KEYS.blobPending(id)));
  }

  async #abandon(id: string, versionstamp: string, chunks: number): Promise<void> {
    const taken = await kvCommit(
      this.#kv,
      (op) => op.check({ key: KEYS.blobPending(id), versionstamp }).delete(KEYS.blobPending(id)),
    );
    if (taken.ok) await this.#deleteChunks(id, chunks);
  }
}
