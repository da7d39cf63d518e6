/**
 * The slot a door holds while it reads an edit's upload ({@link UploadSlot}): an in-flight slot
 * taken before the body, and the files read into it, named by references (`upload:0`, …) that only
 * the edit given this slot can resolve. A JSON caller writing such a reference gets the resolver's
 * "unsupported scheme" refusal, since no slot backs it.
 *
 * @module
 */
import type { UploadedFile, UploadSlot } from "../core_types.ts";
import type { HeldInflight } from "./admission.ts";

/** What an edit takes over from a slot: the in-flight slot and the uploaded files by reference. */
export interface TakenUpload {
  /** The in-flight slot, now the edit's admission's to release. */
  readonly held: HeldInflight;
  /** The uploaded files by the references {@link UploadSlot.add} returned. */
  readonly files: ReadonlyMap<string, UploadedFile>;
}

/** An {@link UploadSlot} over an in-flight slot held by admission. */
export class HeldUpload implements UploadSlot {
  #held: HeldInflight | undefined;
  #files = new Map<string, UploadedFile>();

  /** Wraps `held`, which the slot gives back unless an edit takes it. */
  constructor(held: HeldInflight) {
    this.#held = held;
  }

  /** Keeps `file`; returns the reference that names it. */
  add(file: UploadedFile): string {
    if (this.#held === undefined) {
      throw new TypeError("Cannot keep an upload: the slot was already used or given back");
    }
    const ref = `upload:${this.#files.size}`;
    this.#files.set(ref, file);
    return ref;
  }

  /** Hands the slot and its files to an edit, once; null when it was used or given back. */
  take(): TakenUpload | null {
    const held = this.#held;
    if (held === undefined) return null;
    this.#held = undefined;
    const files = this.#files;
    this.#files = new Map();
    return { held, files };
  }

  /** Gives the slot back unless an edit took it. */
  async release(): Promise<void> {
    const held = this.#held;
    this.#held = undefined;
    this.#files = new Map();
    await held?.release();
  }

  /** Same as {@link release}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.release();
  }
}
