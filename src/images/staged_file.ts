/**
 * An image file written as its bytes arrive: pieces are gathered into a batch of about
 * {@link BATCH_BYTES}, and each batch goes to the locked temporary file and then to a running
 * SHA-256 on a worker thread (`sha256_thread.ts`; the batch's buffer is handed over, and the next
 * batch gets a new one), so the image is never held whole and never read twice. The first bytes (for header
 * checks) and the last ones (for completeness checks) are kept on the side. Batching matters: every
 * asynchronous file write is a hand-off to a blocking thread, and at the ~48 KB pieces a response
 * body arrives in, those hand-offs cost about three times the CPU of the writes themselves.
 *
 * @module
 */
import { batchBuffer, type RunningSha256, startSha256 } from "./sha256_thread.ts";
import type { WrittenImage } from "./store.ts";

/** Bytes of the start of an image kept for header checks. */
const HEAD_BYTES = 64 * 1024;
/** Bytes of the end of an image kept for completeness checks. */
const TAIL_BYTES = 16;
/** Bytes gathered before they are written to the file and hashed. */
const BATCH_BYTES = 256 * 1024;
/** A batch with less room than this is written out (a response piece decodes to ~48 KB). */
const LOW_ROOM = 64 * 1024;

/** The running state of one staged file: its handle, hash, size, head and tail. */
export class StagedFile {
  #file: Deno.FsFile;
  #hash: RunningSha256 = startSha256();
  #batch = new Uint8Array(0);
  #filled = 0;
  #head = new Uint8Array(HEAD_BYTES);
  #tail = new Uint8Array(TAIL_BYTES);
  #size = 0;

  /** Writes to `file` (open for writing, locked by the caller). */
  constructor(file: Deno.FsFile) {
    this.#file = file;
  }

  /** A buffer of at least `size` bytes for the next bytes (the free end of the batch). */
  space(size: number): Uint8Array {
    if (this.#batch.length - this.#filled < size) {
      const grown = batchBuffer(Math.max(this.#filled + size, BATCH_BYTES));
      grown.set(this.#batch.subarray(0, this.#filled));
      this.#batch = grown;
    }
    return this.#batch.subarray(this.#filled);
  }

  /** Adds the first `length` bytes of the last {@link space} to the batch; writes a full batch. */
  async wrote(length: number): Promise<void> {
    this.#filled += length;
    if (this.#batch.length - this.#filled < LOW_ROOM) await this.#flush();
  }

  /** Flushes the file to disk and tells what it holds. */
  async finish(): Promise<WrittenImage> {
    await this.#flush();
    await this.#file.sync();
    const size = this.#size;
    return {
      size,
      sha256: await this.#hash.digest(),
      head: this.#head.slice(0, Math.min(size, HEAD_BYTES)),
      tail: this.#tail.slice(TAIL_BYTES - Math.min(size, TAIL_BYTES)),
    };
  }

  /** Writes and hashes the batch, then empties it. */
  async #flush(): Promise<void> {
    const bytes = this.#batch.subarray(0, this.#filled);
    this.#filled = 0;
    if (bytes.length === 0) return;
    this.#remember(bytes);
    let at = 0;
    while (at < bytes.length) at += await this.#file.write(bytes.subarray(at));
    // Written: the batch's buffer goes to the hash (possibly to another thread).
    this.#batch = new Uint8Array(0);
    this.#hash.update(bytes);
  }

  /** Forgets the running hash when the file will not be finished (call at most once). */
  abandon(): void {
    this.#hash.drop();
  }

  #remember(bytes: Uint8Array): void {
    if (this.#size < HEAD_BYTES) {
      this.#head.set(bytes.subarray(0, HEAD_BYTES - this.#size), this.#size);
    }
    if (bytes.length >= TAIL_BYTES) {
      this.#tail.set(bytes.subarray(bytes.length - TAIL_BYTES));
    } else {
      this.#tail.copyWithin(0, bytes.length);
      this.#tail.set(bytes, TAIL_BYTES - bytes.length);
    }
    this.#size += bytes.length;
  }
}
