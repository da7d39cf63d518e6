/**
 * An image file written as its bytes arrive: each piece goes to the locked temporary file and
 * into a running SHA-256 at once, so the image is never held whole and never read twice. The first
 * bytes (for header checks) and the last ones (for completeness checks) are kept on the side.
 *
 * @module
 */
import { createHash, type Hash } from "node:crypto";
import type { WrittenImage } from "./store.ts";

/** Bytes of the start of an image kept for header checks. */
export const HEAD_BYTES = 64 * 1024;
/** Bytes of the end of an image kept for completeness checks. */
export const TAIL_BYTES = 16;

/** The running state of one staged file: its handle, hash, size, head and tail. */
export class StagedFile {
  #file: Deno.FsFile;
  #hash: Hash = createHash("sha256");
  #scratch = new Uint8Array(0);
  #head = new Uint8Array(HEAD_BYTES);
  #tail = new Uint8Array(TAIL_BYTES);
  #size = 0;

  /** Writes to `file` (open for writing, locked by the caller). */
  constructor(file: Deno.FsFile) {
    this.#file = file;
  }

  /** A buffer of at least `size` bytes for the next bytes (reused between writes). */
  space(size: number): Uint8Array {
    if (this.#scratch.length < size) this.#scratch = new Uint8Array(Math.max(size, 64 * 1024));
    return this.#scratch;
  }

  /** Writes the first `length` bytes of the last {@link space}. */
  async wrote(length: number): Promise<void> {
    const bytes = this.#scratch.subarray(0, length);
    this.#remember(bytes);
    this.#hash.update(bytes);
    let at = 0;
    while (at < bytes.length) at += await this.#file.write(bytes.subarray(at));
  }

  /** Flushes the file to disk and tells what it holds. */
  async finish(): Promise<WrittenImage> {
    await this.#file.sync();
    const size = this.#size;
    return {
      size,
      sha256: this.#hash.copy().digest("hex"),
      head: this.#head.slice(0, Math.min(size, HEAD_BYTES)),
      tail: this.#tail.slice(TAIL_BYTES - Math.min(size, TAIL_BYTES)),
    };
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
