/**
 * Record files: one JSON file per image (`<id>.json`, the whole catalog record) in the store's
 * private folder. A record file is written after its record is committed, so it is the store's
 * proof that it wrote `<id>.<ext>`, and the source a lost or new catalog is rebuilt from. Writes
 * go to a unique temporary name first and are renamed, so a reader never sees half a file.
 *
 * @module
 */

import { join } from "node:path";
import { type CatalogRecord, validateRecord } from "./catalog.ts";
import { isImageId } from "./ids.ts";

const RECORD_FILE = /^([0-9a-f-]{36})\.json$/;

function isNotFound(error: unknown): boolean {
  return error instanceof Deno.errors.NotFound;
}

/** The record files of one folder. */
export class RecordFiles {
  #dir: string;

  /** Record files in `dir` (the private folder's `records/`); does no I/O. */
  constructor(dir: string) {
    this.#dir = dir;
  }

  #path(id: string): string {
    if (!isImageId(id)) throw new TypeError(`Invalid image id: ${JSON.stringify(String(id))}`);
    return join(this.#dir, `${id}.json`);
  }

  /** Writes (or replaces) the record file of `record`. */
  async write(record: CatalogRecord): Promise<void> {
    const path = this.#path(record.id);
    const temp = join(this.#dir, `.${record.id}.${crypto.randomUUID()}.tmp`);
    try {
      await Deno.writeTextFile(temp, JSON.stringify(record));
      await Deno.rename(temp, path);
    } catch (error) {
      await Deno.remove(temp).catch(() => {});
      throw error;
    }
  }

  /** True when the record file of `id` exists. */
  async has(id: string): Promise<boolean> {
    try {
      return (await Deno.stat(this.#path(id))).isFile;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  /**
   * The record in the file of `id`, or null when there is none. Throws a `ValidationError` for a
   * file whose content is not a valid record of that id.
   */
  async read(id: string): Promise<CatalogRecord | null> {
    let text: string;
    try {
      text = await Deno.readTextFile(this.#path(id));
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
    const record = JSON.parse(text) as CatalogRecord;
    validateRecord(record);
    if (record.id !== id) {
      throw new TypeError(`Record file of ${id} holds the record of another id`);
    }
    return record;
  }

  /** Removes the record file of `id` (nothing when there is none). */
  async remove(id: string): Promise<void> {
    try {
      await Deno.remove(this.#path(id));
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  /** The ids that have a record file, in directory order. */
  async *ids(): AsyncGenerator<string> {
    try {
      for await (const entry of Deno.readDir(this.#dir)) {
        const m = RECORD_FILE.exec(entry.name);
        if (m && entry.isFile && isImageId(m[1])) yield m[1];
      }
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }
}
